package server

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v2"

	"calls/server/pionlog"
	"calls/turn"
)

const testTURNSecret = "test-turn-secret-0123456789"

// startTURNServer is a test server with the embedded TURN on free ports
// and a known secret; edit adjusts the TURN configuration.
func startTURNServer(t *testing.T, edit func(*TURNConfig)) *testServer {
	t.Helper()
	return startServerTB(t, func(c *Config) {
		c.TURN = TURNConfig{Enabled: true, Port: 0, UserQuota: 10, Secret: testTURNSecret, TTL: time.Hour}
		if edit != nil {
			edit(&c.TURN)
		}
	})
}

// turnClient is pion's TURN client on UDP, with REST API credentials for
// userID, as a browser gets them in call_joined.
func turnClient(t *testing.T, ts *testServer, userID string) *pionturn.Client {
	t.Helper()
	user, pass := turn.Credentials([]byte(testTURNSecret), userID, time.Hour, time.Now())
	return turnClientAs(t, ts, user, pass)
}

// turnClientAs is turnClient with the given username and password.
func turnClientAs(t *testing.T, ts *testServer, user, pass string) *pionturn.Client {
	t.Helper()
	addr := ts.turn.Addrs().UDP.String()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: user, Password: pass, Realm: "calls",
		LoggerFactory: pionlog.Factory{Log: slog.New(slog.DiscardHandler)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		conn.Close()
	})
	return c
}

// metricValue reads one unlabelled series from /metrics.
func metricValue(t *testing.T, ts *testServer, name string) float64 {
	t.Helper()
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// udpSink is a UDP socket on 127.0.0.1 that reads and forgets.
func udpSink(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return c
}

// --turn-bandwidth reaches the relay: datagrams over it are dropped and
// counted in /metrics, as are datagrams to a port the peer filter refuses.
func TestTURNDropsInMetrics(t *testing.T) {
	ts := startTURNServer(t, func(tc *TURNConfig) {
		tc.BandwidthBytes = 10_000
		tc.AllowPeers = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	})
	if m := metricValue(t, ts, "calls_turn_bandwidth_drops_total"); m != 0 {
		t.Fatalf("calls_turn_bandwidth_drops_total %v before any traffic", m)
	}
	// An allowed peer (--turn-allow-peer 127.0.0.2/32), sent 100 kB at once
	// with 10 kB/s allowed: about 90 datagrams are dropped.
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	defer peer.Close()
	relay, err := turnClient(t, ts, "u_alice").Allocate()
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 1000)
	for range 100 {
		if _, err := relay.WriteTo(msg, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "bandwidth drops in /metrics", 5*time.Second, func() bool {
		return metricValue(t, ts, "calls_turn_bandwidth_drops_total") >= 50
	})
	if m := metricValue(t, ts, "calls_turn_bandwidth_drops_total"); m > 95 {
		t.Errorf("calls_turn_bandwidth_drops_total %v of 100 datagrams: the one second of burst let none through", m)
	}

	// The SFU's own IP may be a permission's peer (its RTC port is the
	// one allowed target there); datagrams to another port on it are
	// dropped one by one.
	other := udpSink(t)
	relay2, err := turnClient(t, ts, "u_bob").Allocate()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		relay2.WriteTo([]byte("to another port on the SFU's IP"), other.LocalAddr())
	}
	waitFor(t, "peer drops in /metrics", 5*time.Second, func() bool {
		return metricValue(t, ts, "calls_turn_peer_packet_drops_total") >= 1
	})
}

// Allocations over a quota are refused with the standard codes and counted
// in /metrics: a user over --turn-user-quota (486), then the server over
// --turn-total-quota (508).
func TestTURNQuotaRefusalsInMetrics(t *testing.T) {
	ts := startTURNServer(t, func(tc *TURNConfig) {
		tc.UserQuota = 1
		tc.TotalQuota = 2
	})
	if m := metricValue(t, ts, "calls_turn_quota_refusals_total"); m != 0 {
		t.Fatalf("calls_turn_quota_refusals_total %v before any allocation", m)
	}
	if _, err := turnClient(t, ts, "u_alice").Allocate(); err != nil {
		t.Fatal(err)
	}
	_, err := turnClient(t, ts, "u_alice").Allocate()
	if err == nil || !strings.Contains(err.Error(), "486") {
		t.Fatalf("alice's second allocation with --turn-user-quota 1: %v, want 486 Allocation Quota Reached", err)
	}
	if m := metricValue(t, ts, "calls_turn_quota_refusals_total"); m != 1 {
		t.Fatalf("calls_turn_quota_refusals_total %v after one refusal, want 1", m)
	}
	if m := metricValue(t, ts, "calls_turn_allocations"); m != 1 {
		t.Fatalf("calls_turn_allocations %v, want 1", m)
	}

	if _, err := turnClient(t, ts, "u_bob").Allocate(); err != nil {
		t.Fatal(err)
	}
	_, err = turnClient(t, ts, "u_carol").Allocate()
	if err == nil || !strings.Contains(err.Error(), "508") {
		t.Fatalf("a third allocation with --turn-total-quota 2: %v, want 508 Insufficient Capacity", err)
	}
	if m := metricValue(t, ts, "calls_turn_quota_refusals_total"); m != 2 {
		t.Fatalf("calls_turn_quota_refusals_total %v after two refusals, want 2", m)
	}
}

// Without --turn-secret the secret is generated once into the data dir
// (0600) and kept: after a restart the same secret is used, so credentials
// handed out before it still work.
func TestTURNSecretPersistsAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	opts := func(c *Config) {
		c.DataDir = dir
		c.TURN = TURNConfig{Enabled: true, Port: 0, UserQuota: 10, TTL: time.Hour}
	}
	first := startServerTB(t, opts)
	path := filepath.Join(dir, "turn-secret")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no generated secret: %v", err)
	}
	secret := strings.TrimSpace(string(b))
	if fi, _ := os.Stat(path); len(secret) < 32 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("generated secret %d characters, mode %v; want at least 32, 0600", len(secret), fi.Mode().Perm())
	}
	user, pass := turn.Credentials([]byte(secret), "u_alice", time.Hour, time.Now())
	if _, err := turnClientAs(t, first, user, pass).Allocate(); err != nil {
		t.Fatalf("allocation with credentials from the generated secret: %v", err)
	}
	first.shutdown()
	<-first.stopped

	second := startServerTB(t, opts)
	if b2, err := os.ReadFile(path); err != nil || string(b2) != string(b) {
		t.Fatalf("secret after a restart: %q %v, want it unchanged", b2, err)
	}
	if _, err := turnClientAs(t, second, user, pass).Allocate(); err != nil {
		t.Fatalf("allocation after a restart with credentials made before it: %v", err)
	}
	// A wrong secret is refused, so the allocation above proves the secret.
	user, pass = turn.Credentials([]byte("another-secret-0123456789"), "u_alice", time.Hour, time.Now())
	if _, err := turnClientAs(t, second, user, pass).Allocate(); err == nil {
		t.Fatal("allocation with credentials from another secret succeeded")
	}
}
