package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"calls/store"
)

// The test binary doubles as the calls binary: with CALLS_TEST_MAIN=1 it
// runs main, so these tests exercise the real CLI in a real process.
func TestMain(m *testing.M) {
	if os.Getenv("CALLS_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func calls(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CALLS_TEST_MAIN=1")
	return cmd
}

var urlRE = regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)

// startServe runs `calls serve` and waits for the URL it prints.
// extra flags go after the usual ones.
func startServe(t *testing.T, data string, extra ...string) (*exec.Cmd, string, *strings.Builder) {
	t.Helper()
	return startServeWith(t, data, nil, extra...)
}

// startServeWith is startServe with more environment variables and flags.
func startServeWith(t *testing.T, data string, env []string, flags ...string) (*exec.Cmd, string, *strings.Builder) {
	t.Helper()
	args := append([]string{"serve", "--insecure", "--listen", "127.0.0.1:0", "--rtc-port", freeUDPPort(t), "--turn-port", "0", "--data", data}, flags...)
	cmd := calls(args...)
	cmd.Env = append(cmd.Env, env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	log := &strings.Builder{}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		close(found)
	}()
	select {
	case url, ok := <-found:
		if !ok {
			t.Fatalf("serve exited early:\n%s", log)
		}
		return cmd, url, log
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("serve printed no URL:\n%s", log)
	}
	return nil, "", nil
}

func TestServeSIGTERMExitsCleanly(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	add := calls("user", "add", "alice", "--admin", "--password-stdin", "--data", data)
	add.Stdin = strings.NewReader("alice-password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	cmd, url, log := startServe(t, data)

	resp, err := http.Post(url+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"username":"alice","password":"alice-password"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login against the subprocess: %v %v", err, resp)
	}
	resp.Body.Close()

	// A second server on the same data dir is refused while the first runs;
	// admin commands still work beside it.
	second := calls("serve", "--insecure", "--listen", "127.0.0.1:0", "--rtc-port", freeUDPPort(t), "--turn-port", "0", "--data", data)
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another calls server") {
		t.Fatalf("second serve: err=%v out=%s", err, out)
	}
	add = calls("user", "add", "bob", "--password-stdin", "--data", data)
	add.Stdin = strings.NewReader("bob-password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add beside a running server: %v\n%s", err, out)
	}

	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, log)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no exit 10 s after SIGTERM\n%s", log)
	}
	t.Logf("exited 0, %v after SIGTERM", time.Since(start).Round(time.Millisecond))

	st, err := store.Open(context.Background(), filepath.Join(data, "calls.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(context.Background()); err != nil || res != "ok" {
		t.Fatalf("integrity_check after shutdown: %q %v", res, err)
	}
	if n, _ := st.CountUsers(context.Background()); n != 2 {
		t.Fatalf("%d users after shutdown, want 2", n)
	}
	fi, _ := os.Stat(data)
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v, want 0700", fi.Mode().Perm())
	}
}

func TestCLIErrorsNameTheFlag(t *testing.T) {
	data := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--listen", ":99999", "--data", data}, "--listen"},
		{[]string{"serve", "--listen", "nonsense", "--data", data}, "--listen"},
		{[]string{"serve", "--log-format", "xml", "--data", data}, "--log-format"},
		{[]string{"serve", "--max-upload", "lots", "--data", data}, "--max-upload"},
		{[]string{"serve", "--rtc-port", "-1", "--data", data}, "--rtc-port"},
		{[]string{"serve", "--public-ip", "1.2.3", "--data", data}, "--public-ip"},
		{[]string{"serve", "--public-url", "chat.example.com", "--data", data}, "--public-url"},
		{[]string{"serve", "--public-url", "https://chat.example.com/calls", "--data", data}, "--public-url"},
		{[]string{"serve", "--turn-relay-ports", "9-3", "--data", data}, "--turn-relay-ports"},
		{[]string{"serve", "--turn-allow-peer", "10.0.0.1", "--data", data}, "--turn-allow-peer"},
		{[]string{"serve", "--turn-secret", "short", "--data", data}, "--turn-secret"},
		{[]string{"serve", "--turn-bandwidth", "fast", "--data", data}, `--turn-bandwidth "fast": want a rate`},
		{[]string{"serve", "--turn-bandwidth", "2M", "--data", data}, "such as 2Mbit (bits/s), 250KB (bytes/s)"},
		{[]string{"serve", "--turn-bandwidth", "100", "--data", data}, "at least 8kbit"},
		{[]string{"serve", "--turn-bandwidth", "-1Mbit", "--data", data}, "--turn-bandwidth"},
		{[]string{"serve", "--turn-total-quota", "42", "--data", data}, "--turn-total-quota 42: must be 0 (one per relay port) to 41"},
		{[]string{"serve", "--turn-total-quota", "-1", "--data", data}, "--turn-total-quota"},
		{[]string{"serve", "--insecure", "--turn-tls-port", "5349", "--data", data}, "--turn-tls-port 5349: TURN over TLS uses the server's certificate, and --insecure has none"},
		{[]string{"serve", "--tls-cert", "x.pem", "--data", data}, "--tls-key"},
		{[]string{"user", "add", "--data", data}, "NAME"},
		{[]string{"user", "add", "a/b", "--data", data}, "username"},
		{[]string{"user", "add", "x", "--admin", "--guest", "--data", data}, "--admin and --guest"},
		{[]string{"user", "deactivate", "ghost", "--data", data}, "no user"},
		{[]string{"restore", "--data", data}, "FILE"},
	}
	for _, c := range cases {
		cmd := calls(c.args...)
		cmd.Stdin = strings.NewReader("some-password\n")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("calls %s: err=%v, output %q should mention %q", strings.Join(c.args, " "), err, out, c.want)
		}
	}
}

// --ice-servers: bad JSON, an entry without URLs or with a URL that is not
// STUN/TURN stop the start with a message naming the flag and the fix,
// from the flag or from CALLS_ICE_SERVERS; a good value reaches clients
// and fixes the ice_servers setting.
func TestICEServersFlag(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	cases := []struct{ value, want string }{
		{`[{"urls": ["turn:a.example:3478"]`, "not valid JSON"},
		{`{"urls": "stun:a.example"}`, "must be a list"},
		{`[{"urls": []}]`, "--ice-servers[0]: urls must be one URL or a list of 1-8"},
		{`[{"username": "u"}]`, "--ice-servers[0]: urls must be"},
		{`[{"urls": ["https://turn.example.com"]}]`, `"https://turn.example.com" must start with stun:, stuns:, turn: or turns:`},
		{`[{"urls": "turn:a.example:3478"}]`, "--ice-servers[0]: a TURN server needs a username and a credential"},
		{` `, "--ice-servers is empty"},
	}
	for _, c := range cases {
		out, err := calls("serve", "--data", data, "--ice-servers", c.value).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--ice-servers") || !strings.Contains(string(out), c.want) {
			t.Errorf("--ice-servers %s: err=%v, output %q should name the flag and say %q", c.value, err, out, c.want)
		}
	}
	cmd := calls("serve", "--data", data)
	cmd.Env = append(cmd.Env, `CALLS_ICE_SERVERS=[{"urls":["ftp://x"]}]`)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "--ice-servers[0]") {
		t.Errorf("CALLS_ICE_SERVERS with a bad URL: err=%v %s", err, out)
	}

	add := calls("user", "add", "root", "--admin", "--password-stdin", "--data", data)
	add.Stdin = strings.NewReader("root-password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	ice := `[{"urls":["turn:turn.example.com:3478?transport=udp","turns:turn.example.com:5349"],"username":"calls","credential":"s3cret"}]`
	cmd, url, _ := startServe(t, data, "--ice-servers", ice)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var lr struct {
		Token string `json:"token"`
	}
	postJSON(t, url, "", "/api/v1/auth/login", map[string]string{"username": "root", "password": "root-password"}, &lr)
	var got struct {
		Settings map[string]json.RawMessage `json:"settings"`
		Fixed    []string                   `json:"fixed"`
	}
	getJSON(t, url, lr.Token, "/api/v1/admin/settings", &got)
	var servers []map[string]any
	json.Unmarshal(got.Settings["ice_servers"], &servers)
	if !slices.Contains(got.Fixed, "ice_servers") || len(servers) != 1 || servers[0]["username"] != "calls" ||
		len(servers[0]["urls"].([]any)) != 2 {
		t.Fatalf("with --ice-servers: ice_servers %s, fixed %v", got.Settings["ice_servers"], got.Fixed)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "0Mbit": 0, "2Mbit": 250_000, "2mbit/s": 250_000, "500kbit": 62_500, "1Gbit": 125_000_000,
		"250KB": 250_000, "1.5MB": 1_500_000, "8000": 8000, "8000B": 8000, "64kbit/s": 8000,
	} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "fast", "2M", "2 Mbps", "-1KB", "999", "7kbit", "NaN", "Inf", "1000GB"} {
		if got, err := parseRate(in); err == nil {
			t.Errorf("parseRate(%q) = %d, want an error", in, got)
		}
	}
}

func TestEnvVarsSetFlags(t *testing.T) {
	cmd := calls("serve")
	cmd.Env = append(cmd.Env, "CALLS_LISTEN=bad", "CALLS_DATA="+t.TempDir())
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), `--listen "bad"`) {
		t.Fatalf("CALLS_LISTEN not read: %s", out)
	}
}

// A setting given by its CALLS_* variable is fixed exactly as when given by
// its flag: the settings API reports the value and that it is fixed, and
// refuses to change it. Given neither way, the same setting can be changed.
func TestSettingFixedByFlagOrEnv(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   []string
		flags []string
		fixed bool
	}{
		{"flag", nil, []string{"--ring-timeout", "20s"}, true},
		{"env", []string{"CALLS_RING_TIMEOUT=20s"}, nil, true},
		{"neither", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			add := calls("user", "add", "root", "--admin", "--password-stdin", "--data", data)
			add.Stdin = strings.NewReader("root-password\n")
			if out, err := add.CombinedOutput(); err != nil {
				t.Fatalf("user add: %v\n%s", err, out)
			}
			cmd, url, log := startServeWith(t, data, tc.env, tc.flags...)
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			var lr struct {
				Token string `json:"token"`
			}
			postJSON(t, url, "", "/api/v1/auth/login", map[string]string{"username": "root", "password": "root-password"}, &lr)

			var got struct {
				Settings map[string]any `json:"settings"`
				Fixed    []string       `json:"fixed"`
				Schema   []struct {
					Key   string `json:"key"`
					Fixed bool   `json:"fixed"`
				} `json:"schema"`
			}
			getJSON(t, url, lr.Token, "/api/v1/admin/settings", &got)
			want := "30s"
			if tc.fixed {
				want = "20s"
			}
			if got.Settings["ring_timeout"] != want || slices.Contains(got.Fixed, "ring_timeout") != tc.fixed {
				t.Fatalf("ring_timeout %v, fixed %v; want %s, fixed=%v\n%s", got.Settings["ring_timeout"], got.Fixed, want, tc.fixed, log)
			}
			for _, v := range got.Schema {
				if v.Key == "ring_timeout" && v.Fixed != tc.fixed {
					t.Fatalf("schema says ring_timeout fixed=%v", v.Fixed)
				}
			}

			st, body := patchJSON(t, url, lr.Token, "/api/v1/admin/settings", map[string]any{"ring_timeout": "40s"})
			if tc.fixed {
				if st != http.StatusConflict || body["code"] != "setting_fixed" || !strings.Contains(fmt.Sprint(body["error"]), "command line") {
					t.Fatalf("PATCH ring_timeout fixed by %s: %d %v", tc.name, st, body)
				}
			} else if st != http.StatusOK {
				t.Fatalf("PATCH ring_timeout given neither way: %d %v", st, body)
			}
			getJSON(t, url, lr.Token, "/api/v1/settings", &got.Settings)
			if want := map[bool]string{true: "20s", false: "40s"}[tc.fixed]; got.Settings["ring_timeout"] != want {
				t.Fatalf("after the PATCH ring_timeout is %v, want %s", got.Settings["ring_timeout"], want)
			}
		})
	}
}

// patchJSON sends a PATCH and returns the status and the decoded answer.
func patchJSON(t *testing.T, url, tok, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("PATCH", url+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestBackupRestoreCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	add := calls("user", "add", "alice", "--data", data)
	add.Stdin = strings.NewReader("alice-password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	file := filepath.Join(t.TempDir(), "b.tar.gz")
	if out, err := calls("backup", file, "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("backup: %v %s", err, out)
	}
	if out, err := calls("restore", file, "--data", data).CombinedOutput(); err == nil || !strings.Contains(string(out), "--force") {
		t.Fatalf("restore over data without --force: %v %s", err, out)
	}
	target := filepath.Join(t.TempDir(), "restored")
	if out, err := calls("restore", file, "--data", target).CombinedOutput(); err != nil {
		t.Fatalf("restore: %v %s", err, out)
	}
	out, err := calls("user", "list", "--data", target).Output()
	if err != nil || !strings.Contains(string(out), "alice") {
		t.Fatalf("user list after restore: %v %s", err, out)
	}
	io.Discard.Write(out)
}

// freeUDPPort finds a UDP port nobody uses right now.
func freeUDPPort(t *testing.T) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

// TestCLIDeactivationEndsConnectionsAtOnce: `calls user deactivate` is
// another process; the running server finds the deactivation in the
// database within about a second and closes the user's websockets, rather
// than at their next ping (20 s).
func TestCLIDeactivationEndsConnectionsAtOnce(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	add := calls("user", "add", "bob", "--password-stdin", "--data", data)
	add.Stdin = strings.NewReader("bob-password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	cmd, url, log := startServe(t, data)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	var lr struct {
		Token string `json:"token"`
	}
	postJSON(t, url, "", "/api/v1/auth/login", map[string]string{"username": "bob", "password": "bob-password"}, &lr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(url, "http", "ws", 1)+"/api/v1/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + lr.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	closed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				closed <- err
				return
			}
		}
	}()

	out, err := calls("user", "deactivate", "bob", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("user deactivate beside a running server: %v\n%s", err, out)
	}
	start := time.Now()
	select {
	case err := <-closed:
		var ce websocket.CloseError
		if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "deactivated") {
			t.Fatalf("websocket ended with %v, want a close saying the account was deactivated", err)
		}
		t.Logf("websocket closed %v after the CLI returned", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatalf("websocket still open 10 s after `calls user deactivate`\n%s", log)
	}
	req, _ := http.NewRequest("GET", url+"/api/v1/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+lr.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the revoked session answers %d, want 401", resp.StatusCode)
	}
}
