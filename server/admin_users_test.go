package server

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"calls/store"
)

// Every admin route, walked from the routing table, refuses members and
// guests (403) and anonymous requests (401).
func TestAdminRoutesRefuseNonAdmins(t *testing.T) {
	ts := startServer(t)
	ts.addUser("root", store.RoleAdmin)
	ts.addUser("mem", store.RoleMember)
	ts.addUser("gst", store.RoleGuest)
	member, guest := ts.login("mem"), ts.login("gst")
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	var admin []string
	for _, p := range ts.routePatterns {
		if _, path, _ := strings.Cut(p, " "); strings.HasPrefix(path, "/api/v1/admin/") {
			admin = append(admin, p)
		}
	}
	// Admin-only routes outside /admin/ (older names).
	admin = append(admin, "POST /api/v1/users", "PUT /api/v1/users/{id}/active")
	if len(admin) < 15 {
		t.Fatalf("only %d admin routes found: %v", len(admin), admin)
	}
	for _, p := range admin {
		method, path, _ := strings.Cut(p, " ")
		path = param.ReplaceAllString(path, store.NewID())
		body := map[string]any{"role": "admin", "active": false, "username": "x1", "password": "x1-password", "ringing": false}
		for _, who := range []struct {
			name, token string
			status      int
		}{{"member", member, 403}, {"guest", guest, 403}, {"nobody", "", 401}} {
			var out map[string]any
			if st := ts.do(method, path, who.token, body, &out); st != who.status {
				t.Errorf("%s %s as %s: %d %v, want %d", method, path, who.name, st, out, who.status)
			}
		}
	}
	// Nothing a refused request asked for happened.
	if _, err := ts.store.UserByUsername(context.Background(), "x1"); err == nil {
		t.Fatal("a member created a user")
	}
	if !ts.settingBool("ringing") {
		t.Fatal("a member changed a setting")
	}
}

func TestAdminUserManagement(t *testing.T) {
	ts := startServer(t)
	root := ts.addUser("root", store.RoleAdmin)
	ts.addUser("alice", store.RoleMember)
	ts.addUser("albert", store.RoleGuest)
	ts.addUser("zed", store.RoleMember)
	tok := ts.login("root")
	aliceTok := ts.login("alice")

	type page struct {
		Users []adminUserView
		Total int
	}
	list := func(q string) page {
		var p page
		ts.mustDo("GET", "/api/v1/admin/users"+q, tok, nil, &p, 200)
		return p
	}
	names := func(p page) string {
		var n []string
		for _, u := range p.Users {
			n = append(n, u.Username)
		}
		return strings.Join(n, ",")
	}
	// Create, through the API.
	var made store.User
	ts.mustDo("POST", "/api/v1/users", tok, map[string]string{"username": "newbie", "password": "newbie-password", "role": "guest"}, &made, 201)

	for _, c := range []struct{ q, want string }{
		{"", "albert,alice,newbie,root,zed"},
		{"?q=AL", "albert,alice"},
		{"?q=%25", ""}, // a LIKE wildcard matches literally
		{"?role=guest", "albert,newbie"},
		{"?limit=2&offset=1", "alice,newbie"},
	} {
		if got := names(list(c.q)); got != c.want {
			t.Errorf("list %q: %s, want %s", c.q, got, c.want)
		}
	}
	if p := list("?limit=2"); p.Total != 5 || len(p.Users) != 2 {
		t.Errorf("paging: total %d, %d users", p.Total, len(p.Users))
	}
	for _, q := range []string{"?role=king", "?status=gone", "?limit=0", "?offset=-1"} {
		if st := ts.do("GET", "/api/v1/admin/users"+q, tok, nil, nil); st != 400 {
			t.Errorf("list %s: %d, want 400", q, st)
		}
	}
	// last_seen_at: set by a login, null for someone who never logged in.
	p := list("?q=al")
	if p.Users[1].LastSeenAt == nil || p.Users[0].LastSeenAt != nil || p.Users[1].DeactivatedAt != nil {
		t.Fatalf("albert/alice: %+v", p.Users)
	}

	// Role changes, and the last admin cannot be demoted.
	alice := p.Users[1]
	var u adminUserView
	ts.mustDo("PATCH", "/api/v1/admin/users/"+alice.ID, tok, map[string]any{"role": "admin", "display_name": "Alice A."}, &u, 200)
	if u.Role != "admin" || u.DisplayName != "Alice A." {
		t.Fatalf("patched %+v", u)
	}
	// She is an admin at once (roles are checked per request).
	ts.mustDo("GET", "/api/v1/admin/users", aliceTok, nil, nil, 200)
	ts.mustDo("PATCH", "/api/v1/admin/users/"+root.ID, tok, map[string]any{"role": "member"}, &u, 200)
	var e map[string]any
	if st := ts.do("PATCH", "/api/v1/admin/users/"+alice.ID, aliceTok, map[string]any{"role": "guest"}, &e); st != 409 || e["code"] != "last_admin" {
		t.Fatalf("demoting the last admin: %d %v", st, e)
	}
	if got, _ := ts.store.UserByID(context.Background(), alice.ID); got.Role != "admin" {
		t.Fatal("the last admin was demoted")
	}
	// root is a member now: admin routes are closed to him.
	if st := ts.do("GET", "/api/v1/admin/users", tok, nil, nil); st != 403 {
		t.Fatalf("demoted admin: %d", st)
	}
	for _, bad := range []map[string]any{{"role": "king"}, {"display_name": ""}, {}} {
		if st := ts.do("PATCH", "/api/v1/admin/users/"+made.ID, aliceTok, bad, nil); st != 400 {
			t.Errorf("PATCH %v: %d", bad, st)
		}
	}
	if st := ts.do("PATCH", "/api/v1/admin/users/"+store.NewID(), aliceTok, map[string]any{"role": "member"}, nil); st != 404 {
		t.Errorf("PATCH unknown user: %d", st)
	}

	// Deactivate and reactivate; deactivation ends sessions.
	newbieTok := ts.login("newbie")
	ts.mustDo("PUT", "/api/v1/users/"+made.ID+"/active", aliceTok, map[string]bool{"active": false}, nil, 200)
	if st := ts.do("GET", "/api/v1/users/me", newbieTok, nil, nil); st != 401 {
		t.Fatalf("deactivated user's session: %d", st)
	}
	if got := names(list2(ts, aliceTok, "?status=deactivated")); got != "newbie" {
		t.Fatalf("deactivated: %s", got)
	}
	ts.mustDo("PUT", "/api/v1/users/"+made.ID+"/active", aliceTok, map[string]bool{"active": true}, nil, 200)

	// Every change is in the audit log, by whom.
	var audit struct{ Entries []store.AuditEntry }
	ts.mustDo("GET", "/api/v1/admin/audit", aliceTok, nil, &audit, 200)
	var got []string
	for _, e := range audit.Entries {
		got = append(got, e.ActorUsername+" "+e.Action+" "+string(e.Old)+"→"+string(e.New))
	}
	want := []string{
		`alice user.activate false→true`,
		`alice user.deactivate true→false`,
		`root user.role "admin"→"member"`,
		`root user.display_name "alice"→"Alice A."`,
		`root user.role "member"→"admin"`,
	}
	if len(got) < len(want)+1 || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") || !strings.HasPrefix(got[len(want)], "root user.create null→") {
		t.Fatalf("audit:\n%s", strings.Join(got, "\n"))
	}
}

func list2(ts *testServer, tok, q string) struct {
	Users []adminUserView
	Total int
} {
	var p struct {
		Users []adminUserView
		Total int
	}
	ts.mustDo("GET", "/api/v1/admin/users"+q, tok, nil, &p, 200)
	return p
}

// Deactivating a user through the API takes them out of a running call at
// once, on the server's side (a real pion peer), before the answer.
func TestDeactivationRemovesFromCall(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann, ben := f.peer(t, "ann"), f.peer(t, "ben")
	ann.join(f.channel, true, false)
	ann.publish(ctx)
	ben.join(f.channel, true, false)
	ben.publish(ctx)
	waitFor(t, "ann hears ben", 30*time.Second, ann.heard(ben.pid, "mic", 11))

	// The admin's view: both in the call, with their audio flowing.
	admin := f.tokens["cat"]
	var calls struct{ Calls []adminCall }
	ts := f.ts
	waitFor(t, "bitrates", 30*time.Second, func() bool {
		ts.mustDo("GET", "/api/v1/admin/calls", admin, nil, &calls, 200)
		if len(calls.Calls) != 1 || len(calls.Calls[0].Participants) != 2 {
			return false
		}
		for _, p := range calls.Calls[0].Participants {
			if len(p.Tracks) != 1 || p.Tracks[0].Kind != "audio" || p.Tracks[0].Packets == 0 || p.Tracks[0].BitrateBPS <= 0 || p.Username == "" {
				return false
			}
		}
		return true
	})
	c := calls.Calls[0]
	if c.ChannelName != "standup" || c.HostID != f.users["ann"].ID || c.Recording != nil || c.DurationSeconds < 0 {
		t.Fatalf("admin call %+v", c)
	}

	ts.mustDo("PUT", "/api/v1/users/"+f.users["ben"].ID+"/active", admin, map[string]bool{"active": false}, nil, 200)
	// Already out when the answer came.
	ts.mustDo("GET", "/api/v1/admin/calls", admin, nil, &calls, 200)
	if len(calls.Calls) != 1 || len(calls.Calls[0].Participants) != 1 || calls.Calls[0].Participants[0].UserID != f.users["ann"].ID {
		t.Fatalf("after deactivation: %+v", calls.Calls)
	}
	for _, tr := range calls.Calls[0].Tracks {
		if tr.PeerID == ben.pid {
			t.Fatal("ben's track is still forwarded")
		}
	}
	// The others see him leave; his websocket is closed.
	for {
		ev := ann.event("call_participant_left")
		if strings.Contains(string(ev.Data), ben.pid) {
			break
		}
	}
	deadline := time.After(10 * time.Second)
	for closed := false; !closed; {
		select {
		case _, ok := <-ben.events:
			closed = !ok
		case <-deadline:
			t.Fatal("ben's websocket stayed open")
		}
	}
	if st := ts.do("GET", "/api/v1/users/me", f.tokens["ben"], nil, nil); st != http.StatusUnauthorized {
		t.Fatalf("ben's session: %d", st)
	}
}
