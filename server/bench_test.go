package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/coder/websocket"

	"calls/server/auth"
	"calls/store"
)

// These benchmarks measure the chat targets of docs/PERFORMANCE.md. Each
// runs one fixed workload (use -benchtime 1x) and reports its figures with
// b.ReportMetric:
//
//	go test ./server -run '^$' -bench Fanout1000 -benchtime 1x -count 3
//	go test ./server -run '^$' -bench IdleClients10k -benchtime 1x -count 3 -timeout 30m

// population is n users, each with a session token, in teams of teamSize
// (each user is in one team and its town-square channel).
type population struct {
	users  []*store.User
	tokens []string
	town   string // the first team's town-square
}

// populate creates the users, their sessions and the teams straight in the
// store: logging 10,000 people in through the API would spend minutes on
// password hashing and measure nothing of interest.
func populate(ctx context.Context, st *store.Store, n, teamSize int) (*population, error) {
	p := &population{users: make([]*store.User, n), tokens: make([]string, n)}
	for i := range n {
		u, err := st.CreateUser(ctx, store.NewUser{Username: fmt.Sprintf("user%05d", i), DisplayName: fmt.Sprintf("User %d", i), Role: store.RoleMember})
		if err != nil {
			return nil, err
		}
		tok, hash := auth.NewToken()
		if _, err := st.CreateSession(ctx, hash, u.ID, 24*time.Hour, "bench", "127.0.0.1"); err != nil {
			return nil, err
		}
		p.users[i], p.tokens[i] = u, tok
	}
	for first := 0; first < n; first += teamSize {
		team, town, err := st.CreateTeam(ctx, fmt.Sprintf("team%05d", first), "Team", p.users[first].ID)
		if err != nil {
			return nil, err
		}
		if first == 0 {
			p.town = town.ID
		}
		for _, u := range p.users[first+1 : min(first+teamSize, n)] {
			if err := st.AddTeamMember(ctx, team.ID, u.ID, ""); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// benchServer starts an in-process server on 127.0.0.1 and returns its URL.
func benchServer(b *testing.B) (*Server, string) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, Config{
		DataDir:  filepath.Join(b.TempDir(), "data"),
		Insecure: true,
		Listener: ln,
		RTCAddr:  "127.0.0.1:0",
		UI:       fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>calls</title>")}},
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		b.Fatal(err)
	}
	ready := make(chan string, 1)
	s.cfg.Ready = func(url string) { ready <- url }
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		b.Fatalf("server stopped: %v", err)
	}
	b.Cleanup(func() {
		cancel()
		<-done
		s.Close()
	})
	return s, url
}

// wsClients is a crowd of websocket clients, each reading every frame.
type wsClients struct {
	conns  []*websocket.Conn
	frames atomic.Int64 // frames received by all clients
	closed atomic.Int64 // connections the server ended
	last   atomic.Int64 // unix nanoseconds of the latest frame
	wg     sync.WaitGroup
}

// dialAll connects one client per token, parallel dials at a time. onFrame,
// if set, sees every frame a client receives.
func dialAll(ctx context.Context, baseURL string, tokens []string, parallel int, onFrame func([]byte)) (*wsClients, error) {
	cs := &wsClients{conns: make([]*websocket.Conn, len(tokens))}
	wsURL := strings.Replace(baseURL, "http", "ws", 1) + "/api/v1/ws"
	sem := make(chan struct{}, parallel)
	errs := make(chan error, len(tokens))
	var wg sync.WaitGroup
	for i, tok := range tokens {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			c.SetReadLimit(1 << 20)
			cs.conns[i] = c
			cs.wg.Add(1)
			// Labelled, so a CPU profile of an in-process benchmark tells
			// the clients' share from the server's.
			go pprof.Do(ctx, pprof.Labels("side", "client"), func(context.Context) { cs.read(c, onFrame) })
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		cs.close()
		return nil, err
	}
	return cs, nil
}

func (cs *wsClients) read(c *websocket.Conn, onFrame func([]byte)) {
	defer cs.wg.Done()
	// close ends the reads. A read with a context that can end costs the
	// library a timer and several allocations, as much as the server's
	// whole share of a delivery, which would count in the process's CPU
	// and allocations per delivery.
	for {
		_, b, err := c.Read(context.Background())
		if err != nil {
			if websocket.CloseStatus(err) != -1 {
				cs.closed.Add(1)
			}
			return
		}
		cs.frames.Add(1)
		cs.last.Store(time.Now().UnixNano())
		if onFrame != nil {
			onFrame(b)
		}
	}
}

// settle waits until no client has received a frame for quiet (the
// presence announcements of a crowd connecting take a while), or max.
func (cs *wsClients) settle(quiet, max time.Duration) time.Duration {
	start := time.Now()
	for time.Since(start) < max {
		time.Sleep(quiet / 4)
		if time.Since(time.Unix(0, cs.last.Load())) > quiet {
			break
		}
	}
	return time.Since(start)
}

func (cs *wsClients) close() {
	for _, c := range cs.conns {
		if c != nil {
			c.CloseNow()
		}
	}
	cs.wg.Wait()
}

// BenchmarkFanout1000 measures post-to-delivery latency in a room of 1,000
// connected users: 20 posts a second for 10 s through the HTTP API, each
// carrying the time just before its POST; every client records when the
// post_created event arrives. Target: p99 ≤ 100 ms.
//
// Latency depends on how busy the machine is; what the process spends per
// delivered message depends much less on it: cpu_us/delivery and
// allocs/delivery are the whole process's CPU time and heap allocations
// from the first POST until the last delivery, divided by the deliveries
// (server and the 1,000 clients together: they share the process). With
// CALLS_BENCH_PROFILE=DIR the benchmark also writes a CPU profile of that
// window (the clients' goroutines carry the label side=client, the
// posters' side=poster, so `go tool pprof -tagignore side=client,poster`
// shows the server alone) and heap profiles at its start and end
// (compare their alloc_objects with -base; allocations sampled every
// 4 KiB).
func BenchmarkFanout1000(b *testing.B) {
	if testing.Short() {
		b.Skip("1,000 websocket clients: not with -short")
	}
	const (
		clients  = 1000
		rate     = 20 // posts per second
		duration = 10 * time.Second
		posters  = 5 // the per-user post limit is 5/s; 5 authors share the 20/s
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, url := benchServer(b)
	pop, err := populate(ctx, s.store, clients, clients)
	if err != nil {
		b.Fatal(err)
	}
	// Commit times tell a slow disk from slow delivery. Set before any
	// client connects, so no store goroutine reads it meanwhile.
	var commitMu sync.Mutex
	var commits []time.Duration
	observe := s.store.Observe
	s.store.Observe = func(op string, d time.Duration) {
		if op == "create_posts" {
			commitMu.Lock()
			commits = append(commits, d)
			commitMu.Unlock()
		}
		observe(op, d)
	}

	const marker = "fanout-sent:"
	var mu sync.Mutex
	var latencies []time.Duration
	onFrame := func(frame []byte) {
		if !bytes.HasPrefix(frame, []byte(`{"type":"post_created"`)) {
			return
		}
		got := time.Now()
		i := bytes.Index(frame, []byte(marker))
		if i < 0 {
			return
		}
		digits := frame[i+len(marker):]
		digits = digits[:bytes.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' })]
		sent, err := strconv.ParseInt(string(digits), 10, 64)
		if err != nil {
			return
		}
		mu.Lock()
		latencies = append(latencies, got.Sub(time.Unix(0, sent)))
		mu.Unlock()
	}
	connectStart := time.Now()
	cs, err := dialAll(ctx, url, pop.tokens, 50, onFrame)
	if err != nil {
		b.Fatal(err)
	}
	defer cs.close()
	connected := time.Since(connectStart)
	// The crowd's presence announcements come in batches a second apart;
	// three quiet seconds mean they are over.
	cs.settle(3*time.Second, 2*time.Minute)
	settled := time.Since(connectStart)
	framesBefore := cs.frames.Load()

	profDir := os.Getenv("CALLS_BENCH_PROFILE")
	if profDir != "" {
		runtime.MemProfileRate = 4096
	}
	b.ResetTimer()
	for run := range b.N {
		mu.Lock()
		latencies = latencies[:0]
		mu.Unlock()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		cpu0 := processCPU()
		if profDir != "" {
			writeHeapProfile(b, filepath.Join(profDir, fmt.Sprintf("fanout-heap0-%d.pb.gz", run)))
			f, err := os.Create(filepath.Join(profDir, fmt.Sprintf("fanout-cpu-%d.pb.gz", run)))
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				b.Fatal(err)
			}
			defer f.Close()
		}
		commitMu.Lock()
		commits = commits[:0]
		commitMu.Unlock()
		var posts sync.WaitGroup
		var failed atomic.Int64
		var postMu sync.Mutex
		var postTimes []time.Duration // how long each POST took
		tick := time.NewTicker(time.Second / rate)
		n := int(duration.Seconds()) * rate
		for i := range n {
			<-tick.C
			posts.Add(1)
			go pprof.Do(ctx, pprof.Labels("side", "poster"), func(ctx context.Context) {
				defer posts.Done()
				tok := pop.tokens[i%posters]
				sent := time.Now()
				body := fmt.Sprintf(`{"message":"%s%d"}`, marker, sent.UnixNano())
				req, _ := http.NewRequestWithContext(ctx, "POST", url+"/api/v1/channels/"+pop.town+"/posts", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					failed.Add(1)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					failed.Add(1)
					return
				}
				postMu.Lock()
				postTimes = append(postTimes, time.Since(sent))
				postMu.Unlock()
			})
		}
		tick.Stop()
		posts.Wait()
		pressure := cpuPressure()
		want := (n - int(failed.Load())) * clients
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			got := len(latencies)
			mu.Unlock()
			if got >= want {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		b.StopTimer()
		cpu := processCPU() - cpu0
		runtime.ReadMemStats(&ms1)
		if profDir != "" {
			pprof.StopCPUProfile()
			writeHeapProfile(b, filepath.Join(profDir, fmt.Sprintf("fanout-heap1-%d.pb.gz", run)))
		}
		mu.Lock()
		lat := slices.Clone(latencies)
		mu.Unlock()
		if f := failed.Load(); f > 0 {
			b.Fatalf("%d of %d posts failed", f, n)
		}
		if len(lat) < want {
			b.Errorf("%d of %d deliveries arrived (%d clients dropped)", len(lat), want, cs.closed.Load())
		}
		b.ReportMetric(quantileMS(lat, 0.50), "p50_ms")
		b.ReportMetric(quantileMS(lat, 0.95), "p95_ms")
		b.ReportMetric(quantileMS(lat, 0.99), "p99_ms")
		if len(lat) > 0 {
			b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu_us/delivery")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(len(lat)), "allocs/delivery")
		}
		b.ReportMetric(loadAverage(), "load1")
		b.ReportMetric(quantileMS(lat, 1), "max_ms")
		b.ReportMetric(quantileMS(postTimes, 0.99), "post_p99_ms")
		commitMu.Lock()
		b.ReportMetric(quantileMS(commits, 0.99), "commit_p99_ms")
		commitMu.Unlock()
		b.ReportMetric(pressure, "cpu_wait_%")
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(connected.Seconds(), "connect_s")
	b.ReportMetric(settled.Seconds(), "settle_s")
	b.ReportMetric(float64(framesBefore)/clients, "frames/client")
	b.ReportMetric(0, "ns/op")
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the machine's one-minute load average.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return v
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// cpuPressure is the share of the last 10 s in which some runnable task
// on this machine waited for a CPU (Linux PSI "some avg10"), in percent.
// It tells a run on a quiet machine from one sharing the cores with other
// work; 0 where the kernel does not report it.
func cpuPressure() float64 {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0
	}
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, "avg10="); ok {
			p, _ := strconv.ParseFloat(v, 64)
			return p
		}
	}
	return 0
}

// quantileMS is the q-quantile of ds in milliseconds.
func quantileMS(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[int(q*float64(len(ds)-1))]) / 1e6
}

// BenchmarkIdleClients10k measures the resident memory of the real binary
// with 10,000 idle websocket clients (target ≤ 400 MB), and the memory each
// client costs: (RSS with N − RSS with none) / N. The server runs as a
// subprocess so the clients' memory is not counted with it.
func BenchmarkIdleClients10k(b *testing.B) {
	if testing.Short() {
		b.Skip("10,000 websocket clients: not with -short")
	}
	benchIdleClients(b, 10000, 100)
}

// BenchmarkIdleClients2kOneTeam is the worst case for presence: everyone
// in one team (and its town-square) hears of everyone else connecting, so
// the frames the crowd makes grow with the square of its size.
func BenchmarkIdleClients2kOneTeam(b *testing.B) {
	if testing.Short() {
		b.Skip("2,000 websocket clients: not with -short")
	}
	benchIdleClients(b, 2000, 2000)
}

// benchIdleClients connects n clients of users in teams of teamSize. Each
// connection announces the user's presence to their team, so the team size
// sets how much traffic the crowd makes while it connects.
func benchIdleClients(b *testing.B, n, teamSize int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := b.TempDir()
	bin := filepath.Join(dir, "calls")
	// CALLS_BENCH_PPROF=DIR builds the server with its pprof endpoint
	// (pprof_bench.go) and saves heap and goroutine profiles into DIR:
	// before the clients connect and once they are idle.
	profDir := os.Getenv("CALLS_BENCH_PPROF")
	args := []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", bin}
	if profDir != "" {
		args = append(args, "-tags", "benchpprof")
	}
	build := exec.CommandContext(ctx, "go", append(args, ".")...)
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}

	for run := range b.N {
		data := filepath.Join(b.TempDir(), "data")
		// Synchronous=OFF only to set up faster; the server opens the file
		// with its own durable settings.
		st, err := store.Open(ctx, filepath.Join(data, "calls.db"), store.Options{Synchronous: "OFF"})
		if err != nil {
			b.Fatal(err)
		}
		pop, err := populate(ctx, st, n, teamSize)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}

		srv, err := startBinary(ctx, bin, data, profDir != "")
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		rss0 := srv.status("VmRSS")
		srv.profile(profDir, fmt.Sprintf("idle0-%d", run))
		cpu0 := srv.cpu()

		b.ResetTimer()
		start := time.Now()
		cs, err := dialAll(ctx, srv.url, pop.tokens, 32, nil)
		if err != nil {
			srv.stop()
			b.Fatal(err)
		}
		connected := time.Since(start)
		cs.settle(2*time.Second, 10*time.Minute)
		settled := time.Since(start)
		cpuConnect := srv.cpu() - cpu0
		srv.waitIdle(30 * time.Second)
		b.StopTimer()
		rss := srv.status("VmRSS")
		hwm := srv.status("VmHWM")
		gm, err := srv.metrics("go_goroutines", "go_memstats_stack_inuse_bytes", "go_memstats_heap_inuse_bytes")
		if err != nil {
			b.Error(err)
		}
		srv.profile(profDir, fmt.Sprintf("idle%d-%d", n, run))
		frames := cs.frames.Load()
		dropped := cs.closed.Load()
		cs.close()
		srv.stop()

		b.ReportMetric(float64(rss)/(1<<20), "rss_MiB")
		b.ReportMetric(float64(rss0)/(1<<20), "rss0_MiB")
		b.ReportMetric(float64(hwm)/(1<<20), "peak_MiB")
		b.ReportMetric(float64(rss-rss0)/float64(n), "B/client")
		b.ReportMetric(gm[0]/float64(n), "goroutines/client")
		b.ReportMetric(gm[1]/(1<<20), "stack_MiB")
		b.ReportMetric(gm[2]/(1<<20), "heap_MiB")
		b.ReportMetric(connected.Seconds(), "connect_s")
		b.ReportMetric(settled.Seconds(), "settle_s")
		b.ReportMetric(cpuConnect.Seconds(), "server_cpu_s")
		b.ReportMetric(float64(frames)/float64(n), "frames/client")
		b.ReportMetric(float64(dropped), "dropped")
		b.ReportMetric(0, "ns/op")
	}
}

// binaryServer is `calls serve` running as a child process.
type binaryServer struct {
	cmd   *exec.Cmd
	url   string
	pprof string // the pprof endpoint's base URL, when built with it
	done  chan error
}

var readyURL = regexp.MustCompile(`calls is ready.* url=(\S+)`)

func startBinary(ctx context.Context, bin, data string, pprof bool) (*binaryServer, error) {
	// --rtc-port takes no 0: borrow a free UDP port for the call media.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rtcPort := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	pc.Close()
	cmd := exec.CommandContext(ctx, bin, "serve", "--insecure", "--listen", "127.0.0.1:0", "--rtc-port", rtcPort, "--data", data)
	cmd.Env = os.Environ()
	// CALLS_BENCH_GOMEMLIMIT sets the server's soft memory limit (only the
	// server's: the clients in this process need their own memory).
	if v := os.Getenv("CALLS_BENCH_GOMEMLIMIT"); v != "" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT="+v)
	}
	var pprofURL string
	if pprof {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr := l.Addr().String()
		l.Close()
		cmd.Env = append(cmd.Env, "CALLS_PPROF_ADDR="+addr)
		pprofURL = "http://" + addr
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	srv := &binaryServer{cmd: cmd, pprof: pprofURL, done: make(chan error, 1)}
	urlc := make(chan string, 1)
	go func() {
		// Keep reading the log to the end, so the server never blocks on it.
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := readyURL.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urlc <- m[1]:
				default:
				}
			}
		}
		srv.done <- cmd.Wait()
	}()
	select {
	case srv.url = <-urlc:
	case <-time.After(30 * time.Second):
		srv.stop()
		return nil, errors.New("calls serve did not say it was ready within 30 s")
	}
	resp, err := http.Get(srv.url + "/healthz")
	if err != nil {
		srv.stop()
		return nil, err
	}
	resp.Body.Close()
	return srv, nil
}

// profile saves the server's heap profile (after a collection) and its
// goroutines into dir as NAME-heap.pb.gz and NAME-goroutine.txt; nothing
// without a pprof endpoint. Read them with `go tool pprof`.
func (srv *binaryServer) profile(dir, name string) {
	if srv.pprof == "" || dir == "" {
		return
	}
	for _, p := range []struct{ path, file string }{
		{"/debug/pprof/heap?gc=1", name + "-heap.pb.gz"},
		{"/debug/pprof/goroutine?debug=1", name + "-goroutine.txt"},
	} {
		resp, err := http.Get(srv.pprof + p.path)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = os.WriteFile(filepath.Join(dir, p.file), body, 0o644)
	}
}

// metrics reads gauges from the server's /metrics page.
func (srv *binaryServer) metrics(names ...string) ([]float64, error) {
	resp, err := http.Get(srv.url + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(names))
	for line := range strings.Lines(string(body)) {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if i := slices.Index(names, f[0]); i >= 0 {
			out[i], _ = strconv.ParseFloat(f[1], 64)
		}
	}
	return out, nil
}

// status returns a /proc/PID/status figure (VmRSS, VmHWM) in bytes.
func (srv *binaryServer) status(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpu is the server's user+system CPU time so far.
func (srv *binaryServer) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", srv.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): utime is the
	// 12th, stime the 13th, in clock ticks (100 per second on Linux).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+stt) * 10 * time.Millisecond
}

// waitIdle waits until the server uses under 5% of a core over a second.
func (srv *binaryServer) waitIdle(max time.Duration) {
	deadline := time.Now().Add(max)
	prev := srv.cpu()
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		now := srv.cpu()
		if now-prev < 50*time.Millisecond {
			return
		}
		prev = now
	}
}

func (srv *binaryServer) stop() {
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.done:
	case <-time.After(15 * time.Second):
		_ = srv.cmd.Process.Kill()
		<-srv.done
	}
}
