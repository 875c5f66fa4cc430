package server

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"calls/store"
)

// What the call settings do to a running call, with real pion peers: a
// refused action answers its error code and the others see nothing of it;
// the same action with the setting left alone goes through (so the refusal
// is the setting's doing).
func TestCallSettingsTakeEffect(t *testing.T) {
	record := func(p *callPeer) { p.send("call_record", map[string]bool{"on": true}) }
	share := func(p *callPeer) { p.send("call_screen", map[string]bool{"on": true}) }
	for _, tc := range []struct {
		name     string
		settings map[string]any
		// actor acts: "ann" (the host, a member), "ben" (a member), "cat"
		// (an admin who joins after them, not the host).
		actor  string
		camera bool              // the actor joins with a camera track (call_track source camera)
		act    func(p *callPeer) // what the actor does once in the call
		// refused is the error code the actor gets; "" when it is allowed,
		// and then the others see seen.
		refused string
		seen    string
	}{
		{"camera refused where video is not allowed", map[string]any{"video_allowed": false}, "ben", true, nil, "video_disabled", ""},
		{"camera forwarded where video is allowed", nil, "ben", true, nil, "", ""},
		{"screen share refused where it is not allowed", map[string]any{"screen_share_allowed": false}, "ben", false, share, "screen_share_disabled", "call_screen"},
		{"screen share where it is allowed", nil, "ben", false, share, "", "call_screen"},
		{"recording refused where it is not allowed", map[string]any{"recording_allowed": false}, "ann", false, record, "recording_disabled", "call_recording"},
		{"the host records by default", nil, "ann", false, record, "", "call_recording"},
		{"recording by admins only: the host (a member) is refused", map[string]any{"recording_by": "admins"}, "ann", false, record, "recording_admins_only", "call_recording"},
		{"recording by admins only: an admin records", map[string]any{"recording_by": "admins"}, "cat", false, record, "", "call_recording"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCallFixture(t)
			if tc.settings != nil {
				f.ts.mustDo("PATCH", "/api/v1/admin/settings", f.tokens["cat"], tc.settings, nil, 200)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			peers := map[string]*callPeer{}
			for _, name := range []string{"ann", "ben", "cat"} {
				if name == "cat" && tc.actor != "cat" {
					continue
				}
				p := f.peer(t, name)
				if j := p.join(f.channel, true, tc.camera && name == tc.actor); j.Type != "call_joined" {
					t.Fatalf("%s join: %s", name, j.Data)
				}
				p.publish(ctx)
				peers[name] = p
			}
			actor, other := peers[tc.actor], peers["ann"]
			if tc.actor == "ann" {
				other = peers["ben"]
			}
			waitFor(t, "the other hears the actor", 30*time.Second, func() bool {
				c, _ := other.packetsFrom(actor.pid, "mic")
				return c > 25
			})
			if tc.act != nil {
				tc.act(actor)
			}

			if tc.refused != "" {
				var e struct{ Code, Error string }
				json.Unmarshal(actor.event("error").Data, &e)
				if e.Code != tc.refused || e.Error == "" {
					t.Fatalf("%s got %+v, want the error %s", tc.actor, e, tc.refused)
				}
			}
			if tc.camera {
				// A second of the actor's audio has arrived since video began;
				// the camera has too where it is allowed, never where not.
				start, _ := other.packetsFrom(actor.pid, "mic")
				waitFor(t, "another second of audio", 30*time.Second, func() bool {
					c, _ := other.packetsFrom(actor.pid, "mic")
					return c > start+50
				})
				video, _ := other.packetsFrom(actor.pid, "camera")
				if tc.refused != "" && video > 0 {
					t.Fatalf("%d camera packets forwarded though cameras are off", video)
				}
				if tc.refused == "" {
					waitFor(t, "the camera forwarded", 30*time.Second, other.heard(actor.pid, "camera", 11))
				}
				return
			}
			if tc.refused == "" {
				if ev := other.event(tc.seen); !strings.Contains(string(ev.Data), `"on":true`) && tc.seen == "call_recording" {
					t.Fatalf("%s: %s", tc.seen, ev.Data)
				}
				return
			}
			// Refused: the others get nothing of it before what the actor
			// does next (a raised hand), as events to a client keep their order.
			actor.send("call_hand", map[string]bool{"raised": true})
			if ev := other.event(tc.seen, "call_hand"); ev.Type != "call_hand" {
				t.Fatalf("the others got %s %s after a refusal", ev.Type, ev.Data)
			}
		})
	}
}

// With ringing off, a DM call rings nobody: neither call_ringing to the
// callee nor call_ring_state to the caller. With it on (the default) it does.
func TestRingingSetting(t *testing.T) {
	for _, ringing := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[ringing], func(t *testing.T) {
			f := newRingFixture(t)
			f.ts.addUser("root", store.RoleAdmin)
			f.ts.mustDo("PATCH", "/api/v1/admin/settings", f.ts.login("root"), map[string]any{"ringing": ringing}, nil, 200)
			ben := newCallPeer(t, f.ts, "ben", f.benT)
			ann := newCallPeer(t, f.ts, "ann", f.annT)
			if j := ann.join(f.dm, true, false); j.Type != "call_joined" {
				t.Fatalf("join: %s", j.Data)
			}
			// A ring would be sent before the caller's call_joined; a post
			// after it reaches both after any ring.
			f.ts.mustDo("POST", "/api/v1/channels/"+f.dm+"/posts", f.annT, map[string]string{"message": "after the call started"}, nil, 201)
			for _, c := range []struct {
				p    *callPeer
				ring string
			}{{ben, "call_ringing"}, {ann, "call_ring_state"}} {
				rang := false
				for {
					ev := c.p.event(c.ring, "post_created")
					if ev.Type == c.ring {
						rang = true
					} else if strings.Contains(string(ev.Data), "after the call started") {
						break
					}
				}
				if rang != ringing {
					t.Fatalf("ringing=%v: %s got %s: %v", ringing, c.p.name, c.ring, rang)
				}
			}
		})
	}
}

// Configured ICE servers are what call_joined hands out, instead of our own.
func TestICEServersSettingInCallJoined(t *testing.T) {
	f := newCallFixture(t)
	iceServers := func(name string) []map[string]any {
		t.Helper()
		p := f.peer(t, name)
		j := p.join(f.channel, true, false)
		var out struct {
			ICEServers []map[string]any `json:"ice_servers"`
		}
		if err := json.Unmarshal(j.Data, &out); err != nil || j.Type != "call_joined" {
			t.Fatalf("%s join: %s %s", name, j.Type, j.Data)
		}
		return out.ICEServers
	}
	if got := iceServers("ann"); len(got) != 0 {
		t.Fatalf("without the setting (and no TURN here): %v", got)
	}
	conf := []map[string]any{
		{"urls": []string{"turn:turn.example.net:3478?transport=udp"}, "username": "relay-user", "credential": "relay-secret"},
		{"urls": []string{"stun:stun.example.net:3478"}},
	}
	f.ts.mustDo("PATCH", "/api/v1/admin/settings", f.tokens["cat"], map[string]any{"ice_servers": conf}, nil, 200)
	got := iceServers("ben")
	b, _ := json.Marshal(got)
	if len(got) != 2 || !strings.Contains(string(b), `"turn:turn.example.net:3478?transport=udp"`) ||
		got[0]["username"] != "relay-user" || got[0]["credential"] != "relay-secret" ||
		!strings.Contains(string(b), `"stun:stun.example.net:3478"`) {
		t.Fatalf("call_joined ice_servers %s, want the configured ones", b)
	}
}

// public_ips replaces the host address in the SFU's ICE candidates for
// calls joined from then on.
func TestPublicIPsSettingInCandidates(t *testing.T) {
	f := newCallFixture(t)
	hostAddrs := func(p *callPeer) []string {
		t.Helper()
		var addrs []string
		waitFor(t, p.name+" gets the server's host candidates", 30*time.Second, func() bool {
			addrs = addrs[:0]
			for _, c := range p.serverCandidates() {
				// candidate:<foundation> <component> <proto> <priority> <address> <port> typ <type> …
				// (public_ips holds an IPv4 address: it stands in for the IPv4 ones.)
				if fs := strings.Fields(c); len(fs) >= 8 && fs[6] == "typ" && fs[7] == "host" {
					if a, err := netip.ParseAddr(fs[4]); err == nil && a.Is4() {
						addrs = append(addrs, fs[4])
					}
				}
			}
			return len(addrs) > 0
		})
		t.Logf("%s: the server's IPv4 host candidates: %v", p.name, addrs)
		slices.Sort(addrs)
		return slices.Compact(addrs)
	}
	ann := f.peer(t, "ann")
	ann.join(f.channel, true, false)
	if got := hostAddrs(ann); slices.Contains(got, "203.0.113.7") || !slices.Contains(got, "127.0.0.1") {
		t.Fatalf("before the setting the IPv4 host candidates are %v, want 127.0.0.1", got)
	}
	f.ts.mustDo("PATCH", "/api/v1/admin/settings", f.tokens["cat"], map[string]any{"public_ips": []string{"203.0.113.7"}}, nil, 200)
	ben := f.peer(t, "ben")
	ben.join(f.channel, true, false)
	if got := hostAddrs(ben); !slices.Equal(got, []string{"203.0.113.7"}) {
		t.Fatalf("with public_ips the IPv4 host candidates are %v, want only 203.0.113.7", got)
	}
}
