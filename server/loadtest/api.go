package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// api is a JSON client of the server's HTTP API.
type api struct {
	base   string // http(s)://host:port
	client *http.Client
}

// apiError is a non-2xx answer, with the server's error text.
type apiError struct {
	method, path string
	status       int
	msg, code    string
}

func (e *apiError) Error() string {
	if e.msg != "" {
		return fmt.Sprintf("%s %s: %d %s (%s)", e.method, e.path, e.status, e.msg, e.code)
	}
	return fmt.Sprintf("%s %s: %d", e.method, e.path, e.status)
}

// do sends body as JSON with the bearer token and decodes a 2xx answer
// into out (when not nil).
func (a *api) do(ctx context.Context, method, path, token string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e struct{ Error, Code string }
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = json.Unmarshal(b, &e)
		if e.Error == "" && len(b) > 0 && !strings.HasPrefix(strings.TrimSpace(string(b)), "<") {
			e.Error = strings.TrimSpace(string(b))
		}
		return &apiError{method: method, path: path, status: resp.StatusCode, msg: e.Error, code: e.Code}
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	return nil
}

type user struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
}

// adminToken logs in (or checks the given token) and makes sure the
// account is an admin: the load test creates users.
func (a *api) adminToken(ctx context.Context, cfg *Config) (string, error) {
	token := cfg.Token
	var me user
	if token == "" {
		var out struct {
			Token string `json:"token"`
			User  user   `json:"user"`
		}
		err := a.do(ctx, "POST", "/api/v1/auth/login", "", map[string]string{"username": cfg.AdminUser, "password": cfg.AdminPassword}, &out)
		if e, ok := err.(*apiError); ok && e.status == http.StatusUnauthorized {
			return "", fmt.Errorf("--admin-user %s: wrong user name or password", cfg.AdminUser)
		}
		if err != nil {
			return "", fmt.Errorf("--admin-user: log in: %w", err)
		}
		token, me = out.Token, out.User
	} else {
		err := a.do(ctx, "GET", "/api/v1/users/me", token, nil, &me)
		if e, ok := err.(*apiError); ok && e.status == http.StatusUnauthorized {
			return "", fmt.Errorf("--token: the server does not accept it (expired, revoked, or for another server)")
		}
		if err != nil {
			return "", fmt.Errorf("--token: %w", err)
		}
	}
	if me.Role != "admin" {
		flag := "--token"
		if cfg.Token == "" {
			flag = "--admin-user " + cfg.AdminUser
		}
		return "", fmt.Errorf("%s: %s is not an admin (the load test creates users)", flag, me.Username)
	}
	return token, nil
}
