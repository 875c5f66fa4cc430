package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pion/webrtc/v3"

	"calls/server/hub"
	"calls/server/limiter"
	"calls/store"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"/help", "/call start Weekly sync", "/invite @bob @ann", "/me\twaves", "/", "//", "/ x", "hello", "/CALL LINK", "/shrug \u00af\\_(ツ)_/\u00af"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, args, err := parseCommand(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(name, " \n\t") || !utf8.ValidString(name) || len(args) > len(s) {
			t.Fatalf("parseCommand(%q) = %q, %q", s, name, args)
		}
	})
}

// FuzzHandleFrame feeds arbitrary frames of every type to the websocket
// dispatcher of a real server (with a real database): nothing may panic,
// and a client not in a call never gets into one by signaling.
func FuzzHandleFrame(f *testing.F) {
	seeds := []struct{ typ, data string }{
		{"ping", ``}, {"typing", `{"channel_id":"x"}`}, {"presence", `{"status":"away"}`},
		{"call_join", `{"channel_id":"` + strings.Repeat("y", 26) + `"}`}, {"call_signal", `{"type":"offer","sdp":"v=0\r\n"}`},
		{"call_signal", `{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}}`},
		{"call_track", `{"track_id":"a","source":"mic"}`}, {"call_mute", `{"muted":true}`}, {"call_hand", `{"raised":1}`},
		{"call_reaction", `{"emoji":"<script>"}`}, {"call_host", `{"action":"remove","participant_id":null}`},
		{"call_ring_decline", `{"call_id":"` + strings.Repeat("a", 300) + `"}`}, {"nope", `[]`}, {"call_leave", `null`},
	}
	for _, s := range seeds {
		f.Add(s.typ, []byte(s.data))
	}
	ts := startServerTB(f)
	ts.unlimited()
	u := ts.addUserF(f, "fuzzer")
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		c := ts.hub.NewClient(u.ID, "fuzz")
		ts.handleFrame(context.Background(), c, hub.Frame{Type: typ, Data: data})
		if m := ts.memberOf(c); m != nil {
			ts.leaveCall(context.Background(), c)
		}
		c.Close("")
	})
}

// unlimited lifts the per-user limits on websocket frames, call joins and
// typing, which a fuzz target (one user, thousands of frames a second)
// would otherwise hit at once: every later frame would then be refused
// before reaching the code under test.
func (ts *testServer) unlimited() {
	ts.frameLimit = limiter.New(1<<30, time.Nanosecond, nil)
	ts.joinLimit = limiter.New(1<<30, time.Nanosecond, nil)
	ts.typingLimit = limiter.New(1<<30, time.Nanosecond, nil)
}

// FuzzCallSignal feeds SDP offers and answers and ICE candidates, whole
// or broken, through call_signal to a participant that has really joined
// a call on a real server, and to which the call's other participant (a
// real pion peer) is publishing audio: an offer is answered, and then the
// server offers that audio, so the fuzzed answer lands on a real offer.
// Every answer to a signal is nothing or a bad_signal/signal_failed error;
// nothing panics; the call and its other participant are untouched.
//
// The media socket is bound to 127.0.0.1: connectivity checks towards
// whatever addresses the fuzzed candidates name cannot leave the machine.
func FuzzCallSignal(f *testing.F) {
	offer, answer, cands := pionSignals(f)
	for i, c := range cands {
		f.Add(uint8(i), offer, answer, c)
	}
	f.Add(uint8(0x80), offer, "", "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host")
	f.Add(uint8(1), "v=0\r\n", "v=0\r\n", "")

	ts := startServerTB(f)
	ts.unlimited()
	host, guest := ts.addUser("host", store.RoleMember), ts.addUser("guest", store.RoleMember)
	ctx := context.Background()
	_, town, err := ts.store.CreateTeam(ctx, "fuzz", "Fuzz", host.ID)
	if err != nil {
		f.Fatal(err)
	}
	if err := ts.store.AddTeamMember(ctx, town.TeamID, guest.ID, "member"); err != nil {
		f.Fatal(err)
	}
	anchor := newCallPeer(f, ts, "host", ts.login("host"))
	if j := anchor.join(town.ID, true, false); j.Type != "call_joined" {
		f.Fatalf("anchor: %s %s", j.Type, j.Data)
	}
	pctx, stop := context.WithCancel(ctx)
	f.Cleanup(stop)
	anchor.publish(pctx)
	deadline := time.Now().Add(10 * time.Second)
	for len(ts.runningCall(town.ID).media.Tracks()) == 0 {
		if time.Now().After(deadline) {
			f.Fatal("the anchor's audio never arrived")
		}
		time.Sleep(20 * time.Millisecond)
	}

	f.Fuzz(func(t *testing.T, order uint8, offer, answer, candidate string) {
		if len(offer)+len(answer)+len(candidate) > hub.ReadLimit {
			return // the websocket refuses larger frames
		}
		c := ts.hub.NewClient(guest.ID, "fuzz")
		defer c.Close("")
		if _, err := ts.joinCall(ctx, c, guest, town.ID, ""); err != nil {
			t.Fatalf("join: %v", err)
		}
		types := []string{"offer", "answer", "pranswer", "rollback", "candidate", ""}
		cand := map[string]any{"candidate": candidate, "sdpMid": "0", "sdpMLineIndex": int(order>>4) % 3}
		if order&0x08 != 0 {
			cand = map[string]any{"candidate": candidate, "usernameFragment": answer}
		}
		signals := []map[string]any{
			{"type": types[int(order)%len(types)], "sdp": offer},
			{"type": "answer", "sdp": answer},
			{"type": "candidate", "candidate": cand},
		}
		if order&0x80 != 0 { // candidates before the offer, as a client may trickle them
			signals[0], signals[2] = signals[2], signals[0]
		}
		for _, sig := range signals {
			data, _ := json.Marshal(sig)
			reply := ts.handleFrame(ctx, c, hub.Frame{Type: "call_signal", Data: data})
			if reply == nil {
				continue
			}
			var e struct{ Code, Request string }
			json.Unmarshal(reply.Data, &e)
			if reply.Type != "error" || (e.Code != "bad_signal" && e.Code != "signal_failed") || e.Request != "call_signal" {
				t.Fatalf("call_signal %s answered %s %s", data, reply.Type, reply.Data)
			}
		}
		ts.leaveCall(ctx, c)
		cl := ts.runningCall(town.ID)
		if cl == nil {
			t.Fatal("the call ended")
		}
		if v := cl.view(); len(v.Participants) != 1 || v.Participants[0].ID != anchor.pid {
			t.Fatalf("participants after the fuzzed one left: %+v", v.Participants)
		}
	})
}

// pionSignals are what a real client sends: an offer (audio out, audio and
// video in) with its candidates, and an answer to an offer like the
// server's.
func pionSignals(f *testing.F) (offer, answer string, candidates []string) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		f.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(0)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	a, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		f.Fatal(err)
	}
	defer a.Close()
	b, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		f.Fatal(err)
	}
	defer b.Close()
	track, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "s")
	if _, err := a.AddTrack(track); err != nil {
		f.Fatal(err)
	}
	a.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	o, err := a.CreateOffer(nil)
	if err != nil {
		f.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(a)
	if err := a.SetLocalDescription(o); err != nil {
		f.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
	}
	offer = a.LocalDescription().SDP
	if err := b.SetRemoteDescription(*a.LocalDescription()); err != nil {
		f.Fatal(err)
	}
	ans, err := b.CreateAnswer(nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(offer, "\r\n") {
		if c, ok := strings.CutPrefix(line, "a="); ok && strings.HasPrefix(c, "candidate:") {
			candidates = append(candidates, c)
		}
	}
	candidates = append(candidates,
		"candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype passive",
		"candidate:3 1 udp 1694498815 192.0.2.1 50000 typ srflx raddr 0.0.0.0 rport 0",
		"candidate:4 1 udp 16777215 198.51.100.7 49160 typ relay raddr 0.0.0.0 rport 0",
		"candidate:5 1 udp 2122260223 4f8a4b5e-2a1c-4e0e-9c2f-7b6a0f3e9d11.local 61000 typ host",
		"candidate:6 1 udp 2122262783 ::1 9 typ host generation 0 ufrag abcd network-id 2",
		"")
	return offer, ans.SDP, candidates
}

func (ts *testServer) addUserF(f *testing.F, name string) *store.User {
	u, err := ts.store.CreateUser(context.Background(), store.NewUser{Username: name, Role: store.RoleMember})
	if err != nil {
		f.Fatal(err)
	}
	return u
}
