package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"calls/server/hub"
	"calls/store"
)

func (ts *testServer) dialWS(token string, query string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{"Authorization": {"Bearer " + token}}
	c, _, err := websocket.Dial(ctx, strings.Replace(ts.URL, "http", "ws", 1)+"/api/v1/ws"+query, &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		ts.t.Cleanup(func() { c.CloseNow() })
	}
	return c, err
}

func readFrame(t *testing.T, c *websocket.Conn) hub.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	var f hub.Frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

// readFrameOf reads until a frame of one of the types (skipping presence
// and other background events).
func readFrameOf(t *testing.T, c *websocket.Conn, types ...string) hub.Frame {
	t.Helper()
	for {
		f := readFrame(t, c)
		for _, typ := range types {
			if f.Type == typ {
				return f
			}
		}
	}
}

func TestWebsocketHelloAndEvents(t *testing.T) {
	ts := startServer(t)
	a := ts.addUser("ann", store.RoleMember)
	ts.addUser("ben", store.RoleMember)
	ca, err := ts.dialWS(ts.login("ann"), "")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := ts.dialWS(ts.login("ben"), "")
	if err != nil {
		t.Fatal(err)
	}
	hello := readFrame(t, ca)
	if hello.Type != "hello" || !strings.Contains(string(hello.Data), `"username":"ann"`) {
		t.Fatalf("first frame %s %s", hello.Type, hello.Data)
	}
	readFrame(t, cb)

	// An event for ann reaches ann only; one for everyone reaches both.
	ts.hub.Publish("note", map[string]string{"text": "for ann"}, []string{a.ID})
	ts.hub.Publish("note", map[string]string{"text": "for all"}, nil)
	f := readFrameOf(t, ca, "note")
	if f.Type != "note" || !strings.Contains(string(f.Data), "for ann") || f.Seq <= hello.Seq {
		t.Fatalf("ann got %s seq %d %s (hello seq %d)", f.Type, f.Seq, f.Data, hello.Seq)
	}
	if f := readFrameOf(t, cb, "note"); !strings.Contains(string(f.Data), "for all") {
		t.Fatalf("ben got %s", f.Data)
	}

	// Client frames: ping is answered, junk gets an error, the link stays up.
	ctx := context.Background()
	ca.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`))
	if f := readFrameOf(t, ca, "pong", "error"); f.Type != "pong" {
		t.Fatalf("after ping got %s", f.Type)
	}
	ca.Write(ctx, websocket.MessageText, []byte(`not json`))
	if f := readFrameOf(t, ca, "pong", "error"); f.Type != "error" {
		t.Fatalf("after junk got %s", f.Type)
	}
}

func TestWebsocketRefusesForeignOriginAndAnonymous(t *testing.T) {
	ts := startServer(t)
	ts.addUser("ann", store.RoleMember)
	tok := ts.login("ann")
	ctx := context.Background()
	before := ts.metric("calls_websocket_rejected_total")
	h := http.Header{"Authorization": {"Bearer " + tok}, "Origin": {"https://evil.example"}}
	_, resp, err := websocket.Dial(ctx, strings.Replace(ts.URL, "http", "ws", 1)+"/api/v1/ws", &websocket.DialOptions{HTTPHeader: h})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: err=%v resp=%v, want 403", err, resp)
	}
	if got := ts.metric("calls_websocket_rejected_total") - before; got != 1 {
		t.Fatalf("calls_websocket_rejected_total went up by %v, want 1", got)
	}
	if _, err := ts.dialWS("not-a-token", ""); err == nil {
		t.Fatal("anonymous websocket accepted")
	}
}

// A client that never reads is dropped within seconds, while another
// client of the same channel still gets every event.
func TestWebsocketSlowConsumerDropped(t *testing.T) {
	ts := startServer(t)
	slow := ts.addUser("slow", store.RoleMember)
	fast := ts.addUser("fast", store.RoleMember)
	cs, err := ts.dialWS(ts.login("slow"), "")
	if err != nil {
		t.Fatal(err)
	}
	_ = cs // never read from
	cf, err := ts.dialWS(ts.login("fast"), "")
	if err != nil {
		t.Fatal(err)
	}
	readFrame(t, cf)

	var received atomic.Int64
	got := make(chan int, 1)
	go func() {
		n := 0
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _, err := cf.Read(ctx)
			cancel()
			if err != nil {
				got <- n
				return
			}
			n++
			received.Store(int64(n))
			if n == 2000 {
				got <- n
				return
			}
		}
	}()
	payload := map[string]string{"text": strings.Repeat("x", 16<<10)}
	start := time.Now()
	for i := 0; i < 2000; i++ {
		ts.hub.Publish("note", payload, []string{slow.ID, fast.ID})
		// The fast reader is a real reader, not an infinitely fast one: on
		// a loaded machine give it the time a healthy client would have.
		for j := 0; int64(i)-received.Load() > 100 && j < 500; j++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if n := <-got; n != 2000 {
		t.Fatalf("fast client got %d of 2000 events", n)
	}
	deadline := time.Now().Add(15 * time.Second)
	for ts.hub.Online(slow.ID) {
		if time.Now().After(deadline) {
			t.Fatal("slow client never dropped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("slow client dropped after %v", time.Since(start).Round(time.Millisecond))
}

// wsWatch reads a websocket until it closes and reports when and how.
type wsWatch struct {
	closed chan struct{}
	at     time.Time
	err    error
}

func watchWS(c *websocket.Conn) *wsWatch {
	w := &wsWatch{closed: make(chan struct{})}
	go func() {
		var err error
		for err == nil { // events still queued before the close are skipped
			_, _, err = c.Read(context.Background())
		}
		w.at, w.err = time.Now(), err
		close(w.closed)
	}()
	return w
}

// closedWithin waits (up to a generous deadline, the machine is shared) for
// the close and returns how long after from it came.
func (w *wsWatch) closedWithin(t *testing.T, what string, from time.Time, reason string) time.Duration {
	t.Helper()
	select {
	case <-w.closed:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: websocket still open 5 s after the revocation", what)
	}
	if websocket.CloseStatus(w.err) != websocket.StatusNormalClosure || !strings.Contains(w.err.Error(), reason) {
		t.Fatalf("%s: closed with %v, want a normal closure saying %q", what, w.err, reason)
	}
	return w.at.Sub(from)
}

func (w *wsWatch) open() bool {
	select {
	case <-w.closed:
		return false
	default:
		return true
	}
}

// Revoking a session closes its live websockets at once, and only its:
// logging out on one device leaves the other device connected; deactivating
// the account closes every connection, API-token ones included.
func TestDeactivationClosesWebsocket(t *testing.T) {
	ts := startServer(t)
	ts.addUser("boss", store.RoleAdmin)
	boss := ts.login("boss")
	u := ts.addUser("leaver", store.RoleMember)
	laptop, phone := ts.login("leaver"), ts.login("leaver")
	var bot map[string]string
	ts.mustDo("POST", "/api/v1/users/"+u.ID+"/tokens", phone, map[string]string{"name": "script"}, &bot, 201)

	dial := func(tok string) (*websocket.Conn, *wsWatch) {
		c, err := ts.dialWS(tok, "")
		if err != nil {
			t.Fatal(err)
		}
		readFrame(t, c) // hello
		return c, watchWS(c)
	}
	_, tab1 := dial(laptop)
	_, tab2 := dial(laptop) // two tabs of one browser: one session
	phoneConn, phoneWS := dial(phone)
	_, botWS := dial(bot["token"])

	// Log out on the laptop: both its tabs close, the phone stays.
	start := time.Now()
	if status := ts.do("POST", "/api/v1/auth/logout", laptop, nil, nil); status != http.StatusNoContent {
		t.Fatalf("logout: %d", status)
	}
	d1 := tab1.closedWithin(t, "laptop tab 1 after logout", start, hub.ReasonLoggedOut)
	d2 := tab2.closedWithin(t, "laptop tab 2 after logout", start, hub.ReasonLoggedOut)
	t.Logf("logout closed the session's 2 websockets in %v and %v", d1.Round(time.Millisecond), d2.Round(time.Millisecond))
	time.Sleep(time.Second) // anything else the logout closed would have closed by now
	if !phoneWS.open() || !botWS.open() {
		t.Fatal("logging out on the laptop closed the phone's or the API token's websocket")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := phoneConn.Ping(ctx); err != nil {
		t.Fatalf("the phone's websocket after the laptop's logout: %v", err)
	}
	if _, err := ts.dialWS(laptop, ""); err == nil {
		t.Fatal("the logged-out session opened a websocket")
	}
	if status := ts.do("GET", "/api/v1/users/me", phone, nil, nil); status != 200 {
		t.Fatalf("the phone's session after the laptop's logout: %d", status)
	}

	// Deactivation closes everything the account has open.
	start = time.Now()
	if status := ts.do("PUT", "/api/v1/users/"+u.ID+"/active", boss, map[string]bool{"active": false}, nil); status != 200 {
		t.Fatalf("deactivate: %d", status)
	}
	d3 := phoneWS.closedWithin(t, "phone after deactivation", start, "deactivated")
	d4 := botWS.closedWithin(t, "API token after deactivation", start, "deactivated")
	t.Logf("deactivation closed the phone's websocket in %v and the API token's in %v",
		d3.Round(time.Millisecond), d4.Round(time.Millisecond))
	for name, tok := range map[string]string{"phone": phone, "API token": bot["token"], "new login": ts.loginMaybe("leaver")} {
		if _, err := ts.dialWS(tok, ""); err == nil {
			t.Fatalf("deactivated user reconnected with the %s", name)
		}
	}
}

func (ts *testServer) loginMaybe(name string) string {
	var out loginResponse
	ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": name + "-password"}, &out)
	return out.Token
}

// A client that reconnects with ?since= receives what it missed, in order,
// and one whose seq is unknown (older than the ring, or from before a
// restart) is told to resync.
func TestWebsocketResume(t *testing.T) {
	ts := startServer(t)
	u := ts.addUser("ann", store.RoleMember)
	other := ts.addUser("zed", store.RoleMember)
	tok := ts.login("ann")
	c, err := ts.dialWS(tok, "")
	if err != nil {
		t.Fatal(err)
	}
	hello := readFrame(t, c)
	c.Close(websocket.StatusNormalClosure, "")

	ts.hub.Publish("note", map[string]int{"n": 1}, []string{u.ID})
	ts.hub.Publish("note", map[string]int{"n": 99}, []string{other.ID})
	ts.hub.Publish("note", map[string]int{"n": 2}, nil)

	c2, err := ts.dialWS(tok, "?since="+jsonNum(hello.Seq))
	if err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, c2); f.Type != "hello" {
		t.Fatalf("first frame %s", f.Type)
	}
	for _, want := range []string{`{"n":1}`, `{"n":2}`} {
		if f := readFrameOf(t, c2, "note"); string(f.Data) != want {
			t.Fatalf("replayed %s, want %s", f.Data, want)
		}
	}
	c3, err := ts.dialWS(tok, "?since=5")
	if err != nil {
		t.Fatal(err)
	}
	readFrame(t, c3)
	if f := readFrameOf(t, c3, "resync", "note"); f.Type != "resync" {
		t.Fatalf("stale seq: got %s, want resync", f.Type)
	}
}

func jsonNum(n uint64) string { b, _ := json.Marshal(n); return string(b) }
