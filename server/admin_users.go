package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"calls/server/auth"
	"calls/store"
)

// User management for admins: list and search, role and name changes,
// password reset links. Creating and (de)activating users live in
// users.go under their older routes.

// resetLinkTTL is how long a password reset link works.
const resetLinkTTL = 24 * time.Hour

// adminUserView is a user as the admin console lists them.
type adminUserView struct {
	ID            string     `json:"id"`
	Username      string     `json:"username"`
	DisplayName   string     `json:"display_name"`
	Role          string     `json:"role"`
	IsBot         bool       `json:"is_bot"`
	CreatedAt     time.Time  `json:"created_at"`
	DeactivatedAt *time.Time `json:"deactivated_at"`
	LastSeenAt    *time.Time `json:"last_seen_at"`
	Status        string     `json:"status"` // online, away, offline
}

func (s *Server) adminView(u *store.User) adminUserView {
	return adminUserView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, IsBot: u.IsBot,
		CreatedAt: u.CreatedAt, DeactivatedAt: u.DeactivatedAt, LastSeenAt: u.LastSeenAt, Status: s.presenceStatus(u.ID)}
}

func validRole(role string) bool {
	return role == store.RoleAdmin || role == store.RoleMember || role == store.RoleGuest
}

// adminListUsers serves GET /api/v1/admin/users?q=&role=&status=&limit=&offset=:
// everyone, deactivated users included, by username.
func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request, p *principal) {
	limit, offset, err := pageParams(r, 50, 500)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	uq := store.UserQuery{Q: q.Get("q"), Role: q.Get("role"), Status: q.Get("status"), Limit: limit, Offset: offset}
	if uq.Role != "" && !validRole(uq.Role) {
		s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_role", "role must be admin, member or guest"))
		return
	}
	if uq.Status != "" && uq.Status != "active" && uq.Status != "deactivated" {
		s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_status", "status must be active or deactivated"))
		return
	}
	if len(uq.Q) > 64 {
		s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_query", "q is at most 64 characters"))
		return
	}
	us, total, err := s.store.SearchUsers(r.Context(), uq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]adminUserView, len(us))
	for i, u := range us {
		out[i] = s.adminView(u)
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "total": total})
}

// adminPatchUser serves PATCH /api/v1/admin/users/{id} {"role"?, "display_name"?}.
func (s *Server) adminPatchUser(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		Role        *string `json:"role"`
		DisplayName *string `json:"display_name"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Role == nil && req.DisplayName == nil {
		s.writeError(w, r, errorf(http.StatusBadRequest, "empty_patch", `give "role" and/or "display_name"`))
		return
	}
	if req.Role != nil && !validRole(*req.Role) {
		s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_role", "role must be admin, member or guest"))
		return
	}
	if req.DisplayName != nil {
		if err := validDisplayName(*req.DisplayName); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	id := r.PathValue("id")
	if !store.ValidID(id) {
		s.writeError(w, r, errNotFound)
		return
	}
	old, err := s.store.UserByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var recs []store.AuditRecord
	if req.Role != nil && *req.Role != old.Role {
		recs = append(recs, auditBy(p, auditUserRole, id, old.Role, *req.Role))
	}
	if req.DisplayName != nil && *req.DisplayName != old.DisplayName {
		recs = append(recs, auditBy(p, auditUserName, id, old.DisplayName, *req.DisplayName))
	}
	if len(recs) == 0 {
		writeJSON(w, http.StatusOK, s.adminView(old))
		return
	}
	_, u, err := s.store.UpdateUser(r.Context(), id, store.UserPatch{Role: req.Role, DisplayName: req.DisplayName}, recs...)
	if errors.Is(err, store.ErrLastAdmin) {
		s.writeError(w, r, errorf(http.StatusConflict, "last_admin", "%s is the last active admin; make someone else an admin first", old.Username))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("user changed", "user", u.Username, "role", u.Role, "by", p.User.Username)
	// Everyone who sees the user hears of it; the user's own clients learn
	// their new role (permissions are checked on each request anyway).
	if _, err := s.hub.Publish(evUserUpdated, map[string]any{"user": u}, nil); err != nil {
		s.log.Error("publish user update", "err", err)
	}
	writeJSON(w, http.StatusOK, s.adminView(u))
}

// evUserUpdated tells clients a user's role or display name changed.
const evUserUpdated = "user_updated"

// adminResetLink serves POST /api/v1/admin/users/{id}/reset-link: a
// one-time link, valid resetLinkTTL, with which the user sets a new
// password (and every session of theirs ends).
func (s *Server) adminResetLink(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		s.writeError(w, r, errNotFound)
		return
	}
	u, err := s.store.UserByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !u.Active() {
		s.writeError(w, r, errorf(http.StatusConflict, "deactivated", "%s is deactivated; reactivate them first", u.Username))
		return
	}
	if u.IsBot && u.PasswordHash == "" {
		s.writeError(w, r, errorf(http.StatusConflict, "bot", "%s is a bot: it uses API tokens, not a password", u.Username))
		return
	}
	tok, hash := auth.NewToken()
	expires := s.clock.Now().Add(resetLinkTTL).UTC().Truncate(time.Millisecond)
	if err := s.store.CreatePasswordReset(r.Context(), hash, u.ID, p.User.ID, expires,
		auditBy(p, auditUserResetLink, u.ID, nil, map[string]any{"expires_at": expires})); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("password reset link made", "user", u.Username, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, map[string]any{"url": s.baseURL(r) + "/reset/" + tok, "expires_at": expires})
}

// endUserPresence ends everything a user has open at once: websockets (and
// with them their call participations, removed here before answering
// rather than when each websocket's goroutine notices).
func (s *Server) endUserPresence(ctx context.Context, userID, reason string) {
	s.hub.DisconnectUser(userID, reason)
	s.removeUserFromCalls(ctx, userID, reason)
}
