package server

import (
	"context"
	"net/http"
	"time"
)

// routes is the one routing table of the server.
func (s *Server) routes() http.Handler {
	mux := &routeMux{ServeMux: http.NewServeMux()}

	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.handler())

	mux.HandleFunc("GET /api/v1/setup", s.setupStatus)
	mux.HandleFunc("POST /api/v1/setup", s.setup)
	mux.HandleFunc("POST /api/v1/auth/login", s.login)
	mux.HandleFunc("POST /api/v1/auth/logout", s.authed(s.logout))
	mux.HandleFunc("POST /api/v1/auth/signup", s.signup)
	mux.HandleFunc("GET /api/v1/invites/{token}", s.getInvite)
	mux.HandleFunc("POST /api/v1/invites/{token}", s.acceptInvite)
	mux.HandleFunc("GET /api/v1/reset/{token}", s.getPasswordReset)
	mux.HandleFunc("POST /api/v1/reset/{token}", s.usePasswordReset)
	mux.HandleFunc("GET /api/v1/users/me", s.authed(s.me))
	mux.HandleFunc("GET /api/v1/users", s.authed(s.listUsers))
	mux.HandleFunc("POST /api/v1/users", s.adminOnly(s.createUser))
	mux.HandleFunc("GET /api/v1/users/{id}", s.authed(s.getUser))
	mux.HandleFunc("PUT /api/v1/users/{id}/active", s.adminOnly(s.setUserActive))
	mux.HandleFunc("POST /api/v1/users/{id}/tokens", s.authed(s.createAPIToken))
	mux.HandleFunc("GET /api/v1/admin/users", s.adminOnly(s.adminListUsers))
	mux.HandleFunc("PATCH /api/v1/admin/users/{id}", s.adminOnly(s.adminPatchUser))
	mux.HandleFunc("POST /api/v1/admin/users/{id}/reset-link", s.adminOnly(s.adminResetLink))
	mux.HandleFunc("GET /api/v1/admin/invites", s.adminOnly(s.adminListInvites))
	mux.HandleFunc("POST /api/v1/admin/invites", s.adminOnly(s.adminCreateInvite))
	mux.HandleFunc("DELETE /api/v1/admin/invites/{id}", s.adminOnly(s.adminRevokeInvite))
	mux.HandleFunc("GET /api/v1/ws", s.authed(s.websocket))

	mux.HandleFunc("GET /api/v1/teams", s.authed(s.listTeams))
	mux.HandleFunc("POST /api/v1/teams", s.authed(s.createTeam))
	mux.HandleFunc("GET /api/v1/teams/{id}/members", s.authed(s.teamMembers))
	mux.HandleFunc("POST /api/v1/teams/{id}/members", s.authed(s.addTeamMember))
	mux.HandleFunc("DELETE /api/v1/teams/{id}/members/{user_id}", s.authed(s.removeTeamMember))
	mux.HandleFunc("GET /api/v1/teams/{id}/channels", s.authed(s.teamChannels))

	mux.HandleFunc("GET /api/v1/channels", s.authed(s.listChannels))
	mux.HandleFunc("POST /api/v1/channels", s.authed(s.createChannel))
	mux.HandleFunc("POST /api/v1/dms", s.authed(s.createDirect))
	mux.HandleFunc("GET /api/v1/channels/{id}", s.authed(s.getChannel))
	mux.HandleFunc("PATCH /api/v1/channels/{id}", s.authed(s.updateChannel))
	mux.HandleFunc("DELETE /api/v1/channels/{id}", s.authed(s.deleteChannel))
	mux.HandleFunc("POST /api/v1/channels/{id}/archive", s.authed(s.setChannelArchived(true)))
	mux.HandleFunc("POST /api/v1/channels/{id}/unarchive", s.authed(s.setChannelArchived(false)))
	mux.HandleFunc("POST /api/v1/channels/{id}/join", s.authed(s.joinChannel))
	mux.HandleFunc("POST /api/v1/channels/{id}/leave", s.authed(s.leaveChannel))
	mux.HandleFunc("GET /api/v1/channels/{id}/members", s.authed(s.channelMembers))
	mux.HandleFunc("POST /api/v1/channels/{id}/members", s.authed(s.addChannelMember))
	mux.HandleFunc("DELETE /api/v1/channels/{id}/members/{user_id}", s.authed(s.removeChannelMember))
	mux.HandleFunc("POST /api/v1/channels/{id}/read", s.authed(s.markRead))
	mux.HandleFunc("GET /api/v1/channels/{id}/discussions", s.authed(s.discussions))
	mux.HandleFunc("GET /api/v1/channels/{id}/posts", s.authed(s.listPosts))
	mux.HandleFunc("POST /api/v1/channels/{id}/posts", s.authed(s.createPost))
	mux.HandleFunc("POST /api/v1/channels/{id}/files", s.authed(s.uploadFiles))
	mux.HandleFunc("POST /api/v1/channels/{id}/commands", s.authed(s.runCommand))
	mux.HandleFunc("POST /api/v1/channels/{id}/hooks", s.authed(s.createWebhook))
	mux.HandleFunc("GET /api/v1/channels/{id}/call", s.authed(s.getCall))
	mux.HandleFunc("GET /api/v1/channels/{id}/calls", s.authed(s.listCalls))
	mux.HandleFunc("GET /api/v1/admin/calls", s.adminOnly(s.adminCalls))
	mux.HandleFunc("GET /api/v1/admin/calls/history", s.adminOnly(s.adminCallHistory))
	mux.HandleFunc("POST /api/v1/admin/calls/{channel_id}/end", s.adminOnly(s.adminEndCall))
	mux.HandleFunc("POST /api/v1/admin/calls/{channel_id}/recording/stop", s.adminOnly(s.adminStopRecording))
	mux.HandleFunc("GET /api/v1/admin/settings", s.adminOnly(s.adminGetSettings))
	mux.HandleFunc("PATCH /api/v1/admin/settings", s.adminOnly(s.adminPatchSettings))
	mux.HandleFunc("GET /api/v1/admin/audit", s.adminOnly(s.adminAudit))
	mux.HandleFunc("GET /api/v1/admin/system", s.adminOnly(s.adminSystem))
	mux.HandleFunc("GET /api/v1/admin/support-bundle", s.adminOnly(s.adminSupportBundle))
	mux.HandleFunc("GET /api/v1/settings", s.authed(s.publicSettings))
	mux.HandleFunc("GET /call/{id}", s.callLinkPage)

	mux.HandleFunc("GET /api/v1/posts/{id}", s.authed(s.getPost))
	mux.HandleFunc("PATCH /api/v1/posts/{id}", s.authed(s.editPost))
	mux.HandleFunc("DELETE /api/v1/posts/{id}", s.authed(s.deletePost))
	mux.HandleFunc("GET /api/v1/posts/{id}/thread", s.authed(s.thread))
	mux.HandleFunc("POST /api/v1/posts/{id}/reactions", s.authed(s.toggleReaction))
	mux.HandleFunc("GET /api/v1/search", s.authed(s.search))
	mux.HandleFunc("GET /api/v1/files/{id}", s.authed(s.getFile))
	mux.HandleFunc("POST /api/v1/hooks/{token}", s.postWebhook)

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusNotFound, "no_route", "no such API route: %s %s", r.Method, r.URL.Path))
	})
	if s.cfg.UI != nil {
		s.ui = newUIHandler(s.cfg.UI)
		mux.Handle("/", s.ui)
	}

	// Cross-origin browser requests that change state are refused (Fetch
	// metadata and Origin checks), so a cookie alone never authorises
	// another site's form post. Bearer-token clients send neither header.
	s.routePatterns = mux.patterns
	var h http.Handler = mux
	h = http.NewCrossOriginProtection().Handler(h)
	h = securityHeaders(h)
	return s.metrics.instrument(h)
}

// routeMux is a ServeMux that remembers its patterns, so tests can walk
// every route (e.g. every admin route refuses members).
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.ServeMux.HandleFunc(pattern, h)
	m.patterns = append(m.patterns, pattern)
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.ServeMux.Handle(pattern, h)
	m.patterns = append(m.patterns, pattern)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when the database answers.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "database not reachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
