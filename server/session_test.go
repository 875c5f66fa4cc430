package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"calls/server/auth"
	"calls/store"
)

func TestAuthScenarios(t *testing.T) {
	ts := startServer(t)
	admin := ts.addUser("admin", store.RoleAdmin)
	ts.addUser("member", store.RoleMember)
	gone := ts.addUser("gone", store.RoleMember)
	if err := ts.store.SetDeactivated(context.Background(), gone.ID, true); err != nil {
		t.Fatal(err)
	}
	adminTok := ts.login("admin")
	memberTok := ts.login("member")

	expiredTok, hash := auth.NewToken()
	if _, err := ts.store.CreateSession(context.Background(), hash, admin.ID, -time.Minute, "", ""); err != nil {
		t.Fatal(err)
	}

	scenarios := []struct {
		name       string
		method     string
		path       string
		token      string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"good login", "POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "admin-password"}, 200, ""},
		{"login is case-insensitive on the name", "POST", "/api/v1/auth/login", "", map[string]string{"username": "ADMIN", "password": "admin-password"}, 200, ""},
		{"bad password", "POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "wrong-password"}, 401, "invalid_credentials"},
		{"unknown user", "POST", "/api/v1/auth/login", "", map[string]string{"username": "nobody", "password": "whatever-pw"}, 401, "invalid_credentials"},
		{"deactivated user", "POST", "/api/v1/auth/login", "", map[string]string{"username": "gone", "password": "gone-password"}, 403, "deactivated"},
		{"oversized password", "POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": strings.Repeat("p", 257)}, 400, "invalid_credentials_format"},
		{"not JSON", "POST", "/api/v1/auth/login", "", "{", 400, "bad_json"},
		{"me with token", "GET", "/api/v1/users/me", adminTok, nil, 200, ""},
		{"me without token", "GET", "/api/v1/users/me", "", nil, 401, "unauthorized"},
		{"me with garbage token", "GET", "/api/v1/users/me", "garbage", nil, 401, "unauthorized"},
		{"me with expired token", "GET", "/api/v1/users/me", expiredTok, nil, 401, "unauthorized"},
		{"admin creates user", "POST", "/api/v1/users", adminTok, map[string]string{"username": "newbie", "password": "newbie-password", "role": "guest"}, 201, ""},
		{"duplicate user", "POST", "/api/v1/users", adminTok, map[string]string{"username": "NEWBIE", "password": "newbie-password"}, 409, "conflict"},
		{"bad role", "POST", "/api/v1/users", adminTok, map[string]string{"username": "x1", "password": "x1-password", "role": "king"}, 400, "invalid_role"},
		{"bad username", "POST", "/api/v1/users", adminTok, map[string]string{"username": "../x", "password": "x1-password"}, 400, "invalid_username"},
		{"short password", "POST", "/api/v1/users", adminTok, map[string]string{"username": "x2", "password": "short"}, 400, "invalid_password"},
		{"member may not create users", "POST", "/api/v1/users", memberTok, map[string]string{"username": "x3", "password": "x3-password"}, 403, "admin_only"},
		{"member may not list all users", "GET", "/api/v1/admin/users", memberTok, nil, 403, "admin_only"},
		{"member lists active users", "GET", "/api/v1/users", memberTok, nil, 200, ""},
		{"unknown API route", "GET", "/api/v1/nope", adminTok, nil, 404, "no_route"},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var body any = sc.body
			var resp *http.Response
			if s, ok := sc.body.(string); ok {
				req, _ := http.NewRequest(sc.method, ts.URL+sc.path, strings.NewReader(s))
				resp, _ = http.DefaultClient.Do(req)
			} else {
				resp = ts.request(sc.method, sc.path, sc.token, body)
			}
			defer resp.Body.Close()
			var out map[string]any
			decode(resp, &out)
			if resp.StatusCode != sc.wantStatus {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, sc.wantStatus, out)
			}
			if sc.wantCode != "" && out["code"] != sc.wantCode {
				t.Fatalf("code %v, want %s (%v)", out["code"], sc.wantCode, out)
			}
			if sc.wantStatus >= 400 && out["error"] == "" {
				t.Fatalf("error without message: %v", out)
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	ts := startServer(t)
	ts.addUser("victim", store.RoleMember)
	beforeAccount, beforeIP := ts.rateLimited("login_account"), ts.rateLimited("login_ip")
	// The account locks after repeated failures even though the IP limit is
	// higher, and the right password is then refused too, with Retry-After.
	var last *http.Response
	for i := 0; i < 11; i++ {
		last = ts.request("POST", "/api/v1/auth/login", "", map[string]string{"username": "victim", "password": "wrong-password"})
		last.Body.Close()
	}
	resp := ts.request("POST", "/api/v1/auth/login", "", map[string]string{"username": "victim", "password": "victim-password"})
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after 11 failures: status %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if ts.rateLimited("login_account") == beforeAccount {
		t.Fatal(`calls_rate_limited_total{limit="login_account"} did not go up`)
	}
	// Per IP: 20 attempts in a burst, whatever the account.
	var status int
	for i := 0; i < 25; i++ {
		r := ts.request("POST", "/api/v1/auth/login", "", map[string]string{"username": "someone", "password": "some-password"})
		r.Body.Close()
		status = r.StatusCode
	}
	if status != http.StatusTooManyRequests {
		t.Fatalf("25 attempts from one IP: last status %d, want 429", status)
	}
	if ts.rateLimited("login_ip") == beforeIP {
		t.Fatal(`calls_rate_limited_total{limit="login_ip"} did not go up`)
	}
}

func TestCookieSessionAndCrossOrigin(t *testing.T) {
	ts := startServer(t)
	ts.addUser("carol", store.RoleMember)
	b := ts.browser()
	resp, err := b.Post(ts.URL+"/api/v1/auth/login", "application/json", jsonBody(map[string]string{"username": "carol", "password": "carol-password"}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax", cookie)
	}
	resp, _ = b.Get(ts.URL + "/api/v1/users/me")
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("me with cookie: %d", resp.StatusCode)
	}
	// Another site's page posting with the user's cookie is refused.
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/auth/logout", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, _ = b.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin logout: %d, want 403", resp.StatusCode)
	}
	// The same request from our own origin works, and ends the session.
	req, _ = http.NewRequest("POST", ts.URL+"/api/v1/auth/logout", nil)
	req.Header.Set("Origin", ts.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, _ = b.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("same-origin logout: %d, want 204", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", ts.URL+"/api/v1/users/me", nil)
	req.AddCookie(cookie) // the old cookie, replayed
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked cookie: %d, want 401", resp.StatusCode)
	}
}

func TestHealthAndUI(t *testing.T) {
	ts := startServer(t)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/": 200, "/setup": 200, "/nope.js": 404} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, _ := http.Get(ts.URL + "/")
	resp.Body.Close()
	h := resp.Header
	if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'self'") || h.Get("Referrer-Policy") == "" {
		t.Fatalf("security headers missing: %v", h)
	}
	// No inline script or eval may run, whatever gets into a page.
	csp := h.Get("Content-Security-Policy")
	for _, d := range strings.Split(csp, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), "script-src "); ok && v != "'self'" {
			t.Fatalf("script-src %s, want 'self' alone", v)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "unsafe-hashes") {
		t.Fatalf("CSP allows inline code: %s", csp)
	}
	etag := h.Get("ETag")
	req, _ := http.NewRequest("GET", ts.URL+"/", nil)
	req.Header.Set("If-None-Match", etag)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation with ETag %q: %d, want 304", etag, resp.StatusCode)
	}
	ts.store.Close() // the database going away makes the server not ready
	resp, _ = http.Get(ts.URL + "/readyz")
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with closed DB: %d", resp.StatusCode)
	}
}

func TestSetupPage(t *testing.T) {
	ts := startServer(t)
	var st map[string]any
	ts.do("GET", "/api/v1/setup", "", nil, &st)
	if st["needed"] != true {
		t.Fatalf("setup status on empty server: %v", st)
	}
	code := ts.setupCode
	if status := ts.do("POST", "/api/v1/setup", "", map[string]string{"code": "WRONG", "username": "root", "password": "root-password"}, nil); status != 403 {
		t.Fatalf("wrong setup code: %d", status)
	}
	var lr loginResponse
	if status := ts.do("POST", "/api/v1/setup", "", map[string]string{"code": strings.ToLower(code), "username": "root", "password": "root-password"}, &lr); status != 200 {
		t.Fatalf("setup: %d", status)
	}
	if lr.User == nil || lr.User.Role != store.RoleAdmin || lr.Token == "" {
		t.Fatalf("setup answer %+v", lr)
	}
	if status := ts.do("POST", "/api/v1/setup", "", map[string]string{"code": code, "username": "root2", "password": "root-password"}, nil); status != 410 {
		t.Fatalf("second setup: %d, want 410", status)
	}
	ts.do("GET", "/api/v1/setup", "", nil, &st)
	if st["needed"] != false {
		t.Fatalf("setup still offered: %v", st)
	}
}
