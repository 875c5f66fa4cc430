package server

import (
	"net/http"
	"regexp"

	"calls/store"
)

// nameRE is the shape of team and channel names (URL-safe handles).
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func validName(what, name string) error {
	if !nameRE.MatchString(name) {
		return errorf(http.StatusBadRequest, "invalid_name", "%s name must be 1-64 lowercase letters, digits, '-' or '_'", what)
	}
	return nil
}

func validDisplayName(name string) error {
	if name == "" || len([]rune(name)) > 64 {
		return errorf(http.StatusBadRequest, "invalid_display_name", "display_name must be 1-64 characters")
	}
	return nil
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request, p *principal) {
	ts, err := s.store.TeamsForUser(r.Context(), p.User.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"teams": ts})
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request, p *principal) {
	if p.User.Role == store.RoleGuest {
		s.writeError(w, r, errorf(http.StatusForbidden, "guest", "guests cannot create teams"))
		return
	}
	var req struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.DisplayName == "" {
		req.DisplayName = req.Name
	}
	if err := validName("team", req.Name); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := validDisplayName(req.DisplayName); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, town, err := s.store.CreateTeam(r.Context(), req.Name, req.DisplayName, p.User.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.publish(evTeamMemberAdded, map[string]string{"team_id": t.ID, "user_id": p.User.ID}, []string{p.User.ID})
	s.publish(evChannelCreated, map[string]any{"channel": town}, []string{p.User.ID})
	writeJSON(w, http.StatusCreated, t)
}

// teamAccess loads a team the user belongs to (admins: any team).
func (s *Server) teamAccess(r *http.Request, u *store.User) (*store.Team, string, error) {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		return nil, "", errNotFound
	}
	t, err := s.store.TeamByID(r.Context(), id)
	if err != nil {
		return nil, "", err
	}
	role := ""
	if tm, err := s.store.TeamMembership(r.Context(), id, u.ID); err == nil {
		role = tm.Role
	}
	if role == "" && u.Role != store.RoleAdmin {
		return nil, "", errNotFound
	}
	if u.Role == store.RoleAdmin {
		role = "admin"
	}
	return t, role, nil
}

func (s *Server) teamMembers(w http.ResponseWriter, r *http.Request, p *principal) {
	t, _, err := s.teamAccess(r, p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ids, err := s.store.TeamMembers(r.Context(), t.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeUsers(w, r, ids)
}

func (s *Server) addTeamMember(w http.ResponseWriter, r *http.Request, p *principal) {
	t, role, err := s.teamAccess(r, p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if role != "admin" {
		s.writeError(w, r, errorf(http.StatusForbidden, "forbidden", "only a team admin may add people to the team"))
		return
	}
	var req struct {
		UserID string `json:"user_id"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.activeUser(r, req.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.AddTeamMember(r.Context(), t.ID, u.ID, "member"); err != nil {
		s.writeError(w, r, err)
		return
	}
	members, _ := s.store.TeamMembers(r.Context(), t.ID)
	s.publish(evTeamMemberAdded, map[string]string{"team_id": t.ID, "user_id": u.ID}, members)
	writeJSON(w, http.StatusCreated, map[string]string{"team_id": t.ID, "user_id": u.ID})
}

func (s *Server) removeTeamMember(w http.ResponseWriter, r *http.Request, p *principal) {
	t, role, err := s.teamAccess(r, p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	uid := r.PathValue("user_id")
	if role != "admin" && uid != p.User.ID {
		s.writeError(w, r, errorf(http.StatusForbidden, "forbidden", "only a team admin may remove others from the team"))
		return
	}
	members, _ := s.store.TeamMembers(r.Context(), t.ID)
	left, err := s.store.RemoveTeamMember(r.Context(), t.ID, uid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, ch := range left {
		s.publishToRoom(r.Context(), ch, evMemberRemoved, map[string]string{"channel_id": ch, "user_id": uid}, uid)
	}
	s.publish(evTeamMemberRemoved, map[string]string{"team_id": t.ID, "user_id": uid}, members)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) teamChannels(w http.ResponseWriter, r *http.Request, p *principal) {
	t, _, err := s.teamAccess(r, p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.User.Role == store.RoleGuest {
		writeJSON(w, http.StatusOK, map[string]any{"channels": []any{}})
		return
	}
	cs, err := s.store.PublicChannels(r.Context(), t.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": cs})
}
