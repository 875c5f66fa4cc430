package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v3"

	"calls/server/hub"
)

// The abuse limits of API.md ("Limits"), each tried as a client would hit
// it: the refusal a client gets, and the series on /metrics that counts it.

// metric sums the /metrics series called name whose labels include every
// one of labels (written as on the page: `limit="upload"`).
func (ts *testServer) metric(name string, labels ...string) float64 {
	ts.t.Helper()
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	sum := 0.0
next:
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		i := strings.LastIndexByte(line, ' ') // label values may hold spaces (routes)
		if i < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		series, value := line[:i], line[i+1:]
		if n, _, _ := strings.Cut(series, "{"); n != name {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(series, l) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			ts.t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// rateLimited is calls_rate_limited_total for one limit.
func (ts *testServer) rateLimited(limit string) float64 {
	return ts.metric("calls_rate_limited_total", `limit="`+limit+`"`)
}

// checkRefusal reads a refusal: the status, a JSON {"error","code"} with
// the code, and for a 429 a Retry-After of at least a second.
func checkRefusal(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	var e apiErrorBody
	if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != status || e.Code != code || e.Error == "" {
		t.Fatalf("%d %s: want %d with JSON code %s", resp.StatusCode, body, status, code)
	}
	if status == http.StatusTooManyRequests {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Fatalf("429 with Retry-After %q, want whole seconds ≥ 1", resp.Header.Get("Retry-After"))
		}
	}
}

// Uploads: 20 per user at once, then one every 3 s; the next is a 429
// with Retry-After, counted as limit="upload". Another user still uploads.
func TestUploadRateLimit(t *testing.T) {
	f := newChatFixture(t)
	before := f.ts.rateLimited("upload")
	for i := 1; ; i++ {
		resp := upload(t, f.ts, f.aliceT, f.public, fmt.Sprintf("f%d.txt", i), []byte("hello"))
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			if i > 60 {
				t.Fatal("60 uploads in a row were never rate limited")
			}
			continue
		}
		if i <= 20 {
			t.Fatalf("upload %d refused within the burst of 20: %d %s", i, resp.StatusCode, body)
		}
		checkRefusal(t, resp, body, http.StatusTooManyRequests, "rate_limited")
		break
	}
	if got := f.ts.rateLimited("upload") - before; got != 1 {
		t.Fatalf(`calls_rate_limited_total{limit="upload"} went up by %v, want 1`, got)
	}
	resp := upload(t, f.ts, f.bobT, f.public, "bob.txt", []byte("hello"))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("bob's upload after alice was limited: %d (the limit is per user)", resp.StatusCode)
	}
}

// Call joins: 10 per user at once, then one every 3 s. Over the websocket
// the next call_join is answered with an error frame rate_limited; a WHIP
// POST of the same user is a 429 with Retry-After; both count as
// limit="call_join". Another user still joins.
func TestCallJoinRateLimit(t *testing.T) {
	f := newCallFixture(t)
	before := f.ts.rateLimited("call_join")
	ws, err := f.ts.dialWS(f.tokens["ann"], "")
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const tries = 15
	join, _ := json.Marshal(map[string]any{"type": "call_join", "data": map[string]string{"channel_id": f.channel}})
	for range tries {
		if err := ws.Write(ctx, websocket.MessageText, join); err != nil {
			t.Fatal(err)
		}
	}
	joined, limited := 0, 0
	for joined+limited < tries {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("after %d joins and %d refusals: %v", joined, limited, err)
		}
		var fr hub.Frame
		json.Unmarshal(b, &fr)
		switch fr.Type {
		case "call_joined":
			joined++
		case "error":
			var e struct{ Code, Error string }
			json.Unmarshal(fr.Data, &e)
			if e.Code != "rate_limited" || e.Error == "" {
				t.Fatalf("call_join %d: error %s, want rate_limited", joined+limited+1, fr.Data)
			}
			if joined < 10 {
				t.Fatalf("refused after %d joins, within the burst of 10", joined)
			}
			limited++
		}
	}
	if limited == 0 {
		t.Fatalf("%d call joins at once were never rate limited", tries)
	}
	if got := f.ts.rateLimited("call_join") - before; got != float64(limited) {
		t.Fatalf(`calls_rate_limited_total{limit="call_join"} went up by %v, want %d`, got, limited)
	}

	resp, body := f.ts.sdpRequest("POST", "/api/v1/channels/"+f.channel+"/call/whip", f.tokens["ann"], mimeSDP, offerFor(t, webrtc.RTPTransceiverDirectionSendonly), nil)
	checkRefusal(t, resp, []byte(body), http.StatusTooManyRequests, "rate_limited")
	if got := f.ts.rateLimited("call_join") - before; got != float64(limited+1) {
		t.Fatalf(`calls_rate_limited_total{limit="call_join"} went up by %v after the WHIP refusal, want %d`, got, limited+1)
	}

	if j := f.peer(t, "ben").join(f.channel, false, false); j.Type != "call_joined" {
		t.Fatalf("ben's join after ann was limited: %s %s (the limit is per user)", j.Type, j.Data)
	}
}

// A websocket frame over 64 KiB closes the connection with 1009 (message
// too big), and the server lets the client go; a frame just under the
// limit is read and answered.
func TestWebsocketReadLimit(t *testing.T) {
	ts := startServer(t)
	ts.addUser("ann", "member")
	tok := ts.login("ann")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, err := ts.dialWS(tok, "")
	if err != nil {
		t.Fatal(err)
	}
	frame := func(size int) []byte {
		b := []byte(`{"type":"ping","data":"`)
		b = append(b, strings.Repeat("x", size-len(b)-2)...)
		return append(b, `"}`...)
	}
	if err := ws.Write(ctx, websocket.MessageText, frame(hub.ReadLimit)); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("a frame of exactly %d bytes: %v", hub.ReadLimit, err)
		}
		if strings.Contains(string(b), `"pong"`) {
			break
		}
	}
	if n := ts.metric("calls_websocket_clients"); n != 1 {
		t.Fatalf("calls_websocket_clients %v, want 1", n)
	}

	if err := ws.Write(ctx, websocket.MessageText, frame(hub.ReadLimit+1)); err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, _, err = ws.Read(ctx)
	}
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("after a frame of %d bytes: %v, want close status 1009", hub.ReadLimit+1, err)
	}
	waitFor(t, "the server lets the client go", 5*time.Second, func() bool { return ts.metric("calls_websocket_clients") == 0 })
}

// A JSON body over 1 MiB is a 413 with the JSON error body_too_large,
// whatever the route, and nothing is stored.
func TestJSONBodyCap(t *testing.T) {
	f := newChatFixture(t)
	route := `route="POST /api/v1/channels/{id}/posts"`
	before := f.ts.metric("calls_http_requests_total", route, `code="413"`)
	resp := f.ts.request("POST", "/api/v1/channels/"+f.public+"/posts", f.aliceT, map[string]string{"message": strings.Repeat("x", maxJSONBody)})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	checkRefusal(t, resp, body, http.StatusRequestEntityTooLarge, "body_too_large")
	if !strings.Contains(string(body), strconv.Itoa(maxJSONBody)) {
		t.Fatalf("413 does not say the cap: %s", body)
	}
	if got := f.ts.metric("calls_http_requests_total", route, `code="413"`) - before; got != 1 {
		t.Fatalf("calls_http_requests_total{%s,code=\"413\"} went up by %v, want 1", route, got)
	}
	var list struct{ Posts []*postView }
	f.ts.mustDo("GET", "/api/v1/channels/"+f.public+"/posts", f.aliceT, nil, &list, 200)
	for _, p := range list.Posts {
		if len(p.Message) > 1000 {
			t.Fatalf("the refused post was stored (%d characters)", len(p.Message))
		}
	}
}

// A WHIP offer over 64 KiB is a 413 with the JSON error body_too_large,
// and no call starts.
func TestWHIPOfferSizeCap(t *testing.T) {
	f := newCallFixture(t)
	route := `route="POST /api/v1/channels/{id}/call/whip"`
	before := f.ts.metric("calls_http_requests_total", route, `code="413"`)
	offer := offerFor(t, webrtc.RTPTransceiverDirectionSendonly)
	for len(offer) <= maxSDPBody {
		offer += "a=x-padding:" + strings.Repeat("p", 1000) + "\r\n"
	}
	resp, body := f.ts.sdpRequest("POST", "/api/v1/channels/"+f.channel+"/call/whip", f.tokens["ben"], mimeSDP, offer, nil)
	checkRefusal(t, resp, []byte(body), http.StatusRequestEntityTooLarge, "body_too_large")
	if got := f.ts.metric("calls_http_requests_total", route, `code="413"`) - before; got != 1 {
		t.Fatalf("calls_http_requests_total{%s,code=\"413\"} went up by %v, want 1", route, got)
	}
	if st := f.ts.do("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["ann"], nil, nil); st != 404 {
		t.Fatalf("a call runs after the refused offer (%d)", st)
	}
}

// With max_call_participants 2, the third to join gets call_full (an error
// frame over the websocket, 409 over WHIP), counted in
// calls_call_full_total, and the two in the call still hear each other.
func TestCallFull(t *testing.T) {
	f := newCallFixture(t, func(c *Config) { c.MaxCallParticipants = 2 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann, ben, cat := f.peer(t, "ann"), f.peer(t, "ben"), f.peer(t, "cat")
	for _, p := range []*callPeer{ann, ben} {
		if j := p.join(f.channel, true, false); j.Type != "call_joined" {
			t.Fatalf("%s join: %s %s", p.name, j.Type, j.Data)
		}
		p.publish(ctx)
	}
	before := f.ts.metric("calls_call_full_total")
	j := cat.join(f.channel, false, false)
	var e struct{ Code, Error string }
	json.Unmarshal(j.Data, &e)
	if j.Type != "error" || e.Code != "call_full" || e.Error == "" {
		t.Fatalf("third join: %s %s, want an error call_full", j.Type, j.Data)
	}
	resp, body := f.ts.sdpRequest("POST", "/api/v1/channels/"+f.channel+"/call/whip", f.tokens["dan"], mimeSDP, offerFor(t, webrtc.RTPTransceiverDirectionSendonly), nil)
	checkRefusal(t, resp, []byte(body), http.StatusConflict, "call_full")
	if got := f.ts.metric("calls_call_full_total") - before; got != 2 {
		t.Fatalf("calls_call_full_total went up by %v, want 2", got)
	}
	var running callView
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["ann"], nil, &running, 200)
	if len(running.Participants) != 2 {
		t.Fatalf("%d participants in the call, want 2", len(running.Participants))
	}
	waitFor(t, "ann hears ben", 10*time.Second, ann.heard(ben.pid, "mic", 10))
	waitFor(t, "ben hears ann", 10*time.Second, ben.heard(ann.pid, "mic", 10))
}

// A client that opens a connection and sends its request headers slowly
// (slowloris) is cut off after the header timeout, and headers past 64 KiB
// are refused with 431, while a normal request on another connection is
// served meanwhile.
func TestSlowAndOversizedHeaders(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	addr := strings.TrimPrefix(ts.URL, "http://")

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	start := time.Now()
	// The request line and one header, never the blank line that ends them.
	if _, err := slow.Write([]byte("GET /healthz HTTP/1.1\r\nHost: calls\r\n")); err != nil {
		t.Fatal(err)
	}
	closed := make(chan time.Duration, 1)
	go func() {
		slow.SetReadDeadline(time.Now().Add(30 * time.Second))
		io.Copy(io.Discard, slow) // returns when the server closes it
		closed <- time.Since(start)
	}()

	if resp, err := http.Get(ts.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("a normal request beside the slow one: %v %v", resp, err)
	}

	big, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	req := "GET /healthz HTTP/1.1\r\nHost: calls\r\nX-Filler: " + strings.Repeat("a", 80<<10) + "\r\n\r\n"
	go big.Write([]byte(req))
	big.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(big).ReadString('\n')
	if err != nil || !strings.Contains(line, "431") {
		t.Fatalf("80 KiB of headers: got %q, %v; want 431", line, err)
	}

	took := <-closed
	if took < 9*time.Second || took > 20*time.Second {
		t.Fatalf("the slow client was cut off after %v, want the 10 s header timeout", took)
	}
	t.Logf("slow headers cut off after %v", took.Round(10*time.Millisecond))
}
