package turn

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun"
	pionturn "github.com/pion/turn/v2"

	"calls/server/pionlog"
)

var testSecret = []byte("test-secret")

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

// logBuffer collects a server's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// startServer runs a server on 127.0.0.1 with UDP and TCP listeners on
// free ports and relays on ephemeral ports.
func startServer(t testing.TB, edit func(*Config)) (*Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg := Config{
		Secret:    testSecret,
		ListenUDP: "127.0.0.1:0",
		ListenTCP: "127.0.0.1:0",
		RelayIP:   net.IPv4(127, 0, 0, 1),
		Logger:    slog.New(slog.NewTextHandler(logs, nil)),
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

var quietPion = pionlog.Factory{Log: slog.New(slog.DiscardHandler)}

// dialTURN returns a listening pion TURN client for the server over
// network "udp", "tcp" or "tls".
func dialTURN(t testing.TB, s *Server, network, username, password string) *pionturn.Client {
	t.Helper()
	var conn net.PacketConn
	var addr string
	switch network {
	case "udp":
		addr = s.Addrs().UDP.String()
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = c
	case "tcp":
		addr = s.Addrs().TCP.String()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn = pionturn.NewSTUNConn(c)
	case "tls":
		addr = s.Addrs().TLS.String()
		c, err := tls.Dial("tcp", addr, testClientTLS)
		if err != nil {
			t.Fatal(err)
		}
		conn = pionturn.NewSTUNConn(c)
	}
	client, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: addr,
		TURNServerAddr: addr,
		Conn:           conn,
		Username:       username,
		Password:       password,
		Realm:          "calls",
		LoggerFactory:  quietPion,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		conn.Close()
	})
	return client
}

func userClient(t testing.TB, s *Server, network, user string) *pionturn.Client {
	name, pass := Credentials(testSecret, user, time.Hour, time.Now())
	return dialTURN(t, s, network, name, pass)
}

// udpPeer is a UDP socket on 127.0.0.1 that counts what it receives and,
// if echo is set, sends it back.
type udpPeer struct {
	*net.UDPConn
	received atomic.Int64
}

func startPeer(t testing.TB, echo bool) *udpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &udpPeer{UDPConn: c}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			p.received.Add(1)
			if echo {
				c.WriteToUDPAddrPort(buf[:n], from)
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return p
}

// roundTrip sends msg through relay to peer until the echo comes back.
func roundTrip(t *testing.T, relay net.PacketConn, peer net.Addr, msg string) {
	t.Helper()
	buf := make([]byte, 1500)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := relay.WriteTo([]byte(msg), peer); err != nil {
			t.Fatalf("send through relay: %v", err)
		}
		relay.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, from, err := relay.ReadFrom(buf)
		if err != nil {
			continue
		}
		if string(buf[:n]) != msg || from.String() != peer.String() {
			t.Fatalf("got %q from %v, want %q from %v", buf[:n], from, msg, peer)
		}
		return
	}
	t.Fatalf("no echo of %q from %v through the relay", msg, peer)
}

func TestRelayToAllowedPeer(t *testing.T) {
	for _, network := range []string{"udp", "tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			s, _ := startServer(t, func(c *Config) {
				c.AllowPeers = loopback
				c.ListenTLS = "127.0.0.1:0"
				c.TLSConfig = testServerTLS
			})
			peer := startPeer(t, true)
			client := userClient(t, s, network, "alice")
			relay, err := client.Allocate()
			if err != nil {
				t.Fatalf("allocate: %v", err)
			}
			if err := client.CreatePermission(peer.LocalAddr()); err != nil {
				t.Fatalf("create permission: %v", err)
			}
			for i := range 20 {
				roundTrip(t, relay, peer.LocalAddr(), "hello "+string(rune('a'+i)))
			}
			// pion's client binds a channel after its first Send
			// indications: the later round trips took the channel path.
			waitFor(t, "channel bound", func() bool { return boundChannels(s) == 1 })
			roundTrip(t, relay, peer.LocalAddr(), "on the channel")
			st := s.Stats()
			if st.Allocations != 1 || st.AllocationsTotal != 1 || st.PacketsToPeers < 21 || st.PacketsToClients < 21 || st.BytesToPeers < 20*7 {
				t.Errorf("stats after 20 round trips: %+v", st)
			}
			relay.Close() // deallocates (Refresh with lifetime 0)
			waitFor(t, "allocation released", func() bool { return s.Stats().Allocations == 0 })
		})
	}
}

func TestPermissionRefusedWithoutAllowPeer(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			s, logs := startServer(t, nil)
			peer := startPeer(t, true)
			client := userClient(t, s, network, "mallory")
			relay, err := client.Allocate()
			if err != nil {
				t.Fatalf("allocate: %v", err)
			}
			err = client.CreatePermission(peer.LocalAddr())
			if err == nil || !strings.Contains(err.Error(), "403") {
				t.Fatalf("CreatePermission to %v = %v, want 403 Forbidden", peer.LocalAddr(), err)
			}
			mapped := &net.UDPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: peer.LocalAddr().(*net.UDPAddr).Port}
			if err := client.CreatePermission(mapped); err == nil || !strings.Contains(err.Error(), "403") {
				t.Fatalf("CreatePermission to %v = %v, want 403 Forbidden", mapped, err)
			}
			if _, err := relay.WriteTo([]byte("x"), peer.LocalAddr()); err == nil {
				t.Fatal("relayed write to a refused peer succeeded")
			}
			if code := channelBind(t, client, peer.LocalAddr().(*net.UDPAddr)); code != stun.CodeForbidden {
				t.Fatalf("ChannelBind to %v: %v, want 403", peer.LocalAddr(), code)
			}
			time.Sleep(100 * time.Millisecond)
			if n := peer.received.Load(); n != 0 {
				t.Fatalf("refused peer received %d datagrams", n)
			}
			if st := s.Stats(); st.PeerRefusals < 4 {
				t.Errorf("PeerRefusals = %d, want ≥ 4", st.PeerRefusals)
			}
			if n := logs.count("TURN peer refused"); n != 1 {
				t.Errorf("%d log lines for refused peers, want 1 per user per minute", n)
			}
		})
	}
}

// TestSelfPeer: a relayed client reaches the SFU's RTC port, and nothing
// else on the SFU's IP, without any admin switch.
func TestSelfPeer(t *testing.T) {
	sfu := startPeer(t, true)
	other := startPeer(t, true) // another service on the SFU's IP
	s, _ := startServer(t, func(c *Config) {
		c.SelfPeers = []netip.AddrPort{sfu.LocalAddr().(*net.UDPAddr).AddrPort()}
	})
	client := userClient(t, s, "udp", "alice")
	relay, err := client.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, relay, sfu.LocalAddr(), "to the SFU")

	fresh := userClient(t, s, "udp", "alice")
	if _, err := fresh.Allocate(); err != nil {
		t.Fatal(err)
	}
	if code := channelBind(t, fresh, sfu.LocalAddr().(*net.UDPAddr)); code != 0 {
		t.Fatalf("ChannelBind to the SFU's RTC port: %v, want success", code)
	}

	if code := channelBind(t, client, other.LocalAddr().(*net.UDPAddr)); code != stun.CodeForbidden {
		t.Fatalf("ChannelBind to another port on the SFU's IP: %v, want 403", code)
	}
	for range 10 {
		// The permission for the IP exists (the SFU's), so the client
		// sends; the relay drops every datagram to the other port.
		relay.WriteTo([]byte("to another port"), other.LocalAddr())
	}
	time.Sleep(200 * time.Millisecond)
	if n := other.received.Load(); n != 0 {
		t.Fatalf("another port on the SFU's IP received %d datagrams", n)
	}
	if st := s.Stats(); st.PeerPacketDrops == 0 {
		t.Errorf("PeerPacketDrops = 0 after sends to a forbidden port")
	}
}

// channelBind sends an authenticated ChannelBind for peer with the
// client's credentials and returns the error code (0 on success).
func channelBind(t *testing.T, c *pionturn.Client, peer *net.UDPAddr) stun.ErrorCode {
	t.Helper()
	to := c.TURNServerAddr()
	peerAttr := &stun.XORMappedAddress{IP: peer.IP, Port: peer.Port}
	build := func(extra ...stun.Setter) *stun.Message {
		setters := []stun.Setter{stun.TransactionID, stun.NewType(stun.MethodChannelBind, stun.ClassRequest),
			xorPeer{peerAttr}, channelNumber(0x4001)}
		m, err := stun.Build(append(setters, extra...)...)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	res, err := c.PerformTransaction(build(), to, false)
	if err != nil {
		t.Fatal(err)
	}
	var nonce stun.Nonce
	if err := nonce.GetFrom(res.Msg); err != nil {
		t.Fatalf("no nonce in %v", res.Msg)
	}
	integrity := stun.NewLongTermIntegrity(c.Username().String(), "calls", Password(testSecret, c.Username().String()))
	res, err = c.PerformTransaction(build(c.Username(), stun.NewRealm("calls"), nonce, integrity, stun.Fingerprint), to, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Msg.Type.Class == stun.ClassSuccessResponse {
		return 0
	}
	var code stun.ErrorCodeAttribute
	code.GetFrom(res.Msg)
	return code.Code
}

type xorPeer struct{ a *stun.XORMappedAddress }

func (p xorPeer) AddTo(m *stun.Message) error { return p.a.AddToAs(m, stun.AttrXORPeerAddress) }

type channelNumber uint16

func (n channelNumber) AddTo(m *stun.Message) error {
	m.Add(stun.AttrChannelNumber, []byte{byte(n >> 8), byte(n), 0, 0})
	return nil
}

func TestCredentialsRefused(t *testing.T) {
	now := time.Now()
	s, logs := startServer(t, func(c *Config) { c.Now = func() time.Time { return now } })
	valid, validPass := Credentials(testSecret, "alice", time.Hour, now)
	expired, expiredPass := Credentials(testSecret, "alice", -time.Minute, now)
	cases := []struct {
		name, user, pass string
	}{
		{"wrong secret", valid, Password([]byte("not the secret"), valid)},
		{"expired", expired, expiredPass},
		{"no expiry", "alice", Password(testSecret, "alice")},
	}
	for _, c := range cases {
		for _, network := range []string{"udp", "tcp"} {
			client := dialTURN(t, s, network, c.user, c.pass)
			if relay, err := client.Allocate(); err == nil {
				relay.Close()
				t.Errorf("%s over %s: allocation succeeded", c.name, network)
			}
		}
	}
	if st := s.Stats(); st.AuthFailures != 6 || st.Allocations != 0 || st.AllocationsTotal != 0 {
		t.Errorf("stats: %+v", st)
	}
	if n := logs.count("bad credentials"); n != 1 {
		t.Errorf("%d log lines for bad credentials, want 1 per minute", n)
	}
	// The same clock accepts the valid pair.
	client := dialTURN(t, s, "udp", valid, validPass)
	if _, err := client.Allocate(); err != nil {
		t.Fatalf("valid credentials: %v", err)
	}
}

func TestUserQuota(t *testing.T) {
	s, logs := startServer(t, nil)
	var relays []net.PacketConn
	for i := range 10 {
		relay, err := userClient(t, s, []string{"udp", "tcp"}[i%2], "alice").Allocate()
		if err != nil {
			t.Fatalf("allocation %d: %v", i+1, err)
		}
		relays = append(relays, relay)
	}
	for range 2 {
		_, err := userClient(t, s, "udp", "alice").Allocate()
		if err == nil || !strings.Contains(err.Error(), "486") {
			t.Fatalf("11th allocation of one user: %v, want 486 Allocation Quota Reached", err)
		}
	}
	if _, err := userClient(t, s, "tcp", "alice").Allocate(); err == nil || !strings.Contains(err.Error(), "486") {
		t.Fatalf("11th allocation over TCP: %v, want 486", err)
	}
	if _, err := userClient(t, s, "udp", "bob").Allocate(); err != nil {
		t.Fatalf("another user while alice is at quota: %v", err)
	}
	st := s.Stats()
	if st.Allocations != 11 || st.UserQuotaRefusals != 3 {
		t.Errorf("stats: %+v", st)
	}
	if n := logs.count("user quota reached"); n != 1 {
		t.Errorf("%d log lines for alice's refusals, want 1 per user per minute", n)
	}
	// Freeing one allocation frees a slot.
	relays[0].Close()
	waitFor(t, "slot freed", func() bool { return s.Stats().Allocations == 10 })
	if _, err := userClient(t, s, "udp", "alice").Allocate(); err != nil {
		t.Fatalf("allocation after one was freed: %v", err)
	}
}

func TestTotalQuota(t *testing.T) {
	s, logs := startServer(t, func(c *Config) { c.TotalQuota = 2 })
	for _, u := range []string{"alice", "bob"} {
		if _, err := userClient(t, s, "udp", u).Allocate(); err != nil {
			t.Fatal(err)
		}
	}
	// Three refusals, from two users and over both transports.
	for _, c := range []struct{ network, user string }{{"udp", "carol"}, {"tcp", "carol"}, {"udp", "dave"}} {
		_, err := userClient(t, s, c.network, c.user).Allocate()
		if err == nil || !strings.Contains(err.Error(), "508") {
			t.Fatalf("allocation over the total quota (%s, %s): %v, want 508 Insufficient Capacity", c.user, c.network, err)
		}
	}
	if st := s.Stats(); st.TotalQuotaRefusals != 3 || st.Allocations != 2 {
		t.Errorf("stats: %+v", st)
	}
	// Logged once (per minute), however many are refused, with the quota.
	if n := logs.count("server allocation quota reached"); n != 1 || logs.count("quota=2") != 1 {
		t.Errorf("%d log lines for 3 refusals over the total quota, want 1 naming quota=2:\n%s", n, logs.String())
	}
}

func TestRelayPortRange(t *testing.T) {
	l, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	s, _ := startServer(t, func(c *Config) {
		c.RelayBindIP = net.IPv4(127, 0, 0, 1)
		c.RelayPortMin, c.RelayPortMax = base, base+2
	})
	if s.cfg.TotalQuota != 3 {
		t.Errorf("TotalQuota defaults to %d, want the range's 3 ports", s.cfg.TotalQuota)
	}
	seen := map[int]bool{}
	for i, u := range []string{"a", "b", "c"} {
		relay, err := userClient(t, s, "udp", u).Allocate()
		if err != nil {
			t.Fatalf("allocation %d: %v", i+1, err)
		}
		port := relay.LocalAddr().(*net.UDPAddr).Port
		if port < base || port > base+2 || seen[port] {
			t.Fatalf("relay port %d, want a fresh one in %d-%d", port, base, base+2)
		}
		seen[port] = true
	}
}

func TestBandwidthLimit(t *testing.T) {
	s, logs := startServer(t, func(c *Config) {
		c.AllowPeers = loopback
		c.BandwidthPerAllocation = 10_000
	})
	peer := startPeer(t, false)
	relay, err := userClient(t, s, "udp", "alice").Allocate()
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 1000)
	for range 100 {
		if _, err := relay.WriteTo(msg, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "drops counted", func() bool { return s.Stats().BandwidthDrops > 0 })
	time.Sleep(100 * time.Millisecond)
	// One second of burst: about 10 of the 100 kB pass at once.
	if n := peer.received.Load(); n < 5 || n > 20 {
		t.Errorf("peer received %d of 100 datagrams of 1 kB at 10 kB/s", n)
	}
	// The allocation's first drop is logged, with whose it is; the other
	// 80-odd only counted.
	const line = "allocation over its bandwidth limit"
	if n := logs.count(line); n != 1 || logs.count("user=alice") != 1 {
		t.Errorf("%d log lines for alice's %d drops, want 1 naming her:\n%s", n, s.Stats().BandwidthDrops, logs.String())
	}
	// Another allocation's first drop gets its own line.
	bob, err := userClient(t, s, "tcp", "bob").Allocate()
	if err != nil {
		t.Fatal(err)
	}
	before := s.Stats().BandwidthDrops
	for range 30 {
		if _, err := bob.WriteTo(msg, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "bob's drops counted", func() bool { return s.Stats().BandwidthDrops > before })
	time.Sleep(100 * time.Millisecond)
	if n := logs.count(line); n != 2 || logs.count("user=bob") != 1 {
		t.Errorf("%d log lines after bob's drops too, want 2:\n%s", n, logs.String())
	}
}

func TestTCPCloseEndsAllocation(t *testing.T) {
	s, _ := startServer(t, nil)
	c, err := net.Dial("tcp", s.Addrs().TCP.String())
	if err != nil {
		t.Fatal(err)
	}
	user, pass := Credentials(testSecret, "alice", time.Hour, time.Now())
	client, err := pionturn.NewClient(&pionturn.ClientConfig{
		TURNServerAddr: s.Addrs().TCP.String(), Conn: pionturn.NewSTUNConn(c),
		Username: user, Password: pass, Realm: "calls", LoggerFactory: quietPion,
	})
	if err != nil {
		t.Fatal(err)
	}
	client.Listen()
	defer client.Close()
	if _, err := client.Allocate(); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().Allocations; n != 1 {
		t.Fatalf("%d allocations", n)
	}
	c.Close()
	waitFor(t, "allocation ended with its TCP connection", func() bool { return s.Stats().Allocations == 0 })
}

func TestSTUNBinding(t *testing.T) {
	s, _ := startServer(t, nil)
	for _, network := range []string{"udp", "tcp"} {
		client := dialTURN(t, s, network, "", "")
		mapped, err := client.SendBindingRequest()
		if err != nil {
			t.Fatalf("%s binding: %v", network, err)
		}
		if ip := mapped.(*net.UDPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
			t.Errorf("%s binding: mapped address %v", network, mapped)
		}
	}
}

func TestCloseEndsAllocations(t *testing.T) {
	s, _ := startServer(t, func(c *Config) { c.AllowPeers = loopback })
	for _, network := range []string{"udp", "tcp"} {
		if _, err := userClient(t, s, network, "alice").Allocate(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Allocations != 0 {
		t.Fatalf("%d allocations after Close", st.Allocations)
	}
	if _, err := net.DialTimeout("tcp", s.Addrs().TCP.String(), time.Second); err == nil {
		t.Fatal("TCP listener still open after Close")
	}
}

func TestICEServers(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s, _ := startServer(t, func(c *Config) {
		c.Now = func() time.Time { return now }
		c.ListenTLS = "127.0.0.1:0"
		c.TLSConfig = testServerTLS
	})
	port := func(a net.Addr) string { _, p, _ := net.SplitHostPort(a.String()); return p }
	got := s.ICEServers("calls.example.com", "u42")
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	want := []string{"stun:calls.example.com:" + port(s.Addrs().UDP)}
	if strings.Join(got[0].URLs, " ") != strings.Join(want, " ") || got[0].Username != "" {
		t.Errorf("STUN entry %+v, want %v", got[0], want)
	}
	want = []string{
		"turn:calls.example.com:" + port(s.Addrs().UDP) + "?transport=udp",
		"turn:calls.example.com:" + port(s.Addrs().TCP) + "?transport=tcp",
		"turns:calls.example.com:" + port(s.Addrs().TLS) + "?transport=tcp",
	}
	if strings.Join(got[1].URLs, " ") != strings.Join(want, " ") {
		t.Errorf("TURN URLs %v, want %v", got[1].URLs, want)
	}
	if got[1].Username != "1800021600:u42" {
		t.Errorf("username %q, want expiry now+6h", got[1].Username)
	}
	if id, err := Verify(testSecret, got[1].Username, got[1].Credential, now); err != nil || id != "u42" {
		t.Errorf("Verify(ICE credentials) = %q, %v", id, err)
	}
}

func TestParsePortRange(t *testing.T) {
	cases := []struct {
		in       string
		min, max int
		ok       bool
	}{
		{"49160-49200", 49160, 49200, true},
		{"5000-5000", 5000, 5000, true},
		{"49200-49160", 0, 0, false},
		{"0-10", 0, 0, false},
		{"1-65536", 0, 0, false},
		{"49160", 0, 0, false},
		{"a-b", 0, 0, false},
	}
	for _, c := range cases {
		min, max, err := ParsePortRange(c.in)
		if (err == nil) != c.ok || min != c.min || max != c.max {
			t.Errorf("ParsePortRange(%q) = %d, %d, %v", c.in, min, max, err)
		}
	}
}

func TestStartErrors(t *testing.T) {
	base := Config{Secret: testSecret, ListenUDP: "127.0.0.1:0", RelayIP: net.IPv4(127, 0, 0, 1)}
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no secret", func(c *Config) { c.Secret = nil }, "secret"},
		{"no listener", func(c *Config) { c.ListenUDP = "" }, "no listener"},
		{"TLS without config", func(c *Config) { c.ListenTLS = ":0" }, "TLS config"},
		{"unspecified relay IP", func(c *Config) { c.RelayIP = net.IPv4zero }, "relay address"},
		{"IPv6 relay", func(c *Config) { c.RelayIP = net.ParseIP("2001:db8::1") }, "IPv4"},
		{"bad range", func(c *Config) { c.RelayPortMin, c.RelayPortMax = 5, 3 }, "relay ports"},
		{"unspecified self peer", func(c *Config) {
			c.SelfPeers = []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:8443")}
		}, "self peer"},
		{"port in use", func(c *Config) { c.ListenUDP = "256.0.0.1:1" }, "UDP listener"},
	}
	for _, c := range cases {
		cfg := base
		c.edit(&cfg)
		s, err := Start(cfg)
		if err == nil {
			s.Close()
			t.Errorf("%s: started", c.name)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

// boundChannels counts the channel bindings the data plane knows.
func boundChannels(s *Server) (n int) {
	s.relays.mu.Lock()
	defer s.relays.mu.Unlock()
	for _, rc := range s.relays.conns {
		if chs := rc.channels.Load(); chs != nil {
			n += len(*chs)
		}
	}
	return n
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testServerTLS and testClientTLS share a self-signed certificate for
// 127.0.0.1.
var testServerTLS, testClientTLS = func() (*tls.Config, *tls.Config) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}()

// Without RelayIP or a concrete RelayBindIP, relays bind to all addresses
// and advertise this machine's first non-loopback IPv4 address.
func TestDefaultRelayIP(t *testing.T) {
	s, _ := startServer(t, func(c *Config) {
		c.RelayIP = nil
		c.AllowPeers = loopback
	})
	want := interfaceIPv4()
	relay, err := userClient(t, s, "udp", "alice").Allocate()
	if err != nil {
		t.Fatal(err)
	}
	if got := relay.LocalAddr().(*net.UDPAddr).IP; !got.Equal(want) {
		t.Errorf("relay address %v, want %v", got, want)
	}
	peer := startPeer(t, true)
	roundTrip(t, relay, peer.LocalAddr(), "through a relay bound to 0.0.0.0")
}
