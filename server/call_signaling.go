package server

import (
	"context"
	"encoding/json"
	"errors"

	"calls/server/hub"
	"calls/server/sfu"
	"calls/store"
	"calls/turn"
)

// Client → server call frames (docs/PROTOCOL.md). Every one is checked
// against the sender's participation: signaling for a call you are not in
// goes nowhere.

type callJoinFrame struct {
	ChannelID string `json:"channel_id"`
	Title     string `json:"title"`
}

func (s *Server) handleCallJoin(ctx context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	var f callJoinFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return frameError("bad_frame", "call_join needs {\"channel_id\"}")
	}
	if ok, _ := s.joinLimit.Allow(c.UserID); !ok {
		s.metrics.rateLimited.WithLabelValues("call_join").Inc()
		return frameError("rate_limited", "too many call joins; wait a few seconds")
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if err != nil || !u.Active() {
		return frameError("unauthorized", "log in again")
	}
	m, err := s.joinCall(ctx, c, u, f.ChannelID, f.Title)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			code := ae.Code
			if code == "not_found" {
				code = "no_access" // not a room you may read: you may not join its call
			}
			return frameError(code, ae.Message)
		}
		s.log.Error("call join", "err", err)
		return frameError("internal", "could not join the call")
	}
	b, _ := json.Marshal(map[string]any{"call": m.call.view(), "participant_id": m.id, "ice_servers": s.iceServers(c, u)})
	return &hub.Frame{Type: "call_joined", Data: b}
}

// iceServers are the STUN/TURN servers a client should use: the ones an
// admin set (ice_servers), else ours, with fresh short-lived credentials,
// named the way the client reaches us.
func (s *Server) iceServers(c *hub.Client, u *store.User) []turn.ICEServer {
	if configured := s.configuredICEServers(); len(configured) > 0 {
		return configured
	}
	if s.turn == nil {
		return []turn.ICEServer{}
	}
	h := c.Host
	if s.cfg.Domain != "" {
		h = s.cfg.Domain
	}
	return s.turn.ICEServers(h, u.ID)
}

func (s *Server) handleCallLeave(ctx context.Context, c *hub.Client) *hub.Frame {
	s.leaveCall(ctx, c)
	return nil
}

func (s *Server) handleCallSignal(ctx context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	m := s.memberOf(c)
	if m == nil || m.peer == nil {
		return frameError("not_in_call", "join a call first")
	}
	var sig sfu.Signal
	if err := json.Unmarshal(data, &sig); err != nil {
		return frameError("bad_signal", "call_signal needs {type, sdp|candidate}")
	}
	if err := m.peer.HandleSignal(sig); err != nil {
		if errors.Is(err, sfu.ErrBadSignal) {
			return frameError("bad_signal", err.Error())
		}
		s.log.Warn("call signaling", "participant", m.id, "err", err)
		return frameError("signal_failed", "the server could not apply that")
	}
	return nil
}

// mayPublish says whether m's track of this source is forwarded: a camera
// only while video_allowed; a screen share (and its audio) only from the
// participant the call's one screen slot went to (call_screen), while
// screen_share_allowed. call_track and call_screen refuse these already;
// this holds for a client that sends the track anyway (a video track it
// did not name counts as a camera). It is asked once per track, when its
// first packet arrives.
func (s *Server) mayPublish(m *member, source string) bool {
	switch source {
	case sfu.SourceCamera:
		return s.settingBool("video_allowed")
	case sfu.SourceScreen, sfu.SourceScreenAudio:
		if !s.settingBool("screen_share_allowed") {
			return false
		}
		m.call.mu.Lock()
		defer m.call.mu.Unlock()
		return m.call.screenSharer == m.id
	}
	return true
}

type callTrackFrame struct {
	TrackID string `json:"track_id"`
	Source  string `json:"source"`
}

func (s *Server) handleCallTrack(ctx context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	m := s.memberOf(c)
	if m == nil || m.peer == nil {
		return frameError("not_in_call", "join a call first")
	}
	var f callTrackFrame
	if err := json.Unmarshal(data, &f); err != nil || f.TrackID == "" || len(f.TrackID) > 128 {
		return frameError("bad_frame", "call_track needs {track_id, source}")
	}
	if f.Source == sfu.SourceCamera && !s.settingBool("video_allowed") {
		return frameError("video_disabled", "cameras are turned off for calls in this workspace")
	}
	if err := m.peer.SetTrackSource(f.TrackID, f.Source); err != nil {
		return frameError("bad_frame", err.Error())
	}
	return nil
}

type callMuteFrame struct {
	Muted bool `json:"muted"`
}

func (s *Server) handleCallMute(ctx context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	m := s.memberOf(c)
	if m == nil {
		return frameError("not_in_call", "join a call first")
	}
	var f callMuteFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return frameError("bad_frame", "call_mute needs {muted}")
	}
	m.muted.Store(f.Muted)
	if !f.Muted && m.peer != nil {
		m.peer.PauseSource("mic", false) // unmuting lifts a host mute too
	}
	s.publishToRoom(ctx, m.call.channelID, evCallParticipantMuted, map[string]any{"call_id": m.call.id,
		"participant_id": m.id, "user_id": m.userID, "muted": f.Muted})
	return nil
}

// handleCallEnd ends the call for everyone: its host or an admin.
func (s *Server) handleCallEnd(ctx context.Context, c *hub.Client) *hub.Frame {
	m := s.memberOf(c)
	if m == nil {
		return frameError("not_in_call", "join a call first")
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if err != nil {
		return frameError("internal", "try again")
	}
	m.call.mu.Lock()
	host := m.call.hostID
	m.call.mu.Unlock()
	if host != u.ID && u.Role != store.RoleAdmin {
		return frameError("not_host", "only the host or an admin can end the call for everyone")
	}
	s.endCall(ctx, m.call.channelID, endedByHost)
	return nil
}
