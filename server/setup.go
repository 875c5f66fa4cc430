package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"strings"

	"calls/server/auth"
	"calls/store"
)

// The first admin can be created two ways: `calls user add NAME --admin` in
// a shell, or the setup page in the browser, guarded by a one-time code
// printed in the server log (so a `docker run` user needs no shell inside
// the container). The code lives only in memory and dies with its first use.

func (s *Server) prepareSetup(ctx context.Context) error {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		s.setupCode = newSetupCode()
	}
	return nil
}

func newSetupCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no 0/O, 1/I
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:8]) + "-" + string(b[8:])
}

func (s *Server) announceSetup(url string) {
	s.setupMu.Lock()
	code := s.setupCode
	s.setupMu.Unlock()
	if code == "" {
		return
	}
	s.log.Warn("no users yet: create the first admin in the browser at "+url+"/setup with the setup code, "+
		"or in a shell with: calls user add NAME --admin", "setup_code", code)
}

type setupRequest struct {
	Code     string `json:"code"`
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) setupStatus(w http.ResponseWriter, r *http.Request) {
	s.setupMu.Lock()
	needed := s.setupCode != ""
	s.setupMu.Unlock()
	if needed {
		// A user may have been created with `calls user add` meanwhile.
		if n, err := s.store.CountUsers(r.Context()); err == nil && n > 0 {
			s.setupMu.Lock()
			s.setupCode = ""
			s.setupMu.Unlock()
			needed = false
		}
	}
	// signup lets the login page offer "Sign up" before anyone logs in.
	writeJSON(w, http.StatusOK, map[string]any{"needed": needed, "site_name": s.settingString("site_name"), "signup": s.settingString("signup")})
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.loginIP.Allow(clientIP(r)); !ok {
		s.metrics.rateLimited.WithLabelValues("login_ip").Inc()
		s.writeError(w, r, &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "too many attempts; try again later", RetryAfter: wait})
		return
	}
	var req setupRequest
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
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
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	if s.setupCode == "" {
		s.writeError(w, r, errorf(http.StatusGone, "setup_done", "setup is already done; log in instead"))
		return
	}
	code := strings.ToUpper(strings.TrimSpace(req.Code))
	if subtle.ConstantTimeCompare([]byte(code), []byte(s.setupCode)) != 1 {
		s.writeError(w, r, errorf(http.StatusForbidden, "bad_setup_code", "wrong setup code; it is printed in the server log"))
		return
	}
	if n, err := s.store.CountUsers(r.Context()); err != nil || n > 0 {
		s.setupCode = ""
		s.writeError(w, r, errorf(http.StatusGone, "setup_done", "setup is already done; log in instead"))
		return
	}
	u, err := s.store.CreateUser(r.Context(), store.NewUser{Username: req.Username, DisplayName: req.Username,
		Role: store.RoleAdmin, PasswordHash: hash})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setupCode = ""
	s.log.Info("first admin created on the setup page", "user", u.Username)
	s.startSession(w, r, u)
}
