package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"calls/server/auth"
	"calls/server/hub"
	"calls/store"
)

// createAPIToken makes a long-lived token for a bot or integration. Only
// an admin, or the user themself, may; the token is shown once.
func (s *Server) createAPIToken(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if id != p.User.ID && p.User.Role != store.RoleAdmin {
		s.writeError(w, r, errForbidden)
		return
	}
	u, err := s.activeUser(r, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := validText("name", req.Name, 64); err != nil {
		s.writeError(w, r, err)
		return
	}
	tok, hash := auth.NewToken()
	if err := s.store.CreateAPIToken(r.Context(), hash, u.ID, req.Name); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("api token created", "user", u.Username, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, map[string]string{"token": tok, "name": req.Name, "user_id": u.ID})
}

// createWebhook makes an incoming webhook for a room the caller may post
// in. Messages sent to it are posted as the caller (give a bot a token and
// have the bot create it to post as the bot).
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := rm.canPost(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.User.Role == store.RoleGuest {
		s.writeError(w, r, errorf(http.StatusForbidden, "guest", "guests cannot create webhooks"))
		return
	}
	var req struct {
		DisplayName string `json:"display_name"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	tok, hash := auth.NewToken()
	hook, err := s.store.CreateWebhook(r.Context(), hash, rm.ID, p.User.ID, p.User.ID, req.DisplayName)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": hook.ID, "token": tok, "url": "/api/v1/hooks/" + tok})
}

// postWebhook posts {"text"} through an incoming webhook. The token in the
// URL is the only credential, as in Mattermost and Rocket.Chat.
func (s *Server) postWebhook(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	if len(tok) > 128 {
		s.writeError(w, r, errNotFound)
		return
	}
	hook, err := s.store.WebhookByToken(r.Context(), auth.HashToken(tok))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Text string `json:"text"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.store.UserByID(r.Context(), hook.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !u.Active() {
		s.writeError(w, r, errorf(http.StatusForbidden, "deactivated", "the webhook's user is deactivated"))
		return
	}
	// The hook's user must still be allowed to post there.
	rm, err := s.room(r.Context(), u, hook.ChannelID)
	if err != nil {
		s.writeError(w, r, errorf(http.StatusGone, "room_gone", "the webhook's room is gone or no longer open to its user"))
		return
	}
	props, _ := json.Marshal(map[string]string{"from_webhook": hook.ID, "override_username": hook.DisplayName})
	post, err := s.post(r.Context(), u, rm, store.NewPost{Message: req.Text, Props: props})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"post_id": post.ID})
}

type typingFrame struct {
	ChannelID string `json:"channel_id"`
	RootID    string `json:"root_id"`
}

// handleTyping relays "user is typing" to the room's other members.
func (s *Server) handleTyping(ctx context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	var f typingFrame
	if err := json.Unmarshal(data, &f); err != nil || !store.ValidID(f.ChannelID) || (f.RootID != "" && !store.ValidID(f.RootID)) {
		return frameError("bad_typing", "typing needs a channel_id (and optional root_id)")
	}
	if ok, _ := s.typingLimit.Allow(c.UserID + f.ChannelID); !ok {
		return nil // typing is a hint; extra ones are dropped silently
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if err != nil {
		return nil
	}
	rm, err := s.room(ctx, u, f.ChannelID)
	if errors.Is(err, errNotFound) || err != nil || !rm.member {
		return frameError("not_found", "no such room")
	}
	members, err := s.store.ChannelMembers(ctx, rm.ID)
	if err != nil {
		return nil
	}
	others := members[:0]
	for _, m := range members {
		if m != c.UserID {
			others = append(others, m)
		}
	}
	s.publish(evTyping, map[string]string{"channel_id": rm.ID, "root_id": f.RootID, "user_id": c.UserID}, others)
	return nil
}
