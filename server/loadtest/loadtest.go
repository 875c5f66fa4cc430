// Package loadtest drives a running calls server the way its users do:
// it creates users, a team and one private channel per call through the
// HTTP API, joins the calls with pion participants over the websocket
// protocol, sends generated Opus- and VP8-shaped RTP, posts chat messages,
// and measures what arrives: packets, loss, latency, jitter, and the
// server's CPU and memory while the media flows. It is client code only:
// it speaks the protocol in docs/API.md and docs/PROTOCOL.md and imports
// nothing of the server.
package loadtest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v3"
)

// Config is one load test.
type Config struct {
	URL string // the server, e.g. http://127.0.0.1:8443
	// Either Token (an admin's session or API token) or AdminUser and
	// AdminPassword to log in with.
	Token                    string
	AdminUser, AdminPassword string
	// InsecureTLS accepts any certificate (the server's self-signed one).
	InsecureTLS bool

	Calls           int // calls, each in its own channel
	Participants    int // per call
	Speakers        int // per call: Opus-shaped audio every 20 ms
	VideoPublishers int // per call: VP8-shaped camera video, 30 frames/s
	ScreenSharers   int // per call: VP8-shaped screen video, 5 frames/s
	VideoBitrate    int // bits/s of each camera
	ScreenBitrate   int // bits/s of each screen share

	ChatClients    int
	PostsPerSecond float64 // over all chat clients

	Ramp     float64       // joins per second
	Duration time.Duration // of the measurement, once everyone has joined
	Keep     bool          // leave the users and channels on the server

	// ServerPID is the server's process when it runs here; 0 finds the
	// process listening on the URL's port, or else reads /metrics.
	ServerPID int

	// Progress, when set, receives a status line every two seconds.
	Progress io.Writer
}

// postRateLimit is the server's sustained post rate per user (API.md).
const postRateLimit = 5

// Validate checks the configuration; its errors name the flag to fix.
func (c *Config) Validate() error {
	if c.URL == "" {
		return errors.New("--url: required, e.g. --url http://127.0.0.1:8443")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want http://HOST:PORT or https://HOST:PORT", c.URL)
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("--url %q: give the server's root, without a path", c.URL)
	}
	if c.Token == "" && (c.AdminUser == "" || c.AdminPassword == "") {
		return errors.New("--token, or --admin-user and --admin-password: the load test needs an admin to create its users")
	}
	checks := []struct {
		flag   string
		n, max int
	}{
		{"--calls", c.Calls, 10000},
		{"--participants", c.Participants, 10000},
		{"--speakers", c.Speakers, c.Participants},
		{"--video-publishers", c.VideoPublishers, c.Participants},
		{"--screen-sharers", c.ScreenSharers, c.Participants},
		{"--chat-clients", c.ChatClients, 10000},
	}
	for _, k := range checks {
		if k.n < 0 {
			return fmt.Errorf("%s %d: must not be negative", k.flag, k.n)
		}
		if k.n > k.max {
			if k.max == c.Participants {
				return fmt.Errorf("%s %d: at most --participants (%d)", k.flag, k.n, c.Participants)
			}
			return fmt.Errorf("%s %d: at most %d", k.flag, k.n, k.max)
		}
	}
	if c.Calls > 0 && c.Participants < 1 {
		return fmt.Errorf("--participants %d: a call needs at least 1 (2 for media to flow)", c.Participants)
	}
	if c.Calls == 0 && c.ChatClients == 0 {
		return errors.New("--calls 0 and --chat-clients 0: nothing to do")
	}
	if c.VideoPublishers > 0 && (c.VideoBitrate < 10_000 || c.VideoBitrate > 50_000_000) {
		return fmt.Errorf("--video-bitrate %d: must be 10k-50M bits/s", c.VideoBitrate)
	}
	if c.ScreenSharers > 0 && (c.ScreenBitrate < 10_000 || c.ScreenBitrate > 50_000_000) {
		return fmt.Errorf("--screen-bitrate %d: must be 10k-50M bits/s", c.ScreenBitrate)
	}
	if c.PostsPerSecond < 0 {
		return fmt.Errorf("--posts-per-second %g: must not be negative", c.PostsPerSecond)
	}
	if c.PostsPerSecond > 0 && c.ChatClients == 0 {
		return fmt.Errorf("--posts-per-second %g: needs --chat-clients", c.PostsPerSecond)
	}
	if c.ChatClients > 0 && c.PostsPerSecond > float64(postRateLimit*c.ChatClients) {
		return fmt.Errorf("--posts-per-second %g: at most %d per chat client (the server's post rate limit); use --chat-clients %d or more",
			c.PostsPerSecond, postRateLimit, int(c.PostsPerSecond+postRateLimit-1)/postRateLimit)
	}
	if c.Ramp <= 0 {
		return fmt.Errorf("--ramp %g: joins per second must be more than 0", c.Ramp)
	}
	if c.Duration < time.Second || c.Duration > 24*time.Hour {
		return fmt.Errorf("--duration %v: must be 1s-24h", c.Duration)
	}
	if c.ServerPID < 0 {
		return fmt.Errorf("--server-pid %d: not a process id", c.ServerPID)
	}
	return nil
}

// runner is one run in progress.
type runner struct {
	cfg   Config
	base  *url.URL
	api   *api
	media *webrtc.API
	fx    *fixture
	chat  *chatLoad
	parts []*participant
	probe probe

	epoch     time.Time
	measuring atomic.Bool

	connected, failed atomic.Int64
	// From sending call_join to its answer, and to the media connection.
	joinAnswer, joinConnect histogram
	notesMu                 sync.Mutex
	notes                   []string
	failures                map[string]int
}

// now is the time since the run began in nanoseconds: the clock of the
// send stamps, monotonic and shared by every participant.
func (r *runner) now() int64 { return int64(time.Since(r.epoch)) }

// note keeps a problem to report (the first few of them).
func (r *runner) note(s string) {
	r.notesMu.Lock()
	defer r.notesMu.Unlock()
	if len(r.notes) < 10 {
		r.notes = append(r.notes, s)
	}
}

func (r *runner) progress(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, format+"\n", args...)
	}
}

func (r *runner) dialWS(ctx context.Context, token string) (*websocket.Conn, error) {
	u := *r.base
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = "/api/v1/ws"
	ws, _, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient: r.api.client,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		return nil, fmt.Errorf("websocket: %w", err)
	}
	// Server offers grow with every track of a call.
	ws.SetReadLimit(16 << 20)
	return ws, nil
}

// Run performs the load test and reports. Whatever it created is removed
// at the end (unless cfg.Keep), also when ctx is cancelled.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	base.Path = ""
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	if cfg.InsecureTLS {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	r := &runner{cfg: cfg, base: base, api: &api{base: base.String(), client: client}, epoch: time.Now(), failures: map[string]int{}}

	if err := r.api.do(ctx, "GET", "/healthz", "", nil, nil); err != nil {
		return nil, fmt.Errorf("--url %s: the server does not answer: %w", cfg.URL, err)
	}
	admin, err := r.api.adminToken(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	r.probe = r.findProbe(ctx)
	r.media, err = newMediaAPI(isLoopback(base.Hostname()))
	if err != nil {
		return nil, err
	}

	rep := &Report{URL: cfg.URL, Calls: cfg.Calls, ParticipantsPerCall: cfg.Participants, Speakers: cfg.Speakers,
		VideoPublishers: cfg.VideoPublishers, ScreenSharers: cfg.ScreenSharers, ChatClients: cfg.ChatClients,
		PostsPerSecond: cfg.PostsPerSecond, Ramp: cfg.Ramp}
	r.fx = &fixture{api: r.api, admin: admin, run: newRunID()}
	rep.Run = r.fx.run
	total := cfg.Calls*cfg.Participants + cfg.ChatClients
	r.progress("run %s: creating %d users, %d channels on %s", r.fx.run, total, cfg.Calls+min(cfg.ChatClients, 1), cfg.URL)
	start := time.Now()
	defer func() {
		if cfg.Keep {
			r.progress("kept: users lt-%s-*, channels lt-%s-* in team lt-%s", r.fx.run, r.fx.run, r.fx.run)
			return
		}
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := r.fx.remove(cctx); err != nil {
			r.progress("%v", err)
			rep.Cleanup = err.Error()
		} else {
			rep.Cleanup = "ok"
		}
	}()
	err = r.fx.create(ctx, &cfg)
	rep.SetupSeconds = time.Since(start).Seconds()
	if err != nil {
		return nil, err
	}
	err = r.run(ctx, rep)
	return rep, err
}

func isLoopback(host string) bool {
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// findProbe picks how to read the server's CPU and memory.
func (r *runner) findProbe(ctx context.Context) probe {
	metrics := metricsProbe{url: r.api.base + "/metrics", client: r.api.client}
	pid := r.cfg.ServerPID
	if pid == 0 && isLocalHost(r.base.Hostname()) {
		port, _ := strconv.Atoi(r.base.Port())
		if port == 0 {
			port = map[string]int{"http": 80, "https": 443}[r.base.Scheme]
		}
		pid, _ = listeningPID(port)
	}
	if pid > 0 {
		p := procProbe{pid: pid}
		if _, err := p.sample(ctx); err == nil {
			return p
		} else if r.cfg.ServerPID > 0 {
			r.note(fmt.Sprintf("--server-pid %d: %v; reading %s instead", pid, err, metrics.url))
		}
	}
	return metrics
}

// run joins, measures, and leaves.
func (r *runner) run(ctx context.Context, rep *Report) error {
	cfg := &r.cfg
	if cfg.ChatClients > 0 {
		r.chat = &chatLoad{r: r}
		if err := r.chat.connect(ctx); err != nil {
			r.chat.close()
			return err
		}
		defer r.chat.close()
	}
	// Join order: participant 0 of every call, then 1, ...: publishers
	// first (they have the low indexes), so listeners receive everything
	// in their first negotiation, and calls fill evenly.
	for i := range cfg.Participants {
		for c := range cfg.Calls {
			r.parts = append(r.parts, &participant{r: r, acct: r.fx.callUsers[c][i], call: c,
				role: role{mic: i < cfg.Speakers, camera: i < cfg.VideoPublishers, screen: i < cfg.ScreenSharers}})
		}
	}
	defer r.leave() // deferred first, so it runs last: after the media stops
	media, stopMedia := context.WithCancel(context.Background())
	defer stopMedia()

	stopProgress := r.startProgress()
	defer stopProgress()

	joinStart := time.Now()
	var joins sync.WaitGroup
	every := time.Duration(float64(time.Second) / cfg.Ramp)
	next := time.Now()
	for _, p := range r.parts {
		if d := time.Until(next); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		next = next.Add(every)
		joins.Add(1)
		go func() {
			defer joins.Done()
			if err := p.join(ctx); err != nil {
				r.failed.Add(1)
				r.notesMu.Lock()
				r.failures[firstLine(err.Error())]++
				r.notesMu.Unlock()
				p.close()
				return
			}
			r.connected.Add(1)
			p.publish(media, cfg)
		}()
	}
	joins.Wait()
	rep.JoinSeconds = time.Since(joinStart).Seconds()
	if err := ctx.Err(); err != nil {
		return err
	}
	// Let the last negotiations and keyframe requests settle.
	if !sleep(ctx, 2*time.Second) {
		return ctx.Err()
	}

	before, beforeErr := r.probe.sample(ctx)
	self0, _ := procUsage("self")
	c0 := r.counters()
	r.measuring.Store(true)
	var chatDone sync.WaitGroup
	chatCtx, stopChat := context.WithCancel(ctx)
	if r.chat != nil && cfg.PostsPerSecond > 0 {
		chatDone.Add(1)
		go func() { defer chatDone.Done(); r.chat.post(chatCtx, cfg.PostsPerSecond) }()
	}
	r.progress("measuring for %v", cfg.Duration)
	completed := sleep(ctx, cfg.Duration)
	r.measuring.Store(false)
	after, afterErr := r.probe.sample(context.Background())
	self1, _ := procUsage("self")
	c1 := r.counters()
	stopChat()
	chatDone.Wait()
	if r.chat != nil {
		sleep(ctx, time.Second) // the last posts' deliveries
	}

	r.fill(rep, c0, c1)
	rep.Server.Source = r.probe.source()
	if beforeErr == nil && afterErr == nil {
		rep.Server.fill(before, after, rep.Media.WindowReceived)
	} else {
		r.note(fmt.Sprintf("server usage from %s: %v", r.probe.source(), errors.Join(beforeErr, afterErr)))
	}
	if d := self1.at.Sub(self0.at).Seconds(); d > 0 {
		rep.LoadGenerator.Cores = (self1.cpu - self0.cpu).Seconds() / d
		rep.LoadGenerator.RSSBytes = self1.rss
	}
	r.notesMu.Lock()
	for msg, n := range r.failures {
		rep.Participants.Errors = append(rep.Participants.Errors, fmt.Sprintf("%d× %s", n, msg))
	}
	rep.Notes = append(rep.Notes, r.notes...)
	r.notesMu.Unlock()
	if !completed {
		return ctx.Err()
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// sleep waits d, or less if ctx ends first (then it returns false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// leave closes every participant, listeners first: a publisher leaving
// makes the server renegotiate with everyone still there.
func (r *runner) leave() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := len(r.parts) - 1; i >= 0; i-- {
		p := r.parts[i]
		if p.ctx == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			p.close()
		}()
	}
	wg.Wait()
}

// counters is a snapshot of what every participant sent and received.
type counters struct {
	at                                       time.Time
	sent, windowSent                         uint64
	received, windowReceived, windowExpected uint64
	jitterSumNs                              int64
	jitterTracks                             int
}

func (r *runner) counters() counters {
	c := counters{at: time.Now()}
	for _, p := range r.parts {
		c.sent += p.sent.Load()
		c.windowSent += p.windowSent.Load()
		p.tracksMu.Lock()
		for _, t := range p.tracks {
			c.received += t.received.Load()
			c.windowReceived += t.windowReceived.Load()
			c.windowExpected += t.windowExpected.Load()
			if j := t.jitterNs.Load(); j > 0 {
				c.jitterSumNs += j
				c.jitterTracks++
			}
		}
		p.tracksMu.Unlock()
	}
	return c
}

// startProgress prints a status line every two seconds until stopped.
func (r *runner) startProgress() (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		last := r.counters()
		lastUse, useErr := r.probe.sample(context.Background())
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			c := r.counters()
			d := c.at.Sub(last.at).Seconds()
			line := fmt.Sprintf("[%4.0fs] joined %d/%d (%d failed)  sent %.0f pkt/s  received %.0f pkt/s",
				time.Since(r.epoch).Seconds(), r.connected.Load(), len(r.parts), r.failed.Load(),
				float64(c.sent-last.sent)/d, float64(c.received-last.received)/d)
			if c.windowExpected > 0 {
				line += fmt.Sprintf("  loss %.2f%%", lossPercent(c.windowExpected, c.windowReceived))
			}
			if u, err := r.probe.sample(context.Background()); err == nil && useErr == nil {
				line += fmt.Sprintf("  server %.2f cores, %s", (u.cpu-lastUse.cpu).Seconds()/u.at.Sub(lastUse.at).Seconds(), mib(u.rss))
				lastUse = u
			}
			last = c
			r.progress("%s", line)
		}
	}()
	return func() { close(done); wg.Wait() }
}

func lossPercent(expected, received uint64) float64 {
	if expected == 0 || received >= expected {
		return 0
	}
	return 100 * float64(expected-received) / float64(expected)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
