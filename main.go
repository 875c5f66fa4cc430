// Command calls is self-hosted team chat with voice, video and screen-share
// calls in one binary: `calls serve` runs everything; the other commands
// administer a data directory.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"calls/server"
	"calls/server/auth"
	"calls/server/backup"
	"calls/store"
	"calls/turn"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	app := newApp()
	if err := app.Run(flagsFirst(app, os.Args)); err != nil {
		fmt.Fprintln(os.Stderr, "calls:", err)
		os.Exit(1)
	}
}

func dataFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "data", Value: "./calls-data", EnvVars: []string{"CALLS_DATA"},
		Usage: "data directory: database, uploads, recordings, certificates, secrets"}
}

func newApp() *cli.App {
	return &cli.App{
		Name:    "calls",
		Usage:   "team chat with voice, video and screen-share calls, in one binary",
		Version: buildVersion(),
		Description: "Start with `calls serve`, open the URL it prints and create the first admin there\n" +
			"(the setup code is in the log) or with `calls user add NAME --admin`.\n" +
			"Every flag can also be set as an environment variable CALLS_<FLAG>, e.g. CALLS_LISTEN=:443.",
		Commands: []*cli.Command{serveCommand(), userCommand(), backupCommand(), restoreCommand(), loadtestCommand(), versionCommand()},
	}
}

func buildVersion() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			fmt.Printf("calls %s (schema %d)\n", buildVersion(), store.SchemaVersion())
			return nil
		},
	}
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the server: web UI, API, websocket and calls",
		Flags: []cli.Flag{
			dataFlag(),
			&cli.StringFlag{Name: "listen", Value: ":8443", EnvVars: []string{"CALLS_LISTEN"},
				Usage: "address for HTTPS (or HTTP with --insecure): web UI, API, websocket"},
			&cli.BoolFlag{Name: "insecure", EnvVars: []string{"CALLS_INSECURE"},
				Usage: "serve plain HTTP: only on localhost or behind a TLS-terminating proxy (browsers need HTTPS for microphones)"},
			&cli.StringFlag{Name: "tls-cert", EnvVars: []string{"CALLS_TLS_CERT"}, Usage: "PEM certificate (chain) file; with --tls-key"},
			&cli.StringFlag{Name: "tls-key", EnvVars: []string{"CALLS_TLS_KEY"}, Usage: "PEM private key file; with --tls-cert"},
			&cli.StringFlag{Name: "domain", EnvVars: []string{"CALLS_DOMAIN"},
				Usage: "get a certificate for this host name by ACME (needs the host reachable from the internet on port 443)"},
			&cli.StringFlag{Name: "public-url", EnvVars: []string{"CALLS_PUBLIC_URL"},
				Usage: "the address people open, e.g. https://chat.example.com, when a reverse proxy is in front: invite and password reset links use it"},
			&cli.IntFlag{Name: "rtc-port", Value: 8443, EnvVars: []string{"CALLS_RTC_PORT"},
				Usage: "the one UDP port of all call media (ICE); open it in the firewall (0: any free port)"},
			&cli.StringSliceFlag{Name: "public-ip", EnvVars: []string{"CALLS_PUBLIC_IP"},
				Usage: "address to advertise to call clients (repeatable), e.g. the public IP of a server behind NAT"},
			&cli.IntFlag{Name: "max-call-participants", Value: server.DefaultMaxCallParticipants, EnvVars: []string{"CALLS_MAX_CALL_PARTICIPANTS"},
				Usage: "most people in one call"},
			&cli.DurationFlag{Name: "ring-timeout", Value: server.DefaultRingTimeout, EnvVars: []string{"CALLS_RING_TIMEOUT"},
				Usage: "how long a DM call rings the other person"},
			&cli.DurationFlag{Name: "recording-max", Value: server.DefaultRecordingMax, EnvVars: []string{"CALLS_RECORDING_MAX"},
				Usage: "a recording stops by itself after this long (the host can start a new one)"},
			&cli.DurationFlag{Name: "recording-reminder", Value: server.DefaultRecordingReminder, EnvVars: []string{"CALLS_RECORDING_REMINDER"},
				Usage: "remind the host this long before --recording-max"},
			&cli.BoolFlag{Name: "turn", Value: true, EnvVars: []string{"CALLS_TURN"},
				Usage: "run the embedded STUN/TURN server (--turn=false to turn it off)"},
			&cli.IntFlag{Name: "turn-port", Value: 3478, EnvVars: []string{"CALLS_TURN_PORT"}, Usage: "STUN/TURN port, UDP and TCP (0: any free port)"},
			&cli.IntFlag{Name: "turn-tls-port", EnvVars: []string{"CALLS_TURN_TLS_PORT"},
				Usage: "TURN over TLS with the server's certificate, for networks that pass only TLS (0: off), e.g. 5349"},
			&cli.StringFlag{Name: "turn-relay-ports", Value: "49160-49200", EnvVars: []string{"CALLS_TURN_RELAY_PORTS"},
				Usage: "UDP port range for relayed media, A-B"},
			&cli.StringFlag{Name: "turn-secret", EnvVars: []string{"CALLS_TURN_SECRET"},
				Usage: "TURN REST API shared secret (default: generated once into the data dir)"},
			&cli.DurationFlag{Name: "turn-ttl", Value: 6 * time.Hour, EnvVars: []string{"CALLS_TURN_TTL"}, Usage: "lifetime of TURN credentials"},
			&cli.StringSliceFlag{Name: "turn-allow-peer", EnvVars: []string{"CALLS_TURN_ALLOW_PEER"},
				Usage: "internal CIDR TURN may relay to (repeatable; private, loopback and metadata addresses are refused otherwise)"},
			&cli.IntFlag{Name: "turn-user-quota", Value: 10, EnvVars: []string{"CALLS_TURN_USER_QUOTA"}, Usage: "TURN allocations per user"},
			&cli.IntFlag{Name: "turn-total-quota", EnvVars: []string{"CALLS_TURN_TOTAL_QUOTA"},
				Usage: "TURN allocations in all (0: one per port of --turn-relay-ports)"},
			&cli.StringFlag{Name: "turn-bandwidth", Value: "0", EnvVars: []string{"CALLS_TURN_BANDWIDTH"},
				Usage: "limit of each TURN allocation, each way, e.g. 2Mbit (bits/s) or 250KB (bytes/s); 0: unlimited"},
			&cli.StringFlag{Name: "ice-servers", EnvVars: []string{"CALLS_ICE_SERVERS"},
				Usage: `STUN/TURN servers for call clients instead of the embedded ones, as JSON, e.g. '[{"urls":["turn:turn.example.com:3478"],"username":"u","credential":"p"}]' (fixes the ice_servers setting)`},
			&cli.StringFlag{Name: "max-upload", Value: "50MB", EnvVars: []string{"CALLS_MAX_UPLOAD"},
				Usage: "largest uploaded file, e.g. 50MB, 1GB, 500KB"},
			&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"CALLS_LOG_FORMAT"}, Usage: "text or json"},
			&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"CALLS_LOG_LEVEL"}, Usage: "debug, info, warn or error"},
		},
		Action: serve,
	}
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: must be debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: must be text or json", format)
}

func validListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: want HOST:PORT or :PORT, e.g. :8443 or 127.0.0.1:8443", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("--listen %q: port must be 0-65535", addr)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		if _, err := net.LookupHost(host); err != nil {
			return fmt.Errorf("--listen %q: %q is not an address of this machine", addr, host)
		}
	}
	return nil
}

// validPublicURL checks --public-url: an http(s) address with a host and
// nothing after it but an optional trailing slash, which it drops.
func validPublicURL(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("--public-url %q: give the scheme and host people open, e.g. https://chat.example.com (a port if not the default; no path)", v)
	}
	return u.Scheme + "://" + u.Host, nil
}

func serve(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return cli.Exit(fmt.Sprintf("serve takes no arguments, got %q (flags start with --)", c.Args().First()), 2)
	}
	log, err := newLogger(c.String("log-format"), c.String("log-level"))
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if err := validListen(c.String("listen")); err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if (c.String("tls-cert") == "") != (c.String("tls-key") == "") {
		return cli.Exit("--tls-cert and --tls-key go together: give both files, or neither", 2)
	}
	for _, f := range []string{"tls-cert", "tls-key"} {
		if p := c.String(f); p != "" {
			if _, err := os.Stat(p); err != nil {
				return cli.Exit(fmt.Sprintf("--%s %s: %v", f, p, err), 2)
			}
		}
	}
	if p := c.Int("rtc-port"); p < 0 || p > 65535 {
		return cli.Exit(fmt.Sprintf("--rtc-port %d: must be 1-65535 (0: any free port, for tests)", p), 2)
	}
	for _, ip := range c.StringSlice("public-ip") {
		if net.ParseIP(ip) == nil {
			return cli.Exit(fmt.Sprintf("--public-ip %q: not an IP address (give one address per flag)", ip), 2)
		}
	}
	if n := c.Int("max-call-participants"); n < 2 || n > 10000 {
		return cli.Exit(fmt.Sprintf("--max-call-participants %d: must be 2-10000", n), 2)
	}
	if d := c.Duration("ring-timeout"); d < time.Second || d > 10*time.Minute {
		return cli.Exit(fmt.Sprintf("--ring-timeout %v: must be 1s-10m, e.g. 30s", d), 2)
	}
	if d := c.Duration("recording-max"); d < 10*time.Second || d > 24*time.Hour {
		return cli.Exit(fmt.Sprintf("--recording-max %v: must be 10s-24h", d), 2)
	}
	if d := c.Duration("recording-reminder"); d < 0 || d >= c.Duration("recording-max") {
		return cli.Exit(fmt.Sprintf("--recording-reminder %v: must be shorter than --recording-max (%v)", d, c.Duration("recording-max")), 2)
	}
	turnCfg, err := turnConfig(c)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	maxUpload, err := parseSize(c.String("max-upload"))
	if err != nil {
		return cli.Exit(fmt.Sprintf("--max-upload %q: %v", c.String("max-upload"), err), 2)
	}
	publicURL, err := validPublicURL(c.String("public-url"))
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	var iceServers []turn.ICEServer
	if c.IsSet("ice-servers") {
		if iceServers, err = parseICEServersFlag(c.String("ice-servers")); err != nil {
			return cli.Exit(err.Error(), 2)
		}
	}
	if c.Bool("insecure") && (c.String("tls-cert") != "" || c.String("domain") != "") {
		return cli.Exit("--insecure serves plain HTTP; drop it to use --tls-cert or --domain", 2)
	}
	if c.Bool("insecure") && turnCfg.Enabled && turnCfg.TLSPort > 0 {
		return cli.Exit(fmt.Sprintf("--turn-tls-port %d: TURN over TLS uses the server's certificate, and --insecure has none; "+
			"drop --turn-tls-port, or drop --insecure and give a certificate (--tls-cert and --tls-key, or --domain)", turnCfg.TLSPort), 2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once
	}()
	err = server.Run(ctx, server.Config{
		DataDir:   c.String("data"),
		Listen:    c.String("listen"),
		Insecure:  c.Bool("insecure"),
		TLSCert:   c.String("tls-cert"),
		TLSKey:    c.String("tls-key"),
		Domain:    c.String("domain"),
		PublicURL: publicURL,
		UI:        webUI(),
		MaxUpload: maxUpload,
		RTCAddr:   rtcAddr(c.String("listen"), c.Int("rtc-port")),
		PublicIPs: c.StringSlice("public-ip"),
		// Loopback candidates only when the server itself is bound there.
		ICELoopback:         strings.HasPrefix(c.String("listen"), "127.") || strings.HasPrefix(c.String("listen"), "localhost"),
		MaxCallParticipants: c.Int("max-call-participants"),
		RingTimeout:         c.Duration("ring-timeout"),
		TURN:                turnCfg,
		ICEServers:          iceServers,
		RecordingMax:        c.Duration("recording-max"),
		RecordingReminder:   c.Duration("recording-reminder"),
		// A value given explicitly (flag or CALLS_*) wins over the admin page.
		FixedSettings: map[string]bool{
			"ring_timeout":          c.IsSet("ring-timeout"),
			"max_call_participants": c.IsSet("max-call-participants"),
			"recording_max":         c.IsSet("recording-max"),
			"recording_reminder":    c.IsSet("recording-reminder"),
			"public_ips":            c.IsSet("public-ip"),
			"max_upload_bytes":      c.IsSet("max-upload"),
			"ice_servers":           c.IsSet("ice-servers"),
		},
		Version: buildVersion(),
		Logger:  log,
	})
	if err != nil {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}

func userCommand() *cli.Command {
	return &cli.Command{
		Name:  "user",
		Usage: "manage users (works beside a running server)",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "create a user; the password is asked for, or read from standard input",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					dataFlag(),
					&cli.BoolFlag{Name: "admin", Usage: "make the user an admin"},
					&cli.BoolFlag{Name: "guest", Usage: "make the user a guest (sees only rooms they are added to)"},
					&cli.StringFlag{Name: "display-name", Usage: "name shown to others (default: NAME)"},
					&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from standard input (first line)"},
				},
				Action: userAdd,
			},
			{
				Name:      "deactivate",
				Usage:     "deactivate a user: they cannot log in, their sessions end; their posts stay",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{dataFlag()},
				Action:    func(c *cli.Context) error { return userSetActive(c, false) },
			},
			{
				Name:      "activate",
				Usage:     "reactivate a deactivated user",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{dataFlag()},
				Action:    func(c *cli.Context) error { return userSetActive(c, true) },
			},
			{
				Name:   "list",
				Usage:  "list users",
				Flags:  []cli.Flag{dataFlag()},
				Action: userList,
			},
		},
	}
}

// openStore opens an existing data dir for an admin command.
func openStore(c *cli.Context) (*store.Store, error) {
	dir := c.String("data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, cli.Exit(fmt.Sprintf("--data %s: %v", dir, err), 2)
	}
	return store.Open(c.Context, filepath.Join(dir, "calls.db"), store.Options{})
}

func oneName(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", cli.Exit(fmt.Sprintf("%s needs exactly one NAME (flags go before it), e.g. calls user %s alice", c.Command.Name, c.Command.Name), 2)
	}
	return c.Args().First(), nil
}

func userAdd(c *cli.Context) error {
	name, err := oneName(c)
	if err != nil {
		return err
	}
	if err := server.ValidUsername(name); err != nil {
		return cli.Exit(fmt.Sprintf("NAME %q: %v", name, err), 2)
	}
	role := store.RoleMember
	switch {
	case c.Bool("admin") && c.Bool("guest"):
		return cli.Exit("--admin and --guest exclude each other: pick one", 2)
	case c.Bool("admin"):
		role = store.RoleAdmin
	case c.Bool("guest"):
		role = store.RoleGuest
	}
	pw, err := readPassword(c.Bool("password-stdin"), os.Stdin)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if err := auth.CheckPassword(pw); err != nil {
		return cli.Exit("password: "+err.Error(), 2)
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	st, err := openStore(c)
	if err != nil {
		return err
	}
	defer st.Close()
	display := c.String("display-name")
	if display == "" {
		display = name
	}
	u, err := st.CreateUser(c.Context, store.NewUser{Username: name, DisplayName: display, Role: role, PasswordHash: hash})
	if errors.Is(err, store.ErrConflict) {
		return cli.Exit(fmt.Sprintf("user %q already exists; pick another NAME", name), 1)
	}
	if err != nil {
		return err
	}
	fmt.Printf("created %s %s (id %s)\n", u.Role, u.Username, u.ID)
	return nil
}

// readPassword reads from a terminal without echo (asking twice), or the
// first line of standard input when it is not a terminal or fromStdin is set.
func readPassword(fromStdin bool, in *os.File) (string, error) {
	fd := int(in.Fd())
	if !fromStdin && term.IsTerminal(fd) {
		fmt.Fprint(os.Stderr, "Password: ")
		a, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(os.Stderr, "Again: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ; run the command again")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, auth.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input: pipe one in, e.g. echo 'secret pass' | calls user add NAME --password-stdin")
	}
	return line, nil
}

func userSetActive(c *cli.Context, active bool) error {
	name, err := oneName(c)
	if err != nil {
		return err
	}
	st, err := openStore(c)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.UserByUsername(c.Context, name)
	if errors.Is(err, store.ErrNotFound) {
		return cli.Exit(fmt.Sprintf("no user %q; see calls user list", name), 1)
	}
	if err != nil {
		return err
	}
	if err := st.SetDeactivated(c.Context, u.ID, !active); err != nil {
		return err
	}
	if active {
		fmt.Printf("reactivated %s\n", u.Username)
	} else {
		fmt.Printf("deactivated %s; their sessions are revoked (a running server ends their connections and calls within a second or two)\n", u.Username)
	}
	return nil
}

func userList(c *cli.Context) error {
	st, err := openStore(c)
	if err != nil {
		return err
	}
	defer st.Close()
	us, err := st.ListUsers(c.Context)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tROLE\tSTATE\tCREATED\tID")
	for _, u := range us {
		state := "active"
		if !u.Active() {
			state = "deactivated"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, state, u.CreatedAt.Format("2006-01-02"), u.ID)
	}
	return tw.Flush()
}

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "write a consistent copy of the data dir (database + files) to FILE (.tar, or .tar.gz); safe beside a running server",
		ArgsUsage: "FILE",
		Flags:     []cli.Flag{dataFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("backup needs FILE, e.g. calls backup calls-2026-11-24.tar.gz", 2)
			}
			file := c.Args().First()
			if _, err := os.Stat(file); err == nil {
				return cli.Exit(fmt.Sprintf("FILE %s exists; pick a new name", file), 2)
			}
			if err := backup.Create(c.Context, c.String("data"), file); err != nil {
				return err
			}
			fmt.Printf("backup written to %s\n", file)
			return nil
		},
	}
}

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore a backup FILE into --data DIR (stop the server first)",
		ArgsUsage: "FILE",
		Flags: []cli.Flag{
			dataFlag(),
			&cli.BoolFlag{Name: "force", Usage: "restore over a non-empty --data (the old directory is kept, renamed)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("restore needs FILE, e.g. calls restore calls-2026-11-24.tar.gz --data ./calls-data", 2)
			}
			dir := c.String("data")
			if _, err := os.Stat(dir); err == nil {
				unlock, err := server.LockDataDir(dir)
				if err != nil {
					return cli.Exit(fmt.Sprintf("--data %s: a server is running on it; stop it first (%v)", dir, err), 1)
				}
				unlock()
			}
			aside, err := backup.Restore(c.Context, c.Args().First(), dir, c.Bool("force"))
			if errors.Is(err, backup.ErrNotEmpty) {
				return cli.Exit(err.Error(), 1)
			}
			if err != nil {
				return err
			}
			if aside != "" {
				fmt.Printf("previous data kept in %s\n", aside)
			}
			fmt.Printf("restored %s into %s\n", c.Args().First(), dir)
			return nil
		},
	}
}

// flagsFirst moves a command's flags before its positional arguments, so
// `calls user add alice --admin` works as people type it (urfave/cli v2
// stops reading flags at the first argument).
func flagsFirst(app *cli.App, args []string) []string {
	i, cmds := 1, app.Commands
	var cmd *cli.Command
	for i < len(args) {
		var next *cli.Command
		for _, c := range cmds {
			if c.HasName(args[i]) {
				next = c
			}
		}
		if next == nil {
			break
		}
		cmd, cmds = next, next.Subcommands
		i++
	}
	if cmd == nil || len(cmd.Subcommands) > 0 {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flags, positional []string
	rest := args[i:]
	for j := 0; j < len(rest); j++ {
		tok := rest[j]
		switch {
		case tok == "--":
			positional = append(positional, rest[j+1:]...)
			j = len(rest)
		case strings.HasPrefix(tok, "-") && tok != "-":
			flags = append(flags, tok)
			name := strings.TrimLeft(tok, "-")
			if !strings.Contains(name, "=") && takesValue[name] && j+1 < len(rest) {
				j++
				flags = append(flags, rest[j])
			}
		default:
			positional = append(positional, tok)
		}
	}
	out := append([]string{}, args[:i]...)
	out = append(out, flags...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

// parseSize reads sizes like 50MB, 1GB, 512KB or a plain byte count
// (decimal units, as people write them).
func parseSize(v string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	s := strings.ToUpper(strings.TrimSpace(v))
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 || n*float64(mult) > 1<<40 {
		return 0, errors.New("want a size such as 50MB or 1GB, more than 0 and at most 1TB")
	}
	return int64(n * float64(mult)), nil
}

// parseICEServersFlag reads --ice-servers: a JSON list of
// {urls, username, credential}, as the ice_servers setting takes. An empty
// list ([]) fixes the setting to the embedded STUN/TURN server.
func parseICEServersFlag(v string) ([]turn.ICEServer, error) {
	if strings.TrimSpace(v) == "" {
		return nil, errors.New(`--ice-servers is empty: give a JSON list such as '[{"urls":["turn:turn.example.com:3478"],"username":"u","credential":"p"}]', or leave the flag out`)
	}
	servers, err := server.ParseICEServers("--ice-servers", []byte(v))
	if err != nil {
		return nil, fmt.Errorf("%v; fix the JSON, or leave the flag out to set the servers on the admin page", err)
	}
	return servers, nil
}

// parseRate reads --turn-bandwidth into bytes per second: 0 (unlimited),
// a number of bytes/s, or a number with a unit, in bits per second
// (kbit, Mbit, Gbit) or bytes per second (KB, MB, GB; decimal, as
// --max-upload); a trailing "/s" is allowed.
func parseRate(v string) (int64, error) {
	units := []struct {
		suffix string
		bytes  float64 // bytes/s per unit
	}{{"gbit", 1e9 / 8}, {"mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"bit", 1.0 / 8}, {"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3}, {"b", 1}}
	s := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), "/s")
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.bytes
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	bad := errors.New("want a rate per allocation and direction such as 2Mbit (bits/s), 250KB (bytes/s), or 0 for unlimited")
	if err != nil || n < 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, bad
	}
	rate := n * mult
	if rate == 0 {
		return 0, nil
	}
	if rate < 1000 || rate > 1e11 {
		return 0, fmt.Errorf("%w (at least 8kbit = 1KB/s, at most 800Gbit, or 0)", bad)
	}
	return int64(rate), nil
}

// rtcAddr binds the media port on the same host as --listen.
func rtcAddr(listen string, port int) string {
	host, _, _ := net.SplitHostPort(listen)
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// turnConfig reads and checks the --turn-* flags.
func turnConfig(c *cli.Context) (server.TURNConfig, error) {
	tc := server.TURNConfig{Enabled: c.Bool("turn"), Port: c.Int("turn-port"), TLSPort: c.Int("turn-tls-port"),
		Secret: c.String("turn-secret"), TTL: c.Duration("turn-ttl"), UserQuota: c.Int("turn-user-quota"),
		TotalQuota: c.Int("turn-total-quota")}
	if !tc.Enabled {
		return tc, nil
	}
	if tc.Port < 0 || tc.Port > 65535 {
		return tc, fmt.Errorf("--turn-port %d: must be 1-65535", tc.Port)
	}
	if tc.TLSPort < 0 || tc.TLSPort > 65535 {
		return tc, fmt.Errorf("--turn-tls-port %d: must be 1-65535, or 0 for off", tc.TLSPort)
	}
	min, max, err := turn.ParsePortRange(c.String("turn-relay-ports"))
	if err != nil || min < 1024 || max < min {
		return tc, fmt.Errorf("--turn-relay-ports %q: want A-B with 1024 <= A <= B <= 65535, e.g. 49160-49200", c.String("turn-relay-ports"))
	}
	tc.RelayMin, tc.RelayMax = min, max
	if s := tc.Secret; s != "" && len(s) < 16 {
		return tc, fmt.Errorf("--turn-secret: use at least 16 characters (or leave it out to have one generated)")
	}
	if tc.TTL < time.Minute || tc.TTL > 7*24*time.Hour {
		return tc, fmt.Errorf("--turn-ttl %v: must be 1m-168h", tc.TTL)
	}
	if tc.UserQuota < 1 || tc.UserQuota > 1000 {
		return tc, fmt.Errorf("--turn-user-quota %d: must be 1-1000", tc.UserQuota)
	}
	if ports := max - min + 1; tc.TotalQuota < 0 || tc.TotalQuota > ports {
		return tc, fmt.Errorf("--turn-total-quota %d: must be 0 (one per relay port) to %d, the number of ports in --turn-relay-ports %s (each allocation takes one; widen the range for more)",
			tc.TotalQuota, ports, c.String("turn-relay-ports"))
	}
	bw, err := parseRate(c.String("turn-bandwidth"))
	if err != nil {
		return tc, fmt.Errorf("--turn-bandwidth %q: %v", c.String("turn-bandwidth"), err)
	}
	tc.BandwidthBytes = bw
	for _, v := range c.StringSlice("turn-allow-peer") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return tc, fmt.Errorf("--turn-allow-peer %q: want a CIDR such as 10.1.2.0/24", v)
		}
		tc.AllowPeers = append(tc.AllowPeers, p)
	}
	return tc, nil
}
