package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"calls/server/sfu"
)

// streamPeer is a WHIP or WHEP client on pion, as OBS or a player would be:
// it publishes and counts what it receives like a callPeer, but signals
// once over HTTP and has no websocket.
type streamPeer struct {
	*callPeer
	ts       *testServer
	token    string
	location string
	etag     string
	answer   string
}

// newStreamPeer makes the client's PeerConnection: publishing (WHIP, audio
// and optionally video, sendonly) or receiving (WHEP, recvonly).
func newStreamPeer(t *testing.T, ts *testServer, name, token string, publish, withVideo bool) *streamPeer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cp := &callPeer{t: t, name: name, ctx: ctx, stop: cancel, received: map[string]*inbound{}}
	pc, err := cp.api().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	cp.pc = pc
	t.Cleanup(func() { cancel(); pc.Close() })
	pc.OnTrack(cp.onTrack)
	if publish {
		cp.audio, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", name)
		tr, err := pc.AddTransceiverFromTrack(cp.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			t.Fatal(err)
		}
		cp.audioSender = tr.Sender()
		if withVideo {
			cp.video, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", name)
			tr, err := pc.AddTransceiverFromTrack(cp.video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			if err != nil {
				t.Fatal(err)
			}
			go cp.readPLI(tr.Sender(), &cp.keyframeNow)
		}
	} else {
		for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &streamPeer{callPeer: cp, ts: ts, token: token}
}

// gatheredOffer makes the client's offer with all its candidates in it
// (WHIP clients such as OBS do not trickle).
func (sp *streamPeer) gatheredOffer(opts *webrtc.OfferOptions) string {
	sp.t.Helper()
	offer, err := sp.pc.CreateOffer(opts)
	if err != nil {
		sp.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(sp.pc)
	if err := sp.pc.SetLocalDescription(offer); err != nil {
		sp.t.Fatal(err)
	}
	<-gathered
	return sp.pc.LocalDescription().SDP
}

// post sends the offer; on 201 the answer is applied. It returns the
// status and the error body, if any.
func (sp *streamPeer) post(urlPath string) (int, apiErrorBody) {
	sp.t.Helper()
	resp, body := sp.ts.sdpRequest("POST", urlPath, sp.token, mimeSDP, sp.gatheredOffer(nil), nil)
	if resp.StatusCode != http.StatusCreated {
		var e apiErrorBody
		json.Unmarshal([]byte(body), &e)
		return resp.StatusCode, e
	}
	if ct := resp.Header.Get("Content-Type"); ct != mimeSDP {
		sp.t.Fatalf("answer Content-Type %q", ct)
	}
	sp.location, sp.etag, sp.answer = resp.Header.Get("Location"), resp.Header.Get("ETag"), body
	if sp.location == "" || sp.etag == "" {
		sp.t.Fatalf("201 without Location (%q) or ETag (%q)", sp.location, sp.etag)
	}
	if !strings.Contains(body, "a=candidate:") {
		sp.t.Fatalf("answer carries no ICE candidates:\n%s", body)
	}
	if err := sp.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		sp.t.Fatalf("apply answer: %v", err)
	}
	sp.pid = path.Base(sp.location)
	return resp.StatusCode, apiErrorBody{}
}

type apiErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// sdpRequest sends a raw body with a content type and headers.
func (ts *testServer) sdpRequest(method, urlPath, token, contentType, body string, hdr map[string]string) (*http.Response, string) {
	ts.t.Helper()
	req, _ := http.NewRequest(method, ts.URL+urlPath, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// apiToken makes a long-lived API token for a user, as an operator would
// for OBS.
func (f *callFixture) apiToken(t *testing.T, name string) string {
	t.Helper()
	var out struct{ Token string }
	f.ts.mustDo("POST", "/api/v1/users/"+f.users[name].ID+"/tokens", f.tokens[name], map[string]string{"name": "obs"}, &out, 201)
	return out.Token
}

// participant finds a participant in the running call.
func (f *callFixture) participant(t *testing.T, token, pid string) *participantView {
	t.Helper()
	var running callView
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", token, nil, &running, 200)
	for i := range running.Participants {
		if running.Participants[i].ID == pid {
			return &running.Participants[i]
		}
	}
	return nil
}

// callMessage returns the props of the room's newest call message.
func (f *callFixture) callMessage(t *testing.T) callProps {
	t.Helper()
	var list struct{ Posts []*postView }
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/posts", f.tokens["ann"], nil, &list, 200)
	for _, p := range list.Posts { // newest first
		if p.Type == "call" {
			var props callProps
			json.Unmarshal(p.Props, &props)
			return props
		}
	}
	t.Fatal("no call message in the room")
	return callProps{}
}

// eventWith waits for a frame of the type whose data contains want.
func (p *callPeer) eventWith(typ, want string, d time.Duration) []byte {
	p.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-p.events:
			if !ok {
				p.t.Fatalf("%s: websocket closed while waiting for %s with %s", p.name, typ, want)
			}
			if f.Type == typ && strings.Contains(string(f.Data), want) {
				return f.Data
			}
		case <-timeout:
			p.t.Fatalf("%s: no %s with %s within %v", p.name, typ, want, d)
		}
	}
}

func TestWHIPPublishReachesTheCallAndDeleteLeaves(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	ann := f.peer(t, "ann")
	if j := ann.join(f.channel, false, false); j.Type != "call_joined" {
		t.Fatalf("ann join: %s %s", j.Type, j.Data)
	}
	obs := newStreamPeer(t, f.ts, "obs", f.apiToken(t, "ben"), true, true)
	if status, e := obs.post("/api/v1/channels/" + f.channel + "/call/whip"); status != 201 {
		t.Fatalf("WHIP POST: %d %+v", status, e)
	}
	if want := "/api/v1/channels/" + f.channel + "/call/whip/"; !strings.HasPrefix(obs.location, want) || len(obs.pid) != 26 {
		t.Fatalf("Location %q: want %s<participant id>", obs.location, want)
	}
	joined := ann.eventWith("call_participant_joined", obs.pid, 10*time.Second)
	if !strings.Contains(string(joined), `"stream":"whip"`) || !strings.Contains(string(joined), f.users["ben"].ID) {
		t.Fatalf("joined event %s: want ben's participant marked as a whip stream", joined)
	}
	obs.publish(ctx)

	// The room hears and sees it like anyone else's media, bytes as sent.
	waitFor(t, "ann hears the WHIP audio", 10*time.Second, ann.heard(obs.pid, "mic", 25))
	waitFor(t, "ann sees the WHIP video", 10*time.Second, ann.heard(obs.pid, "camera", 5))
	ann.checkPayloads(t, obs.pid, "mic", "obs:")

	// Listed in the call, named after the token's user, marked a stream;
	// counted in the call message.
	pv := f.participant(t, f.tokens["dan"], obs.pid)
	if pv == nil || pv.UserID != f.users["ben"].ID || pv.Stream != "whip" {
		t.Fatalf("WHIP participant in the call: %+v", pv)
	}
	if a := f.participant(t, f.tokens["dan"], ann.pid); a == nil || a.Stream != "" {
		t.Fatalf("ann in the call: %+v (a person is no stream)", a)
	}
	waitFor(t, "ben's stream in the call message", 3*time.Second, func() bool {
		return slices.Contains(f.callMessage(t).Participants, f.users["ben"].ID)
	})

	// Someone else's token cannot end the session; its own can.
	if resp, _ := f.ts.sdpRequest("DELETE", obs.location, f.tokens["ann"], "", "", nil); resp.StatusCode != 404 {
		t.Fatalf("DELETE with ann's token: %d, want 404", resp.StatusCode)
	}
	if resp, _ := f.ts.sdpRequest("DELETE", obs.location, obs.token, "", "", nil); resp.StatusCode != 200 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	left := ann.eventWith("call_participant_left", obs.pid, 10*time.Second)
	if !strings.Contains(string(left), `"reason":"left"`) {
		t.Fatalf("left event %s", left)
	}
	if pv := f.participant(t, f.tokens["dan"], obs.pid); pv != nil {
		t.Fatalf("WHIP participant still listed after DELETE: %+v", pv)
	}
	waitFor(t, "ann's session drops the WHIP tracks", 5*time.Second, func() bool {
		ann.pcMu.Lock()
		defer ann.pcMu.Unlock()
		rd := ann.pc.RemoteDescription()
		return rd != nil && !strings.Contains(rd.SDP, obs.pid)
	})
	if resp, _ := f.ts.sdpRequest("DELETE", obs.location, obs.token, "", "", nil); resp.StatusCode != 404 {
		t.Fatalf("second DELETE: %d, want 404", resp.StatusCode)
	}
}

func TestWHIPStartsACallAndIsInItsLog(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A session token works as well as an API token.
	obs := newStreamPeer(t, f.ts, "obs", f.tokens["cat"], true, false)
	if status, e := obs.post("/api/v1/channels/" + f.channel + "/call/whip"); status != 201 {
		t.Fatalf("WHIP POST with no call running: %d %+v", status, e)
	}
	obs.publish(ctx)
	var running callView
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["ann"], nil, &running, 200)
	if running.HostID != f.users["cat"].ID || len(running.Participants) != 1 || running.Participants[0].Stream != "whip" {
		t.Fatalf("call started by WHIP: %+v", running)
	}
	if props := f.callMessage(t); props.CallID != running.ID || props.HostID != f.users["cat"].ID {
		t.Fatalf("call message %+v", props)
	}

	// A person joining later gets the stream too.
	ann := f.peer(t, "ann")
	ann.join(f.channel, false, false)
	waitFor(t, "a late joiner hears the WHIP audio", 10*time.Second, ann.heard(obs.pid, "mic", 25))

	if resp, _ := f.ts.sdpRequest("DELETE", obs.location, obs.token, "", "", nil); resp.StatusCode != 200 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	ann.eventWith("call_participant_left", obs.pid, 10*time.Second)
	ann.send("call_leave", nil)
	ann.eventWith("call_ended", running.ID, 10*time.Second)

	var log struct {
		Calls []struct {
			ID        string     `json:"id"`
			EndedAt   *time.Time `json:"ended_at"`
			Attendees []string   `json:"attendees"`
		} `json:"calls"`
	}
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/calls", f.tokens["ann"], nil, &log, 200)
	if len(log.Calls) != 1 || log.Calls[0].EndedAt == nil || strings.Join(log.Calls[0].Attendees, ",") != f.users["cat"].ID+","+f.users["ann"].ID {
		t.Fatalf("conference log %+v: want the ended call attended by cat (the stream) then ann", log.Calls)
	}
	if props := f.callMessage(t); props.EndedAt == nil || len(props.Attendees) != 2 || props.Attendees[0] != f.users["cat"].ID {
		t.Fatalf("call message log %+v", props)
	}
}

func TestWHEPPlaysAParticipant(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	ann, cat := f.peer(t, "ann"), f.peer(t, "cat")
	ann.join(f.channel, true, true)
	ann.publish(ctx)
	cat.join(f.channel, false, false) // keeps the call going after ann leaves
	cl := f.ts.runningCall(f.channel)
	waitFor(t, "ann's tracks published", 10*time.Second, func() bool {
		n := 0
		for _, tr := range cl.media.Tracks() {
			if tr.ParticipantID == ann.pid {
				n++
			}
		}
		return n == 2
	})

	player := newStreamPeer(t, f.ts, "player", f.apiToken(t, "ben"), false, false)
	if status, e := player.post("/api/v1/channels/" + f.channel + "/call/whep/" + ann.pid); status != 201 {
		t.Fatalf("WHEP POST: %d %+v", status, e)
	}
	if want := "/api/v1/channels/" + f.channel + "/call/whep/" + ann.pid + "/"; !strings.HasPrefix(player.location, want) || len(player.pid) != 26 {
		t.Fatalf("Location %q: want %s<participant id>", player.location, want)
	}
	waitFor(t, "the WHEP player hears ann", 10*time.Second, player.heard(ann.pid, "mic", 25))
	waitFor(t, "the WHEP player sees ann", 10*time.Second, player.heard(ann.pid, "camera", 3))
	player.checkPayloads(t, ann.pid, "mic", "ann:")
	if _, vin := player.packetsFrom(ann.pid, "camera"); !vin.firstKeyframe {
		t.Errorf("the player's first video packet is not a keyframe")
	}
	if pv := f.participant(t, f.tokens["dan"], player.pid); pv == nil || pv.Stream != "whep" || pv.UserID != f.users["ben"].ID {
		t.Fatalf("WHEP viewer in the call: %+v", pv)
	}

	// DELETE ends the viewing; the session URL names the participant
	// played, so another participant's is no match.
	wrong := strings.Replace(player.location, ann.pid, cat.pid, 1)
	if resp, _ := f.ts.sdpRequest("DELETE", wrong, player.token, "", "", nil); resp.StatusCode != 404 {
		t.Fatalf("DELETE of a wrong session URL: %d", resp.StatusCode)
	}
	if resp, _ := f.ts.sdpRequest("DELETE", player.location, player.token, "", "", nil); resp.StatusCode != 200 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	cat.eventWith("call_participant_left", player.pid, 10*time.Second)
	if pv := f.participant(t, f.tokens["dan"], player.pid); pv != nil {
		t.Fatalf("viewer still listed after DELETE: %+v", pv)
	}

	// When ann leaves, a viewer of hers has nothing to play and leaves too.
	player = newStreamPeer(t, f.ts, "player", player.token, false, false)
	if status, e := player.post("/api/v1/channels/" + f.channel + "/call/whep/" + ann.pid); status != 201 {
		t.Fatalf("second WHEP POST: %d %+v", status, e)
	}
	waitFor(t, "the second player hears ann", 10*time.Second, player.heard(ann.pid, "mic", 10))
	ann.send("call_leave", nil)
	left := cat.eventWith("call_participant_left", player.pid, 10*time.Second)
	if !strings.Contains(string(left), "the participant played left") {
		t.Fatalf("viewer left with %s", left)
	}
	if resp, _ := f.ts.sdpRequest("DELETE", player.location, player.token, "", "", nil); resp.StatusCode != 404 {
		t.Fatalf("DELETE after the viewer was removed: %d, want 404", resp.StatusCode)
	}

	// A participant who sends nothing has nothing to play.
	other := newStreamPeer(t, f.ts, "player2", f.tokens["dan"], false, false)
	if status, e := other.post("/api/v1/channels/" + f.channel + "/call/whep/" + cat.pid); status != 409 || e.Code != "nothing_to_play" {
		t.Fatalf("WHEP of a silent participant: %d %+v, want 409 nothing_to_play", status, e)
	}
}

// TestWHEPTrickle: a WHEP player that trickles (RFC 9725 section 4.3), as
// players do that do not wait for gathering: its offer carries no
// candidates, and each one follows in a PATCH with the session's ETag. The
// player also ignores the candidates in the server's answer, so ICE can
// only start from the server's side, towards the candidates that came by
// PATCH: hearing the audio proves the server used them.
func TestWHEPTrickle(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann := f.peer(t, "ann")
	ann.join(f.channel, true, false)
	ann.publish(ctx)
	cl := f.ts.runningCall(f.channel)
	waitFor(t, "ann's audio published", 10*time.Second, func() bool {
		return slices.ContainsFunc(cl.media.Tracks(), func(tr sfu.TrackInfo) bool { return tr.ParticipantID == ann.pid })
	})

	player := newStreamPeer(t, f.ts, "player", f.tokens["ben"], false, false)
	var mu sync.Mutex
	var cands []string
	gathered := make(chan struct{})
	player.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			close(gathered)
			return
		}
		mu.Lock()
		cands = append(cands, "a="+c.ToJSON().Candidate)
		mu.Unlock()
	})
	offer, err := player.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := player.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(offer.SDP, "a=candidate:") {
		t.Fatal("the offer already carries candidates")
	}
	whep := "/api/v1/channels/" + f.channel + "/call/whep/" + ann.pid
	resp, answer := f.ts.sdpRequest("POST", whep, player.token, mimeSDP, offer.SDP, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("WHEP POST of an offer without candidates: %d %s", resp.StatusCode, answer)
	}
	location, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
	var stripped strings.Builder
	for _, l := range strings.SplitAfter(answer, "\n") {
		if !strings.HasPrefix(l, "a=candidate:") && !strings.HasPrefix(l, "a=end-of-candidates") {
			stripped.WriteString(l)
		}
	}
	if err := player.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: stripped.String()}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		t.Fatal("the player gathered no candidates")
	}
	ufrag := sdpLines(offer.SDP, "a=ice-ufrag:")[0]
	mu.Lock()
	frags := slices.Clone(cands)
	mu.Unlock()
	if len(frags) == 0 {
		t.Fatal("no candidates to trickle")
	}
	frags = append(frags, "a=end-of-candidates")
	for _, c := range frags {
		resp, body := f.ts.sdpRequest("PATCH", location, player.token, mimeSDPFrag, ufrag+"\r\na=mid:0\r\n"+c+"\r\n", map[string]string{"If-Match": etag})
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("ETag") != etag {
			t.Fatalf("PATCH %q: %d ETag %q (want 204, %q) %s", c, resp.StatusCode, resp.Header.Get("ETag"), etag, body)
		}
	}
	// The session is a WHEP one: the same id under the WHIP path is no
	// session, and an earlier ETag is refused.
	whipPath := "/api/v1/channels/" + f.channel + "/call/whip/" + path.Base(location)
	if resp, body := f.ts.sdpRequest("PATCH", whipPath, player.token, mimeSDPFrag, ufrag+"\r\n"+frags[0]+"\r\n", nil); resp.StatusCode != 404 {
		t.Fatalf("PATCH of the WHEP session under the WHIP path: %d %s", resp.StatusCode, body)
	}
	if resp, body := f.ts.sdpRequest("PATCH", location, player.token, mimeSDPFrag, frags[0]+"\r\n", map[string]string{"If-Match": `"not-this-session"`}); resp.StatusCode != 412 {
		t.Fatalf("PATCH with a stale ETag: %d %s", resp.StatusCode, body)
	}
	waitFor(t, "the trickling player hears ann", 15*time.Second, player.heard(ann.pid, "mic", 25))
}

// offerFor makes a real offer that sends (WHIP) or receives (WHEP) audio.
func offerFor(t *testing.T, dir webrtc.RTPTransceiverDirection) string {
	t.Helper()
	pc, err := (&callPeer{t: t}).api().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if dir == webrtc.RTPTransceiverDirectionSendonly {
		track, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a", "s")
		_, err = pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: dir})
	} else {
		_, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: dir})
	}
	if err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}

func TestWHIPAndWHEPRefusals(t *testing.T) {
	f := newCallFixture(t)
	ts := f.ts
	var team struct {
		ID string `json:"team_id"`
	}
	ts.mustDo("GET", "/api/v1/channels/"+f.channel, f.tokens["ann"], nil, &team, 200)
	var archived, public struct{ ID string }
	ts.mustDo("POST", "/api/v1/channels", f.tokens["ann"], map[string]string{"team_id": team.ID, "name": "old", "type": "private"}, &archived, 201)
	ts.mustDo("POST", "/api/v1/channels/"+archived.ID+"/members", f.tokens["ann"], map[string]string{"user_id": f.users["ben"].ID}, nil, 201)
	ts.mustDo("POST", "/api/v1/channels/"+archived.ID+"/archive", f.tokens["ann"], nil, nil, 200)
	ts.mustDo("POST", "/api/v1/channels", f.tokens["ann"], map[string]string{"team_id": team.ID, "name": "open", "type": "public"}, &public, 201)

	send := offerFor(t, webrtc.RTPTransceiverDirectionSendonly)
	recv := offerFor(t, webrtc.RTPTransceiverDirectionRecvonly)
	whip := func(id string) string { return "/api/v1/channels/" + id + "/call/whip" }
	whep := func(id, pid string) string { return "/api/v1/channels/" + id + "/call/whep/" + pid }
	unknown := strings.Repeat("0", 26)
	for _, tc := range []struct {
		name, path, token, ctype, body string
		status                         int
		code, says                     string
	}{
		{"no token", whip(f.channel), "", mimeSDP, send, 401, "unauthorized", ""},
		{"wrong token", whip(f.channel), "not-a-token", mimeSDP, send, 401, "unauthorized", ""},
		{"outsider: the room reads as absent", whip(f.channel), f.tokens["eve"], mimeSDP, send, 404, "not_found", ""},
		{"no such room", whip(unknown), f.tokens["ben"], mimeSDP, send, 404, "not_found", ""},
		{"reader who may not start a call", whip(public.ID), f.tokens["ben"], mimeSDP, send, 403, "not_member", ""},
		{"archived room", whip(archived.ID), f.tokens["ben"], mimeSDP, send, 410, "archived", "archived"},
		{"not SDP", whip(f.channel), f.tokens["ben"], "application/json", send, 415, "unsupported_media_type", "application/sdp"},
		{"malformed SDP", whip(f.channel), f.tokens["ben"], mimeSDP, "hello, I am not SDP", 400, "bad_sdp", "not a valid SDP offer"},
		{"too many media sections", whip(f.channel), f.tokens["ben"], mimeSDP, send + strings.Repeat("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\n", 16), 400, "bad_sdp", "at most 16"},
		{"empty body", whip(f.channel), f.tokens["ben"], mimeSDP, "", 400, "bad_sdp", ""},
		{"WHIP offer that only receives", whip(f.channel), f.tokens["ben"], mimeSDP, recv, 400, "bad_sdp", "sends no audio or video"},
		{"WHEP offer that only sends", whep(f.channel, unknown), f.tokens["ben"], mimeSDP, send, 400, "bad_sdp", "receives no audio or video"},
		{"WHEP with no call running", whep(f.channel, unknown), f.tokens["ben"], mimeSDP, recv, 404, "no_call", ""},
		{"WHEP outsider", whep(f.channel, unknown), f.tokens["eve"], mimeSDP, recv, 404, "not_found", ""},
		{"WHEP archived room", whep(archived.ID, unknown), f.tokens["ben"], mimeSDP, recv, 410, "archived", ""},
		{"WHEP no token", whep(f.channel, unknown), "", mimeSDP, recv, 401, "unauthorized", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.sdpRequest("POST", tc.path, tc.token, tc.ctype, tc.body, nil)
			var e apiErrorBody
			json.Unmarshal([]byte(body), &e)
			if resp.StatusCode != tc.status || e.Code != tc.code || !strings.Contains(e.Error, tc.says) {
				t.Fatalf("%d %s: want %d %s (%q)", resp.StatusCode, body, tc.status, tc.code, tc.says)
			}
		})
	}
	// None of it started a call.
	for _, id := range []string{f.channel, public.ID} {
		if st := ts.do("GET", "/api/v1/channels/"+id+"/call", f.tokens["ann"], nil, nil); st != 404 {
			t.Fatalf("a call runs in %s after refused requests (%d)", id, st)
		}
	}

	// With a call running: an unknown participant is 404.
	ann := f.peer(t, "ann")
	ann.join(f.channel, false, false)
	resp, body := ts.sdpRequest("POST", whep(f.channel, unknown), f.tokens["ben"], mimeSDP, recv, nil)
	if resp.StatusCode != 404 || !strings.Contains(body, "no_participant") {
		t.Fatalf("WHEP of an unknown participant: %d %s", resp.StatusCode, body)
	}
}

// sdpLines returns the lines of an SDP that start with prefix.
func sdpLines(sdp, prefix string) []string {
	var out []string
	for _, l := range strings.Split(sdp, "\n") {
		if l = strings.TrimRight(l, "\r"); strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func TestWHIPPatchTrickleETagAndICERestart(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann := f.peer(t, "ann")
	ann.join(f.channel, false, false)
	obs := newStreamPeer(t, f.ts, "obs", f.apiToken(t, "ben"), true, false)
	if status, e := obs.post("/api/v1/channels/" + f.channel + "/call/whip"); status != 201 {
		t.Fatalf("WHIP POST: %d %+v", status, e)
	}
	obs.publish(ctx)
	waitFor(t, "ann hears the WHIP audio", 10*time.Second, ann.heard(obs.pid, "mic", 10))

	local := obs.pc.LocalDescription().SDP
	ufrag := sdpLines(local, "a=ice-ufrag:")[0]
	cand := sdpLines(local, "a=candidate:")[0]
	trickle := ufrag + "\r\na=mid:0\r\n" + cand + "\r\n"
	patch := func(token, ctype, body string, hdr map[string]string) (*http.Response, string) {
		return f.ts.sdpRequest("PATCH", obs.location, token, ctype, body, hdr)
	}
	for _, tc := range []struct {
		name, token, ctype, body string
		hdr                      map[string]string
		status                   int
		code                     string
	}{
		{"wrong content type", obs.token, mimeSDP, trickle, map[string]string{"If-Match": obs.etag}, 415, "unsupported_media_type"},
		{"stale ETag", obs.token, mimeSDPFrag, trickle, map[string]string{"If-Match": `"an-old-ice-session"`}, 412, "stale_etag"},
		{"new credentials without If-Match: *", obs.token, mimeSDPFrag, "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", map[string]string{"If-Match": obs.etag}, 412, "ice_restart_needs_if_match"},
		{"empty fragment", obs.token, mimeSDPFrag, "a=mid:0\r\n", nil, 400, "bad_sdpfrag"},
		{"bad candidate", obs.token, mimeSDPFrag, "a=candidate:nonsense\r\n", map[string]string{"If-Match": obs.etag}, 400, "bad_sdpfrag"},
		{"another user's token", f.tokens["ann"], mimeSDPFrag, trickle, map[string]string{"If-Match": obs.etag}, 404, "no_stream"},
		{"no token", "", mimeSDPFrag, trickle, map[string]string{"If-Match": obs.etag}, 401, "unauthorized"},
		{"trickle with the ETag", obs.token, mimeSDPFrag, trickle, map[string]string{"If-Match": obs.etag}, 204, ""},
		{"trickle without If-Match", obs.token, mimeSDPFrag, trickle, nil, 204, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := patch(tc.token, tc.ctype, tc.body, tc.hdr)
			var e apiErrorBody
			json.Unmarshal([]byte(body), &e)
			if resp.StatusCode != tc.status || e.Code != tc.code {
				t.Fatalf("%d %s: want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
		})
	}

	// An ICE restart: the client's new credentials and candidates in, the
	// server's new ones and a new ETag out; media keeps flowing over the
	// new ICE session.
	restarted := obs.gatheredOffer(&webrtc.OfferOptions{ICERestart: true})
	frag := strings.Join(append(append(sdpLines(restarted, "a=ice-ufrag:"), sdpLines(restarted, "a=ice-pwd:")...), sdpLines(restarted, "a=candidate:")...), "\r\n") + "\r\n"
	resp, body := patch(obs.token, mimeSDPFrag, frag, map[string]string{"If-Match": "*"})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != mimeSDPFrag {
		t.Fatalf("ICE restart: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	newETag := resp.Header.Get("ETag")
	oldUfrag, newUfrag := sdpLines(obs.answer, "a=ice-ufrag:")[0], sdpLines(body, "a=ice-ufrag:")
	if newETag == "" || newETag == obs.etag || len(newUfrag) != 1 || newUfrag[0] == oldUfrag || len(sdpLines(body, "a=candidate:")) == 0 {
		t.Fatalf("ICE restart answer: ETag %q (was %q)\n%s", newETag, obs.etag, body)
	}
	// The full answer is the first one with the new ICE lines.
	var answer strings.Builder
	for _, l := range strings.SplitAfter(obs.answer, "\n") {
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			l = newUfrag[0] + "\r\n"
		case strings.HasPrefix(l, "a=ice-pwd:"):
			l = sdpLines(body, "a=ice-pwd:")[0] + "\r\n"
		case strings.HasPrefix(l, "a=candidate:"), strings.HasPrefix(l, "a=end-of-candidates"):
			continue
		}
		answer.WriteString(l)
		if strings.HasPrefix(l, "a=mid:0") {
			for _, c := range sdpLines(body, "a=candidate:") {
				answer.WriteString(c + "\r\n")
			}
		}
	}
	if err := obs.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.String()}); err != nil {
		t.Fatalf("apply the restart answer: %v", err)
	}
	// Media may keep flowing on the old pair while the new checks run:
	// wait for the restarted ICE to connect, then for audio over it.
	waitFor(t, "client ICE connected after the restart", 10*time.Second, func() bool {
		p := obs.pc.ICEConnectionState()
		return p == webrtc.ICEConnectionStateConnected || p == webrtc.ICEConnectionStateCompleted
	})
	before, _ := ann.packetsFrom(obs.pid, "mic")
	waitFor(t, "audio after the ICE restart", 10*time.Second, ann.heard(obs.pid, "mic", before+25))

	// The old ETag names the old ICE session now; the new one works.
	if resp, body := patch(obs.token, mimeSDPFrag, cand+"\r\n", map[string]string{"If-Match": obs.etag}); resp.StatusCode != 412 {
		t.Fatalf("trickle with the pre-restart ETag: %d %s", resp.StatusCode, body)
	}
	newCand := sdpLines(restarted, "a=candidate:")[0]
	if resp, body := patch(obs.token, mimeSDPFrag, newCand+"\r\n", map[string]string{"If-Match": newETag}); resp.StatusCode != 204 {
		t.Fatalf("trickle with the new ETag: %d %s", resp.StatusCode, body)
	}
}

func TestWHIPLeavesWithItsUserAndItsRoom(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann := f.peer(t, "ann")
	ann.join(f.channel, false, false)

	ben := newStreamPeer(t, f.ts, "ben-obs", f.apiToken(t, "ben"), true, false)
	if status, e := ben.post("/api/v1/channels/" + f.channel + "/call/whip"); status != 201 {
		t.Fatalf("ben's WHIP POST: %d %+v", status, e)
	}
	ben.publish(ctx)
	waitFor(t, "ann hears ben's stream", 10*time.Second, ann.heard(ben.pid, "mic", 10))

	// The host's controls work on a stream: mute stops forwarding its
	// microphone, and "ask to unmute" (nobody to ask) unmutes it.
	ann.send("call_host", map[string]string{"action": "mute", "participant_id": ben.pid})
	ann.eventWith("call_participant_muted", `"muted":true`, 10*time.Second)
	ann.send("call_host", map[string]string{"action": "ask_unmute", "participant_id": ben.pid})
	ann.eventWith("call_participant_muted", `"muted":false`, 10*time.Second)
	before, _ := ann.packetsFrom(ben.pid, "mic")
	waitFor(t, "ben's stream audible again", 10*time.Second, ann.heard(ben.pid, "mic", before+10))

	// Deactivating the user ends their stream at once.
	f.ts.mustDo("PUT", "/api/v1/users/"+f.users["ben"].ID+"/active", f.tokens["cat"], map[string]bool{"active": false}, nil, 200)
	left := ann.eventWith("call_participant_left", ben.pid, 10*time.Second)
	if !strings.Contains(string(left), "deactivated") {
		t.Fatalf("left event %s", left)
	}

	// The encoder's machine vanishes: no DELETE, no more packets. Like a
	// person's, the stream shows as reconnecting, then is removed.
	lost := newStreamPeer(t, f.ts, "lost-obs", f.tokens["dan"], true, false)
	if status, e := lost.post("/api/v1/channels/" + f.channel + "/call/whip"); status != 201 {
		t.Fatalf("dan's WHIP POST: %d %+v", status, e)
	}
	lostCtx, lostCancel := context.WithCancel(ctx)
	lost.publish(lostCtx)
	waitFor(t, "ann hears dan's stream", 10*time.Second, ann.heard(lost.pid, "mic", 10))
	lostCancel()
	lost.pc.Close()
	ann.eventWith("call_participant_state", `"state":"reconnecting"`, 30*time.Second)
	left = ann.eventWith("call_participant_left", lost.pid, f.ts.cfg.ReconnectGrace+20*time.Second)
	if !strings.Contains(string(left), "connection") {
		t.Fatalf("left event %s", left)
	}
	if pv := f.participant(t, f.tokens["ann"], lost.pid); pv != nil {
		t.Fatalf("lost stream still listed: %+v", pv)
	}

	// Archiving the room ends the call, streams included.
	dan := newStreamPeer(t, f.ts, "dan-obs", f.tokens["dan"], true, false)
	if status, e := dan.post("/api/v1/channels/" + f.channel + "/call/whip"); status != 201 {
		t.Fatalf("dan's WHIP POST: %d %+v", status, e)
	}
	cl := f.ts.runningCall(f.channel)
	f.ts.mustDo("POST", "/api/v1/channels/"+f.channel+"/archive", f.tokens["ann"], nil, nil, 200)
	ann.eventWith("call_participant_left", dan.pid, 10*time.Second)
	ann.eventWith("call_ended", cl.id, 10*time.Second)
	if resp, _ := f.ts.sdpRequest("DELETE", dan.location, dan.token, "", "", nil); resp.StatusCode != 404 {
		t.Fatalf("DELETE after the call ended: %d", resp.StatusCode)
	}
	if status, e := newStreamPeer(t, f.ts, "late", f.tokens["dan"], true, false).post("/api/v1/channels/" + f.channel + "/call/whip"); status != 410 {
		t.Fatalf("WHIP into the archived room: %d %+v", status, e)
	}
}

// FuzzStreamSDP feeds arbitrary bodies to the checks of WHIP/WHEP offers
// and ICE fragments, as they arrive over HTTP: nothing may panic, and
// what passes is what the handlers rely on.
func FuzzStreamSDP(f *testing.F) {
	offer := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n"
	for _, s := range []string{offer, strings.ReplaceAll(offer, "sendonly", "recvonly"), strings.ReplaceAll(offer, "\r\n", "\n"),
		"a=ice-ufrag:x\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n", "a=end-of-candidates", "", "v=0", "m=video 0 RTP/AVP 96\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, kind := range []string{streamWHIP, streamWHEP} {
			r, _ := http.NewRequest("POST", "/", strings.NewReader(body))
			r.Header.Set("Content-Type", mimeSDP)
			o, err := readOffer(httptest.NewRecorder(), r, kind)
			if err == nil && (o.audio+o.video == 0 || o.ufrag == "" || o.sdp != body) {
				t.Fatalf("readOffer(%s) accepted %q as %+v", kind, body, o)
			}
		}
		if frag, err := parseSDPFrag(body); err == nil {
			if len(frag.candidates) > 64 || strings.ContainsAny(frag.ufrag+frag.pwd, "\n") {
				t.Fatalf("parseSDPFrag(%q) = %+v", body, frag)
			}
			for _, c := range frag.candidates {
				if !strings.HasPrefix(c, "candidate:") {
					t.Fatalf("candidate %q", c)
				}
			}
		}
		_ = answerFrag(body)
	})
}
