package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// serveHub runs a websocket endpoint on the hub; ?user= names the user.
func serveHub(t *testing.T, h *Hub) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c := h.NewClient(r.URL.Query().Get("user"), "")
		if err := h.Register(c, 0, map[string]string{"user": c.UserID}); err != nil {
			conn.Close(websocket.StatusGoingAway, ReasonShutdown)
			return
		}
		c.Run(r.Context(), conn, func(context.Context, *Client, Frame) *Frame { return &Frame{Type: "pong"} }, nil)
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
