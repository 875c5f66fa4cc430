package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"calls/server/auth"
	"calls/store"
)

// Invite links and open sign-up. The signup setting decides who may create
// an account: "closed" (admins only), "invite" (people with a link) or
// "open" (anyone). An invite's token is in its link only; the database
// keeps its hash, and the admin's list never shows it again.

const (
	maxInviteTTL = 90 * 24 * time.Hour
	maxInviteUse = 1000
)

// inviteView is an invite as admins see it; url only when just made.
type inviteView struct {
	*store.Invite
	URL string `json:"url,omitempty"`
}

// baseURL is this server as people reach it, e.g. https://chat.example.com:
// --public-url, else as the request reached it (behind a proxy that ends
// TLS, that would say http://).
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

func errSignupClosed() error {
	return errorf(http.StatusForbidden, "signup_closed", "sign-up is closed here; ask an admin for an account")
}

// adminCreateInvite serves POST /api/v1/admin/invites.
func (s *Server) adminCreateInvite(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		Role      string `json:"role"`
		TeamID    string `json:"team_id"`
		ExpiresIn string `json:"expires_in"`
		MaxUses   *int   `json:"max_uses"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.settingString("signup") == "closed" {
		s.writeError(w, r, errorf(http.StatusForbidden, "signup_closed", `invite links are off while signup is "closed"; set it to "invite" or "open" first`))
		return
	}
	if req.Role == "" {
		req.Role = store.RoleMember
	}
	if !validRole(req.Role) {
		s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_role", "role must be admin, member or guest"))
		return
	}
	ttl := 7 * 24 * time.Hour
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d < time.Minute || d > maxInviteTTL {
			s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_expires_in", `expires_in must be a duration from 1m to 2160h (90 days), e.g. "168h"`))
			return
		}
		ttl = d
	}
	uses := 1
	if req.MaxUses != nil {
		if *req.MaxUses < 1 || *req.MaxUses > maxInviteUse {
			s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_max_uses", "max_uses must be 1-%d", maxInviteUse))
			return
		}
		uses = *req.MaxUses
	}
	if req.TeamID != "" {
		if !store.ValidID(req.TeamID) {
			s.writeError(w, r, errorf(http.StatusBadRequest, "bad_team", "team_id is not a team"))
			return
		}
		if _, err := s.store.TeamByID(r.Context(), req.TeamID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				err = errorf(http.StatusBadRequest, "bad_team", "no such team")
			}
			s.writeError(w, r, err)
			return
		}
	}
	tok, hash := auth.NewToken()
	inv := &store.Invite{Role: req.Role, TeamID: req.TeamID, CreatedBy: p.User.ID, ExpiresAt: s.clock.Now().Add(ttl), MaxUses: uses}
	if err := s.store.CreateInvite(r.Context(), hash, inv, auditBy(p, auditInviteCreate, "", nil,
		map[string]any{"role": req.Role, "team_id": req.TeamID, "max_uses": uses, "expires_in": ttl.String()})); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("invite created", "invite", inv.ID, "role", inv.Role, "max_uses", uses, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, inviteView{Invite: inv, URL: s.baseURL(r) + "/invite/" + tok})
}

// adminListInvites serves GET /api/v1/admin/invites: invites not revoked,
// newest first, used up and expired ones included.
func (s *Server) adminListInvites(w http.ResponseWriter, r *http.Request, p *principal) {
	invs, err := s.store.Invites(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"invites": invs})
}

// adminRevokeInvite serves DELETE /api/v1/admin/invites/{id}.
func (s *Server) adminRevokeInvite(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		s.writeError(w, r, errNotFound)
		return
	}
	if err := s.store.RevokeInvite(r.Context(), id, auditBy(p, auditInviteRevoke, id, nil, nil)); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// linkToken reads the token of an invite or reset link from the path;
// anything that cannot be one is simply unknown.
func linkToken(r *http.Request) (string, bool) {
	tok := r.PathValue("token")
	return tok, tok != "" && len(tok) <= 128
}

func errLinkGone(what string) error {
	return errorf(http.StatusGone, "link_gone", "this %s link has expired or was already used; ask an admin for a new one", what)
}

func errLinkUnknown(what string) error {
	return errorf(http.StatusNotFound, "not_found", "no such %s link; check it was copied whole", what)
}

// getInvite serves GET /api/v1/invites/{token} (no login): what the invite
// page shows before someone picks a username.
func (s *Server) getInvite(w http.ResponseWriter, r *http.Request) {
	if !s.allowAnonymous(w, r) {
		return
	}
	tok, ok := linkToken(r)
	if !ok {
		s.writeError(w, r, errLinkUnknown("invite"))
		return
	}
	inv, err := s.store.InviteByToken(r.Context(), auth.HashToken(tok))
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.writeError(w, r, errLinkUnknown("invite"))
		return
	case err != nil:
		s.writeError(w, r, err)
		return
	case !inv.Usable(s.clock.Now()):
		s.writeError(w, r, errLinkGone("invite"))
		return
	case s.settingString("signup") == "closed":
		s.writeError(w, r, errSignupClosed())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"site_name": s.settingString("site_name"), "role": inv.Role, "expires_at": inv.ExpiresAt})
}

// newAccountRequest is the body of accepting an invite and of sign-up.
type newAccountRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

// check validates the request and hashes the password.
func (req *newAccountRequest) check() (store.NewUser, error) {
	req.DisplayName = strings.TrimSpace(req.DisplayName)
	if err := validUsername(req.Username); err != nil {
		return store.NewUser{}, err
	}
	if req.DisplayName == "" {
		req.DisplayName = req.Username
	}
	if err := validDisplayName(req.DisplayName); err != nil {
		return store.NewUser{}, err
	}
	hash, err := auth.HashPassword(req.Password)
	if err != nil {
		return store.NewUser{}, err
	}
	return store.NewUser{Username: req.Username, DisplayName: req.DisplayName, PasswordHash: hash}, nil
}

// readNewAccount reads and checks the body of accepting an invite or of
// sign-up, answering the error itself when it is not usable.
func (s *Server) readNewAccount(w http.ResponseWriter, r *http.Request) (store.NewUser, bool) {
	var req newAccountRequest
	err := readJSON(w, r, &req)
	var nu store.NewUser
	if err == nil {
		nu, err = req.check()
	}
	if err != nil {
		s.writeError(w, r, err)
		return store.NewUser{}, false
	}
	return nu, true
}

// newAccountError is the answer to the store's refusal to create an
// account from a link (what: "invite") or from open sign-up (what: "").
func newAccountError(err error, what, username string) error {
	switch {
	case what != "" && errors.Is(err, store.ErrNotFound):
		return errLinkUnknown(what)
	case what != "" && errors.Is(err, store.ErrGone):
		return errLinkGone(what)
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, "username_taken", "the username %q is taken; pick another", username)
	}
	return err
}

// welcome logs the new account in and tells its teams.
func (s *Server) welcome(w http.ResponseWriter, r *http.Request, u *store.User) {
	s.announceNewMember(r, u)
	s.startSessionStatus(w, r, u, http.StatusCreated)
}

// acceptInvite serves POST /api/v1/invites/{token} (no login): it creates
// the account, joins the invite's team (or the default team) and logs in.
func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) {
	if !s.allowAnonymous(w, r) {
		return
	}
	tok, ok := linkToken(r)
	if !ok {
		s.writeError(w, r, errLinkUnknown("invite"))
		return
	}
	if s.settingString("signup") == "closed" {
		s.writeError(w, r, errSignupClosed())
		return
	}
	nu, ok := s.readNewAccount(w, r)
	if !ok {
		return
	}
	u, inv, err := s.store.AcceptInvite(r.Context(), s.clock.Now(), auth.HashToken(tok), nu, s.settingString("default_team_id"),
		store.AuditRecord{Action: auditInviteAccept, New: map[string]string{"username": nu.Username}})
	if err != nil {
		s.writeError(w, r, newAccountError(err, "invite", nu.Username))
		return
	}
	s.log.Info("invite accepted", "invite", inv.ID, "user", u.Username, "role", u.Role)
	s.welcome(w, r, u)
}

// signup serves POST /api/v1/auth/signup (no login) when signup is "open".
func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	if !s.allowAnonymous(w, r) {
		return
	}
	if s.settingString("signup") != "open" {
		s.writeError(w, r, errSignupClosed())
		return
	}
	nu, ok := s.readNewAccount(w, r)
	if !ok {
		return
	}
	nu.Role = store.RoleMember
	u, err := s.store.SignUp(r.Context(), nu, s.settingString("default_team_id"),
		store.AuditRecord{Action: auditSignup, New: map[string]string{"username": nu.Username}})
	if err != nil {
		s.writeError(w, r, newAccountError(err, "", nu.Username))
		return
	}
	s.log.Info("signed up", "user", u.Username)
	s.welcome(w, r, u)
}

// announceNewMember tells the members of the teams a new user joined.
func (s *Server) announceNewMember(r *http.Request, u *store.User) {
	teams, err := s.store.TeamsForUser(r.Context(), u.ID)
	if err != nil {
		return
	}
	for _, t := range teams {
		members, _ := s.store.TeamMembers(r.Context(), t.ID)
		s.publish(evTeamMemberAdded, map[string]string{"team_id": t.ID, "user_id": u.ID}, members)
	}
}

// allowAnonymous applies the per-IP login limit to routes used without a
// session (links, sign-up), answering 429 when it is spent.
func (s *Server) allowAnonymous(w http.ResponseWriter, r *http.Request) bool {
	if ok, wait := s.loginIP.Allow(clientIP(r)); !ok {
		s.metrics.rateLimited.WithLabelValues("login_ip").Inc()
		s.writeError(w, r, &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "too many attempts from your address; try again later", RetryAfter: wait})
		return false
	}
	return true
}
