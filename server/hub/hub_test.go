package hub

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// serveHub runs a websocket endpoint on the hub; ?user= names the user.
func serveHub(t testing.TB, h *Hub) string {
	t.Helper()
	return serveHubValidating(t, h, nil)
}

// serveHubValidating is serveHub with a session check at every ping.
func serveHubValidating(t testing.TB, h *Hub, validate func(context.Context) error) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := h.NewClient(r.URL.Query().Get("user"), "")
		if err := h.Register(c, 0, map[string]string{"user": c.UserID}); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if err := c.Accept(w, r, nil); err != nil {
			h.Unregister(c)
			return
		}
		// As the server does: the client runs on its own goroutine, and
		// the request's ends.
		go c.Run(context.Background(), func(context.Context, *Client, Frame) *Frame { return &Frame{Type: "pong"} }, validate)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url, user string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url+"?user="+user, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func read(t *testing.T, c *websocket.Conn) Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f Frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

// Events reach exactly their audience, in order, after the hello.
func TestPublishOrderAndAudience(t *testing.T) {
	h := New()
	url := serveHub(t, h)
	ann, ben := dial(t, url, "ann"), dial(t, url, "ben")
	if f := read(t, ann); f.Type != "hello" {
		t.Fatalf("first frame %q", f.Type)
	}
	if f := read(t, ben); f.Type != "hello" {
		t.Fatalf("first frame %q", f.Type)
	}
	for h.Count() < 2 {
		time.Sleep(time.Millisecond)
	}
	const n = 100
	for i := range n {
		users := []string{"ann"}
		if i%2 == 0 {
			users = append(users, "ben")
		}
		if _, err := h.Publish("note", map[string]int{"i": i}, users); err != nil {
			t.Fatal(err)
		}
	}
	var last uint64
	for i := range n {
		f := read(t, ann)
		if f.Type != "note" || string(f.Data) != fmt.Sprintf(`{"i":%d}`, i) || f.Seq <= last {
			t.Fatalf("ann's event %d: %s seq %d %s (after seq %d)", i, f.Type, f.Seq, f.Data, last)
		}
		last = f.Seq
	}
	for i := 0; i < n; i += 2 {
		if f := read(t, ben); string(f.Data) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("ben's event: %s, want i=%d", f.Data, i)
		}
	}
	// A reply to the client's own frame comes through the same queue.
	if err := ben.Write(context.Background(), websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if f := read(t, ben); f.Type != "pong" {
		t.Fatalf("reply %q, want pong", f.Type)
	}
}

// A client whose queue is full is dropped, and the others still get the event.
func TestSlowClientDropped(t *testing.T) {
	h := New()
	var dropped []string
	h.OnDrop = func(c *Client) { dropped = append(dropped, c.UserID) }
	// Never Run: nothing drains its queue, like a peer that stopped reading.
	slow := h.NewClient("slow", "")
	if err := h.Register(slow, 0, nil); err != nil { // queues the hello
		t.Fatal(err)
	}
	url := serveHub(t, h)
	fine := dial(t, url, "fine")
	read(t, fine)
	for h.Count() < 2 {
		time.Sleep(time.Millisecond)
	}
	for i := range QueueSize {
		h.Publish("note", i, []string{"slow", "fine"})
		read(t, fine)
	}
	select {
	case <-slow.Done():
	default:
		t.Fatalf("slow client not dropped after %d frames", QueueSize+1)
	}
	if len(dropped) != 1 || dropped[0] != "slow" {
		t.Fatalf("OnDrop saw %v", dropped)
	}
}

// Shutdown flushes what is queued, then closes with "going away".
func TestShutdownFlushes(t *testing.T) {
	h := New()
	url := serveHub(t, h)
	c := dial(t, url, "ann")
	read(t, c)
	for h.Count() < 1 {
		time.Sleep(time.Millisecond)
	}
	h.Publish("note", "last words", nil)
	h.Shutdown()
	if f := read(t, c); f.Type != "note" {
		t.Fatalf("got %q, want the queued note", f.Type)
	}
	if f := read(t, c); f.Type != "server_shutdown" {
		t.Fatalf("got %q, want server_shutdown", f.Type)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("close: %v, want going away", err)
	}
}

// Events to the same people share one audience list in the ring, and a
// client resuming gets only the events addressed to it.
func TestRingSharesAudiences(t *testing.T) {
	h := New()
	room := func() []string { return []string{"cat", "ann", "ben"} } // a fresh list each time, as from the store
	first, _ := h.Publish("note", 1, room())
	h.Publish("note", 2, []string{"ben"})
	h.Publish("note", 3, room())
	a, b := h.ring[first%ringSize].audience, h.ring[(first+2)%ringSize].audience
	if len(a) != 3 || &a[0] != &b[0] {
		t.Fatalf("equal audiences not shared: %v %v", a, b)
	}

	ann := h.NewClient("ann", "")
	if err := h.Register(ann, first-1, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, frame := range ann.queued() {
		var f Frame
		if err := json.Unmarshal(frame, &f); err != nil {
			t.Fatal(err)
		}
		got = append(got, f.Type+":"+string(f.Data))
	}
	if strings.Join(got, " ") != "hello:null note:1 note:3" {
		t.Fatalf("replayed %v", got)
	}
}

// queued is what waits in the queue of a client that is not Run.
func (c *Client) queued() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queue
}

// BenchmarkRingRoom10k measures what the ring keeps after a room of 10,000
// people gets as many events as the ring holds, each with a fresh member
// list as the store returns it.
//
//	go test ./server/hub -run '^$' -bench RingRoom10k -benchtime 1x
func BenchmarkRingRoom10k(b *testing.B) {
	ids := make([]string, 10000)
	for j := range ids {
		ids[j] = fmt.Sprintf("user-%021d", j) // 26 bytes, like an id
	}
	for range b.N {
		h := New()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range ringSize {
			members := make([]string, len(ids))
			for j, id := range ids {
				members[j] = strings.Clone(id)
			}
			h.Publish("post_created", map[string]string{"message": "hello"}, members)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc))/(1<<20), "retained_MiB")
		runtime.KeepAlive(h)
	}
}

// A user's clients beyond MaxPerUser are refused; one that never ran can
// be taken back, which frees its place.
func TestMaxPerUser(t *testing.T) {
	h := New()
	h.MaxPerUser = 2
	a, b, c := h.NewClient("ann", ""), h.NewClient("ann", ""), h.NewClient("ann", "")
	for _, cl := range []*Client{a, b} {
		if err := h.Register(cl, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Register(c, 0, nil); !errors.Is(err, ErrTooManyClients) {
		t.Fatalf("third client: %v, want ErrTooManyClients", err)
	}
	if err := h.Register(h.NewClient("ben", ""), 0, nil); err != nil {
		t.Fatalf("another user: %v", err)
	}
	h.Unregister(b)
	if err := h.Register(c, 0, nil); err != nil {
		t.Fatalf("after one left: %v", err)
	}
	if n := h.ClientsOf("ann"); n != 2 {
		t.Fatalf("ann has %d clients, want 2", n)
	}
}

// A client that answers pings stays; one that does not is closed once the
// pong timeout has passed; a session that fails its check at a ping ends
// the connection with the check's reason.
func TestPingsAndDeadPeers(t *testing.T) {
	h := New()
	h.PingInterval, h.PongTimeout = 100*time.Millisecond, 300*time.Millisecond
	var revoked atomic.Bool
	url := serveHubValidating(t, h, func(context.Context) error {
		if revoked.Load() {
			return errors.New(ReasonSession)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var pings atomic.Int64
	alive, _, err := websocket.Dial(ctx, url+"?user=alive", &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true }})
	if err != nil {
		t.Fatal(err)
	}
	defer alive.CloseNow()
	aliveErr := make(chan error, 1)
	go func() { // reading is what answers pings
		for {
			if _, _, err := alive.Read(ctx); err != nil {
				aliveErr <- err
				return
			}
		}
	}()
	// A peer that stopped reading: its pongs never come.
	dead := dial(t, url, "dead")
	_ = dead
	for h.Count() < 2 {
		time.Sleep(time.Millisecond)
	}
	deadline := time.Now().Add(8 * time.Second)
	for h.ClientsOf("dead") > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a peer that never answers pings was not dropped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h.ClientsOf("alive") != 1 {
		t.Fatal("the peer that answers pings was dropped")
	}
	if n := pings.Load(); n < 3 {
		t.Fatalf("%d pings received, want several", n)
	}

	revoked.Store(true)
	select {
	case err := <-aliveErr:
		if websocket.CloseStatus(err) != websocket.StatusNormalClosure || !strings.Contains(err.Error(), ReasonSession) {
			t.Fatalf("after the session ended: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a revoked session stayed connected")
	}
}

// A client's first frame that arrives together with its upgrade request
// (in the same packet, read ahead by the HTTP server) is not lost; and
// the server's frames are well-formed on the wire.
func TestFrameWithHandshake(t *testing.T) {
	h := New()
	url := serveHub(t, h)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	payload := []byte(`{"type":"ping"}`)
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(payload))}
	frame = append(frame, mask[:]...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	req := "GET /?user=ann HTTP/1.1\r\nHost: " + strings.TrimPrefix(url, "ws://") + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := conn.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	readServerFrame := func() Frame {
		t.Helper()
		var hdr [2]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatal(err)
		}
		if hdr[0] != 0x81 || hdr[1]&0x80 != 0 {
			t.Fatalf("frame header % x: want a final unmasked text frame", hdr)
		}
		n := int(hdr[1])
		if n == 126 {
			var ext [2]byte
			if _, err := io.ReadFull(br, ext[:]); err != nil {
				t.Fatal(err)
			}
			n = int(ext[0])<<8 | int(ext[1])
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			t.Fatal(err)
		}
		var f Frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("frame %q: %v", b, err)
		}
		return f
	}
	if f := readServerFrame(); f.Type != "hello" {
		t.Fatalf("first frame %q", f.Type)
	}
	if f := readServerFrame(); f.Type != "pong" {
		t.Fatalf("reply to the early ping: %q", f.Type)
	}
	// A 200-byte event takes the 16-bit length form.
	h.Publish("note", strings.Repeat("x", 200), nil)
	if f := readServerFrame(); f.Type != "note" || len(f.Data) != 202 {
		t.Fatalf("event %q of %d bytes", f.Type, len(f.Data))
	}
}

// When Run's context ends, the client is closed as the server going away.
func TestRunContextEnds(t *testing.T) {
	h := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := h.NewClient("ann", "")
		if err := h.Register(c, 0, nil); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if err := c.Accept(w, r, nil); err != nil {
			h.Unregister(c)
			return
		}
		go c.Run(ctx, func(context.Context, *Client, Frame) *Frame { return nil }, nil)
	}))
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), "ann")
	read(t, c) // hello
	cancel()
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer rcancel()
	_, _, err := c.Read(rctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("after the context ended: %v, want going away", err)
	}
	for h.Count() > 0 {
		time.Sleep(time.Millisecond)
	}
}
