package turn

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun"
)

// The relay benchmark runs each TURN server in its own process on
// 127.0.0.1 (ours: this test binary re-executed; coturn: Debian's
// turnserver), drives N allocations from this process, each bound to a
// channel towards its own UDP echo peer, and measures
//
//   - relayed packets per second, counting both hops a round trip makes
//     through the server (client → peer and peer → client), and
//   - the server process's CPU time (user+sys from /proc) per relayed packet.
//
// Two loads: "flood" keeps a window of packets in flight per allocation
// (throughput as fast as round trips go), "rate" offers the same fixed
// packet rate to both servers (CPU per packet at equal load; by default
// 5000 packets/s, 100 per allocation with 50 like a video call).
//
//	go test -run '^$' -bench BenchmarkRelay -benchtime 1x -count 3 ./turn/
var (
	relayBenchDuration = flag.Duration("relay.duration", 3*time.Second, "measuring time per relay benchmark run")
	relayBenchRate     = flag.Int("relay.rate", 5000, "packets/s offered by all clients together in the rate load")
	relayBenchSize     = flag.String("relay.size", "200", "payload bytes per relayed packet; a comma-separated list is sent in turn (e.g. 1200,1200,1200,700,120: a video frame's packets, then audio)")
	relayBenchProcs    = flag.Int("relay.gomaxprocs", 0, "GOMAXPROCS of our server process (0: the machine's cores)")
)

const benchServerEnv = "CALLS_TURN_BENCH_SERVER"

func TestMain(m *testing.M) {
	if secret := os.Getenv(benchServerEnv); secret != "" {
		os.Exit(serveForBenchmark(secret))
	}
	os.Exit(m.Run())
}

// serveForBenchmark runs our server as the benchmark's server process: it
// prints its UDP address and serves until stdin closes.
func serveForBenchmark(secret string) int {
	s, err := Start(Config{
		Secret:       []byte(secret),
		ListenUDP:    "127.0.0.1:0",
		RelayIP:      net.IPv4(127, 0, 0, 1),
		RelayBindIP:  net.IPv4(127, 0, 0, 1),
		RelayPortMin: 62000,
		RelayPortMax: 62999,
		AllowPeers:   loopback,
		UserQuota:    1000,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(s.Addrs().UDP)
	io.Copy(io.Discard, os.Stdin)
	s.Close()
	return 0
}

func BenchmarkRelay(b *testing.B) {
	for _, server := range []string{"calls", "coturn"} {
		for _, load := range []string{"flood", "rate"} {
			for _, allocs := range []int{1, 50} {
				name := fmt.Sprintf("server=%s/load=%s/allocs=%d", server, load, allocs)
				b.Run(name, func(b *testing.B) { benchRelay(b, server, load, allocs) })
			}
		}
	}
}

func benchRelay(b *testing.B, server, load string, allocs int) {
	secret := "bench-secret"
	var proc *exec.Cmd
	var addr netip.AddrPort
	switch server {
	case "calls":
		proc, addr = startOurServer(b, secret)
	case "coturn":
		proc, addr = startCoturn(b, secret)
	}
	user, pass := Credentials([]byte(secret), "bench", time.Hour, time.Now())
	clients := make([]*rawAlloc, allocs)
	for i := range clients {
		c, err := newRawAlloc(addr, user, pass)
		if err != nil {
			b.Fatalf("allocation %d on %s: %v", i, server, err)
		}
		defer c.close()
		clients[i] = c
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var frames [][]byte
	for _, f := range strings.Split(*relayBenchSize, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1500 {
			b.Fatalf("-relay.size %q: want payload sizes of 1 to 1500 bytes, comma-separated", *relayBenchSize)
		}
		frames = append(frames, channelData(make([]byte, n)))
	}
	perClient := float64(*relayBenchRate) / float64(allocs)
	for _, c := range clients {
		c.echo(&wg)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if load == "flood" {
				c.flood(frames, &stop)
			} else {
				c.paced(frames, perClient, &stop)
			}
		}()
	}
	count := func() (n, sent uint64) {
		for _, c := range clients {
			n += c.toPeer.Load() + c.toClient.Load()
			sent += c.sent.Load()
		}
		return n, sent
	}
	time.Sleep(500 * time.Millisecond) // warm up
	b.ResetTimer()
	pkts0, sent0 := count()
	cpu0, t0 := processCPU(b, proc.Process.Pid), time.Now()
	time.Sleep(*relayBenchDuration)
	pkts1, sent1 := count()
	cpu1, t1 := processCPU(b, proc.Process.Pid), time.Now()
	b.StopTimer()
	stop.Store(true)
	for _, c := range clients {
		c.close()
	}
	wg.Wait()

	relayed := float64(pkts1 - pkts0)
	if relayed == 0 {
		b.Fatalf("%s relayed nothing", server)
	}
	cpu := (cpu1 - cpu0).Seconds()
	wall := t1.Sub(t0).Seconds()
	b.ReportMetric(relayed/wall, "relayed/s")
	b.ReportMetric(cpu/relayed*1e6, "cpu-µs/relayed")
	b.ReportMetric(100*cpu/wall, "server-cpu-%")
	// Each packet sent makes two relayed hops when nothing is lost.
	b.ReportMetric(100*(1-relayed/float64(2*(sent1-sent0))), "loss-%")
}

func startOurServer(b *testing.B, secret string) (*exec.Cmd, netip.AddrPort) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"="+secret)
	if *relayBenchProcs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(*relayBenchProcs))
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("benchmark server: %v", err)
	}
	addr, err := netip.ParseAddrPort(strings.TrimSpace(line))
	if err != nil {
		b.Fatalf("benchmark server printed %q", line)
	}
	return cmd, addr
}

// startCoturn runs Debian's turnserver on loopback for the duration of
// one benchmark run, on a free port (tried again on another if something
// took it meanwhile).
func startCoturn(b *testing.B, secret string) (*exec.Cmd, netip.AddrPort) {
	path, err := exec.LookPath("turnserver")
	if err != nil {
		b.Skipf("turnserver not on PATH (apt-get install coturn): %v", err)
	}
	var stderr bytes.Buffer
	for range 3 {
		l, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr := l.LocalAddr().(*net.UDPAddr).AddrPort()
		l.Close()
		cmd := exec.Command(path, coturnArgs(b.TempDir(), addr.Port(), secret)...)
		// turnserver reports each protocol it cannot open (SCTP here)
		// on stderr; keep it for a failure.
		stderr.Reset()
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		if stunAnswers(addr, 5*time.Second) {
			b.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
			})
			return cmd, addr
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	b.Fatalf("turnserver did not start:\n%s", stderr.Bytes())
	return nil, netip.AddrPort{}
}

// stunAnswers reports whether a STUN server answers a Binding request.
func stunAnswers(addr netip.AddrPort, wait time.Duration) bool {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return false
	}
	defer c.Close()
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
	buf := make([]byte, 1500)
	for start := time.Now(); time.Since(start) < wait; {
		c.Write(req.Raw)
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(buf); err == nil {
			return true
		}
	}
	return false
}

// coturnArgs is the coturn command line the benchmark runs (printed in
// docs/TURN.md).
func coturnArgs(dir string, port uint16, secret string) []string {
	return []string{
		"-n", "--listening-ip=127.0.0.1", "--listening-port=" + strconv.Itoa(int(port)),
		"--relay-ip=127.0.0.1", "--min-port=61000", "--max-port=61999",
		"--allow-loopback-peers", "--use-auth-secret", "--static-auth-secret=" + secret,
		"--realm=calls", "--no-cli", "--no-tls", "--no-dtls",
		"--pidfile=" + filepath.Join(dir, "turnserver.pid"), "--db=" + filepath.Join(dir, "turndb"),
		"--log-file=" + filepath.Join(dir, "turn.log"), "--simple-log", "--no-stdout-log",
	}
}

// processCPU is a process's user+sys CPU time from /proc/PID/stat.
func processCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line, in clock ticks (USER_HZ = 100).
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// flood keeps 8 packets in flight: one new packet per echo, and one more
// when nothing came back for 50 ms (lost to a full socket buffer).
func (c *rawAlloc) flood(frames [][]byte, stop *atomic.Bool) {
	next := 0
	frame := func() []byte { next++; return frames[(next-1)%len(frames)] }
	buf := make([]byte, 2048)
	const window = 8
	for range window {
		c.conn.Write(frame())
	}
	c.sent.Add(window)
	for !stop.Load() {
		c.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.conn.Read(buf); err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				return
			}
		} else {
			c.toClient.Add(1)
		}
		c.conn.Write(frame())
		c.sent.Add(1)
	}
}

// paced sends rate packets/s in 5 ms bursts, counting echoes on the side.
func (c *rawAlloc) paced(frames [][]byte, rate float64, stop *atomic.Bool) {
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, err := c.conn.Read(buf); err != nil {
				return
			}
			c.toClient.Add(1)
		}
	}()
	start := time.Now()
	sent := 0
	for !stop.Load() {
		due := int(time.Since(start).Seconds() * rate)
		for ; sent < due; sent++ {
			c.conn.Write(frames[sent%len(frames)])
		}
		c.sent.Store(uint64(sent))
		time.Sleep(5 * time.Millisecond)
	}
}
