package server

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"calls/server/hub"
	"calls/store"
)

// Ringing happens in 1:1 DMs only. Starting a call there rings the other
// person on every device for --ring-timeout; the state machine lives here,
// on the server clock:
//
//	calling ──accept (callee joins)──▶ accepted
//	   │──decline (any callee device)─▶ declined   (optional reply posted in the DM)
//	   │──timeout───────────────────▶ missed     (a missed-call notice in the DM)
//	   └──caller leaves/ends────────▶ cancelled
//
// Dismiss silences one device and changes nothing else.

// Ring states.
const (
	ringCalling   = "calling"
	ringAccepted  = "accepted"
	ringDeclined  = "declined"
	ringMissed    = "missed"
	ringCancelled = "cancelled"
	ringDismissed = "dismissed"
)

const (
	evCallRinging   = "call_ringing"    // to the callee's devices
	evCallRingState = "call_ring_state" // to caller and callee
	// DefaultRingTimeout is --ring-timeout's default.
	DefaultRingTimeout = 30 * time.Second
)

// clock is the time source of timers that tests must control.
type clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) func() bool // returns stop
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// ring is one DM call ringing its callee.
type ring struct {
	callID, channelID  string
	callerID, calleeID string
	startedAt, expires time.Time
	state              string
	stop               func() bool
}

type ringer struct {
	mu    sync.Mutex
	rings map[string]*ring // call id → ring
}

type ringEvent struct {
	CallID    string    `json:"call_id"`
	ChannelID string    `json:"channel_id"`
	CallerID  string    `json:"caller_id"`
	CalleeID  string    `json:"callee_id"`
	State     string    `json:"state"`
	ExpiresAt time.Time `json:"expires_at"`
	TimeoutS  int       `json:"timeout_s"`
	// RemainingMS is set in the websocket hello only: how long the ring
	// has left on the server clock, whatever the device's clock says.
	RemainingMS int64 `json:"remaining_ms,omitempty"`
}

func (r *ring) event() ringEvent {
	return ringEvent{CallID: r.callID, ChannelID: r.channelID, CallerID: r.callerID, CalleeID: r.calleeID,
		State: r.state, ExpiresAt: r.expires, TimeoutS: int(r.expires.Sub(r.startedAt).Round(time.Second).Seconds())}
}

// startRinging rings the other member of a 1:1 DM whose call just started.
func (s *Server) startRinging(ctx context.Context, rm *room, cl *call, callerID string) {
	if rm.Kind != store.KindDM || !s.settingBool("ringing") {
		return
	}
	timeout := s.settingDuration("ring_timeout")
	members, err := s.store.ChannelMembers(ctx, rm.ID)
	if err != nil || len(members) != 2 {
		return
	}
	callee := members[0]
	if callee == callerID {
		callee = members[1]
	}
	now := s.clock.Now().UTC()
	r := &ring{callID: cl.id, channelID: rm.ID, callerID: callerID, calleeID: callee, startedAt: now,
		expires: now.Add(timeout), state: ringCalling}
	s.ringer.mu.Lock()
	s.ringer.rings[cl.id] = r
	r.stop = s.clock.AfterFunc(timeout, func() { s.endRing(context.Background(), cl.id, ringMissed, "") })
	s.ringer.mu.Unlock()
	ev := r.event()
	s.publish(evCallRinging, ev, []string{callee})
	s.publish(evCallRingState, ev, []string{callerID})
}

// endRing moves a ring out of "calling"; later transitions are ignored,
// so a decline racing the timeout has exactly one outcome.
func (s *Server) endRing(ctx context.Context, callID, state, reply string) bool {
	s.ringer.mu.Lock()
	r := s.ringer.rings[callID]
	if r == nil || r.state != ringCalling {
		s.ringer.mu.Unlock()
		return false
	}
	r.state = state
	delete(s.ringer.rings, callID)
	if r.stop != nil {
		r.stop()
	}
	s.ringer.mu.Unlock()

	// The DM message comes first, so whoever sees the new state finds it.
	switch state {
	case ringDeclined:
		if reply != "" {
			s.postAs(ctx, r.calleeID, r.channelID, store.NewPost{Message: reply})
		}
	case ringMissed:
		props, _ := json.Marshal(map[string]any{"call_id": r.callID, "caller_id": r.callerID, "callee_id": r.calleeID})
		s.postAs(ctx, r.callerID, r.channelID, store.NewPost{Type: "call_missed", Message: "Missed call", Props: props})
	}
	s.publish(evCallRingState, r.event(), []string{r.callerID, r.calleeID})
	if state == ringDeclined || state == ringMissed {
		s.endCallIfAlone(ctx, r)
	}
	return true
}

// endCallIfAlone ends a DM call nobody answered: the caller waits alone.
func (s *Server) endCallIfAlone(ctx context.Context, r *ring) {
	cl := s.runningCall(r.channelID)
	if cl == nil || cl.id != r.callID {
		return
	}
	cl.mu.Lock()
	alone := !cl.userPresent(r.calleeID)
	cl.mu.Unlock()
	if alone {
		s.endCall(ctx, r.channelID, endedNoAnswer)
	}
}

// postAs posts in a room on behalf of a user (ring replies, notices).
func (s *Server) postAs(ctx context.Context, userID, channelID string, np store.NewPost) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return
	}
	rm, err := s.room(ctx, u, channelID)
	if err != nil {
		return
	}
	if _, err := s.post(ctx, u, rm, np); err != nil {
		s.log.Warn("post for ringing", "err", err)
	}
}

// incomingRings lists the rings still calling a user, for the hello of a
// device that connects after the ring started, so that it rings too.
func (s *Server) incomingRings(userID string) []ringEvent {
	now := s.clock.Now()
	s.ringer.mu.Lock()
	defer s.ringer.mu.Unlock()
	out := []ringEvent{}
	for _, r := range s.ringer.rings {
		if r.calleeID != userID || r.state != ringCalling {
			continue
		}
		ev := r.event()
		ev.RemainingMS = max(r.expires.Sub(now).Milliseconds(), 1)
		out = append(out, ev)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ExpiresAt.Before(out[j].ExpiresAt) })
	return out
}

// ringFor returns the ringing call of a DM for the callee, if any.
func (s *Server) ringFor(callID string) *ring {
	s.ringer.mu.Lock()
	defer s.ringer.mu.Unlock()
	if r := s.ringer.rings[callID]; r != nil {
		cp := *r
		return &cp
	}
	return nil
}

type ringActionFrame struct {
	CallID string `json:"call_id"`
	Reply  string `json:"reply"`
}

// handleRingDecline: the callee declines on one device; every device of
// theirs stops ringing and the caller sees "declined".
func (s *Server) handleRingDecline(ctx context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	var f ringActionFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return frameError("bad_frame", "call_ring_decline needs {call_id, reply?}")
	}
	r := s.ringFor(f.CallID)
	if r == nil || r.calleeID != c.UserID {
		return frameError("no_ring", "that call is not ringing for you")
	}
	if len([]rune(f.Reply)) > 500 {
		return frameError("bad_frame", "reply is limited to 500 characters")
	}
	s.endRing(ctx, f.CallID, ringDeclined, f.Reply)
	return nil
}

// handleRingDismiss silences the ring on this device only.
func (s *Server) handleRingDismiss(ctx context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	var f ringActionFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return frameError("bad_frame", "call_ring_dismiss needs {call_id}")
	}
	r := s.ringFor(f.CallID)
	if r == nil || r.calleeID != c.UserID {
		return frameError("no_ring", "that call is not ringing for you")
	}
	r.state = ringDismissed
	b, _ := json.Marshal(r.event())
	return &hub.Frame{Type: evCallRingState, Data: b}
}
