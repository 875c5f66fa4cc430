package server

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"calls/server/auth"
	"calls/server/hub"
	"calls/store"
)

var usernameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`)

// validUsername checks a new username: 1–64 letters, digits, '.', '_', '-',
// starting with a letter or digit (so it reads well after an @).
func validUsername(name string) error {
	if !usernameRE.MatchString(name) {
		return errorf(http.StatusBadRequest, "invalid_username",
			"username must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return nil
}

// ValidUsername is validUsername for the CLI.
func ValidUsername(name string) error {
	if err := validUsername(name); err != nil {
		return err
	}
	return nil
}

type createUserRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	Role        string `json:"role"`
	DisplayName string `json:"display_name"`
	IsBot       bool   `json:"is_bot"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, p *principal) {
	var req createUserRequest
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Role == "" {
		req.Role = store.RoleMember
	}
	if req.Role != store.RoleAdmin && req.Role != store.RoleMember && req.Role != store.RoleGuest {
		s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_role", "role must be admin, member or guest"))
		return
	}
	if err := validUsername(req.Username); err != nil {
		s.writeError(w, r, err)
		return
	}
	// A bot has no password: it acts through API tokens and webhooks.
	hash := ""
	if !req.IsBot || req.Password != "" {
		h, err := auth.HashPassword(req.Password)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		hash = h
	}
	if req.DisplayName == "" {
		req.DisplayName = req.Username
	}
	u, err := s.store.CreateUser(r.Context(), store.NewUser{Username: req.Username, DisplayName: req.DisplayName,
		Role: req.Role, PasswordHash: hash, IsBot: req.IsBot},
		auditBy(p, auditUserCreate, "", nil, map[string]any{"username": req.Username, "role": req.Role, "is_bot": req.IsBot}))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("user created", "user", u.Username, "role", u.Role, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, u)
}

// userView is a user as others see them, with presence.
type userView struct {
	*store.User
	Status string `json:"status"`
}

func (s *Server) viewUsers(us []*store.User) []userView {
	out := make([]userView, len(us))
	for i, u := range us {
		out[i] = userView{User: u, Status: s.presenceStatus(u.ID)}
	}
	return out
}

// listUsers serves the people pickers: active users the caller can reach
// (a guest only those sharing a room with them), filtered by name prefix.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p *principal) {
	var us []*store.User
	var err error
	if p.User.Role == store.RoleGuest {
		us, err = s.store.UsersSharingRooms(r.Context(), p.User.ID)
	} else {
		us, err = s.store.ListUsers(r.Context())
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := strings.ToLower(r.URL.Query().Get("q"))
	kept := us[:0]
	for _, u := range us {
		if !u.Active() {
			continue
		}
		if q != "" && !strings.HasPrefix(strings.ToLower(u.Username), q) && !strings.HasPrefix(strings.ToLower(u.DisplayName), q) {
			continue
		}
		kept = append(kept, u)
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": s.viewUsers(kept)})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	u, err := s.store.UserByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.User.Role == store.RoleGuest && u.ID != p.User.ID {
		visible, err := s.store.UsersSharingRooms(r.Context(), p.User.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !slices.ContainsFunc(visible, func(v *store.User) bool { return v.ID == u.ID }) {
			s.writeError(w, r, errNotFound)
			return
		}
	}
	writeJSON(w, http.StatusOK, userView{User: u, Status: s.presenceStatus(u.ID)})
}

// writeUsers answers {"users": [...]} for a list of ids.
func (s *Server) writeUsers(w http.ResponseWriter, r *http.Request, ids []string) {
	us := make([]*store.User, 0, len(ids))
	for _, id := range ids {
		u, err := s.store.UserByID(r.Context(), id)
		if err != nil {
			continue
		}
		us = append(us, u)
	}
	slices.SortFunc(us, func(a, b *store.User) int { return strings.Compare(a.Username, b.Username) })
	writeJSON(w, http.StatusOK, map[string]any{"members": s.viewUsers(us)})
}

// activeUser loads a user by id who may be added to things.
func (s *Server) activeUser(r *http.Request, id string) (*store.User, error) {
	if !store.ValidID(id) {
		return nil, errorf(http.StatusBadRequest, "bad_user", "user_id is not a user")
	}
	u, err := s.store.UserByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(http.StatusBadRequest, "bad_user", "no such user")
	}
	if err != nil {
		return nil, err
	}
	if !u.Active() {
		return nil, errorf(http.StatusBadRequest, "deactivated", "%s is deactivated", u.Username)
	}
	return u, nil
}

// setUserActive deactivates or reactivates a user. Deactivation revokes
// every session in the same transaction, closes the user's websockets and
// takes them out of any call before answering.
func (s *Server) setUserActive(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		Active *bool `json:"active"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Active == nil {
		s.writeError(w, r, errorf(http.StatusBadRequest, "missing_active", `body must be {"active": true|false}`))
		return
	}
	id := r.PathValue("id")
	if id == p.User.ID && !*req.Active {
		s.writeError(w, r, errorf(http.StatusBadRequest, "self_deactivation", "you cannot deactivate yourself"))
		return
	}
	if !store.ValidID(id) {
		s.writeError(w, r, errNotFound)
		return
	}
	before, err := s.store.UserByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var recs []store.AuditRecord
	if before.Active() != *req.Active {
		action := auditUserActivate
		if !*req.Active {
			action = auditUserDeactivate
		}
		recs = append(recs, auditBy(p, action, id, before.Active(), *req.Active))
	}
	if err := s.store.SetDeactivated(r.Context(), id, !*req.Active, recs...); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !*req.Active {
		s.endUserPresence(r.Context(), id, hub.ReasonDeactivated)
	}
	u, err := s.store.UserByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("user active changed", "user", u.Username, "active", *req.Active, "by", p.User.Username)
	writeJSON(w, http.StatusOK, u)
}
