package server

import (
	"errors"
	"net/http"

	"calls/server/auth"
	"calls/server/hub"
	"calls/store"
)

// Password reset links: an admin makes one (admin_users.go); the user
// opens /reset/<token>, which asks these routes, and picks a new password.
// The link works once, and using it ends every session of the user.

// getPasswordReset serves GET /api/v1/reset/{token} (no login).
func (s *Server) getPasswordReset(w http.ResponseWriter, r *http.Request) {
	if !s.allowAnonymous(w, r) {
		return
	}
	tok, ok := linkToken(r)
	if !ok {
		s.writeError(w, r, errLinkUnknown("reset"))
		return
	}
	pr, err := s.store.PasswordResetByToken(r.Context(), auth.HashToken(tok))
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.writeError(w, r, errLinkUnknown("reset"))
		return
	case err != nil:
		s.writeError(w, r, err)
		return
	case pr.UsedAt != nil || !s.clock.Now().Before(pr.ExpiresAt):
		s.writeError(w, r, errLinkGone("reset"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"username": pr.Username, "expires_at": pr.ExpiresAt})
}

// usePasswordReset serves POST /api/v1/reset/{token} {"password"} (no login).
func (s *Server) usePasswordReset(w http.ResponseWriter, r *http.Request) {
	if !s.allowAnonymous(w, r) {
		return
	}
	tok, ok := linkToken(r)
	if !ok {
		s.writeError(w, r, errLinkUnknown("reset"))
		return
	}
	var req struct {
		Password string `json:"password"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	hash, err := auth.HashPassword(req.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.store.UsePasswordReset(r.Context(), s.clock.Now(), auth.HashToken(tok), hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.writeError(w, r, errLinkUnknown("reset"))
		return
	case errors.Is(err, store.ErrGone):
		s.writeError(w, r, errLinkGone("reset"))
		return
	case errors.Is(err, store.ErrDeactivated):
		s.writeError(w, r, errorf(http.StatusForbidden, "deactivated", "this account is deactivated; ask an admin"))
		return
	case err != nil:
		s.writeError(w, r, err)
		return
	}
	// The sessions are gone from the database; their websockets go now.
	s.endUserPresence(r.Context(), u.ID, hub.ReasonSession)
	s.audit(r.Context(), store.AuditRecord{ActorID: u.ID, Action: auditUserReset, Target: u.ID})
	s.log.Info("password reset with a link", "user", u.Username)
	writeJSON(w, http.StatusOK, map[string]any{"username": u.Username})
}
