package server

import (
	"net/http"
	"regexp"

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
	hash, err := auth.HashPassword(req.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.DisplayName == "" {
		req.DisplayName = req.Username
	}
	u, err := s.store.CreateUser(r.Context(), store.NewUser{Username: req.Username, DisplayName: req.DisplayName,
		Role: req.Role, PasswordHash: hash})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("user created", "user", u.Username, "role", u.Role, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p *principal) {
	us, err := s.store.ListUsers(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if us == nil {
		us = []*store.User{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": us})
}

// setUserActive deactivates or reactivates a user. Deactivation revokes
// every session in the same transaction and closes the user's websockets
// at once.
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
	if err := s.store.SetDeactivated(r.Context(), id, !*req.Active); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !*req.Active {
		s.hub.DisconnectUser(id, hub.ReasonDeactivated)
	}
	u, err := s.store.UserByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("user active changed", "user", u.Username, "active", *req.Active, "by", p.User.Username)
	writeJSON(w, http.StatusOK, u)
}
