package server

import (
	"context"
	"net/http"
	"time"
)

// routes is the one routing table of the server.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.handler())

	mux.HandleFunc("GET /api/v1/setup", s.setupStatus)
	mux.HandleFunc("POST /api/v1/setup", s.setup)
	mux.HandleFunc("POST /api/v1/auth/login", s.login)
	mux.HandleFunc("POST /api/v1/auth/logout", s.authed(s.logout))
	mux.HandleFunc("GET /api/v1/users/me", s.authed(s.me))
	mux.HandleFunc("GET /api/v1/users", s.adminOnly(s.listUsers))
	mux.HandleFunc("POST /api/v1/users", s.adminOnly(s.createUser))
	mux.HandleFunc("PUT /api/v1/users/{id}/active", s.adminOnly(s.setUserActive))
	mux.HandleFunc("GET /api/v1/ws", s.authed(s.websocket))

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusNotFound, "no_route", "no such API route: %s %s", r.Method, r.URL.Path))
	})
	if s.cfg.UI != nil {
		mux.Handle("/", newUIHandler(s.cfg.UI))
	}

	// Cross-origin browser requests that change state are refused (Fetch
	// metadata and Origin checks), so a cookie alone never authorises
	// another site's form post. Bearer-token clients send neither header.
	var h http.Handler = mux
	h = http.NewCrossOriginProtection().Handler(h)
	h = securityHeaders(h)
	return s.metrics.instrument(h)
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
