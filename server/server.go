// Package server is the calls application: the HTTP API, the websocket hub,
// authentication and the web UI. main builds a Config and calls Run.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"calls/server/filestore"
	"calls/server/hub"
	"calls/server/limiter"
	"calls/server/markdown"
	"calls/server/record"
	"calls/server/sfu"
	"calls/store"
	"calls/turn"
)

// DefaultMaxUpload is --max-upload's default: 50 MB per file.
const DefaultMaxUpload = 50_000_000

// HTTPTimeouts are the web server's limits on slow clients. Uploads and
// file downloads get UploadTimeout instead of Read and Write: a 50 MB file
// on a slow link outlasts a minute. Websockets have none of them (their
// pings find a dead peer).
type HTTPTimeouts struct {
	Header   time.Duration // the request line and headers
	Read     time.Duration // a whole request, body included
	Write    time.Duration // a whole response, from the end of the headers read
	Idle     time.Duration // a kept-alive connection between requests
	Transfer time.Duration // one upload or file download
}

// DefaultHTTPTimeouts are the limits `calls serve` runs with.
var DefaultHTTPTimeouts = HTTPTimeouts{
	Header:   10 * time.Second,
	Read:     60 * time.Second,
	Write:    60 * time.Second,
	Idle:     120 * time.Second,
	Transfer: 30 * time.Minute,
}

// withDefaults fills the zero fields from DefaultHTTPTimeouts.
func (t HTTPTimeouts) withDefaults() HTTPTimeouts {
	d := DefaultHTTPTimeouts
	or := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	return HTTPTimeouts{Header: or(t.Header, d.Header), Read: or(t.Read, d.Read), Write: or(t.Write, d.Write),
		Idle: or(t.Idle, d.Idle), Transfer: or(t.Transfer, d.Transfer)}
}

// Config is everything `calls serve` was told.
type Config struct {
	DataDir  string
	Listen   string
	Insecure bool   // plain HTTP (localhost or behind a TLS proxy)
	TLSCert  string // PEM files; both or neither
	TLSKey   string
	Domain   string // ACME (Let's Encrypt) for this host name
	// PublicURL is the address people open (scheme://host[:port]) when a
	// reverse proxy is in front; links the server hands out use it. Empty:
	// the scheme and Host of the request.
	PublicURL string

	SessionTTL time.Duration
	MaxUpload  int64 // bytes per uploaded file

	// HTTPTimeouts bounds what one web connection may take; a zero field
	// takes its default (DefaultHTTPTimeouts).
	HTTPTimeouts HTTPTimeouts

	// RTCAddr is the one UDP address of all call media (ICE mux).
	RTCAddr string
	// PublicIPs are advertised in ICE candidates instead of the host's.
	PublicIPs []string
	// ICELoopback offers loopback candidates (tests on 127.0.0.1).
	ICELoopback bool
	// MaxCallParticipants caps one call.
	MaxCallParticipants int
	// RingTimeout is how long a DM call rings the other person.
	RingTimeout time.Duration
	// ReconnectGrace is how long a participant whose media connection
	// dropped (ICE disconnected) stays in the call, shown as reconnecting,
	// before being removed; DefaultReconnectGrace if 0.
	ReconnectGrace time.Duration
	// RecordingMax stops a recording; RecordingReminder warns the host
	// that long before.
	RecordingMax, RecordingReminder time.Duration
	// TURN is the embedded STUN/TURN server.
	TURN TURNConfig
	// ICEServers are the STUN/TURN servers call clients get instead of
	// ours (--ice-servers): the ice_servers setting's default.
	ICEServers []turn.ICEServer
	// RetentionBatch is how many posts message retention deletes per
	// transaction [500].
	RetentionBatch int
	// FixedSettings are settings given explicitly on the command line:
	// admins see them but cannot change them at runtime.
	FixedSettings map[string]bool
	UI            fs.FS // the web UI files (index.html at the root)
	Version       string
	Logger        *slog.Logger

	// Listener, when set, is used instead of listening on Listen (tests).
	Listener net.Listener
	// Ready, when set, receives the base URL once the server accepts requests.
	Ready func(url string)
}

// Server is one running calls instance.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	hub     *hub.Hub
	metrics *metrics
	http    *http.Server
	tls     *tls.Config

	loginIP      *limiter.Limiter // every login attempt, per client IP
	loginAccount *limiter.Limiter // failed logins, per account
	postLimit    *limiter.Limiter // posts and commands, per user
	typingLimit  *limiter.Limiter // typing events, per user and room
	frameLimit   *limiter.Limiter // websocket frames, per user
	joinLimit    *limiter.Limiter // call joins, per user
	uploadLimit  *limiter.Limiter // uploads, per user

	calls    calls
	settings settings
	turn     *turn.Server
	ringer   ringer
	clock    clock
	rtcUDP   net.Addr // where call media arrives
	ui       *uiHandler
	sfu      *sfu.SFU
	md       *markdown.Renderer
	files    *filestore.Store
	presence presence
	// recordingFile creates a recording's file (nil: the recorder's
	// default); tests put a full disk here.
	recordingFile func(path string) (record.File, error)

	setupMu   sync.Mutex
	setupCode string // one-time code for the first admin; "" once used

	startedAt time.Time
	logs      *logRing // recent log lines for the support bundle
	retention retention
	trackRate trackRates // bitrate samples for the admin's call list

	routePatterns []string // every route, as registered

	secureCookie bool
}

// New opens the data directory and prepares a server; nothing listens yet.
// The caller must Close it.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	cfg.HTTPTimeouts = cfg.HTTPTimeouts.withDefaults()
	if cfg.MaxUpload == 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.RecordingMax == 0 {
		cfg.RecordingMax = DefaultRecordingMax
	}
	if cfg.RecordingReminder == 0 {
		cfg.RecordingReminder = DefaultRecordingReminder
	}
	if cfg.ReconnectGrace == 0 {
		cfg.ReconnectGrace = DefaultReconnectGrace
	}
	if cfg.RingTimeout == 0 {
		cfg.RingTimeout = DefaultRingTimeout
	}
	if cfg.MaxCallParticipants == 0 {
		cfg.MaxCallParticipants = DefaultMaxCallParticipants
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", cfg.DataDir, err)
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, "calls.db"), store.Options{})
	if err != nil {
		return nil, err
	}
	files, err := filestore.Open(filepath.Join(cfg.DataDir, "files"))
	if err != nil {
		st.Close()
		return nil, err
	}
	logs := newLogRing()
	s := &Server{
		cfg:          cfg,
		log:          slog.New(newRingHandler(cfg.Logger.Handler(), logs)),
		logs:         logs,
		startedAt:    time.Now().UTC(),
		retention:    newRetention(cfg.RetentionBatch),
		store:        st,
		hub:          hub.New(),
		loginIP:      limiter.New(20, 3*time.Second, nil),
		loginAccount: limiter.New(10, 30*time.Second, nil),
		postLimit:    limiter.New(20, 200*time.Millisecond, nil),
		typingLimit:  limiter.New(1, 2*time.Second, nil),
		frameLimit:   limiter.New(300, 10*time.Millisecond, nil),
		joinLimit:    limiter.New(10, 3*time.Second, nil),
		uploadLimit:  limiter.New(20, 3*time.Second, nil),
		md:           markdown.New(),
		files:        files,
		presence:     presence{last: map[string]string{}},
		ringer:       ringer{rings: map[string]*ring{}},
		clock:        realClock{},
		calls:        calls{byRoom: map[string]*call{}, byClient: map[*hub.Client]*member{}, watched: map[*hub.Client]bool{}},
	}
	s.hub.OnPresence = s.presenceChanged
	s.hub.MaxPerUser = MaxClientsPerUser
	s.metrics = newMetrics(s)
	st.Observe = s.metrics.observeDB
	s.hub.OnDrop = func(c *hub.Client) {
		s.metrics.wsDropped.Inc()
		s.log.Warn("websocket client dropped: too slow", "user", c.UserID)
	}
	if err := s.loadSettings(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if err := s.closeCrashedCalls(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if err := s.prepareSetup(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

// Store is the server's database (tests and admin commands use it).
func (s *Server) Store() *store.Store { return s.store }

// Hub is the server's websocket hub.
func (s *Server) Hub() *hub.Hub { return s.hub }

// Serve accepts connections until ctx is cancelled, then shuts down
// gracefully: websocket clients are told, in-flight requests finish (up to
// a few seconds) and the database is closed.
func (s *Server) Serve(ctx context.Context) error {
	ln := s.cfg.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", s.cfg.Listen)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", s.cfg.Listen, err)
		}
	}
	// One TCP port for the web and ICE-TCP; one UDP port for all media.
	mux := newDemux(ln)
	ln = mux.web
	udp, err := net.ListenPacket("udp", s.cfg.RTCAddr)
	if err != nil {
		mux.close()
		return fmt.Errorf("--rtc-port: listen on %s/udp: %w", s.cfg.RTCAddr, err)
	}
	s.sfu, err = sfu.New(sfu.Config{UDP: udp, TCP: mux.ice, PublicIPs: s.settingStrings("public_ips"), Loopback: s.cfg.ICELoopback, Logger: s.log})
	if err != nil {
		udp.Close()
		mux.close()
		return err
	}
	defer s.sfu.Close()
	s.rtcUDP = udp.LocalAddr()
	s.log.Info("call media", "udp", udp.LocalAddr().String(), "tcp", mux.ln.Addr().String())

	scheme := "http"
	if !s.cfg.Insecure {
		tc, err := s.tlsConfig()
		if err != nil {
			ln.Close()
			return err
		}
		s.tls = tc
		s.secureCookie = true
		ln = tls.NewListener(ln, tc)
		scheme = "https"
	}
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: s.cfg.HTTPTimeouts.Header,
		ReadTimeout:       s.cfg.HTTPTimeouts.Read,
		WriteTimeout:      s.cfg.HTTPTimeouts.Write,
		IdleTimeout:       s.cfg.HTTPTimeouts.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// Requests outlive the signal: shutdown below closes them in order
		// (websockets are told first, then in-flight requests finish).
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	if s.cfg.TURN.Enabled {
		s.turn, err = s.startTURN(s.rtcUDP)
		if err != nil {
			ln.Close()
			return err
		}
		defer s.turn.Close()
	}

	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	go s.janitor(ctx)
	go s.runRetention(ctx)
	go s.watchDeactivations(ctx)

	urls := advertisedURLs(scheme, ln.Addr().(*net.TCPAddr), s.cfg.Domain)
	s.log.Info("calls is ready", "url", urls[0], "version", s.cfg.Version, "data", s.cfg.DataDir)
	for _, u := range urls[1:] {
		s.log.Info("also reachable", "url", u)
	}
	s.announceSetup(urls[0])
	if s.cfg.Ready != nil {
		s.cfg.Ready(urls[0])
	}

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	// Clients hear that the server is going away first, so a call that ends
	// next reads as a restart, not as the host ending it.
	s.hub.AnnounceShutdown()
	endCtx, endCancel := context.WithTimeout(context.Background(), 3*time.Second)
	s.endAllCalls(endCtx)
	endCancel()
	s.hub.Shutdown()
	// A participant whose websocket closed just before may still be ending
	// the call on its own goroutine: let it write the log before the
	// database goes.
	s.waitCallsLeft(3 * time.Second)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		s.log.Warn("shutdown: connections still open, closing them", "err", err)
		s.http.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close releases the database.
func (s *Server) Close() error { return s.store.Close() }

// janitor removes expired sessions now and then.
func (s *Server) janitor(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.store.DeleteExpiredSessions(ctx); err != nil {
				s.log.Warn("delete expired sessions", "err", err)
			} else if n > 0 {
				s.log.Debug("deleted expired sessions", "count", n)
			}
		}
	}
}

// deactivationPoll is how often the server looks for users deactivated
// outside it; deactivationWindow how far back each look goes (a commit
// can land a little after the time it carries).
const (
	deactivationPoll   = 500 * time.Millisecond
	deactivationWindow = 10 * time.Second
)

// watchDeactivations ends, within a second, the websockets, calls
// and streams of users deactivated by another process on the same data
// (`calls user deactivate` beside a running server). Deactivation through
// the API ends them at once itself; each deactivation is handled once
// more here, which is harmless. Without this the websockets would notice at
// their next ping (20 s) and WHIP streams not at all.
func (s *Server) watchDeactivations(ctx context.Context) {
	t := time.NewTicker(deactivationPoll)
	defer t.Stop()
	handled := map[string]time.Time{} // user id → the deactivation handled
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		since := time.Now().Add(-deactivationWindow)
		ds, err := s.store.DeactivatedSince(ctx, since)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("look for deactivated users", "err", err)
			}
			continue
		}
		for id, at := range handled {
			if at.Before(since) {
				delete(handled, id)
			}
		}
		for _, d := range ds {
			if at, ok := handled[d.UserID]; ok && at.Equal(d.At) {
				continue
			}
			handled[d.UserID] = d.At
			s.endUserPresence(ctx, d.UserID, hub.ReasonDeactivated)
		}
	}
}

// advertisedURLs lists the URLs a person can open: the domain if any, else
// localhost or the bound address, then the machine's other addresses.
func advertisedURLs(scheme string, addr *net.TCPAddr, domain string) []string {
	port := addr.Port
	withPort := func(host string) string {
		if (scheme == "https" && port == 443) || (scheme == "http" && port == 80) {
			return fmt.Sprintf("%s://%s", scheme, host)
		}
		return fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(host, fmt.Sprint(port)))
	}
	var urls []string
	if domain != "" {
		urls = append(urls, withPort(domain))
	}
	if !addr.IP.IsUnspecified() {
		return append(urls, withPort(addr.IP.String()))
	}
	urls = append(urls, withPort("localhost"))
	ifaces, _ := net.InterfaceAddrs()
	for _, a := range ifaces {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() && ipn.IP.To4() != nil {
			urls = append(urls, withPort(ipn.IP.String()))
		}
	}
	return urls
}

// Run serves with cfg until ctx is cancelled: the whole of `calls serve`.
// It holds the data directory's lock so a second server cannot share it.
func Run(ctx context.Context, cfg Config) error {
	unlock, err := LockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	s, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	serveErr := s.Serve(ctx)
	if err := s.Close(); err != nil {
		s.log.Error("close database", "err", err)
	}
	return serveErr
}
