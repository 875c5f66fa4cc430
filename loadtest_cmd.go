package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"calls/server/loadtest"
)

func loadtestCommand() *cli.Command {
	return &cli.Command{
		Name:  "loadtest",
		Usage: "drive a running server with pion call participants and chat clients, and report what it carries",
		Description: "Creates its own users (bots with API tokens), a team and one private channel per call, joins\n" +
			"the calls over the websocket protocol, sends generated Opus/VP8 RTP for --duration once everyone\n" +
			"has joined, and reports loss, latency, forwarded packets/s and the server's CPU and memory.\n" +
			"Everything it created is removed afterwards unless --keep. See docs/PERFORMANCE.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "url", EnvVars: []string{"CALLS_LOADTEST_URL"}, Usage: "the server, e.g. http://127.0.0.1:8443"},
			&cli.StringFlag{Name: "admin-user", Usage: "an admin's user name (with --admin-password)"},
			&cli.StringFlag{Name: "admin-password", EnvVars: []string{"CALLS_LOADTEST_ADMIN_PASSWORD"}, Usage: "that admin's password"},
			&cli.StringFlag{Name: "token", EnvVars: []string{"CALLS_LOADTEST_TOKEN"}, Usage: "an admin's session or API token, instead of a password"},
			&cli.BoolFlag{Name: "insecure-tls", Usage: "accept any TLS certificate (the server's self-signed one)"},
			&cli.IntFlag{Name: "calls", Value: 1, Usage: "calls, each in its own channel"},
			&cli.IntFlag{Name: "participants", Value: 4, Usage: "participants per call"},
			&cli.IntFlag{Name: "speakers", Value: 1, Usage: "participants per call sending audio (Opus-shaped, every 20 ms)"},
			&cli.IntFlag{Name: "video-publishers", Usage: "participants per call sending camera video (VP8-shaped, 30 frames/s)"},
			&cli.StringFlag{Name: "video-bitrate", Value: "500k", Usage: "bits/s of each camera, e.g. 500k or 1.5M"},
			&cli.IntFlag{Name: "screen-sharers", Usage: "participants per call sharing a screen (VP8-shaped, 5 frames/s)"},
			&cli.StringFlag{Name: "screen-bitrate", Value: "1M", Usage: "bits/s of each screen share"},
			&cli.IntFlag{Name: "chat-clients", Usage: "chat users on websockets in one channel"},
			&cli.Float64Flag{Name: "posts-per-second", Value: 1, Usage: "chat posts per second over all chat clients (at most 5 per client)"},
			&cli.Float64Flag{Name: "ramp", Value: 10, Usage: "participants joining per second"},
			&cli.DurationFlag{Name: "duration", Value: 30 * time.Second, Usage: "how long to measure once everyone has joined"},
			&cli.BoolFlag{Name: "keep", Usage: "leave the users and channels on the server"},
			&cli.IntFlag{Name: "server-pid", DefaultText: "the process listening on --url's port here, else /metrics",
				Usage: "the server's process id, to read its CPU and memory from /proc"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		},
		Action: runLoadtest,
	}
}

func runLoadtest(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return cli.Exit(fmt.Sprintf("loadtest takes no arguments, got %q (flags start with --)", c.Args().First()), 2)
	}
	cfg := loadtest.Config{
		URL:             c.String("url"),
		Token:           c.String("token"),
		AdminUser:       c.String("admin-user"),
		AdminPassword:   c.String("admin-password"),
		InsecureTLS:     c.Bool("insecure-tls"),
		Calls:           c.Int("calls"),
		Participants:    c.Int("participants"),
		Speakers:        c.Int("speakers"),
		VideoPublishers: c.Int("video-publishers"),
		ScreenSharers:   c.Int("screen-sharers"),
		ChatClients:     c.Int("chat-clients"),
		PostsPerSecond:  c.Float64("posts-per-second"),
		Ramp:            c.Float64("ramp"),
		Duration:        c.Duration("duration"),
		Keep:            c.Bool("keep"),
		ServerPID:       c.Int("server-pid"),
		Progress:        os.Stderr,
	}
	if cfg.ChatClients == 0 && !c.IsSet("posts-per-second") {
		cfg.PostsPerSecond = 0
	}
	var err error
	if cfg.VideoBitrate, err = parseBitrate(c.String("video-bitrate")); err != nil {
		return cli.Exit(fmt.Sprintf("--video-bitrate %q: %v", c.String("video-bitrate"), err), 2)
	}
	if cfg.ScreenBitrate, err = parseBitrate(c.String("screen-bitrate")); err != nil {
		return cli.Exit(fmt.Sprintf("--screen-bitrate %q: %v", c.String("screen-bitrate"), err), 2)
	}
	if err := cfg.Validate(); err != nil {
		return cli.Exit(err.Error(), 2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := loadtest.Run(ctx, cfg)
	if rep != nil {
		if c.Bool("json") {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			rep.WriteText(os.Stdout)
		}
	}
	if err != nil {
		return err
	}
	if n := rep.Participants.Failed; n > 0 {
		return cli.Exit(fmt.Sprintf("%d of %d participants failed to connect (see the report)", n, rep.Participants.Wanted), 1)
	}
	return nil
}

// parseBitrate reads bits per second: 800000, 500k, 1.5M.
func parseBitrate(s string) (int, error) {
	mult := 1.0
	t := strings.TrimSpace(s)
	switch {
	case strings.HasSuffix(t, "k"), strings.HasSuffix(t, "K"):
		mult, t = 1e3, t[:len(t)-1]
	case strings.HasSuffix(t, "m"), strings.HasSuffix(t, "M"):
		mult, t = 1e6, t[:len(t)-1]
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("want bits per second, e.g. 500k or 1.5M")
	}
	return int(f * mult), nil
}
