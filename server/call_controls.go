package server

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"calls/server/hub"
	"calls/store"
)

// In-call controls: raised hands, emoji reactions, the one screen share at
// a time, and the host's controls over others. Every frame is checked
// against the sender's participation; host actions against the host.

const (
	evCallHand        = "call_hand"
	evCallReaction    = "call_reaction"
	evCallScreen      = "call_screen"
	evCallHostRequest = "call_host_request" // to one participant: the host asks you to…
	evCallRemoved     = "call_removed"      // to one participant: the host removed you
	// reactionShownFor is how long a reaction floats; late joiners see the
	// ones younger than this.
	reactionShownFor = 8 * time.Second
)

type reaction struct {
	ParticipantID string    `json:"participant_id"`
	UserID        string    `json:"user_id"`
	Emoji         string    `json:"emoji"`
	At            time.Time `json:"at"`
}

// callFrame is the start of every in-call frame handler: the sender's
// participation in a call, and the frame decoded into f; or the error to
// answer (usage says what the frame needs).
func (s *Server) callFrame(c *hub.Client, data json.RawMessage, f any, usage string) (*member, *hub.Frame) {
	m := s.memberOf(c)
	if m == nil {
		return nil, frameError("not_in_call", "join a call first")
	}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, frameError("bad_frame", usage)
	}
	return m, nil
}

func (s *Server) handleCallHand(ctx context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	var f struct {
		Raised bool `json:"raised"`
	}
	m, bad := s.callFrame(c, data, &f, "call_hand needs {raised}")
	if bad != nil {
		return bad
	}
	s.setHand(ctx, m, f.Raised)
	return nil
}

// setHand raises or lowers a hand; hands stay in the order they went up.
func (s *Server) setHand(ctx context.Context, m *member, raised bool) {
	cl := m.call
	cl.mu.Lock()
	i := slices.Index(cl.hands, m.id)
	switch {
	case raised && i < 0:
		cl.hands = append(cl.hands, m.id)
	case !raised && i >= 0:
		cl.hands = slices.Delete(cl.hands, i, i+1)
	}
	hands := slices.Clone(cl.hands)
	cl.mu.Unlock()
	s.publishToRoom(ctx, cl.channelID, evCallHand, map[string]any{"call_id": cl.id, "participant_id": m.id,
		"user_id": m.userID, "raised": raised, "hands": hands})
}

func (s *Server) handleCallReaction(ctx context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	m := s.memberOf(c)
	if m == nil {
		return frameError("not_in_call", "join a call first")
	}
	var f struct {
		Emoji string `json:"emoji"`
	}
	if err := json.Unmarshal(data, &f); err != nil || validEmoji(f.Emoji) != nil {
		return frameError("bad_emoji", "call_reaction needs {emoji}: one emoji")
	}
	if ok, _ := s.typingLimit.Allow("reaction:" + m.id); !ok {
		return nil // a flood of reactions is trimmed, not an error
	}
	r := reaction{ParticipantID: m.id, UserID: m.userID, Emoji: f.Emoji, At: time.Now().UTC()}
	cl := m.call
	cl.mu.Lock()
	cl.reactions = append(recentReactions(cl.reactions), r)
	cl.mu.Unlock()
	s.publishToRoom(ctx, cl.channelID, evCallReaction, map[string]any{"call_id": cl.id, "reaction": r})
	return nil
}

// recentReactions drops reactions that no longer float.
func recentReactions(rs []reaction) []reaction {
	cut := time.Now().Add(-reactionShownFor)
	i := 0
	for i < len(rs) && rs[i].At.Before(cut) {
		i++
	}
	return append(rs[:0], rs[i:]...)
}

func (s *Server) handleCallScreen(ctx context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	var f struct {
		On bool `json:"on"`
	}
	m, bad := s.callFrame(c, data, &f, "call_screen needs {on}")
	if bad != nil {
		return bad
	}
	if f.On && !s.settingBool("screen_share_allowed") {
		return frameError("screen_share_disabled", "screen sharing is turned off in this workspace")
	}
	cl := m.call
	cl.mu.Lock()
	if f.On && cl.screenSharer != "" && cl.screenSharer != m.id {
		cl.mu.Unlock()
		return frameError("screen_busy", "someone else is sharing their screen; one at a time")
	}
	if f.On {
		cl.screenSharer = m.id
		if m.peer != nil {
			m.peer.PauseSource("screen", false) // a host's earlier stop no longer holds
		}
	} else if cl.screenSharer == m.id {
		cl.screenSharer = ""
	}
	cl.mu.Unlock()
	s.publishToRoom(ctx, cl.channelID, evCallScreen, map[string]any{"call_id": cl.id, "participant_id": m.id,
		"user_id": m.userID, "on": f.On})
	return nil
}

// handleCallHost carries out a host action on another participant.
func (s *Server) handleCallHost(ctx context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	var f struct {
		Action        string `json:"action"`
		ParticipantID string `json:"participant_id"`
	}
	m, bad := s.callFrame(c, data, &f, "call_host needs {action, participant_id}")
	if bad != nil {
		return bad
	}
	cl := m.call
	u, err := s.store.UserByID(ctx, c.UserID)
	if err != nil {
		return frameError("internal", "try again")
	}
	cl.mu.Lock()
	isHost := cl.hostID == u.ID || u.Role == store.RoleAdmin
	target := cl.members[f.ParticipantID]
	var everyone []*member
	for _, o := range cl.members {
		if o != m {
			everyone = append(everyone, o)
		}
	}
	cl.mu.Unlock()
	if !isHost {
		return frameError("not_host", "only the host can do that")
	}
	if f.Action == "mute_all" {
		for _, o := range everyone {
			s.hostMute(ctx, o)
		}
		return nil
	}
	if target == nil {
		return frameError("no_participant", "that participant is not in this call")
	}
	switch f.Action {
	case "mute":
		s.hostMute(ctx, target)
	case "ask_unmute":
		if target.stream != nil {
			s.streamUnmute(ctx, target)
			break
		}
		target.send(evCallHostRequest, map[string]string{"call_id": cl.id, "action": "unmute"})
	case "stop_screen":
		cl.mu.Lock()
		if cl.screenSharer == target.id {
			cl.screenSharer = ""
		}
		cl.mu.Unlock()
		if target.peer != nil {
			target.peer.PauseSource("screen", true)
		}
		target.send(evCallHostRequest, map[string]string{"call_id": cl.id, "action": "stop_screen"})
		s.publishToRoom(ctx, cl.channelID, evCallScreen, map[string]any{"call_id": cl.id, "participant_id": target.id,
			"user_id": target.userID, "on": false})
	case "lower_hand":
		s.setHand(ctx, target, false)
	case "remove":
		target.send(evCallRemoved, map[string]string{"call_id": cl.id})
		s.removeParticipant(ctx, target, "removed by the host")
	case "make_host":
		cl.mu.Lock()
		cl.hostID = target.userID
		cl.mu.Unlock()
		if err := s.store.SetCallHost(ctx, cl.id, target.userID); err != nil {
			s.log.Error("record host change", "err", err)
		}
		s.publishToRoom(ctx, cl.channelID, evCallHostChanged, map[string]string{"call_id": cl.id, "channel_id": cl.channelID, "host_id": target.userID})
	default:
		return frameError("bad_action", "action must be mute, mute_all, ask_unmute, stop_screen, lower_hand, remove or make_host")
	}
	return nil
}

// hostMute mutes a participant: their client is asked to mute, and the
// server stops forwarding their microphone until they unmute themselves.
func (s *Server) hostMute(ctx context.Context, m *member) {
	m.muted.Store(true)
	if m.peer != nil {
		m.peer.PauseSource("mic", true)
	}
	m.send(evCallHostRequest, map[string]string{"call_id": m.call.id, "action": "mute"})
	s.publishToRoom(ctx, m.call.channelID, evCallParticipantMuted, map[string]any{"call_id": m.call.id,
		"participant_id": m.id, "user_id": m.userID, "muted": true, "by_host": true})
}
