package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"calls/store"
)

type inviteAnswer struct {
	ID      string `json:"id"`
	URL     string `json:"url"`
	Role    string `json:"role"`
	TeamID  string `json:"team_id"`
	MaxUses int    `json:"max_uses"`
	Uses    int    `json:"uses"`
}

// tokenOf is the last path segment of a link.
func tokenOf(url string) string { return url[strings.LastIndex(url, "/")+1:] }

func TestInviteLinks(t *testing.T) {
	ts := startServer(t)
	fc := &fakeClock{now: time.Now()}
	ts.clock = fc
	ts.addUser("root", store.RoleAdmin)
	ts.addUser("mem", store.RoleMember)
	tok, memTok := ts.login("root"), ts.login("mem")
	var team store.Team
	ts.mustDo("POST", "/api/v1/teams", tok, map[string]string{"name": "crew"}, &team, 201)

	// Create: one use, into the team.
	var inv inviteAnswer
	ts.mustDo("POST", "/api/v1/admin/invites", tok, map[string]any{"role": "guest", "team_id": team.ID, "expires_in": "48h", "max_uses": 1}, &inv, 201)
	if !strings.HasPrefix(inv.URL, ts.URL+"/invite/") || inv.Role != "guest" || inv.TeamID != team.ID || inv.Uses != 0 {
		t.Fatalf("invite %+v", inv)
	}
	link := "/api/v1/invites/" + tokenOf(inv.URL)
	for _, bad := range []map[string]any{{"role": "king"}, {"expires_in": "1s"}, {"expires_in": "100000h"}, {"max_uses": 0}, {"team_id": store.NewID()}} {
		if st := ts.do("POST", "/api/v1/admin/invites", tok, bad, nil); st != 400 {
			t.Errorf("create invite %v: %d, want 400", bad, st)
		}
	}
	// The list never shows the token.
	resp := ts.request("GET", "/api/v1/admin/invites", tok, nil)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), inv.ID) || strings.Contains(string(raw), tokenOf(inv.URL)) {
		t.Fatalf("invite list: %s", raw)
	}

	// The page asks what the invite is, without logging in.
	var info map[string]any
	ts.mustDo("GET", link, "", nil, &info, 200)
	if info["role"] != "guest" || info["site_name"] != "calls" {
		t.Fatalf("invite info %v", info)
	}
	ts.mustDo("GET", "/api/v1/invites/nonsense", "", nil, nil, 404)

	// Accept: the account exists, is logged in and is in the team.
	for _, bad := range []map[string]string{{"username": "bad name", "password": "long-enough-pw"}, {"username": "gina", "password": "short"}} {
		if st := ts.do("POST", link, "", bad, nil); st != 400 {
			t.Errorf("accept %v: %d, want 400", bad, st)
		}
	}
	if st := ts.do("POST", link, "", map[string]string{"username": "MEM", "password": "long-enough-pw"}, nil); st != 409 {
		t.Errorf("accept with a taken username: %d", st)
	}
	b := ts.browser()
	r, err := b.Post(ts.URL+link, "application/json", jsonBody(map[string]string{"username": "gina", "password": "gina-password", "display_name": "Gina"}))
	if err != nil {
		t.Fatal(err)
	}
	var acc loginResponse
	decode(r, &acc)
	r.Body.Close()
	if r.StatusCode != 201 || acc.User == nil || acc.User.Role != "guest" || acc.User.DisplayName != "Gina" || len(r.Cookies()) == 0 {
		t.Fatalf("accept: %d %+v cookies %v", r.StatusCode, acc, r.Cookies())
	}
	me, err := b.Get(ts.URL + "/api/v1/teams") // with the cookie only
	if err != nil {
		t.Fatal(err)
	}
	var teams struct{ Teams []store.Team }
	decode(me, &teams)
	me.Body.Close()
	if me.StatusCode != 200 || len(teams.Teams) != 1 || teams.Teams[0].ID != team.ID {
		t.Fatalf("gina's teams: %d %+v", me.StatusCode, teams)
	}
	// Used once: a second use is 410, and so is the page.
	var gone map[string]any
	if st := ts.do("POST", link, "", map[string]string{"username": "gina2", "password": "gina-password"}, &gone); st != 410 || gone["code"] != "link_gone" {
		t.Fatalf("second use: %d %v", st, gone)
	}
	ts.mustDo("GET", link, "", nil, nil, 410)

	// Expired: 410, with nothing created.
	var exp inviteAnswer
	ts.mustDo("POST", "/api/v1/admin/invites", tok, map[string]any{"expires_in": "1h", "max_uses": 5}, &exp, 201)
	fc.Advance(time.Hour + time.Second)
	if st := ts.do("POST", "/api/v1/invites/"+tokenOf(exp.URL), "", map[string]string{"username": "late", "password": "late-password"}, nil); st != 410 {
		t.Fatalf("expired invite: %d", st)
	}
	if _, err := ts.store.UserByUsername(t.Context(), "late"); err == nil {
		t.Fatal("an expired invite created a user")
	}

	// Several uses, no team: the default team is joined; revoked: 410.
	ts.mustDo("PATCH", "/api/v1/admin/settings", tok, map[string]any{"default_team_id": team.ID}, nil, 200)
	var multi inviteAnswer
	ts.mustDo("POST", "/api/v1/admin/invites", tok, map[string]any{"max_uses": 2}, &multi, 201)
	var joined loginResponse
	ts.mustDo("POST", "/api/v1/invites/"+tokenOf(multi.URL), "", map[string]string{"username": "hal", "password": "hal-password"}, &joined, 201)
	ts.mustDo("GET", "/api/v1/teams", joined.Token, nil, &teams, 200)
	if joined.User.Role != "member" || len(teams.Teams) != 1 {
		t.Fatalf("hal: %+v teams %+v", joined.User, teams)
	}
	if st := ts.do("DELETE", "/api/v1/admin/invites/"+multi.ID, memTok, nil, nil); st != 403 {
		t.Fatalf("member revokes: %d", st)
	}
	ts.mustDo("DELETE", "/api/v1/admin/invites/"+multi.ID, tok, nil, nil, 204)
	ts.mustDo("DELETE", "/api/v1/admin/invites/"+multi.ID, tok, nil, nil, 404)
	if st := ts.do("POST", "/api/v1/invites/"+tokenOf(multi.URL), "", map[string]string{"username": "ivy", "password": "ivy-password"}, nil); st != 410 {
		t.Fatalf("revoked invite: %d", st)
	}

	// Closed sign-up turns invite links off.
	var open inviteAnswer
	ts.mustDo("POST", "/api/v1/admin/invites", tok, map[string]any{}, &open, 201)
	ts.mustDo("PATCH", "/api/v1/admin/settings", tok, map[string]any{"signup": "closed"}, nil, 200)
	var closed map[string]any
	if st := ts.do("POST", "/api/v1/invites/"+tokenOf(open.URL), "", map[string]string{"username": "jo", "password": "jo-password"}, &closed); st != 403 || closed["code"] != "signup_closed" {
		t.Fatalf("invite with signup closed: %d %v", st, closed)
	}
	if st := ts.do("POST", "/api/v1/admin/invites", tok, map[string]any{}, nil); st != 403 {
		t.Fatalf("creating an invite with signup closed: %d", st)
	}

	// Audit: created, accepted, revoked.
	var audit struct{ Entries []store.AuditEntry }
	ts.mustDo("GET", "/api/v1/admin/audit", tok, nil, &audit, 200)
	count := map[string]int{}
	for _, e := range audit.Entries {
		count[e.Action]++
	}
	if count["invite.create"] != 4 || count["invite.accept"] != 2 || count["invite.revoke"] != 1 {
		t.Fatalf("audit counts %v", count)
	}
}

func TestSignupOpenAndClosed(t *testing.T) {
	ts := startServer(t)
	ts.addUser("root", store.RoleAdmin)
	tok := ts.login("root")
	body := map[string]string{"username": "sam", "password": "sam-password"}
	// The default is "invite": no open sign-up.
	var e map[string]any
	if st := ts.do("POST", "/api/v1/auth/signup", "", body, &e); st != 403 || e["code"] != "signup_closed" {
		t.Fatalf("signup by default: %d %v", st, e)
	}
	var setup map[string]any
	ts.mustDo("GET", "/api/v1/setup", "", nil, &setup, 200)
	if setup["signup"] != "invite" {
		t.Fatalf("setup status %v", setup)
	}
	ts.mustDo("PATCH", "/api/v1/admin/settings", tok, map[string]any{"signup": "open"}, nil, 200)
	// The login page (no session) learns that sign-up is open.
	ts.mustDo("GET", "/api/v1/setup", "", nil, &setup, 200)
	if setup["signup"] != "open" {
		t.Fatalf("setup status %v", setup)
	}
	var out loginResponse
	ts.mustDo("POST", "/api/v1/auth/signup", "", body, &out, 201)
	if out.User.Role != "member" || out.Token == "" {
		t.Fatalf("signed up %+v", out)
	}
	ts.mustDo("GET", "/api/v1/users/me", out.Token, nil, nil, 200)
	if st := ts.do("POST", "/api/v1/auth/signup", "", body, nil); st != 409 {
		t.Fatalf("sign up twice: %d", st)
	}
	ts.mustDo("PATCH", "/api/v1/admin/settings", tok, map[string]any{"signup": "closed"}, nil, 200)
	if st := ts.do("POST", "/api/v1/auth/signup", "", map[string]string{"username": "tia", "password": "tia-password"}, nil); st != 403 {
		t.Fatalf("signup closed: %d", st)
	}
}

func TestPasswordResetLink(t *testing.T) {
	ts := startServer(t)
	fc := &fakeClock{now: time.Now()}
	ts.clock = fc
	ts.addUser("root", store.RoleAdmin)
	bob := ts.addUser("bob", store.RoleMember)
	tok := ts.login("root")
	bobTok, bobTok2 := ts.login("bob"), ts.login("bob")
	ws, err := ts.dialWS(bobTok, "")
	if err != nil {
		t.Fatal(err)
	}
	readFrame(t, ws)

	var link struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	ts.mustDo("POST", "/api/v1/admin/users/"+bob.ID+"/reset-link", tok, nil, &link, 201)
	if !strings.HasPrefix(link.URL, ts.URL+"/reset/") || (link.ExpiresAt.Sub(fc.Now())-24*time.Hour).Abs() > time.Millisecond {
		t.Fatalf("reset link %+v", link)
	}
	path := "/api/v1/reset/" + tokenOf(link.URL)
	var info map[string]any
	ts.mustDo("GET", path, "", nil, &info, 200)
	if info["username"] != "bob" {
		t.Fatalf("reset info %v", info)
	}
	if st := ts.do("POST", path, "", map[string]string{"password": "short"}, nil); st != 400 {
		t.Fatalf("short password: %d", st)
	}
	ts.mustDo("POST", path, "", map[string]string{"password": "a-brand-new-password"}, nil, 200)
	// Every session of bob's is revoked, his websocket closed.
	for _, tk := range []string{bobTok, bobTok2} {
		if st := ts.do("GET", "/api/v1/users/me", tk, nil, nil); st != http.StatusUnauthorized {
			t.Fatalf("old session after reset: %d", st)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			break
		}
	}
	if ctx.Err() != nil {
		t.Fatal("bob's websocket stayed open")
	}
	// The new password works, the old does not.
	ts.mustDo("POST", "/api/v1/auth/login", "", map[string]string{"username": "bob", "password": "a-brand-new-password"}, nil, 200)
	ts.mustDo("POST", "/api/v1/auth/login", "", map[string]string{"username": "bob", "password": "bob-password"}, nil, 401)
	// One time only.
	ts.mustDo("POST", path, "", map[string]string{"password": "another-new-password"}, nil, 410)
	ts.mustDo("GET", path, "", nil, nil, 410)
	ts.mustDo("GET", "/api/v1/reset/unknown-token", "", nil, nil, 404)

	// Expired after 24 hours.
	ts.mustDo("POST", "/api/v1/admin/users/"+bob.ID+"/reset-link", tok, nil, &link, 201)
	fc.Advance(24*time.Hour + time.Second)
	ts.mustDo("POST", "/api/v1/reset/"+tokenOf(link.URL), "", map[string]string{"password": "too-late-password"}, nil, 410)

	var audit struct{ Entries []store.AuditEntry }
	ts.mustDo("GET", "/api/v1/admin/audit", tok, nil, &audit, 200)
	if len(audit.Entries) != 3 || audit.Entries[0].Action != "user.reset_link" || audit.Entries[1].Action != "user.password_reset" ||
		audit.Entries[1].ActorUsername != "bob" {
		t.Fatalf("audit %+v", audit.Entries)
	}
}

// TestLinksUsePublicURL: behind a reverse proxy that ends TLS the request
// says http:// and the proxy's upstream host; --public-url is what people
// open, and every link handed out starts with it.
func TestLinksUsePublicURL(t *testing.T) {
	ts := startServerTB(t, func(c *Config) { c.PublicURL = "https://chat.example.com" })
	ts.addUser("root", store.RoleAdmin)
	bob := ts.addUser("bob", store.RoleMember)
	tok := ts.login("root")
	var inv inviteAnswer
	ts.mustDo("POST", "/api/v1/admin/invites", tok, map[string]any{"role": "member"}, &inv, 201)
	if !strings.HasPrefix(inv.URL, "https://chat.example.com/invite/") {
		t.Fatalf("invite link %q, want it on the public URL", inv.URL)
	}
	var reset struct {
		URL string `json:"url"`
	}
	ts.mustDo("POST", "/api/v1/admin/users/"+bob.ID+"/reset-link", tok, nil, &reset, 201)
	if !strings.HasPrefix(reset.URL, "https://chat.example.com/reset/") {
		t.Fatalf("reset link %q, want it on the public URL", reset.URL)
	}
}
