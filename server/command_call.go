package server

import (
	"net/http"
	"strings"

	"calls/store"
)

// /call start|join|leave|end|link. Joining needs the websocket (media goes
// with it), so start/join/leave answer with an action the web client
// carries out; end and link are done here.
var cmdCall = &command{
	Name:  "call",
	Usage: "/call start [title] | join | leave | end | link | recording start|stop",
	Help:  "start or join this room's call, leave it, end it for everyone (host), or get its link",
	Run: func(cc *commandCall) (*commandResult, error) {
		sub, rest, _ := strings.Cut(cc.args, " ")
		sub = strings.ToLower(sub)
		if (sub == "start" || sub == "join") && !cc.s.callsAllowedIn(cc.room.Kind) {
			return nil, errCallsDisabled(cc.room.Kind)
		}
		switch sub {
		case "start":
			if err := cc.room.canPost(); err != nil {
				return nil, err
			}
			title := strings.TrimSpace(rest)
			if cl := cc.s.runningCall(cc.room.ID); cl != nil {
				return &commandResult{Text: "A call is already running here: joining it.", Ephemeral: true, Action: "call_join"}, nil
			}
			return &commandResult{Text: "Starting a call…", Ephemeral: true, Action: "call_join", Title: title}, nil
		case "join":
			if cc.s.runningCall(cc.room.ID) == nil {
				return reply("No call is running here. Start one with /call start."), nil
			}
			return &commandResult{Text: "Joining the call…", Ephemeral: true, Action: "call_join"}, nil
		case "leave":
			return &commandResult{Text: "Leaving the call.", Ephemeral: true, Action: "call_leave"}, nil
		case "end":
			cl := cc.s.runningCall(cc.room.ID)
			if cl == nil {
				return reply("No call is running here."), nil
			}
			cl.mu.Lock()
			host := cl.hostID
			cl.mu.Unlock()
			if host != cc.user.ID && cc.user.Role != store.RoleAdmin {
				return nil, errorf(http.StatusForbidden, "not_host", "only the host or an admin can end the call for everyone")
			}
			cc.s.endCall(cc.ctx, cc.room.ID)
			return reply("The call has ended for everyone."), nil
		case "link":
			return reply("%s", callLink(cc.r, cc.room.ID)), nil
		case "recording":
			cl := cc.s.runningCall(cc.room.ID)
			if cl == nil {
				return reply("No call is running here."), nil
			}
			on := strings.TrimSpace(strings.ToLower(rest)) == "start"
			if !on && strings.TrimSpace(strings.ToLower(rest)) != "stop" {
				return reply("Usage: /call recording start|stop"), nil
			}
			if err := cc.s.setRecording(cc.ctx, cl, cc.user, on); err != nil {
				return nil, err
			}
			if on {
				return reply("Recording started."), nil
			}
			return reply("Recording stopped; the file will be posted in the call's thread."), nil
		}
		return reply("Usage: %s", "/call start [title] | join | leave | end | link | recording start|stop"), nil
	},
}

// callLink is the room's permanent call address: the same for every call
// of the room, dead once the room is archived or deleted.
func callLink(r *http.Request, channelID string) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host + "/call/" + channelID
}

// callLinkPage serves /call/{id}: the app (which joins the call) while the
// room lives, 410 Gone once it is archived or deleted. Whether the visitor
// may join is the app's business after login: it asks the API, which
// answers a clear "no access".
func (s *Server) callLinkPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		http.Error(w, "404 no such call link", http.StatusNotFound)
		return
	}
	c, err := s.store.ChannelByID(r.Context(), id)
	if err != nil {
		http.Error(w, "404 no such call link", http.StatusNotFound)
		return
	}
	if c.DeletedAt != nil || c.ArchivedAt != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusGone)
		_, _ = w.Write([]byte("410 This call link no longer works: its room was archived or deleted.\n"))
		return
	}
	if s.ui != nil {
		s.ui.ServeHTTP(w, r)
	}
}
