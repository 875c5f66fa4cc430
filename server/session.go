package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"calls/server/auth"
	"calls/server/hub"
	"calls/store"
)

// cookieName holds the session token for browsers; other clients send
// "Authorization: Bearer TOKEN".
const cookieName = "calls_session"

// principal is who made a request.
type principal struct {
	User        *store.User
	SessionHash string
}

type authedHandler func(w http.ResponseWriter, r *http.Request, p *principal)

// authed wraps a handler that needs a logged-in, active user.
func (s *Server) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r, p)
	}
}

// adminOnly wraps a handler for admins.
func (s *Server) adminOnly(h authedHandler) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p *principal) {
		if p.User.Role != store.RoleAdmin {
			s.writeError(w, r, errorf(http.StatusForbidden, "admin_only", "only an admin may do that"))
			return
		}
		h(w, r, p)
	})
}

func requestToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	if c, err := r.Cookie(cookieName); err == nil {
		return c.Value
	}
	return ""
}

func (s *Server) authenticate(r *http.Request) (*principal, error) {
	tok := requestToken(r)
	if tok == "" || len(tok) > 128 {
		return nil, errUnauthorized
	}
	hash := auth.HashToken(tok)
	u, _, err := s.store.SessionUser(r.Context(), hash)
	if errors.Is(err, store.ErrNotFound) {
		// Not a session: maybe a bot's long-lived API token.
		u, err = s.store.APITokenUser(r.Context(), hash)
	}
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrSessionExpiry):
		return nil, errorf(http.StatusUnauthorized, "unauthorized", "session expired or logged out; log in again")
	case errors.Is(err, store.ErrDeactivated):
		return nil, errorf(http.StatusUnauthorized, "deactivated", "this account is deactivated")
	case err != nil:
		return nil, err
	}
	return &principal{User: u, SessionHash: hash}, nil
}

// clientIP is the peer address. calls does not trust X-Forwarded-For: a
// proxy in front must be configured to pass the real address some other way
// before rate limits per IP are meaningful behind it.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token string      `json:"token"`
	User  *store.User `json:"user"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ip := clientIP(r)
	if ok, wait := s.loginIP.Allow(ip); !ok {
		s.metrics.rateLimited.WithLabelValues("login_ip").Inc()
		s.writeError(w, r, &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "too many login attempts from your address; try again later", RetryAfter: wait})
		return
	}
	var req loginRequest
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(req.Password) > auth.MaxPasswordLen || len(req.Username) > 64 {
		s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_credentials_format", "username or password too long"))
		return
	}
	account := strings.ToLower(req.Username)
	if blocked, wait := s.loginAccount.Blocked(account); blocked {
		s.metrics.rateLimited.WithLabelValues("login_account").Inc()
		s.writeError(w, r, &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "too many failed logins for this account; try again later", RetryAfter: wait})
		return
	}
	u, err := s.store.UserByUsername(r.Context(), req.Username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, err)
		return
	}
	if u == nil {
		auth.BurnVerify(req.Password)
	}
	if u == nil || !auth.VerifyPassword(u.PasswordHash, req.Password) {
		s.loginAccount.Allow(account)
		s.metrics.loginFailures.Inc()
		s.writeError(w, r, errorf(http.StatusUnauthorized, "invalid_credentials", "wrong username or password"))
		return
	}
	if !u.Active() {
		s.writeError(w, r, errorf(http.StatusForbidden, "deactivated", "this account is deactivated; ask an admin"))
		return
	}
	s.startSession(w, r, u)
}

// startSession creates a session, sets the cookie and answers like login.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *store.User) {
	s.startSessionStatus(w, r, u, http.StatusOK)
}

// startSessionStatus is startSession answering with status (201 for a
// new account).
func (s *Server) startSessionStatus(w http.ResponseWriter, r *http.Request, u *store.User, status int) {
	tok, hash := auth.NewToken()
	if _, err := s.store.CreateSession(r.Context(), hash, u.ID, s.cfg.SessionTTL, r.UserAgent(), clientIP(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    tok,
		Path:     "/",
		MaxAge:   int(s.cfg.SessionTTL.Seconds()),
		HttpOnly: true,
		Secure:   s.secureCookie,
		SameSite: http.SameSiteLaxMode,
	})
	s.log.Info("login", "user", u.Username, "ip", clientIP(r))
	if err := s.store.TouchLastSeen(r.Context(), []string{u.ID}, time.Now()); err != nil {
		s.log.Warn("record last seen", "user", u.Username, "err", err)
	}
	writeJSON(w, status, loginResponse{Token: tok, User: u})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := s.store.DeleteSession(r.Context(), p.SessionHash); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.hub.DisconnectSession(p.SessionHash, hub.ReasonLoggedOut)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookie, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p *principal) {
	writeJSON(w, http.StatusOK, p.User)
}

// sessionValid re-checks a websocket's session at each ping, so a session
// revoked from elsewhere (another process, an expiry) ends the connection.
func (s *Server) sessionValid(hash string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, _, err := s.store.SessionUser(ctx, hash)
		if errors.Is(err, store.ErrNotFound) {
			_, err = s.store.APITokenUser(ctx, hash)
		}
		switch {
		case errors.Is(err, store.ErrDeactivated):
			return errors.New(hub.ReasonDeactivated)
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrSessionExpiry):
			return errors.New(hub.ReasonSession)
		}
		return nil // a transient database error is no reason to drop anyone
	}
}
