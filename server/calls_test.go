package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"calls/server/hub"
	"calls/store"
	"calls/turn"
)

// callFixture: a team channel with four members and an outsider.
type callFixture struct {
	ts      *testServer
	channel string
	users   map[string]*store.User
	tokens  map[string]string
}

func newCallFixture(t *testing.T, opts ...func(*Config)) *callFixture {
	ts := startServerTB(t, opts...)
	f := &callFixture{ts: ts, users: map[string]*store.User{}, tokens: map[string]string{}}
	for _, n := range []string{"ann", "ben", "cat", "dan", "eve"} {
		role := store.RoleMember
		if n == "cat" {
			role = store.RoleAdmin
		}
		f.users[n] = ts.addUser(n, role)
		f.tokens[n] = ts.login(n)
	}
	var team store.Team
	ts.mustDo("POST", "/api/v1/teams", f.tokens["ann"], map[string]string{"name": "t1"}, &team, 201)
	var c store.Channel
	ts.mustDo("POST", "/api/v1/channels", f.tokens["ann"], map[string]string{"team_id": team.ID, "name": "standup", "type": "private"}, &c, 201)
	f.channel = c.ID
	for _, n := range []string{"ben", "cat", "dan"} {
		ts.mustDo("POST", "/api/v1/teams/"+team.ID+"/members", f.tokens["ann"], map[string]string{"user_id": f.users[n].ID}, nil, 201)
		ts.mustDo("POST", "/api/v1/channels/"+c.ID+"/members", f.tokens["ann"], map[string]string{"user_id": f.users[n].ID}, nil, 201)
	}
	return f
}

func (f *callFixture) peer(t *testing.T, name string) *callPeer {
	return newCallPeer(t, f.ts, name, f.tokens[name])
}

func TestCallMediaFlowsAndLogIsKept(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	ann, ben, cat := f.peer(t, "ann"), f.peer(t, "ben"), f.peer(t, "cat")
	if j := ann.join(f.channel, true, true); j.Type != "call_joined" {
		t.Fatalf("ann join: %s %s", j.Type, j.Data)
	}
	ann.publish(ctx)
	if j := ben.join(f.channel, true, false); j.Type != "call_joined" {
		t.Fatalf("ben join: %s %s", j.Type, j.Data)
	}
	ben.publish(ctx)
	if j := cat.join(f.channel, false, false); j.Type != "call_joined" {
		t.Fatalf("cat join: %s %s", j.Type, j.Data)
	}

	// Everyone hears everyone else, with the bytes as sent.
	waitFor(t, "ann hears ben", 10*time.Second, ann.heard(ben.pid, "mic", 25))
	waitFor(t, "ben hears ann", 10*time.Second, ben.heard(ann.pid, "mic", 25))
	waitFor(t, "cat hears ann", 10*time.Second, cat.heard(ann.pid, "mic", 25))
	waitFor(t, "cat hears ben", 10*time.Second, cat.heard(ben.pid, "mic", 25))
	if c, _ := ann.packetsFrom(ann.pid, "mic"); c != 0 {
		t.Fatalf("ann receives her own audio (%d packets)", c)
	}
	cat.checkPayloads(t, ben.pid, "mic", "ben:")

	// ICE runs over the one UDP mux port.
	proto, port, err := ann.selectedRemote()
	if err != nil || proto != "udp" || port != f.ts.rtcUDP.(*net.UDPAddr).Port {
		t.Fatalf("ann's selected pair: %s %d %v, want udp %v", proto, port, err, f.ts.rtcUDP)
	}

	// The call message lists the participants live (rewritten at most once
	// per callPostInterval, so the last joins may land a moment later).
	var props callProps
	var callPost *postView
	waitFor(t, "call message listing all three", 3*time.Second, func() bool {
		var list struct{ Posts []*postView }
		f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/posts", f.tokens["ben"], nil, &list, 200)
		for _, p := range list.Posts {
			if p.Type == "call" {
				callPost = p
				props = callProps{}
				json.Unmarshal(p.Props, &props)
				return len(props.Participants) == 3
			}
		}
		return false
	})
	if props.HostID != f.users["ann"].ID {
		t.Fatalf("call props %+v", props)
	}
	var running callView
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["ben"], nil, &running, 200)
	if len(running.Participants) != 3 || running.HostID != f.users["ann"].ID {
		t.Fatalf("running call %+v", running)
	}

	// A late joiner gets ann's camera led by a keyframe (the server holds
	// the track back and asks ann for one).
	dan := f.peer(t, "dan")
	joinAt := time.Now()
	dan.join(f.channel, false, false)
	waitFor(t, "dan gets ann's video", 5*time.Second, dan.heard(ann.pid, "camera", 1))
	_, vin := dan.packetsFrom(ann.pid, "camera")
	dan.mu.Lock()
	firstKey, after, connected := vin.firstKeyframe, vin.firstAt.Sub(joinAt), dan.connectedAt
	dan.mu.Unlock()
	if !firstKey {
		t.Logf("first payload % x", vin.first)
		t.Fatalf("dan's first video packet is not a keyframe")
	}
	if connected.IsZero() {
		t.Fatal("dan received video without his media connection coming up")
	}
	// The target is a keyframe within about a second of the media
	// connection; fail only past 1.5 s, for a loaded test machine.
	sinceMedia := vin.firstAt.Sub(connected)
	t.Logf("late joiner's first (key)frame %v after joining, %v after his media connection came up",
		after.Round(time.Millisecond), sinceMedia.Round(time.Millisecond))
	if sinceMedia > 1500*time.Millisecond {
		t.Fatalf("the late joiner's first keyframe came %v after his media connection, want about 1 s", sinceMedia)
	}

	// Ben leaves: the others' renegotiation drops his track.
	ben.send("call_leave", nil)
	ann.event("call_participant_left")
	waitFor(t, "ben's track removed at ann", 5*time.Second, func() bool {
		ann.pcMu.Lock()
		defer ann.pcMu.Unlock()
		rd := ann.pc.RemoteDescription()
		return rd != nil && !strings.Contains(rd.SDP, ben.pid)
	})

	// The host leaving hands the call to the earliest remaining participant.
	ann.send("call_leave", nil)
	hc := cat.event("call_host_changed")
	if !strings.Contains(string(hc.Data), f.users["cat"].ID) {
		t.Fatalf("host change %s", hc.Data)
	}
	cat.send("call_leave", nil) // dan, the last one in, becomes host
	for !strings.Contains(string(dan.event("call_host_changed").Data), f.users["dan"].ID) {
	}
	dan.send("call_leave", nil)
	ev := ann.event("call_ended")
	var ended struct{ Call store.Call }
	json.Unmarshal(ev.Data, &ended)
	if len(ended.Call.Attendees) != 4 || ended.Call.EndedAt == nil {
		t.Fatalf("ended call %+v", ended.Call)
	}

	// The conference log keeps who, when, how long (and the last host).
	var log struct{ Calls []*store.Call }
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/calls", f.tokens["dan"], nil, &log, 200)
	if len(log.Calls) != 1 {
		t.Fatalf("%d calls in the log", len(log.Calls))
	}
	lc := log.Calls[0]
	if lc.HostID != f.users["dan"].ID || len(lc.Attendees) != 4 || lc.Attendees[0] != f.users["ann"].ID || lc.DurationSeconds < 0 || lc.EndedAt == nil {
		t.Fatalf("log row %+v", lc)
	}
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["dan"], nil, nil, 404)
	f.ts.mustDo("GET", "/api/v1/posts/"+callPost.ID, f.tokens["dan"], nil, &callPost, 200)
	json.Unmarshal(callPost.Props, &props)
	if props.EndedAt == nil || len(props.Attendees) != 4 {
		t.Fatalf("call message after the end: %+v", props)
	}
}

func TestCallJoinRules(t *testing.T) {
	f := newCallFixture(t)
	eve := f.peer(t, "eve") // not in the team
	if j := eve.join(f.channel, true, false); j.Type != "error" || !strings.Contains(string(j.Data), "no_access") {
		t.Fatalf("outsider join: %s %s", j.Type, j.Data)
	}
	ann := f.peer(t, "ann")
	ann.join(f.channel, true, false)
	ben := f.peer(t, "ben")
	ben.join(f.channel, true, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann.publish(ctx)
	waitFor(t, "ben hears ann", 10*time.Second, ben.heard(ann.pid, "mic", 6))

	// Signaling for a call you are not in goes nowhere.
	dan := f.peer(t, "dan")
	dan.send("call_signal", map[string]string{"type": "offer", "sdp": "v=0"})
	if e := dan.event("error"); !strings.Contains(string(e.Data), "not_in_call") {
		t.Fatalf("signal outside a call: %s", e.Data)
	}

	// A deactivated user is removed from the call at once.
	f.ts.mustDo("PUT", "/api/v1/users/"+f.users["ben"].ID+"/active", f.tokens["cat"], map[string]bool{"active": false}, nil, 200)
	left := ann.event("call_participant_left")
	if !strings.Contains(string(left.Data), f.users["ben"].ID) {
		t.Fatalf("participant left: %s", left.Data)
	}

	// Non-host may not end the call; the host may.
	dan.join(f.channel, false, false)
	dan.send("call_end", nil)
	if e := dan.event("error"); !strings.Contains(string(e.Data), "not_host") {
		t.Fatalf("non-host end: %s", e.Data)
	}
	ann.send("call_end", nil)
	dan.event("call_ended")

	// Archived rooms take no calls.
	f.ts.mustDo("POST", "/api/v1/channels/"+f.channel+"/archive", f.tokens["ann"], nil, nil, 200)
	if j := f.peer(t, "dan").join(f.channel, false, false); j.Type != "error" || !strings.Contains(string(j.Data), "archived") {
		t.Fatalf("join in archived room: %s %s", j.Type, j.Data)
	}
}

func TestCallOverICETCPOnWebPort(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann := f.peer(t, "ann")
	ann.join(f.channel, true, false)
	ann.publish(ctx)

	ben := f.peer(t, "ben")
	ben.tcpOnly = true
	ben.join(f.channel, false, false)
	waitFor(t, "ben hears ann over TCP", 15*time.Second, ben.heard(ann.pid, "mic", 11))
	proto, port, err := ben.selectedRemote()
	_, webPort, _ := net.SplitHostPort(strings.TrimPrefix(f.ts.URL, "http://"))
	if err != nil || proto != "tcp" || itoa(port) != webPort {
		t.Fatalf("ben's selected pair: %s %d %v, want tcp %s", proto, port, err, webPort)
	}
	// The web still answers on the same port.
	f.ts.mustDo("GET", "/healthz", "", nil, nil, 200)
}

func TestCallLinkCommand(t *testing.T) {
	f := newCallFixture(t)
	var res commandResult
	f.ts.mustDo("POST", "/api/v1/channels/"+f.channel+"/commands", f.tokens["ben"], map[string]string{"command": "/call link"}, &res, 200)
	want := f.ts.URL + "/call/" + f.channel
	if res.Text != want {
		t.Fatalf("/call link = %q, want %q", res.Text, want)
	}
	f.ts.mustDo("POST", "/api/v1/channels/"+f.channel+"/commands", f.tokens["ben"], map[string]string{"command": "/call start Planning"}, &res, 200)
	if res.Action != "call_join" || res.Title != "Planning" {
		t.Fatalf("/call start: %+v", res)
	}
	resp := f.ts.request("GET", "/call/"+f.channel, "", nil)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("call link page: %d", resp.StatusCode)
	}
	f.ts.mustDo("POST", "/api/v1/channels/"+f.channel+"/archive", f.tokens["ann"], nil, nil, 200)
	resp = f.ts.request("GET", "/call/"+f.channel, "", nil)
	resp.Body.Close()
	if resp.StatusCode != 410 {
		t.Fatalf("call link of an archived room: %d, want 410", resp.StatusCode)
	}

	// A deleted room's link is gone too.
	var team struct{ ID string }
	f.ts.mustDo("POST", "/api/v1/teams", f.tokens["ann"], map[string]string{"name": "t2"}, &team, 201)
	var doomed store.Channel
	f.ts.mustDo("POST", "/api/v1/channels", f.tokens["ann"], map[string]string{"team_id": team.ID, "name": "doomed", "type": "private"}, &doomed, 201)
	resp = f.ts.request("GET", "/call/"+doomed.ID, "", nil)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("call link page of a live room: %d", resp.StatusCode)
	}
	f.ts.mustDo("DELETE", "/api/v1/channels/"+doomed.ID, f.tokens["ann"], nil, nil, 204)
	resp = f.ts.request("GET", "/call/"+doomed.ID, "", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 410 || !strings.Contains(string(body), "archived or deleted") {
		t.Fatalf("call link of a deleted room: %d %q, want 410", resp.StatusCode, body)
	}
}

// The audio level each packet carries drives speaking indicators.
func TestCallSpeakingIndicator(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann, ben := f.peer(t, "ann"), f.peer(t, "ben")
	ann.join(f.channel, true, false)
	ben.join(f.channel, false, false)
	ann.level.Store(100) // quiet
	ann.publish(ctx)
	waitFor(t, "ben hears ann", 10*time.Second, ben.heard(ann.pid, "mic", 11))
	ann.level.Store(20) // loud
	ev := ben.event("call_speaking")
	if !strings.Contains(string(ev.Data), `"speaking":true`) || !strings.Contains(string(ev.Data), ann.pid) {
		t.Fatalf("speaking event %s", ev.Data)
	}
	// Someone joining now learns who is talking from the call's snapshot.
	var running callView
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["cat"], nil, &running, 200)
	for _, p := range running.Participants {
		if p.Speaking != (p.ID == ann.pid) {
			t.Fatalf("snapshot %+v: only ann (%s) is speaking", running.Participants, ann.pid)
		}
	}
	ann.level.Store(110) // silent again
	ev = ben.event("call_speaking")
	if !strings.Contains(string(ev.Data), `"speaking":false`) {
		t.Fatalf("speaking event %s", ev.Data)
	}
}

func TestCallHandsReactionsScreenAndHostControls(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann, ben, cat := f.peer(t, "ann"), f.peer(t, "ben"), f.peer(t, "cat")
	ann.join(f.channel, true, false) // host
	ben.join(f.channel, true, false)
	cat.join(f.channel, false, false)
	ben.publish(ctx)
	waitFor(t, "cat hears ben", 10*time.Second, cat.heard(ben.pid, "mic", 6))

	// Hands keep their order; the host can lower someone's.
	ben.send("call_hand", map[string]bool{"raised": true})
	var hand struct{ Hands []string }
	for len(hand.Hands) < 1 {
		json.Unmarshal(ann.event("call_hand").Data, &hand)
	}
	cat.send("call_hand", map[string]bool{"raised": true})
	for len(hand.Hands) < 2 {
		json.Unmarshal(ann.event("call_hand").Data, &hand)
	}
	if hand.Hands[0] != ben.pid || hand.Hands[1] != cat.pid {
		t.Fatalf("hands %v, want ben then cat", hand.Hands)
	}
	ben.send("call_host", map[string]string{"action": "lower_hand", "participant_id": cat.pid})
	if e := ben.event("error"); !strings.Contains(string(e.Data), "not_host") {
		t.Fatalf("non-host action: %s", e.Data)
	}
	ann.send("call_host", map[string]string{"action": "lower_hand", "participant_id": cat.pid})
	for len(hand.Hands) != 1 {
		json.Unmarshal(cat.event("call_hand").Data, &hand)
	}

	// Reactions reach everyone and late joiners see recent ones.
	cat.send("call_reaction", map[string]string{"emoji": "🎉"})
	if ev := ann.event("call_reaction"); !strings.Contains(string(ev.Data), "🎉") {
		t.Fatalf("reaction %s", ev.Data)
	}
	dan := f.peer(t, "dan")
	j := dan.join(f.channel, false, false)
	if !strings.Contains(string(j.Data), "🎉") {
		t.Fatalf("late joiner does not see the reaction: %s", j.Data)
	}

	// One screen share at a time.
	ben.send("call_screen", map[string]bool{"on": true})
	ann.event("call_screen")
	cat.send("call_screen", map[string]bool{"on": true})
	if e := cat.event("error"); !strings.Contains(string(e.Data), "screen_busy") {
		t.Fatalf("second sharer: %s", e.Data)
	}

	// A host mute is enforced by the server: ben's audio stops at cat.
	ann.send("call_host", map[string]string{"action": "mute", "participant_id": ben.pid})
	if ev := ben.event("call_host_request"); !strings.Contains(string(ev.Data), `"mute"`) {
		t.Fatalf("ben was not asked to mute: %s", ev.Data)
	}
	cat.event("call_participant_muted")
	time.Sleep(300 * time.Millisecond)
	before, _ := cat.packetsFrom(ben.pid, "mic")
	time.Sleep(500 * time.Millisecond)
	if after, _ := cat.packetsFrom(ben.pid, "mic"); after-before > 2 {
		t.Fatalf("ben's audio still forwarded while host-muted: %d packets", after-before)
	}
	ben.send("call_mute", map[string]bool{"muted": false})
	waitFor(t, "ben audible again", 5*time.Second, cat.heard(ben.pid, "mic", before+11))

	// Make someone else host, then remove a participant.
	ann.send("call_host", map[string]string{"action": "make_host", "participant_id": cat.pid})
	cat.event("call_host_changed")
	cat.send("call_host", map[string]string{"action": "remove", "participant_id": dan.pid})
	dan.event("call_removed")
	if ev := ann.event("call_participant_left"); !strings.Contains(string(ev.Data), dan.pid) {
		t.Fatalf("left %s", ev.Data)
	}
}

// A participant that may only use relayed candidates reaches the SFU
// through the embedded TURN server, with the credentials call_joined gave.
func TestCallThroughOurTURN(t *testing.T) {
	f := newCallFixture(t, func(c *Config) {
		c.TURN = TURNConfig{Enabled: true, Port: 0, UserQuota: 10}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann := f.peer(t, "ann")
	ann.join(f.channel, true, false)
	ann.publish(ctx)
	ben := f.peer(t, "ben")
	ben.relayOnly = true
	j := ben.join(f.channel, false, false)
	if !strings.Contains(string(j.Data), "turn:127.0.0.1:") {
		t.Fatalf("no TURN server in call_joined: %s", j.Data)
	}
	waitFor(t, "ben hears ann through TURN", 15*time.Second, ben.heard(ann.pid, "mic", 11))
	if st := f.ts.turnStats(); st.Allocations < 1 || st.PacketsToPeers == 0 {
		t.Fatalf("TURN stats %+v: the call did not go through the relay", st)
	}
}

// ICE servers given on the command line (--ice-servers) replace our own
// STUN/TURN in call_joined and in WHIP's Link headers, even with our TURN
// running, and admins cannot change them at runtime.
func TestCallJoinedCarriesConfiguredICEServers(t *testing.T) {
	configured := []turn.ICEServer{
		{URLs: []string{"stun:stun.example.net:3478"}},
		{URLs: []string{"turn:turn.example.net:3478?transport=udp", "turns:turn.example.net:5349"}, Username: "calls", Credential: `p"w`},
	}
	f := newCallFixture(t, func(c *Config) {
		c.TURN = TURNConfig{Enabled: true, Port: 0, UserQuota: 10}
		c.ICEServers = configured
		c.FixedSettings = map[string]bool{"ice_servers": true}
	})
	ann := f.peer(t, "ann")
	j := ann.join(f.channel, true, false)
	var joined struct {
		ICEServers []turn.ICEServer `json:"ice_servers"`
	}
	if err := json.Unmarshal(j.Data, &joined); err != nil || !reflect.DeepEqual(joined.ICEServers, configured) {
		t.Fatalf("call_joined ice_servers %s, want the configured %+v", j.Data, configured)
	}
	f.ts.mustDo("PATCH", "/api/v1/admin/settings", f.tokens["cat"], map[string]any{"ice_servers": []any{}}, nil, 409)

	resp, _ := f.ts.sdpRequest("POST", "/api/v1/channels/"+f.channel+"/call/whip", f.apiToken(t, "ben"), mimeSDP,
		offerFor(t, webrtc.RTPTransceiverDirectionSendonly), nil)
	links := resp.Header.Values("Link")
	want := []string{
		`<stun:stun.example.net:3478>; rel="ice-server"`,
		`<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="calls"; credential="p\"w"; credential-type="password"`,
		`<turns:turn.example.net:5349>; rel="ice-server"; username="calls"; credential="p\"w"; credential-type="password"`,
	}
	if resp.StatusCode != 201 || !slices.Equal(links, want) {
		t.Fatalf("WHIP answer %d with Link headers\n%s\nwant\n%s", resp.StatusCode, strings.Join(links, "\n"), strings.Join(want, "\n"))
	}
}

// A graceful stop says so first, then ends the calls (logged), so clients
// show a restart rather than "the host ended the call".
func TestShutdownDuringCall(t *testing.T) {
	f := newCallFixture(t)
	ann := f.peer(t, "ann")
	ann.join(f.channel, true, false)
	ben := f.peer(t, "ben")
	ben.join(f.channel, true, false)

	f.ts.shutdown()
	if e := ben.event("server_shutdown", "call_ended_for_you"); e.Type != "server_shutdown" {
		t.Fatalf("first frame of the stop: %s %s", e.Type, e.Data)
	}
	e := ben.event("call_ended_for_you")
	var d struct{ Reason string }
	json.Unmarshal(e.Data, &d)
	if d.Reason != endedShutdown {
		t.Fatalf("call_ended_for_you during shutdown: %s", e.Data)
	}
	waitFor(t, "the call closed in the log", 5*time.Second, func() bool {
		cs, _, err := f.ts.store.ListCalls(context.Background(), f.channel, "", 10)
		return err == nil && len(cs) == 1 && cs[0].EndedAt != nil && len(cs[0].Attendees) == 2
	})
}

// Participants whose websockets close just as the server stops: their
// call is still closed in the log, with its message turned into the log,
// before the server lets go of the database.
func TestShutdownAsParticipantsDisconnect(t *testing.T) {
	f := newCallFixture(t)
	ann, ben := f.peer(t, "ann"), f.peer(t, "ben")
	ann.join(f.channel, true, false)
	ben.join(f.channel, true, false)
	cl := f.ts.runningCall(f.channel)
	callID, postID := cl.id, cl.view().PostID

	ann.ws.CloseNow()
	ben.ws.CloseNow()
	f.ts.shutdown()
	<-f.ts.stopped
	path := f.ts.store.Path()
	f.ts.store.Close() // as Run does once Serve has returned

	ctx := context.Background()
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.CallByID(ctx, callID)
	if err != nil || c.EndedAt == nil || len(c.Attendees) != 2 {
		t.Fatalf("the call in the log after the stop: %+v %v, want ended with 2 attendees", c, err)
	}
	p, err := st.PostByID(ctx, postID)
	if err != nil || !strings.Contains(string(p.Props), `"ended_at"`) {
		t.Fatalf("the call message after the stop: %s %v, want the log", p.Props, err)
	}
}

// An error frame names the request it answers.
func TestErrorFrameNamesRequest(t *testing.T) {
	f := newCallFixture(t)
	dan := f.peer(t, "dan")
	dan.send("call_end", nil)
	e := dan.event("error")
	var d struct{ Code, Request string }
	json.Unmarshal(e.Data, &d)
	if d.Code != "not_in_call" || d.Request != "call_end" {
		t.Fatalf("error frame: %s", e.Data)
	}
	dan.send("no_such_frame", nil)
	e = dan.event("error")
	json.Unmarshal(e.Data, &d)
	if d.Code != "unknown_type" || d.Request != "no_such_frame" {
		t.Fatalf("error frame: %s", e.Data)
	}
}

// callCommand runs a slash command in a room through the API.
func (f *callFixture) callCommand(t *testing.T, user, room, text string) (int, commandResult, apiErr) {
	t.Helper()
	resp := f.ts.request("POST", "/api/v1/channels/"+room+"/commands", f.tokens[user], map[string]string{"command": text})
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var res commandResult
	var e apiErr
	if resp.StatusCode == 200 {
		json.Unmarshal(b, &res)
	} else {
		json.Unmarshal(b, &e)
	}
	return resp.StatusCode, res, e
}

type apiErr struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// joinedCall is the call a call_joined frame names.
func joinedCall(t *testing.T, j hub.Frame) callView {
	t.Helper()
	if j.Type != "call_joined" {
		t.Fatalf("join: %s %s", j.Type, j.Data)
	}
	var v struct{ Call callView }
	json.Unmarshal(j.Data, &v)
	return v.Call
}

func TestCallLeaveAndEndCommands(t *testing.T) {
	f := newCallFixture(t)
	ann, ben := f.peer(t, "ann"), f.peer(t, "ben")
	call := joinedCall(t, ann.join(f.channel, true, false))
	joinedCall(t, ben.join(f.channel, true, false))

	// /call leave answers the action the web client carries out on its
	// websocket; doing so takes ben out of the call.
	status, res, e := f.callCommand(t, "ben", f.channel, "/call leave")
	if status != 200 || res.Action != "call_leave" || !res.Ephemeral {
		t.Fatalf("/call leave: %d %+v %+v", status, res, e)
	}
	ben.send(res.Action, nil)
	if left := ann.eventWith("call_participant_left", f.users["ben"].ID, 10*time.Second); !strings.Contains(string(left), call.ID) {
		t.Fatalf("ben left another call: %s", left)
	}

	// /call end by someone who is not the host is refused, clearly, and the
	// call runs on.
	status, _, e = f.callCommand(t, "ben", f.channel, "/call end")
	if status != 403 || e.Code != "not_host" || !strings.Contains(e.Error, "only the host or an admin") {
		t.Fatalf("/call end by a non-host: %d %+v", status, e)
	}
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["ben"], nil, nil, 200)

	// The host's /call end ends it for everyone.
	status, res, e = f.callCommand(t, "ann", f.channel, "/call end")
	if status != 200 || !strings.Contains(res.Text, "ended for everyone") {
		t.Fatalf("/call end by the host: %d %+v %+v", status, res, e)
	}
	if d := ann.eventWith("call_ended_for_you", call.ID, 10*time.Second); !strings.Contains(string(d), `"host"`) {
		t.Fatalf("ann's call_ended_for_you: %s", d)
	}
	ben.eventWith("call_ended", call.ID, 10*time.Second)
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["ben"], nil, nil, 404)
	if status, res, _ := f.callCommand(t, "ann", f.channel, "/call end"); status != 200 || !strings.Contains(res.Text, "No call is running") {
		t.Fatalf("/call end with no call: %d %+v", status, res)
	}
}

func TestSecondCallStartJoinsTheRunningCall(t *testing.T) {
	f := newCallFixture(t)
	status, res, e := f.callCommand(t, "ann", f.channel, "/call start Planning")
	if status != 200 || res.Action != "call_join" || res.Title != "Planning" {
		t.Fatalf("first /call start: %d %+v %+v", status, res, e)
	}
	ann, ben := f.peer(t, "ann"), f.peer(t, "ben")
	first := joinedCall(t, ann.join(f.channel, true, false))

	// A second start joins the running call: no new title, no second call.
	status, res, e = f.callCommand(t, "ben", f.channel, "/call start Another")
	if status != 200 || res.Action != "call_join" || res.Title != "" || !strings.Contains(res.Text, "already running") {
		t.Fatalf("second /call start: %d %+v %+v", status, res, e)
	}
	second := joinedCall(t, ben.join(f.channel, true, false))
	if second.ID != first.ID || second.HostID != f.users["ann"].ID || len(second.Participants) != 2 {
		t.Fatalf("ben is in call %s (host %s, %d people), want ann's call %s", second.ID, second.HostID, len(second.Participants), first.ID)
	}

	ben.send("call_leave", nil)
	ann.send("call_leave", nil)
	ben.eventWith("call_ended", first.ID, 10*time.Second)
	var log struct{ Calls []*store.Call }
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/calls", f.tokens["ben"], nil, &log, 200)
	if len(log.Calls) != 1 || log.Calls[0].ID != first.ID || len(log.Calls[0].Attendees) != 2 {
		t.Fatalf("the room's calls: %+v, want one call with both", log.Calls)
	}
	var posts struct{ Posts []*postView }
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/posts", f.tokens["ben"], nil, &posts, 200)
	n := 0
	for _, p := range posts.Posts {
		if p.Type == "call" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d call messages in the room, want 1", n)
	}
}

func TestCallInADiscussion(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var disc store.Channel
	f.ts.mustDo("POST", "/api/v1/channels", f.tokens["ann"], map[string]any{"type": "discussion", "parent_id": f.channel,
		"display_name": "Release plan", "user_ids": []string{f.users["ben"].ID}}, &disc, 201)

	status, res, e := f.callCommand(t, "ann", disc.ID, "/call start Release check")
	if status != 200 || res.Action != "call_join" || res.Title != "Release check" {
		t.Fatalf("/call start in a discussion: %d %+v %+v", status, res, e)
	}
	ann, ben := f.peer(t, "ann"), f.peer(t, "ben")
	call := joinedCall(t, ann.join(disc.ID, true, false))
	if call.ChannelID != disc.ID || call.HostID != f.users["ann"].ID {
		t.Fatalf("the discussion's call: %+v", call)
	}
	ann.publish(ctx)
	if c := joinedCall(t, ben.join(disc.ID, false, false)); c.ID != call.ID {
		t.Fatalf("ben joined call %s, want %s", c.ID, call.ID)
	}
	waitFor(t, "ben hears ann in the discussion's call", 10*time.Second, ben.heard(ann.pid, "mic", 10))

	// The call message is in the discussion, not in its parent room.
	callPosts := func(room string) []callProps {
		var list struct{ Posts []*postView }
		f.ts.mustDo("GET", "/api/v1/channels/"+room+"/posts", f.tokens["ben"], nil, &list, 200)
		var out []callProps
		for _, p := range list.Posts {
			if p.Type == "call" {
				var props callProps
				json.Unmarshal(p.Props, &props)
				out = append(out, props)
			}
		}
		return out
	}
	if got := callPosts(disc.ID); len(got) != 1 || got[0].CallID != call.ID {
		t.Fatalf("the discussion's call messages: %+v, want one for call %s", got, call.ID)
	}
	if got := callPosts(f.channel); len(got) != 0 {
		t.Fatalf("the parent room has call messages: %+v", got)
	}
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["ben"], nil, nil, 404)
}

// A screen share in H.264 reaches a subscriber that offers H.264, as an
// IDR slice first, with the codec negotiated end to end.
func TestCallForwardsH264(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann := f.peer(t, "ann")
	ann.screenMime = webrtc.MimeTypeH264
	if j := ann.join(f.channel, true, false); j.Type != "call_joined" {
		t.Fatalf("ann join: %s %s", j.Type, j.Data)
	}
	ann.publish(ctx)
	ben := f.peer(t, "ben")
	ben.join(f.channel, true, false)
	waitFor(t, "ben receives ann's H.264 screen", 15*time.Second, func() bool {
		n, _ := ben.packetsFrom(ann.pid, "screen")
		return n > 10
	})
	_, in := ben.packetsFrom(ann.pid, "screen")
	ben.mu.Lock()
	mime, first := in.mime, in.first
	ben.mu.Unlock()
	if !strings.EqualFold(mime, webrtc.MimeTypeH264) {
		t.Fatalf("the screen share reached ben as %s, want H.264", mime)
	}
	if len(first) == 0 || first[0]&0x1f != 5 {
		t.Fatalf("ben's first H.264 packet is not an IDR slice: % x", first[:min(len(first), 4)])
	}
}

// Video packets lost between the SFU and a subscriber come back: the
// subscriber's NACKs are answered from the SFU's per-subscriber history,
// so every frame of the camera arrives although its link lost some.
func TestCallRetransmitsLostVideo(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann := f.peer(t, "ann")
	ann.join(f.channel, true, true)
	ann.publish(ctx)
	ben := f.peer(t, "ben")
	ben.udp = newNetSwitch(t)
	ben.udp.losePT = 96 // VP8 in pion's default codecs, which ben offers
	ben.join(f.channel, true, false)
	waitFor(t, "ben receives ann's camera", 15*time.Second, func() bool {
		n, _ := ben.packetsFrom(ann.pid, "camera")
		return n > 10
	})
	ben.udp.dropPT.Store(3) // the next three camera packets are lost on the way
	waitFor(t, "three camera packets lost", 10*time.Second, func() bool { return ben.udp.lost.Load() == 3 })
	// ann sends a camera frame every 40 ms: wait for 20 more, then every
	// sequence number from the first seen to the last must be there.
	_, in := ben.packetsFrom(ann.pid, "camera")
	ben.mu.Lock()
	target := in.packets + 20
	ben.mu.Unlock()
	waitFor(t, "20 more camera packets", 10*time.Second, func() bool {
		n, _ := ben.packetsFrom(ann.pid, "camera")
		return n >= target
	})
	waitFor(t, "the lost packets retransmitted", 5*time.Second, func() bool {
		ben.mu.Lock()
		defer ben.mu.Unlock()
		lo, hi := uint16(0), uint16(0)
		firstSeq := true
		for s := range in.seqs {
			if firstSeq || int16(s-lo) < 0 {
				lo = s
			}
			if firstSeq || int16(s-hi) > 0 {
				hi = s
			}
			firstSeq = false
		}
		for s := lo; s != hi; s++ {
			if !in.seqs[s] {
				return false
			}
		}
		return true
	})
}

// A screen share the server refused (someone else holds the one screen
// slot) is not forwarded even when the client sends the tracks anyway:
// neither as a screen nor as a camera, nor its tab audio in any guise.
func TestRefusedScreenShareIsNotForwarded(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann, ben := f.peer(t, "ann"), f.peer(t, "ben")
	ann.screenMime, ben.screenMime = webrtc.MimeTypeVP8, webrtc.MimeTypeVP8
	ben.tabAudio = true
	if j := ann.join(f.channel, true, false); j.Type != "call_joined" {
		t.Fatalf("ann join: %s %s", j.Type, j.Data)
	}
	ann.publish(ctx)
	if j := ben.join(f.channel, true, false); j.Type != "call_joined" {
		t.Fatalf("ben join: %s %s", j.Type, j.Data)
	}
	var e struct{ Code string }
	json.Unmarshal(ben.event("error").Data, &e)
	if e.Code != "screen_busy" {
		t.Fatalf("ben's call_screen while ann shares: %+v, want screen_busy", e)
	}
	ben.publish(ctx)
	waitFor(t, "ben sees ann's screen and ann hears ben", 15*time.Second, func() bool {
		s, _ := ben.packetsFrom(ann.pid, "screen")
		a, _ := ann.packetsFrom(ben.pid, "mic")
		return s > 10 && a > 50
	})
	// A second more of ben's audio: his screen, sent all along, never came.
	start, _ := ann.packetsFrom(ben.pid, "mic")
	waitFor(t, "another second of ben's audio", 15*time.Second, func() bool {
		c, _ := ann.packetsFrom(ben.pid, "mic")
		return c > start+50
	})
	for _, source := range []string{"screen", "screen_audio", "camera"} {
		if n, _ := ann.packetsFrom(ben.pid, source); n > 0 {
			t.Fatalf("ben's refused screen share reached ann as %s: %d packets", source, n)
		}
	}
	ann.checkPayloads(t, ben.pid, "mic", "ben:") // not his tab's sound as a microphone
}

// TestScreenShareWithTabAudio: a screen share with the tab's sound reaches
// the others as two tracks, screen and screen_audio, the sound's bytes as
// sent and apart from the sharer's microphone; the host's "stop share"
// stops both while the microphone goes on; sharing again brings both back.
func TestScreenShareWithTabAudio(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann, ben, cat := f.peer(t, "ann"), f.peer(t, "ben"), f.peer(t, "cat")
	if j := ann.join(f.channel, true, false); j.Type != "call_joined" { // the host
		t.Fatalf("ann join: %s %s", j.Type, j.Data)
	}
	ann.publish(ctx)
	ben.screenMime, ben.tabAudio = webrtc.MimeTypeVP8, true
	if j := ben.join(f.channel, true, false); j.Type != "call_joined" {
		t.Fatalf("ben join: %s %s", j.Type, j.Data)
	}
	ben.publish(ctx)
	if j := cat.join(f.channel, false, false); j.Type != "call_joined" {
		t.Fatalf("cat join: %s %s", j.Type, j.Data)
	}
	sharing := func(screen, tab, mic int) func() bool {
		return func() bool {
			return cat.heard(ben.pid, "screen", screen)() && cat.heard(ben.pid, "screen_audio", tab)() && cat.heard(ben.pid, "mic", mic)()
		}
	}
	waitFor(t, "cat sees ben's screen and hears his tab and his voice", 15*time.Second, sharing(10, 50, 50))
	cat.checkPayloads(t, ben.pid, "screen_audio", "ben-tab:")
	cat.checkPayloads(t, ben.pid, "mic", "ben:")
	if _, in := cat.packetsFrom(ben.pid, "screen_audio"); in.mime != webrtc.MimeTypeOpus {
		t.Fatalf("the tab audio arrived as %s, want Opus", in.mime)
	}

	// The host stops the share: both its tracks stop, the voice goes on.
	ann.send("call_host", map[string]string{"action": "stop_screen", "participant_id": ben.pid})
	ben.event("call_host_request")
	mic, _ := cat.packetsFrom(ben.pid, "mic")
	waitFor(t, "packets in flight arrive", 10*time.Second, cat.heard(ben.pid, "mic", mic+10))
	screen, _ := cat.packetsFrom(ben.pid, "screen")
	tab, _ := cat.packetsFrom(ben.pid, "screen_audio")
	mic, _ = cat.packetsFrom(ben.pid, "mic")
	waitFor(t, "another second of ben's voice", 10*time.Second, cat.heard(ben.pid, "mic", mic+50))
	if s, _ := cat.packetsFrom(ben.pid, "screen"); s != screen {
		t.Errorf("ben's screen went on after the host stopped it: %d more packets", s-screen)
	}
	if a, _ := cat.packetsFrom(ben.pid, "screen_audio"); a != tab {
		t.Errorf("ben's tab audio went on after the host stopped the share: %d more packets", a-tab)
	}

	// ben shares again: both come back.
	ben.send("call_screen", map[string]bool{"on": true})
	waitFor(t, "the share back, sound and all", 15*time.Second, sharing(screen+5, tab+25, 0))
}
