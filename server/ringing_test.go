package server

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"calls/store"
)

// fakeClock runs timers only when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.now) {
			t.stopped = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

type ringFixture struct {
	ts       *testServer
	clock    *fakeClock
	dm       string
	ann, ben *store.User
	annT     string
	benT     string
}

func newRingFixture(t *testing.T) *ringFixture {
	ts := startServer(t)
	fc := &fakeClock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	ts.clock = fc
	f := &ringFixture{ts: ts, clock: fc}
	f.ann, f.ben = ts.addUser("ann", store.RoleMember), ts.addUser("ben", store.RoleMember)
	f.annT, f.benT = ts.login("ann"), ts.login("ben")
	var dm store.Channel
	ts.mustDo("POST", "/api/v1/dms", f.annT, map[string]any{"user_ids": []string{f.ben.ID}}, &dm, 201)
	f.dm = dm.ID
	return f
}

func ringState(t *testing.T, p *callPeer) ringEvent {
	t.Helper()
	var ev ringEvent
	json.Unmarshal(p.event("call_ring_state").Data, &ev)
	return ev
}

func TestRingTimeoutIsMissed(t *testing.T) {
	f := newRingFixture(t)
	ben1 := newCallPeer(t, f.ts, "ben1", f.benT)
	ann := newCallPeer(t, f.ts, "ann", f.annT)
	ann.join(f.dm, true, false)
	var ringing ringEvent
	json.Unmarshal(ben1.event("call_ringing").Data, &ringing)
	if ringing.CallerID != f.ann.ID || ringing.TimeoutS != 30 || !ringing.ExpiresAt.Equal(f.clock.Now().Add(30*time.Second)) {
		t.Fatalf("ringing %+v", ringing)
	}
	if st := ringState(t, ann); st.State != ringCalling {
		t.Fatalf("caller state %s", st.State)
	}
	f.clock.Advance(29 * time.Second)
	select {
	case fr := <-ben1.events:
		if fr.Type == "call_ring_state" {
			t.Fatalf("ring ended early: %s", fr.Data)
		}
	case <-time.After(100 * time.Millisecond):
	}
	f.clock.Advance(time.Second)
	if st := ringState(t, ann); st.State != ringMissed {
		t.Fatalf("caller sees %s, want missed", st.State)
	}
	if st := ringState(t, ben1); st.State != ringMissed {
		t.Fatalf("callee sees %s, want missed", st.State)
	}
	ann.event("call_ended") // nobody answered: the lonely call ends

	// The callee has a missed-call notice, counted like a mention.
	var sb struct{ Channels []*store.SidebarChannel }
	f.ts.mustDo("GET", "/api/v1/channels", f.benT, nil, &sb, 200)
	var posts struct{ Posts []*postView }
	f.ts.mustDo("GET", "/api/v1/channels/"+f.dm+"/posts", f.benT, nil, &posts, 200)
	if posts.Posts[0].Type != "call_missed" {
		t.Fatalf("newest DM post is %q, want call_missed", posts.Posts[0].Type)
	}
	var dm *store.SidebarChannel
	for _, c := range sb.Channels {
		if c.ID == f.dm {
			dm = c
		}
	}
	if dm == nil {
		t.Fatalf("the DM %s is missing from the callee's sidebar", f.dm)
	}
	if dm.Unread < 1 || dm.MentionCount < 1 {
		t.Fatalf("missed call is not unread and a mention for the callee: unread %d, mentions %d", dm.Unread, dm.MentionCount)
	}
}

func TestRingDeclineStopsEveryDeviceDismissOnlyOne(t *testing.T) {
	f := newRingFixture(t)
	ben1 := newCallPeer(t, f.ts, "ben1", f.benT)
	ben2 := newCallPeer(t, f.ts, "ben2", f.ts.login("ben"))
	ann := newCallPeer(t, f.ts, "ann", f.annT)
	ann.join(f.dm, true, false)
	var ringing ringEvent
	json.Unmarshal(ben1.event("call_ringing").Data, &ringing)
	ben2.event("call_ringing")
	ringState(t, ann) // calling

	// Dismiss on ben1: only ben1 is told; the caller still sees "calling".
	ben1.send("call_ring_dismiss", map[string]string{"call_id": ringing.CallID})
	if st := ringState(t, ben1); st.State != ringDismissed {
		t.Fatalf("ben1 after dismiss: %s", st.State)
	}
	select {
	case fr := <-ben2.events:
		if fr.Type == "call_ring_state" {
			t.Fatalf("dismiss on one device reached another: %s", fr.Data)
		}
	case <-time.After(200 * time.Millisecond):
	}

	// Decline on ben2 with a reply: ringing stops on both devices, the
	// caller sees declined, the reply lands in the DM.
	ben2.send("call_ring_decline", map[string]string{"call_id": ringing.CallID, "reply": "Can't talk now, I'll call you back"})
	for _, p := range []*callPeer{ben1, ben2, ann} {
		if st := ringState(t, p); st.State != ringDeclined {
			t.Fatalf("%s sees %s, want declined", p.name, st.State)
		}
	}
	var posts struct{ Posts []*postView }
	f.ts.mustDo("GET", "/api/v1/channels/"+f.dm+"/posts", f.annT, nil, &posts, 200)
	found := false
	for _, p := range posts.Posts {
		found = found || (p.UserID == f.ben.ID && strings.Contains(p.Message, "call you back"))
	}
	if !found {
		t.Fatal("decline reply not posted in the DM")
	}
	// Only the callee may decline.
	ann.send("call_ring_decline", map[string]string{"call_id": ringing.CallID})
	if e := ann.event("error"); !strings.Contains(string(e.Data), "no_ring") {
		t.Fatalf("caller declining: %s", e.Data)
	}
}

func TestRingAcceptJoinsAndNoRingOutsideDMs(t *testing.T) {
	f := newRingFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ben := newCallPeer(t, f.ts, "ben", f.benT)
	ann := newCallPeer(t, f.ts, "ann", f.annT)
	ann.join(f.dm, true, false)
	ann.publish(ctx)
	ben.event("call_ringing")
	ringState(t, ann)
	ben.join(f.dm, true, false)
	if st := ringState(t, ann); st.State != ringAccepted {
		t.Fatalf("caller sees %s, want accepted", st.State)
	}
	waitFor(t, "ben hears ann", 10*time.Second, ben.heard(ann.pid, "mic", 6))
	f.clock.Advance(time.Minute) // the timer was stopped: no "missed" now
	select {
	case fr := <-ann.events:
		if fr.Type == "call_ring_state" {
			t.Fatalf("ring event after accept: %s", fr.Data)
		}
	case <-time.After(200 * time.Millisecond):
	}

	// A group DM does not ring.
	cat := f.ts.addUser("cat", store.RoleMember)
	var g store.Channel
	f.ts.mustDo("POST", "/api/v1/dms", f.annT, map[string]any{"user_ids": []string{f.ben.ID, cat.ID}}, &g, 201)
	catP := newCallPeer(t, f.ts, "cat", f.ts.login("cat"))
	ann2 := newCallPeer(t, f.ts, "ann2", f.annT)
	ann2.join(g.ID, true, false)
	catP.event("call_started")
	select {
	case fr := <-catP.events:
		if fr.Type == "call_ringing" {
			t.Fatal("a group DM rang")
		}
	case <-time.After(300 * time.Millisecond):
	}
}

func TestRingCancelledWhenCallerLeaves(t *testing.T) {
	f := newRingFixture(t)
	ben1 := newCallPeer(t, f.ts, "ben1", f.benT)
	ben2 := newCallPeer(t, f.ts, "ben2", f.ts.login("ben"))
	ann := newCallPeer(t, f.ts, "ann", f.annT)
	ann.join(f.dm, true, false)
	ben1.event("call_ringing")
	ben2.event("call_ringing")
	if st := ringState(t, ann); st.State != ringCalling {
		t.Fatalf("caller state %s", st.State)
	}

	// The caller gives up before anyone answers: the ring is cancelled
	// everywhere, on both of the callee's devices and at the caller.
	ann.send("call_leave", nil)
	for _, p := range []*callPeer{ben1, ben2, ann} {
		if st := ringState(t, p); st.State != ringCancelled {
			t.Fatalf("%s sees %s, want cancelled", p.name, st.State)
		}
	}
	ann.event("call_ended")

	// The timeout passing later changes nothing: no "missed", no notice.
	f.clock.Advance(time.Minute)
	for _, p := range []*callPeer{ben1, ben2, ann} {
		noFrame(t, p, "call_ring_state", 300*time.Millisecond)
	}
	var posts struct{ Posts []*postView }
	f.ts.mustDo("GET", "/api/v1/channels/"+f.dm+"/posts", f.benT, nil, &posts, 200)
	for _, p := range posts.Posts {
		if p.Type == "call_missed" {
			t.Fatalf("a cancelled call left a missed-call notice: %+v", p)
		}
	}
}

// noFrame fails if a frame of the type arrives within d.
func noFrame(t *testing.T, p *callPeer, typ string, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case fr, ok := <-p.events:
			if !ok {
				return
			}
			if fr.Type == typ {
				t.Fatalf("%s: unexpected %s: %s", p.name, typ, fr.Data)
			}
		case <-timeout:
			return
		}
	}
}

func TestRingReachesADeviceThatConnectsLater(t *testing.T) {
	f := newRingFixture(t)
	ben1 := newCallPeer(t, f.ts, "ben1", f.benT)
	ann := newCallPeer(t, f.ts, "ann", f.annT)
	ann.join(f.dm, true, false)
	var ringing ringEvent
	json.Unmarshal(ben1.event("call_ringing").Data, &ringing)
	ringState(t, ann)

	// Ten seconds into the ring, ben opens the app on another device: its
	// hello carries the ring with the time it has left.
	f.clock.Advance(10 * time.Second)
	helloOf := func(p *callPeer) []ringEvent {
		t.Helper()
		var hello struct {
			Rings []ringEvent `json:"rings"`
		}
		if err := json.Unmarshal(p.event("hello").Data, &hello); err != nil {
			t.Fatal(err)
		}
		return hello.Rings
	}
	ben2 := newCallPeer(t, f.ts, "ben2", f.ts.login("ben"))
	rings := helloOf(ben2)
	if len(rings) != 1 {
		t.Fatalf("the late device's hello has %d rings, want 1: %+v", len(rings), rings)
	}
	r := rings[0]
	if r.CallID != ringing.CallID || r.ChannelID != f.dm || r.CallerID != f.ann.ID || r.CalleeID != f.ben.ID ||
		r.State != ringCalling || !r.ExpiresAt.Equal(ringing.ExpiresAt) || r.RemainingMS != 20_000 {
		t.Fatalf("ring in the hello %+v, want call %s expiring at %v with 20000 ms left", r, ringing.CallID, ringing.ExpiresAt)
	}
	// The caller's own devices are not rung.
	if rings := helloOf(newCallPeer(t, f.ts, "ann2", f.ts.login("ann"))); len(rings) != 0 {
		t.Fatalf("the caller's hello has rings: %+v", rings)
	}

	// The late device hears the end of the ring like the others, and once
	// the ring is over a new device's hello has none.
	f.clock.Advance(20 * time.Second)
	if st := ringState(t, ben2); st.State != ringMissed {
		t.Fatalf("late device sees %s, want missed", st.State)
	}
	if rings := helloOf(newCallPeer(t, f.ts, "ben3", f.ts.login("ben"))); len(rings) != 0 {
		t.Fatalf("a hello after the ring ended has rings: %+v", rings)
	}
}
