package hub

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPublish1000 measures the hub's side of a fan-out: one event to
// 1,000 websocket clients on loopback, waiting each time until every
// client has it whole (as when posts come a few a second). The clients are
// bare sockets that count bytes, so nearly all the CPU and every
// allocation is the server's: queueing, the writers, framing, the writes.
// An op is one event to 1,000 clients; cpu_ns/delivery is the process's
// CPU time (the clients' reads included, little as they are) per client
// reached, which a busy machine disturbs less than the time per op.
//
//	go test ./server/hub -run '^$' -bench Publish1000 -benchtime 2000x -count 3
func BenchmarkPublish1000(b *testing.B) {
	const clients = 1000
	h := New()
	h.PingInterval = time.Hour // the bare clients answer no pings
	addr := strings.TrimPrefix(serveHub(b, h), "ws://")
	var received atomic.Int64 // bytes, all clients together
	users := make([]string, clients)
	for i := range clients {
		users[i] = fmt.Sprintf("user-%05d", i)
		r := rawClient(b, addr, users[i])
		go func() {
			buf := make([]byte, 64<<10)
			for {
				n, err := r.Read(buf)
				received.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
	}
	for h.Count() < clients {
		time.Sleep(time.Millisecond)
	}
	for last := int64(-1); received.Load() != last; { // the hellos
		last = received.Load()
		time.Sleep(100 * time.Millisecond)
	}
	data := map[string]any{"post": map[string]string{"id": "p", "message": strings.Repeat("x", 400)}}
	raw, _ := json.Marshal(data)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for range b.N {
		before := received.Load()
		seq, err := h.Publish("post_created", data, users)
		if err != nil {
			b.Fatal(err)
		}
		want := before + clients*int64(4+len(encode("post_created", seq, raw))) // 16-bit length header
		for received.Load() < want {
			if h.Count() < clients {
				b.Fatal("a client was dropped")
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/clients, "cpu_ns/delivery")
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawClient is a websocket client that only upgrades; the caller reads
// the frames from the reader it returns.
func rawClient(b *testing.B, addr, user string) io.Reader {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	req := "GET /?user=" + user + " HTTP/1.1\r\nHost: " + addr + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		b.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("upgrade: %v %v", resp, err)
	}
	return br
}
