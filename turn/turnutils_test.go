package turn

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// coturn's client tools (Debian package coturn) against our server: a
// third-party implementation of STUN, TURN and the REST API credentials.

func lookTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not on PATH (apt-get install coturn): %v", name, err)
	}
	return path
}

func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out), err
}

func port(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

func TestTurnutilsStunclient(t *testing.T) {
	tool := lookTool(t, "turnutils_stunclient")
	s, _ := startServer(t, nil)
	out, err := runTool(t, tool, "-p", port(s.Addrs().UDP), "127.0.0.1")
	if err != nil {
		t.Fatalf("turnutils_stunclient: %v", err)
	}
	if !strings.Contains(out, "UDP reflexive addr: 127.0.0.1:") {
		t.Fatalf("no reflexive address in the output")
	}
}

func TestTurnutilsUclient(t *testing.T) {
	tool := lookTool(t, "turnutils_uclient")
	secret := string(testSecret)
	// -y: client-to-client, each client relays to the other's relay
	// address on 127.0.0.1, which only the admin switch allows.
	s, _ := startServer(t, func(c *Config) { c.AllowPeers = loopback })
	for _, c := range []struct {
		name string
		args []string
	}{
		{"udp", []string{"-p", port(s.Addrs().UDP)}},
		{"tcp", []string{"-t", "-p", port(s.Addrs().TCP)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-W", secret, "-y", "-n", "10", "-c"}, c.args...)
			out, err := runTool(t, tool, append(args, "127.0.0.1")...)
			if err != nil {
				t.Fatalf("turnutils_uclient: %v", err)
			}
			if !strings.Contains(out, "tot_recv_msgs=20") || !strings.Contains(out, "Total lost packets 0 ") {
				t.Fatalf("want 20 messages relayed and none lost")
			}

			args = append([]string{"-W", "not-the-secret", "-y", "-n", "10", "-c"}, c.args...)
			out, err = runTool(t, tool, append(args, "127.0.0.1")...)
			if err == nil || strings.Contains(out, "tot_recv_msgs=20") {
				t.Fatalf("turnutils_uclient with a wrong secret succeeded")
			}
		})
	}
	if st := s.Stats(); st.AuthFailures == 0 || st.PacketsToPeers < 40 {
		t.Errorf("stats: %+v", st)
	}
}

// Without the admin switch the relay to 127.0.0.1 is refused, so the
// same client-to-client run relays nothing.
func TestTurnutilsUclientLoopbackRefused(t *testing.T) {
	tool := lookTool(t, "turnutils_uclient")
	s, _ := startServer(t, nil)
	out, err := runTool(t, tool, "-W", string(testSecret), "-y", "-n", "10", "-c", "-p", port(s.Addrs().UDP), "127.0.0.1")
	if err == nil || strings.Contains(out, "tot_recv_msgs=20") {
		t.Fatalf("relayed to loopback without --turn-allow-peer")
	}
	if !strings.Contains(out, "403") {
		t.Errorf("want the refusal to be 403 Forbidden")
	}
	if st := s.Stats(); st.PeerRefusals == 0 || st.PacketsToPeers != 0 {
		t.Errorf("stats: %+v", st)
	}
}

// An expired REST API username: turnutils_uclient computes its own from
// the secret, so ask it for a username that expired and pass it with -u.
func TestTurnutilsUclientExpired(t *testing.T) {
	tool := lookTool(t, "turnutils_uclient")
	s, _ := startServer(t, func(c *Config) { c.AllowPeers = loopback })
	user := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10) + ":alice"
	out, err := runTool(t, tool, "-u", user, "-w", Password(testSecret, user), "-y", "-n", "10", "-c",
		"-p", port(s.Addrs().UDP), "127.0.0.1")
	if err == nil || strings.Contains(out, "tot_recv_msgs=20") {
		t.Fatalf("turnutils_uclient with an expired username succeeded")
	}
	// The same static pair, unexpired, works: the refusal was the expiry.
	user = strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10) + ":alice"
	if _, err := runTool(t, tool, "-u", user, "-w", Password(testSecret, user), "-y", "-n", "10", "-c",
		"-p", port(s.Addrs().UDP), "127.0.0.1"); err != nil {
		t.Fatalf("turnutils_uclient with a valid static username: %v", err)
	}
	if st := s.Stats(); st.AuthFailures == 0 {
		t.Errorf("stats: %+v", st)
	}
}
