package turn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pionturn "github.com/pion/turn/v2"

	"calls/server/pionlog"
)

// Config configures the embedded STUN/TURN server. Zero values take the
// defaults noted on each field.
type Config struct {
	// Secret is the TURN REST API shared secret (required).
	Secret []byte
	// Realm is the long-term credential realm ["calls"].
	Realm string
	// CredentialTTL is how long credentials from ICEServers stay valid [6h].
	CredentialTTL time.Duration

	// ListenUDP and ListenTCP serve STUN and TURN, e.g. ":3478"; "" is off.
	ListenUDP, ListenTCP string
	// ListenTLS serves TURN over TLS (turns:) with TLSConfig; "" is off.
	ListenTLS string
	TLSConfig *tls.Config

	// RelayIP is the address put in relayed candidates: the public IP
	// clients reach. It defaults to RelayBindIP when that is a concrete
	// address, else to this machine's first non-loopback IPv4 address
	// (right on a LAN, wrong behind NAT). Relays are IPv4 (pion v2
	// allocates udp4 only).
	RelayIP net.IP
	// RelayBindIP is the local address relay sockets bind to [0.0.0.0].
	RelayBindIP net.IP
	// RelayPortMin and RelayPortMax bound the relay ports, inclusive
	// (49160-49200 in calls serve). 0-0 takes ephemeral ports (tests).
	RelayPortMin, RelayPortMax int

	// AllowPeers are internal targets an admin allows (--turn-allow-peer).
	AllowPeers []netip.Prefix
	// SelfPeers are this server's own RTC address(es), always allowed so
	// that relayed clients reach the SFU; other ports on their IPs are not.
	SelfPeers []netip.AddrPort

	// UserQuota is the number of simultaneous allocations per user [10].
	UserQuota int
	// TotalQuota bounds all allocations [the size of the relay port range,
	// or 10000 with ephemeral ports].
	TotalQuota int
	// BandwidthPerAllocation limits each direction of each allocation in
	// bytes/s, with one second of burst; 0 is unlimited.
	BandwidthPerAllocation int64

	// Logger receives refusals (rate-limited) and pion's own messages at
	// debug level [slog.Default()].
	Logger *slog.Logger
	// Now is the clock for credential expiry [time.Now].
	Now func() time.Time

	// noRelayLoop makes the UDP listener work as on platforms without a
	// relay loop (pion's read loops read the sockets), so that tests cover
	// that path on Linux too.
	noRelayLoop bool
}

// Server is a running STUN/TURN server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	pion   *pionturn.Server
	filter *peerFilter
	quotas *quotas
	relays *relayAllocator
	loop   *relayLoop // nil where the platform has none
	limit  logLimiter
	addrs  Addrs
	stats  counters

	mu      sync.Mutex
	conns   map[*gateConn]struct{}
	closing bool
}

// Addrs are the addresses a Server listens on; nil where off.
type Addrs struct {
	UDP, TCP, TLS net.Addr
}

// Stats are counters for /metrics. Counts are since Start unless noted.
type Stats struct {
	Allocations        int    // live allocations now
	AllocationsTotal   uint64 // allocations created
	UserQuotaRefusals  uint64 // Allocates refused with 486: user at quota
	TotalQuotaRefusals uint64 // Allocates refused with 508: server at quota
	AuthFailures       uint64 // Allocates with expired, malformed or wrong credentials
	PeerRefusals       uint64 // CreatePermission/ChannelBind refused with 403
	PeerPacketDrops    uint64 // datagrams dropped to or from a forbidden peer port
	BandwidthDrops     uint64 // datagrams dropped over BandwidthPerAllocation
	PacketsToPeers     uint64 // relayed client → peer
	BytesToPeers       uint64
	PacketsToClients   uint64 // relayed peer → client
	BytesToClients     uint64
}

type counters struct {
	allocations        atomic.Uint64
	userQuotaRefusals  atomic.Uint64
	totalQuotaRefusals atomic.Uint64
	authFailures       atomic.Uint64
	peerRefusals       atomic.Uint64
	peerPacketDrops    atomic.Uint64
	bandwidthDrops     atomic.Uint64
	closedTraffic      trafficCounters
}

// maxConns bounds open TCP and TLS client connections.
const maxConns = 4096

// listenerSocketBuffer is the UDP listener's kernel buffer size each way.
const listenerSocketBuffer = 2 << 20

// Start validates cfg, opens the listeners and serves until Close.
func Start(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger,
		quotas: newQuotas(cfg.UserQuota, cfg.TotalQuota),
		limit:  logLimiter{every: time.Minute},
		conns:  make(map[*gateConn]struct{}),
	}
	relayIP, _ := netip.AddrFromSlice(cfg.RelayIP)
	s.filter = newPeerFilter(cfg.AllowPeers, cfg.SelfPeers, relayIP)
	bindIP, _ := netip.AddrFromSlice(cfg.RelayBindIP)
	s.relays = &relayAllocator{
		bindIP:  bindIP.Unmap(),
		relayIP: cfg.RelayIP,
		min:     cfg.RelayPortMin,
		max:     cfg.RelayPortMax,
		bw:      cfg.BandwidthPerAllocation,
		filter:  s.filter,
		stats:   &s.stats,
		log:     cfg.Logger,
		conns:   make(map[int]*relayConn),
	}

	pcfg := pionturn.ServerConfig{
		Realm:              cfg.Realm,
		ChannelBindTimeout: channelLifetime,
		AuthHandler:        s.authHandler,
		LoggerFactory:      pionlog.Factory{Log: cfg.Logger},
	}
	var closers []func() error
	fail := func(err error) (*Server, error) {
		for _, c := range closers {
			c()
		}
		return nil, err
	}
	if cfg.ListenUDP != "" {
		ua, err := net.ResolveUDPAddr("udp", cfg.ListenUDP)
		if err != nil {
			return fail(fmt.Errorf("TURN UDP listener: %w", err))
		}
		pc, err := net.ListenUDP("udp", ua)
		if err != nil {
			return fail(fmt.Errorf("TURN UDP listener: %w", err))
		}
		closers = append(closers, pc.Close)
		// Every UDP client's packets queue on this one socket: give it
		// room for bursts (the kernel caps the size at net.core.rmem_max
		// and wmem_max). Without it the benchmark's rate load lost 8 %.
		pc.SetReadBuffer(listenerSocketBuffer)
		pc.SetWriteBuffer(listenerSocketBuffer)
		s.addrs.UDP = pc.LocalAddr()
		var gen pionturn.RelayAddressGenerator = s.relays
		gpc := newGatePacketConn(pc, newGate(s, pc, nil))
		var loop *relayLoop
		if !cfg.noRelayLoop {
			loop, _ = newRelayLoop(pc, gpc.g) // nil where the platform has none
		}
		if loop != nil {
			s.loop = loop
			closers = append(closers, func() error { loop.stop(); return nil })
			gen = loopAllocator{relayAllocator: s.relays, loop: loop}
			gpc.loop = loop
		}
		pcfg.PacketConnConfigs = append(pcfg.PacketConnConfigs, pionturn.PacketConnConfig{
			PacketConn:            gpc,
			RelayAddressGenerator: gen,
			PermissionHandler:     s.permit,
		})
	}
	listen := func(addr string, tlsConfig *tls.Config) (net.Addr, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		closers = append(closers, ln.Close)
		a := ln.Addr()
		if tlsConfig != nil {
			ln = tls.NewListener(ln, tlsConfig)
		}
		pcfg.ListenerConfigs = append(pcfg.ListenerConfigs, pionturn.ListenerConfig{
			Listener:              &gateListener{Listener: ln, s: s},
			RelayAddressGenerator: s.relays,
			PermissionHandler:     s.permit,
		})
		return a, nil
	}
	if cfg.ListenTCP != "" {
		a, err := listen(cfg.ListenTCP, nil)
		if err != nil {
			return fail(fmt.Errorf("TURN TCP listener: %w", err))
		}
		s.addrs.TCP = a
	}
	if cfg.ListenTLS != "" {
		a, err := listen(cfg.ListenTLS, cfg.TLSConfig)
		if err != nil {
			return fail(fmt.Errorf("TURN TLS listener: %w", err))
		}
		s.addrs.TLS = a
	}
	p, err := pionturn.NewServer(pcfg)
	if err != nil {
		return fail(fmt.Errorf("start TURN server: %w", err))
	}
	s.pion = p
	s.log.Info("TURN server listening", "udp", addrString(s.addrs.UDP), "tcp", addrString(s.addrs.TCP),
		"tls", addrString(s.addrs.TLS), "relay_ip", cfg.RelayIP.String(),
		"relay_ports", fmt.Sprintf("%d-%d", cfg.RelayPortMin, cfg.RelayPortMax))
	return s, nil
}

func addrString(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
}

func (c *Config) setDefaults() error {
	if len(c.Secret) == 0 {
		return errors.New("TURN secret is empty")
	}
	if c.ListenUDP == "" && c.ListenTCP == "" && c.ListenTLS == "" {
		return errors.New("TURN: no listener (set ListenUDP, ListenTCP or ListenTLS)")
	}
	if c.ListenTLS != "" && c.TLSConfig == nil {
		return errors.New("TURN TLS listener needs a TLS config")
	}
	if c.Realm == "" {
		c.Realm = "calls"
	}
	if c.CredentialTTL <= 0 {
		c.CredentialTTL = 6 * time.Hour
	}
	if c.RelayBindIP == nil {
		c.RelayBindIP = net.IPv4zero
	}
	if c.RelayBindIP.To4() == nil {
		return fmt.Errorf("TURN relay bind address %s: must be IPv4", c.RelayBindIP)
	}
	if c.RelayIP == nil && !c.RelayBindIP.IsUnspecified() {
		c.RelayIP = c.RelayBindIP
	}
	if c.RelayIP == nil {
		c.RelayIP = interfaceIPv4()
	}
	if c.RelayIP.IsUnspecified() {
		return errors.New("TURN relay address 0.0.0.0: give the public IPv4 address clients reach")
	}
	if c.RelayIP.To4() == nil {
		return fmt.Errorf("TURN relay address %s: must be IPv4", c.RelayIP)
	}
	switch {
	case c.RelayPortMin == 0 && c.RelayPortMax == 0:
	case c.RelayPortMin < 1 || c.RelayPortMax > 65535 || c.RelayPortMin > c.RelayPortMax:
		return fmt.Errorf("TURN relay ports %d-%d: want 1 ≤ min ≤ max ≤ 65535", c.RelayPortMin, c.RelayPortMax)
	}
	for _, p := range c.SelfPeers {
		if !p.IsValid() || p.Addr().IsUnspecified() || p.Port() == 0 {
			return fmt.Errorf("TURN self peer %s: want a concrete address and port", p)
		}
	}
	if c.UserQuota <= 0 {
		c.UserQuota = 10
	}
	if c.TotalQuota <= 0 {
		c.TotalQuota = 10000
		if c.RelayPortMin != 0 {
			c.TotalQuota = c.RelayPortMax - c.RelayPortMin + 1
		}
	}
	if c.BandwidthPerAllocation < 0 {
		c.BandwidthPerAllocation = 0
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// interfaceIPv4 is the relay address when none is configured: this
// machine's first IPv4 address that is neither loopback nor link-local
// (LAN clients reach it; clients beyond a NAT need RelayIP), else
// 127.0.0.1.
func interfaceIPv4() net.IP {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip := ipn.IP.To4(); ip != nil && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
				return ip
			}
		}
	}
	return net.IPv4(127, 0, 0, 1)
}

// Close stops the listeners, closes client connections and ends every
// allocation.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing = true
	conns := make([]*gateConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	err := s.pion.Close()
	for _, c := range conns {
		c.Close()
	}
	s.relays.closeAll()
	if s.loop != nil {
		s.loop.stop()
	}
	return err
}

// Addrs returns the addresses the server listens on (useful with ":0").
func (s *Server) Addrs() Addrs { return s.addrs }

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	t := s.relays.traffic()
	return Stats{
		Allocations:        s.quotas.inUse(),
		AllocationsTotal:   s.stats.allocations.Load(),
		UserQuotaRefusals:  s.stats.userQuotaRefusals.Load(),
		TotalQuotaRefusals: s.stats.totalQuotaRefusals.Load(),
		AuthFailures:       s.stats.authFailures.Load(),
		PeerRefusals:       s.stats.peerRefusals.Load(),
		PeerPacketDrops:    s.stats.peerPacketDrops.Load(),
		BandwidthDrops:     s.stats.bandwidthDrops.Load(),
		PacketsToPeers:     t.pktsOut,
		BytesToPeers:       t.bytesOut,
		PacketsToClients:   t.pktsIn,
		BytesToClients:     t.bytesIn,
	}
}

// ICEServer is one entry of RTCConfiguration.iceServers, as JSON for the
// browser or converted field by field to webrtc.ICEServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// ICEServers returns the STUN and TURN servers for userID to use, with
// fresh credentials valid for CredentialTTL: a STUN entry (UDP only, as
// browsers speak STUN) and one TURN entry listing every transport. host is
// the name or address clients reach this server by (for turns:, the name
// in the certificate); the ports are the listeners' own, so a NAT or port
// forward in front must keep them.
func (s *Server) ICEServers(host, userID string) []ICEServer {
	var stunURLs, turnURLs []string
	hp := func(a net.Addr) string {
		_, port, _ := net.SplitHostPort(a.String())
		return net.JoinHostPort(host, port)
	}
	if a := s.addrs.UDP; a != nil {
		stunURLs = append(stunURLs, "stun:"+hp(a))
		turnURLs = append(turnURLs, "turn:"+hp(a)+"?transport=udp")
	}
	if a := s.addrs.TCP; a != nil {
		turnURLs = append(turnURLs, "turn:"+hp(a)+"?transport=tcp")
	}
	if a := s.addrs.TLS; a != nil {
		turnURLs = append(turnURLs, "turns:"+hp(a)+"?transport=tcp")
	}
	user, pass := Credentials(s.cfg.Secret, userID, s.cfg.CredentialTTL, s.cfg.Now())
	var out []ICEServer
	if len(stunURLs) > 0 {
		out = append(out, ICEServer{URLs: stunURLs})
	}
	return append(out, ICEServer{URLs: turnURLs, Username: user, Credential: pass})
}

// authKey checks a REST API username's form and expiry and returns the
// long-term credential key, MD5(username:realm:password), and the user id.
// The password itself never crosses the wire in STUN's long-term
// mechanism, so the message integrity check made with this key is what
// proves the client knows it (the HMAC half of Verify).
func (s *Server) authKey(username string) (key []byte, userID string, err error) {
	expiry, id, err := ParseUsername(username)
	if err != nil {
		return nil, "", err
	}
	if s.cfg.Now().After(expiry) {
		return nil, "", ErrExpired
	}
	return pionturn.GenerateAuthKey(username, s.cfg.Realm, Password(s.cfg.Secret, username)), id, nil
}

// authHandler is pion's AuthHandler: every authenticated request passes
// here, and pion checks its integrity with the key.
func (s *Server) authHandler(username, _ string, _ net.Addr) ([]byte, bool) {
	key, _, err := s.authKey(username)
	return key, err == nil
}

// permit is pion's PermissionHandler, a second line behind the gate (which
// answers refusals with 403 first): it sees only the peer's IP.
func (s *Server) permit(_ net.Addr, peerIP net.IP) bool {
	ip, ok := netip.AddrFromSlice(peerIP)
	if !ok || !s.filter.allowIP(ip) {
		s.stats.peerRefusals.Add(1)
		return false
	}
	return true
}

func (s *Server) logLimited(key, msg string, args ...any) {
	if s.limit.allow(key, time.Now()) {
		s.log.Warn(msg, args...)
	}
}

func (s *Server) track(c *gateConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || len(s.conns) >= maxConns {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *gateConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// ParsePortRange parses "A-B" (--turn-relay-ports).
func ParsePortRange(s string) (min, max int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if ok {
		min, err = strconv.Atoi(a)
		if err == nil {
			max, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || min < 1 || max > 65535 || min > max {
		return 0, 0, fmt.Errorf("%q: want MIN-MAX with 1 ≤ MIN ≤ MAX ≤ 65535, e.g. 49160-49200", s)
	}
	return min, max, nil
}
