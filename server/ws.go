package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"calls/server/hub"
)

// MaxClientsPerUser caps one user's open websockets (tabs and devices).
const MaxClientsPerUser = 20

// websocket serves GET /api/v1/ws. The Origin must match the Host (the
// websocket library's default), so another site cannot ride a user's cookie.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request, p *principal) {
	var since uint64
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.writeError(w, r, errorf(http.StatusBadRequest, "bad_since", "since must be the last seq number seen"))
			return
		}
		since = n
	}
	// Register before the upgrade: the per-user cap is checked under the
	// hub's lock together with adding the client, so two connections cannot
	// both take the last place.
	c := s.hub.NewClient(p.User.ID, p.SessionHash)
	hello := map[string]any{"user": p.User, "server_time": time.Now().UTC(), "rings": s.incomingRings(p.User.ID)}
	if err := s.hub.Register(c, since, hello); err != nil {
		if errors.Is(err, hub.ErrTooManyClients) {
			s.metrics.rateLimited.WithLabelValues("ws_connections").Inc()
			s.writeError(w, r, errorf(http.StatusTooManyRequests, "too_many_connections",
				"you have %d connections open; close a tab or device", MaxClientsPerUser))
			return
		}
		s.writeError(w, r, errorf(http.StatusServiceUnavailable, "shutting_down", "the server is restarting; reconnect in a moment"))
		return
	}
	// The http.Server's read/write timeouts would cut a long-lived connection.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	c.Host = hostOnly(r.Host)
	if err := c.Accept(w, r, nil); err != nil {
		s.hub.Unregister(c)
		s.metrics.wsRejected.Inc()
		return // Accept has answered (e.g. 403 for a foreign Origin)
	}
	s.log.Debug("websocket connected", "user", p.User.Username)
	// The client gets a goroutine of its own and this one ends, so that
	// nothing of the HTTP request (its buffers, headers, the middleware's
	// state) stays with the connection for its life.
	go s.runClient(c, p.User.Username, p.SessionHash)
}

func (s *Server) runClient(c *hub.Client, username, sessionHash string) {
	// Not the request's context: that ends with this handler. Shutdown
	// closes clients through the hub (Hub.Shutdown), telling them first.
	c.Run(context.Background(), s.handleFrame, s.sessionValid(sessionHash))
	s.log.Debug("websocket closed", "user", username)
}

// handleFrame answers one client frame. An error answer names the frame it
// answers in "request", so a client with several requests in flight knows
// which one failed.
func (s *Server) handleFrame(ctx context.Context, c *hub.Client, f hub.Frame) *hub.Frame {
	reply := s.dispatchFrame(ctx, c, f)
	if reply != nil && reply.Type == "error" {
		var data map[string]any
		if json.Unmarshal(reply.Data, &data) == nil && data != nil {
			data["request"] = f.Type
			if b, err := json.Marshal(data); err == nil {
				reply.Data = b
			}
		}
	}
	return reply
}

// dispatchFrame hands a client frame to its handler.
func (s *Server) dispatchFrame(ctx context.Context, c *hub.Client, f hub.Frame) *hub.Frame {
	// A client flooding the server is cut off: 300 frames at once, then
	// 100 a second, is far above what any real client sends.
	if ok, _ := s.frameLimit.Allow(c.UserID); !ok {
		s.metrics.rateLimited.WithLabelValues("ws_frames").Inc()
		c.Close("flooding: too many messages")
		return nil
	}
	switch f.Type {
	case "ping":
		return &hub.Frame{Type: "pong"}
	case "typing":
		return s.handleTyping(ctx, c, f.Data)
	case "presence":
		return s.handlePresenceFrame(ctx, c, f.Data)
	case "call_join":
		return s.handleCallJoin(ctx, c, f.Data)
	case "call_leave":
		return s.handleCallLeave(ctx, c)
	case "call_signal":
		return s.handleCallSignal(ctx, c, f.Data)
	case "call_track":
		return s.handleCallTrack(ctx, c, f.Data)
	case "call_mute":
		return s.handleCallMute(ctx, c, f.Data)
	case "call_end":
		return s.handleCallEnd(ctx, c)
	case "call_hand":
		return s.handleCallHand(ctx, c, f.Data)
	case "call_reaction":
		return s.handleCallReaction(ctx, c, f.Data)
	case "call_screen":
		return s.handleCallScreen(ctx, c, f.Data)
	case "call_host":
		return s.handleCallHost(ctx, c, f.Data)
	case "call_record":
		return s.handleCallRecord(ctx, c, f.Data)
	case "call_ring_decline":
		return s.handleRingDecline(ctx, c, f.Data)
	case "call_ring_dismiss":
		return s.handleRingDismiss(ctx, c, f.Data)
	default:
		return &hub.Frame{Type: "error", Data: []byte(`{"code":"unknown_type","error":"unknown frame type"}`)}
	}
}
