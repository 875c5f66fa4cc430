package server

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"calls/server/hub"
)

// presence tracks who is online (any websocket client), away (all their
// clients report idle) or offline (none), and announces changes to the
// user's own clients and to everyone who shares a room with them — the
// people who see them in a member list or a DM, and the same rule by which
// a guest may list users.
//
// Changes are announced in batches, presenceBatch after the first: a page
// reload (offline, then online again) announces nothing, and a crowd
// connecting at once (every client after a restart) costs one lookup per
// user rather than a broadcast to every connected client each, which with
// 10,000 clients was 50 million frames (docs/PERFORMANCE.md).
type presence struct {
	mu       sync.Mutex
	last     map[string]string   // user id → last announced status (online users only)
	dirty    map[string]struct{} // users whose clients changed since the last batch
	flushing bool                // a batch is scheduled or being announced
}

// presenceBatch is how long changes gather before they are announced.
const presenceBatch = time.Second

type presenceEvent struct {
	UserID string `json:"user_id"`
	Status string `json:"status"`
}

func (s *Server) presenceStatus(userID string) string {
	return s.hub.Status(userID)
}

// presenceChanged is called by the hub when a user's clients come or go,
// and when one changes idle state; the change is announced with the next
// batch if the user's status then differs from the last one announced.
func (s *Server) presenceChanged(userID string) {
	p := &s.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dirty == nil {
		p.dirty = map[string]struct{}{}
	}
	p.dirty[userID] = struct{}{}
	if !p.flushing {
		p.flushing = true
		time.AfterFunc(presenceBatch, s.announcePresence)
	}
}

// announcePresence publishes the batch of changes gathered so far; one runs
// at a time, so announcements keep their order.
func (s *Server) announcePresence() {
	p := &s.presence
	p.mu.Lock()
	users := p.dirty
	p.dirty = nil
	var changes []presenceEvent
	for u := range users {
		st := s.hub.Status(u)
		prev, ok := p.last[u]
		if !ok {
			prev = hub.StatusOffline
		}
		if st == prev {
			continue
		}
		if st == hub.StatusOffline {
			delete(p.last, u)
		} else {
			if p.last == nil {
				p.last = map[string]string{}
			}
			p.last[u] = st
		}
		changes = append(changes, presenceEvent{UserID: u, Status: st})
	}
	p.mu.Unlock()

	if len(changes) > 0 && !s.hub.Closed() {
		s.publishPresence(changes)
		s.recordLastSeen(changes)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.dirty) > 0 {
		time.AfterFunc(presenceBatch, s.announcePresence)
	} else {
		p.flushing = false
	}
}

// recordLastSeen keeps when users were last seen (the admin's user list):
// every status change of the batch, in one write.
func (s *Server) recordLastSeen(changes []presenceEvent) {
	ids := make([]string, len(changes))
	for i, c := range changes {
		ids[i] = c.UserID
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.store.TouchLastSeen(ctx, ids, time.Now()); err != nil && !s.hub.Closed() {
		s.log.Warn("presence: record last seen", "err", err)
	}
}

func (s *Server) publishPresence(changes []presenceEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rooms := map[string][]string{} // room id → members, read once per batch
	for _, ev := range changes {
		audience, err := s.presenceAudience(ctx, ev.UserID, rooms)
		if err != nil {
			if !s.hub.Closed() {
				s.log.Warn("presence: find who shares a room", "user", ev.UserID, "err", err)
			}
			continue
		}
		s.publish(evPresence, ev, audience)
	}
}

// presenceAudience lists the user and everyone who shares a room with them.
func (s *Server) presenceAudience(ctx context.Context, userID string, rooms map[string][]string) ([]string, error) {
	mine, err := s.store.ChannelsForUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	audience := []string{userID}
	for _, c := range mine {
		if c.Members != nil { // a DM or group DM names its members
			audience = append(audience, c.Members...)
			continue
		}
		members, ok := rooms[c.ID]
		if !ok {
			if members, err = s.store.ChannelMembers(ctx, c.ID); err != nil {
				return nil, err
			}
			rooms[c.ID] = members
		}
		audience = append(audience, members...)
	}
	return audience, nil
}

type presenceFrame struct {
	Status string `json:"status"`
}

func (s *Server) handlePresenceFrame(_ context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	var f presenceFrame
	if err := json.Unmarshal(data, &f); err != nil || (f.Status != hub.StatusOnline && f.Status != hub.StatusAway) {
		return frameError("bad_presence", `presence status must be "online" or "away"`)
	}
	c.SetAway(f.Status == hub.StatusAway)
	s.presenceChanged(c.UserID)
	return nil
}

func frameError(code, msg string) *hub.Frame {
	b, _ := json.Marshal(map[string]string{"code": code, "error": msg})
	return &hub.Frame{Type: "error", Data: b}
}
