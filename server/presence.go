package server

import (
	"context"
	"encoding/json"
	"sync"

	"calls/server/hub"
)

// presence tracks who is online (any websocket client), away (all their
// clients report idle) or offline (none), and announces changes.
type presence struct {
	mu   sync.Mutex
	last map[string]string // user id → last announced status
}

func (s *Server) presenceStatus(userID string) string {
	return s.hub.Status(userID)
}

// presenceChanged is called by the hub when a user's clients come, go or
// change idle state; it publishes the new status if it differs.
func (s *Server) presenceChanged(userID string) {
	st := s.hub.Status(userID)
	s.presence.mu.Lock()
	if s.presence.last[userID] == st {
		s.presence.mu.Unlock()
		return
	}
	if st == hub.StatusOffline {
		delete(s.presence.last, userID)
	} else {
		s.presence.last[userID] = st
	}
	s.presence.mu.Unlock()
	if _, err := s.hub.Publish(evPresence, map[string]string{"user_id": userID, "status": st}, nil); err != nil {
		s.log.Error("publish presence", "err", err)
	}
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
