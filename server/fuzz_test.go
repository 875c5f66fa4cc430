package server

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"calls/server/hub"
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

func (ts *testServer) addUserF(f *testing.F, name string) *store.User {
	u, err := ts.store.CreateUser(context.Background(), store.NewUser{Username: name, Role: store.RoleMember})
	if err != nil {
		f.Fatal(err)
	}
	return u
}
