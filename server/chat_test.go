package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"calls/store"
)

// chatFixture is a team with an admin, two members, a guest and an
// outsider; a public and a private channel; an archived channel.
type chatFixture struct {
	ts                                  *testServer
	admin, alice, bob, guest, outsider  *store.User
	adminT, aliceT, bobT, guestT, outT  string
	team                                string
	town, public, private, archived, dm string
}

func newChatFixture(t *testing.T) *chatFixture {
	ts := startServer(t)
	f := &chatFixture{ts: ts}
	f.admin = ts.addUser("admin", store.RoleAdmin)
	f.alice = ts.addUser("alice", store.RoleMember)
	f.bob = ts.addUser("bob", store.RoleMember)
	f.guest = ts.addUser("guest", store.RoleGuest)
	f.outsider = ts.addUser("outsider", store.RoleMember)
	f.adminT, f.aliceT, f.bobT, f.guestT, f.outT = ts.login("admin"), ts.login("alice"), ts.login("bob"), ts.login("guest"), ts.login("outsider")

	var team store.Team
	ts.mustDo("POST", "/api/v1/teams", f.aliceT, map[string]string{"name": "eng", "display_name": "Engineering"}, &team, 201)
	f.team = team.ID
	for _, u := range []*store.User{f.bob, f.guest} {
		ts.mustDo("POST", "/api/v1/teams/"+team.ID+"/members", f.aliceT, map[string]string{"user_id": u.ID}, nil, 201)
	}
	var chans struct{ Channels []*store.Channel }
	ts.mustDo("GET", "/api/v1/teams/"+team.ID+"/channels", f.aliceT, nil, &chans, 200)
	f.town = chans.Channels[0].ID
	f.public = f.mkChannel("general", "public", f.aliceT)
	f.private = f.mkChannel("secret", "private", f.aliceT)
	f.archived = f.mkChannel("old", "public", f.aliceT)
	ts.mustDo("POST", "/api/v1/channels/"+f.public+"/join", f.bobT, nil, nil, 204)
	ts.mustDo("POST", "/api/v1/channels/"+f.archived+"/archive", f.aliceT, nil, nil, 200)
	var dm store.Channel
	ts.mustDo("POST", "/api/v1/dms", f.aliceT, map[string]any{"user_ids": []string{f.bob.ID}}, &dm, 201)
	f.dm = dm.ID
	return f
}

func (f *chatFixture) mkChannel(name, typ, tok string) string {
	var c store.Channel
	f.ts.mustDo("POST", "/api/v1/channels", tok, map[string]string{"team_id": f.team, "name": name, "display_name": name, "type": typ}, &c, 201)
	return c.ID
}

func (f *chatFixture) postAs(tok, channel, msg string) *postView {
	var p postView
	f.ts.mustDo("POST", "/api/v1/channels/"+channel+"/posts", tok, map[string]string{"message": msg}, &p, 201)
	return &p
}

func (ts *testServer) mustDo(method, path, token string, body, out any, want int) {
	ts.t.Helper()
	resp := ts.request(method, path, token, body)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		ts.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			ts.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// Every chat route, with the people who may and may not use it.
func TestChatAPIScenarios(t *testing.T) {
	f := newChatFixture(t)
	ts := f.ts
	post := f.postAs(f.aliceT, f.private, "private words")
	pubPost := f.postAs(f.aliceT, f.public, "public words")
	bobPost := f.postAs(f.bobT, f.public, "bob's words")
	ch := func(id, rest string) string { return "/api/v1/channels/" + id + rest }
	long := strings.Repeat("x", MaxMessageLen+1)
	team := "/api/v1/teams/" + f.team + "/members"

	// An archived room with a message in it.
	frozen := f.mkChannel("frozen", "public", f.aliceT)
	ts.mustDo("POST", ch(frozen, "/join"), f.bobT, nil, nil, 204)
	frozenPost := f.postAs(f.aliceT, frozen, "before the freeze")
	ts.mustDo("POST", ch(frozen, "/archive"), f.aliceT, nil, nil, 200)
	// A room that gets deleted, with bob in it.
	doomed := f.mkChannel("doomed", "private", f.aliceT)
	ts.mustDo("POST", ch(doomed, "/members"), f.aliceT, map[string]string{"user_id": f.bob.ID}, nil, 201)
	// A discussion under the public channel, started from a message; bob is not in it.
	var disc store.Channel
	ts.mustDo("POST", "/api/v1/channels", f.aliceT, map[string]any{"type": "discussion", "parent_id": f.public,
		"parent_post_id": pubPost.ID, "display_name": "launch plan"}, &disc, 201)
	// Someone who leaves the team on their own, and someone deactivated
	// whose token is still around.
	leaver := ts.addUser("leaver", store.RoleMember)
	leaverT := ts.login("leaver")
	dead := ts.addUser("dead", store.RoleMember)
	deadT := ts.login("dead")
	for _, u := range []*store.User{leaver, dead} {
		ts.mustDo("POST", team, f.aliceT, map[string]string{"user_id": u.ID}, nil, 201)
	}
	ts.mustDo("POST", ch(f.public, "/join"), deadT, nil, nil, 204)
	ts.mustDo("PUT", "/api/v1/users/"+dead.ID+"/active", f.adminT, map[string]bool{"active": false}, nil, 200)
	// Alice and eight others are one too many for a group DM (3-8 people).
	// (No guest among them: a guest would then share a room with outsider.)
	eight := []string{f.admin.ID, f.bob.ID, f.outsider.ID, leaver.ID}
	for _, name := range []string{"pat", "quinn", "rene", "sam"} {
		eight = append(eight, ts.addUser(name, store.RoleMember).ID)
	}

	scenarios := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		status int
		code   string
	}{
		// teams
		{"list teams", "GET", "/api/v1/teams", f.bobT, nil, 200, ""},
		{"guest cannot create team", "POST", "/api/v1/teams", f.guestT, map[string]string{"name": "g"}, 403, "guest"},
		{"bad team name", "POST", "/api/v1/teams", f.bobT, map[string]string{"name": "Bad Name"}, 400, "invalid_name"},
		{"duplicate team", "POST", "/api/v1/teams", f.bobT, map[string]string{"name": "eng"}, 409, "conflict"},
		{"outsider cannot see team", "GET", "/api/v1/teams/" + f.team + "/members", f.outT, nil, 404, "not_found"},
		{"member cannot add to team", "POST", "/api/v1/teams/" + f.team + "/members", f.bobT, map[string]string{"user_id": f.outsider.ID}, 403, "forbidden"},
		{"member cannot remove others from team", "DELETE", team + "/" + f.alice.ID, f.bobT, nil, 403, "forbidden"},
		{"member leaves the team", "DELETE", team + "/" + leaver.ID, leaverT, nil, 204, ""},
		{"who left no longer sees the team", "GET", team, leaverT, nil, 404, "not_found"},
		{"guest browses no channels", "GET", "/api/v1/teams/" + f.team + "/channels", f.guestT, nil, 200, ""},
		// channels
		{"sidebar", "GET", "/api/v1/channels", f.bobT, nil, 200, ""},
		{"guest cannot create channel", "POST", "/api/v1/channels", f.guestT, map[string]string{"team_id": f.team, "name": "x", "type": "public"}, 403, "guest"},
		{"outsider cannot create in team", "POST", "/api/v1/channels", f.outT, map[string]string{"team_id": f.team, "name": "x", "type": "public"}, 400, "bad_team"},
		{"bad channel type", "POST", "/api/v1/channels", f.aliceT, map[string]string{"team_id": f.team, "name": "x", "type": "dm"}, 400, "invalid_type"},
		{"duplicate channel", "POST", "/api/v1/channels", f.aliceT, map[string]string{"team_id": f.team, "name": "general", "type": "private"}, 409, "conflict"},
		{"team member reads public", "GET", ch(f.public, "/posts"), f.bobT, nil, 200, ""},
		{"guest cannot read public it is not in", "GET", ch(f.public, "/posts"), f.guestT, nil, 404, "not_found"},
		{"non-member cannot read private", "GET", ch(f.private, "/posts"), f.bobT, nil, 404, "not_found"},
		{"outsider cannot read public", "GET", ch(f.public, "/posts"), f.outT, nil, 404, "not_found"},
		{"outsider cannot read dm", "GET", ch(f.dm, "/posts"), f.outT, nil, 404, "not_found"},
		{"unknown channel", "GET", ch(strings.Repeat("y", 26), ""), f.aliceT, nil, 404, "not_found"},
		{"garbage channel id", "GET", ch("..%2f..%2fetc", ""), f.aliceT, nil, 404, "not_found"},
		{"guest cannot join public", "POST", ch(f.public, "/join"), f.guestT, nil, 404, "not_found"},
		{"member cannot join private", "POST", ch(f.private, "/join"), f.bobT, nil, 404, "not_found"},
		{"non-manager cannot rename", "PATCH", ch(f.public, ""), f.bobT, map[string]string{"display_name": "x"}, 403, "forbidden"},
		{"creator renames", "PATCH", ch(f.public, ""), f.aliceT, map[string]string{"display_name": "General talk"}, 200, ""},
		{"member sets header", "PATCH", ch(f.public, ""), f.bobT, map[string]string{"header": "new header"}, 200, ""},
		{"header too long", "PATCH", ch(f.public, ""), f.bobT, map[string]string{"header": strings.Repeat("h", 1025)}, 400, "invalid_header"},
		{"non-manager cannot archive", "POST", ch(f.public, "/archive"), f.bobT, nil, 403, "forbidden"},
		{"non-manager cannot delete", "DELETE", ch(f.public, ""), f.bobT, nil, 403, "forbidden"},
		{"dm cannot be deleted", "DELETE", ch(f.dm, ""), f.aliceT, nil, 403, "direct_room"},
		{"dm cannot be left", "POST", ch(f.dm, "/leave"), f.aliceT, nil, 400, "direct_room"},
		{"members of private hidden", "GET", ch(f.private, "/members"), f.bobT, nil, 404, "not_found"},
		{"invite outsider to team channel", "POST", ch(f.private, "/members"), f.aliceT, map[string]string{"user_id": f.outsider.ID}, 400, "not_in_team"},
		{"member cannot remove others", "DELETE", ch(f.public, "/members/"+f.alice.ID), f.bobT, nil, 403, "forbidden"},
		{"archived refuses new members", "POST", ch(frozen, "/members"), f.aliceT, map[string]string{"user_id": f.guest.ID}, 403, "archived"},
		{"archived refuses /header", "POST", ch(frozen, "/commands"), f.aliceT, map[string]string{"command": "/header thawed"}, 403, "archived"},
		{"archived refuses header edits", "PATCH", ch(frozen, ""), f.aliceT, map[string]string{"header": "thawed"}, 403, "archived"},
		{"archived refuses uploads", "POST", ch(frozen, "/files"), f.aliceT, nil, 403, "archived"},
		{"archived refuses discussions", "POST", "/api/v1/channels", f.aliceT, map[string]any{"type": "discussion", "parent_id": frozen, "display_name": "x"}, 403, "archived"},
		{"manager deletes a room", "DELETE", ch(doomed, ""), f.aliceT, nil, 204, ""},
		{"deleted room is gone for its creator", "GET", ch(doomed, ""), f.aliceT, nil, 404, "not_found"},
		{"deleted room is gone for its members", "GET", ch(doomed, "/posts"), f.bobT, nil, 404, "not_found"},
		{"deleted room is gone for an admin", "GET", ch(doomed, ""), f.adminT, nil, 404, "not_found"},
		{"deleted room takes no posts", "POST", ch(doomed, "/posts"), f.aliceT, map[string]string{"message": "hello?"}, 404, "not_found"},
		{"deleted room cannot be deleted again", "DELETE", ch(doomed, ""), f.aliceT, nil, 404, "not_found"},
		{"discussions are listed under their parent", "GET", ch(f.public, "/discussions"), f.aliceT, nil, 200, ""},
		{"a discussion bob is not in is not listed to him", "GET", ch(f.public, "/discussions"), f.bobT, nil, 200, ""},
		{"discussion under dm", "POST", "/api/v1/channels", f.aliceT, map[string]any{"type": "discussion", "parent_id": f.dm, "display_name": "plan"}, 201, ""},
		{"discussion needs readable parent", "POST", "/api/v1/channels", f.bobT, map[string]any{"type": "discussion", "parent_id": f.private, "display_name": "x"}, 404, "not_found"},
		{"dm with self only", "POST", "/api/v1/dms", f.aliceT, map[string]any{"user_ids": []string{f.alice.ID}}, 400, "bad_user_ids"},
		{"dm again is the same room", "POST", "/api/v1/dms", f.bobT, map[string]any{"user_ids": []string{f.alice.ID}}, 200, ""},
		{"group dm of 3", "POST", "/api/v1/dms", f.aliceT, map[string]any{"user_ids": []string{f.bob.ID, f.outsider.ID}}, 201, ""},
		{"group dm of 8", "POST", "/api/v1/dms", f.aliceT, map[string]any{"user_ids": eight[:7]}, 201, ""},
		{"group dm of 9 is too big", "POST", "/api/v1/dms", f.aliceT, map[string]any{"user_ids": eight}, 400, "bad_user_ids"},
		{"guest cannot dm strangers", "POST", "/api/v1/dms", f.guestT, map[string]any{"user_ids": []string{f.outsider.ID}}, 400, "bad_user"},
		// posts
		{"member posts", "POST", ch(f.public, "/posts"), f.bobT, map[string]string{"message": "hi"}, 201, ""},
		{"team member must join to post", "POST", ch(f.town, "/posts"), f.outT, map[string]string{"message": "hi"}, 404, "not_found"},
		{"non-member cannot post private", "POST", ch(f.private, "/posts"), f.bobT, map[string]string{"message": "hi"}, 404, "not_found"},
		{"empty message", "POST", ch(f.public, "/posts"), f.bobT, map[string]string{"message": "  "}, 400, "empty_message"},
		{"message too long", "POST", ch(f.public, "/posts"), f.bobT, map[string]string{"message": long}, 400, "message_too_long"},
		{"message at the limit", "POST", ch(f.public, "/posts"), f.bobT, map[string]string{"message": long[1:]}, 201, ""},
		{"archived is read-only", "POST", ch(f.archived, "/posts"), f.aliceT, map[string]string{"message": "hi"}, 403, "archived"},
		{"archived is readable", "GET", ch(f.archived, "/posts"), f.aliceT, nil, 200, ""},
		{"non-manager cannot unarchive", "POST", ch(f.archived, "/unarchive"), f.bobT, nil, 403, "forbidden"},
		{"creator unarchives", "POST", ch(f.archived, "/unarchive"), f.aliceT, nil, 200, ""},
		{"unarchived room takes posts again", "POST", ch(f.archived, "/posts"), f.aliceT, map[string]string{"message": "back"}, 201, ""},
		{"archived refuses edits", "PATCH", "/api/v1/posts/" + frozenPost.ID, f.aliceT, map[string]string{"message": "thawed"}, 403, "archived"},
		{"archived refuses reactions", "POST", "/api/v1/posts/" + frozenPost.ID + "/reactions", f.bobT, map[string]string{"emoji": "👍"}, 403, "archived"},
		{"reply to root", "POST", ch(f.public, "/posts"), f.bobT, map[string]string{"message": "re", "root_id": pubPost.ID}, 201, ""},
		{"reply to root of another room", "POST", ch(f.public, "/posts"), f.aliceT, map[string]string{"message": "re", "root_id": post.ID}, 400, "bad_root"},
		{"bad limit", "GET", ch(f.public, "/posts?limit=500"), f.bobT, nil, 400, "bad_limit"},
		{"others cannot edit", "PATCH", "/api/v1/posts/" + pubPost.ID, f.bobT, map[string]string{"message": "x"}, 403, "not_author"},
		{"author edits", "PATCH", "/api/v1/posts/" + bobPost.ID, f.bobT, map[string]string{"message": "bob's edited words"}, 200, ""},
		{"others cannot delete", "DELETE", "/api/v1/posts/" + pubPost.ID, f.bobT, nil, 403, "not_author"},
		{"hidden post", "GET", "/api/v1/posts/" + post.ID, f.bobT, nil, 404, "not_found"},
		{"thread", "GET", "/api/v1/posts/" + pubPost.ID + "/thread", f.bobT, nil, 200, ""},
		{"react", "POST", "/api/v1/posts/" + pubPost.ID + "/reactions", f.bobT, map[string]string{"emoji": "👍"}, 200, ""},
		{"bad emoji", "POST", "/api/v1/posts/" + pubPost.ID + "/reactions", f.bobT, map[string]string{"emoji": "<b>"}, 400, "bad_emoji"},
		{"react on hidden", "POST", "/api/v1/posts/" + post.ID + "/reactions", f.bobT, map[string]string{"emoji": "👍"}, 404, "not_found"},
		{"admin outside the team cannot see others' post", "DELETE", "/api/v1/posts/" + bobPost.ID, f.adminT, nil, 404, "not_found"},
		{"team admin adds the admin to the team", "POST", team, f.aliceT, map[string]string{"user_id": f.admin.ID}, 201, ""},
		{"admin in the team deletes others' post", "DELETE", "/api/v1/posts/" + bobPost.ID, f.adminT, nil, 204, ""},
		{"the deleted post is gone", "GET", "/api/v1/posts/" + bobPost.ID, f.bobT, nil, 404, "not_found"},
		{"search", "GET", "/api/v1/search?q=words", f.bobT, nil, 200, ""},
		{"empty search", "GET", "/api/v1/search?q=", f.bobT, nil, 400, "bad_query"},
		// commands
		{"help", "POST", ch(f.public, "/commands"), f.bobT, map[string]string{"command": "/help"}, 200, ""},
		{"not a command", "POST", ch(f.public, "/commands"), f.bobT, map[string]string{"command": "hello"}, 400, "bad_command"},
		{"command in hidden room", "POST", ch(f.private, "/commands"), f.bobT, map[string]string{"command": "/help"}, 404, "not_found"},
		// users
		{"guest sees only room mates", "GET", "/api/v1/users/" + f.outsider.ID, f.guestT, nil, 404, "not_found"},
		// a deactivated user's token opens nothing, writes included (their
		// sessions ended when they were deactivated)
		{"deactivated cannot post", "POST", ch(f.public, "/posts"), deadT, map[string]string{"message": "hi"}, 401, "unauthorized"},
		{"deactivated cannot react", "POST", "/api/v1/posts/" + pubPost.ID + "/reactions", deadT, map[string]string{"emoji": "👍"}, 401, "unauthorized"},
		{"deactivated cannot run commands", "POST", ch(f.public, "/commands"), deadT, map[string]string{"command": "/shrug"}, 401, "unauthorized"},
		{"deactivated cannot upload", "POST", ch(f.public, "/files"), deadT, nil, 401, "unauthorized"},
		{"deactivated cannot create channels", "POST", "/api/v1/channels", deadT, map[string]string{"team_id": f.team, "name": "ghost", "type": "public"}, 401, "unauthorized"},
		{"deactivated cannot start dms", "POST", "/api/v1/dms", deadT, map[string]any{"user_ids": []string{f.alice.ID}}, 401, "unauthorized"},
		{"deactivated cannot create teams", "POST", "/api/v1/teams", deadT, map[string]string{"name": "ghosts"}, 401, "unauthorized"},
		{"deactivated cannot join", "POST", ch(f.town, "/join"), deadT, nil, 401, "unauthorized"},
		{"deactivated cannot mark read", "POST", ch(f.public, "/read"), deadT, nil, 401, "unauthorized"},
	}
	// What some answers must (or must not) hold besides their status.
	bodyHas := map[string]string{
		"creator renames": `"display_name":"General talk"`,
		"discussions are listed under their parent": `"parent_post_id":"` + pubPost.ID + `"`,
		"creator unarchives":                        `"id":"` + f.archived + `"`,
	}
	bodyLacks := map[string]string{
		"a discussion bob is not in is not listed to him": disc.ID,
		"creator unarchives":                              `"archived_at"`,
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			resp := ts.request(sc.method, sc.path, sc.token, sc.body)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != sc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, sc.status, b)
			}
			if sc.code != "" {
				var e map[string]string
				json.Unmarshal(b, &e)
				if e["code"] != sc.code || e["error"] == "" {
					t.Fatalf("error %v, want code %s", e, sc.code)
				}
			}
			if want, ok := bodyHas[sc.name]; ok && !strings.Contains(string(b), want) {
				t.Fatalf("answer lacks %s: %s", want, b)
			}
			if bad, ok := bodyLacks[sc.name]; ok && strings.Contains(string(b), bad) {
				t.Fatalf("answer holds %s: %s", bad, b)
			}
		})
	}
}

func TestDeactivatedTokenDenied(t *testing.T) {
	f := newChatFixture(t)
	past := f.postAs(f.bobT, f.public, "written before leaving")
	f.ts.mustDo("PUT", "/api/v1/users/"+f.bob.ID+"/active", f.adminT, map[string]bool{"active": false}, nil, 200)
	for _, path := range []string{"/api/v1/channels", "/api/v1/channels/" + f.public + "/posts"} {
		if st := f.ts.do("GET", path, f.bobT, nil, nil); st != 401 {
			t.Errorf("GET %s with a deactivated user's token: %d, want 401", path, st)
		}
	}
	// Their posts stay.
	var list struct{ Posts []*postView }
	f.ts.mustDo("GET", "/api/v1/channels/"+f.public+"/posts", f.aliceT, nil, &list, 200)
	found := false
	for _, p := range list.Posts {
		if p.ID == past.ID {
			found = p.UserID == f.bob.ID && p.Message == "written before leaving"
		}
	}
	if !found {
		t.Errorf("bob's past post is not listed as his after deactivation: %+v", list.Posts)
	}
	// They disappear from the people pickers: the user list and its search.
	for _, q := range []string{"", "?q=bo", "?q=BOB"} {
		var users struct{ Users []*store.User }
		f.ts.mustDo("GET", "/api/v1/users"+q, f.aliceT, nil, &users, 200)
		var names []string
		for _, u := range users.Users {
			names = append(names, u.Username)
		}
		if slices.Contains(names, "bob") {
			t.Errorf("GET /api/v1/users%s lists deactivated bob: %v", q, names)
		}
		if q == "" && !slices.Contains(names, "alice") {
			t.Errorf("GET /api/v1/users lost the active users too: %v", names)
		}
	}
	var users struct{ Users []*store.User }
	f.ts.mustDo("GET", "/api/v1/users?q=ali", f.aliceT, nil, &users, 200)
	if len(users.Users) != 1 || users.Users[0].Username != "alice" {
		t.Errorf("GET /api/v1/users?q=ali: %+v, want alice", users.Users)
	}
}

// Deleting a room tells its members at once and it is gone for everyone.
func TestChannelDeletedLive(t *testing.T) {
	f := newChatFixture(t)
	ts := f.ts
	ch := "/api/v1/channels/" + f.private
	ts.mustDo("POST", ch+"/members", f.aliceT, map[string]string{"user_id": f.bob.ID}, nil, 201)
	f.postAs(f.bobT, f.private, "soon gone")
	_, bob := wsEvents(t, ts, f.bobT)
	_, alice := wsEvents(t, ts, f.aliceT)
	ts.mustDo("DELETE", ch, f.aliceT, nil, nil, 204)
	for who, next := range map[string]func(...string) hubFrame{"bob": bob, "alice": alice} {
		ev := next("channel_deleted")
		var d struct {
			ChannelID string `json:"channel_id"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.ChannelID != f.private {
			t.Errorf("%s got channel_deleted %s, want channel_id %s", who, ev.Data, f.private)
		}
	}
	for _, tok := range []string{f.aliceT, f.bobT, f.adminT} {
		for _, path := range []string{ch, ch + "/posts", ch + "/members"} {
			if st := ts.do("GET", path, tok, nil, nil); st != 404 {
				t.Errorf("GET %s after delete: %d, want 404", path, st)
			}
		}
	}
	var sb struct{ Channels []*store.Channel }
	ts.mustDo("GET", "/api/v1/channels", f.bobT, nil, &sb, 200)
	for _, c := range sb.Channels {
		if c.ID == f.private {
			t.Fatal("the deleted room is still in bob's sidebar")
		}
	}
}

func TestPostPagingAndUnread(t *testing.T) {
	f := newChatFixture(t)
	var ids []string
	for i := 0; i < 7; i++ {
		ids = append(ids, f.postAs(f.aliceT, f.public, fmt.Sprintf("m%d", i)).ID)
	}
	var page struct {
		Posts   []*postView
		HasMore bool `json:"has_more"`
	}
	f.ts.mustDo("GET", "/api/v1/channels/"+f.public+"/posts?limit=3", f.bobT, nil, &page, 200)
	if len(page.Posts) != 3 || !page.HasMore || page.Posts[0].ID != ids[6] {
		t.Fatalf("first page: %d posts, more=%v", len(page.Posts), page.HasMore)
	}
	f.ts.mustDo("GET", "/api/v1/channels/"+f.public+"/posts?limit=10&before="+page.Posts[2].ID, f.bobT, nil, &page, 200)
	if len(page.Posts) != 4 || page.HasMore || page.Posts[0].ID != ids[3] || page.Posts[3].ID != ids[0] {
		t.Fatalf("second page: %d posts, more=%v", len(page.Posts), page.HasMore)
	}

	unread := func(tok, channel string) (int, int) {
		var sb struct{ Channels []*store.SidebarChannel }
		f.ts.mustDo("GET", "/api/v1/channels", tok, nil, &sb, 200)
		for _, c := range sb.Channels {
			if c.ID == channel {
				return c.Unread, c.MentionCount
			}
		}
		t.Fatalf("channel %s not in sidebar", channel)
		return 0, 0
	}
	f.postAs(f.aliceT, f.public, "hey @bob, look")
	if u, m := unread(f.bobT, f.public); u != 8 || m != 1 {
		t.Fatalf("bob's unread/mentions = %d/%d, want 8/1", u, m)
	}
	if u, _ := unread(f.aliceT, f.public); u != 0 {
		t.Fatalf("author's own posts count as unread: %d", u)
	}
	f.postAs(f.aliceT, f.dm, "direct")
	if _, m := unread(f.bobT, f.dm); m != 1 {
		t.Fatalf("a DM is a mention: got %d", m)
	}
	f.ts.mustDo("POST", "/api/v1/channels/"+f.public+"/read", f.bobT, nil, nil, 204)
	if u, m := unread(f.bobT, f.public); u != 0 || m != 0 {
		t.Fatalf("after read: %d/%d", u, m)
	}
}

func wsEvents(t *testing.T, ts *testServer, tok string) (*websocket.Conn, func(types ...string) hubFrame) {
	c, err := ts.dialWS(tok, "")
	if err != nil {
		t.Fatal(err)
	}
	readFrame(t, c)
	return c, func(types ...string) hubFrame {
		t.Helper()
		f := readFrameOf(t, c, types...)
		return hubFrame{Type: f.Type, Data: f.Data}
	}
}

type hubFrame struct {
	Type string
	Data json.RawMessage
}

func TestChatRealtime(t *testing.T) {
	f := newChatFixture(t)
	ts := f.ts
	_, alice := wsEvents(t, ts, f.aliceT)
	bobConn, bob := wsEvents(t, ts, f.bobT)

	p := f.postAs(f.aliceT, f.public, "hello **bob** @bob")
	ev := bob("post_created")
	var got struct{ Post postView }
	json.Unmarshal(ev.Data, &got)
	if got.Post.ID != p.ID || got.Post.Message != "hello **bob** @bob" || !strings.Contains(got.Post.HTML, "<strong>bob</strong>") {
		t.Fatalf("bob got %s", ev.Data)
	}
	if len(got.Post.Mentions) != 1 || got.Post.Mentions[0] != f.bob.ID {
		t.Fatalf("mentions %v, want bob", got.Post.Mentions)
	}
	alice("post_created")

	ts.mustDo("POST", "/api/v1/posts/"+p.ID+"/reactions", f.bobT, map[string]string{"emoji": "🎉"}, nil, 200)
	if ev := alice("reaction_added"); !strings.Contains(string(ev.Data), "🎉") {
		t.Fatalf("alice got %s", ev.Data)
	}
	ts.mustDo("PATCH", "/api/v1/posts/"+p.ID, f.aliceT, map[string]string{"message": "edited"}, nil, 200)
	if ev := bob("post_edited"); !strings.Contains(string(ev.Data), `"message":"edited"`) {
		t.Fatalf("bob got %s", ev.Data)
	}
	ts.mustDo("POST", "/api/v1/posts/"+p.ID+"/reactions", f.bobT, map[string]string{"emoji": "🎉"}, nil, 200)
	alice("reaction_removed")

	// Typing reaches the other members only.
	bobConn.Write(context.Background(), websocket.MessageText, []byte(`{"type":"typing","data":{"channel_id":"`+f.public+`"}}`))
	if ev := alice("typing"); !strings.Contains(string(ev.Data), f.bob.ID) {
		t.Fatalf("typing %s", ev.Data)
	}

	// A member removed from a private channel stops receiving it at once.
	ts.mustDo("POST", "/api/v1/channels/"+f.private+"/members", f.aliceT, map[string]string{"user_id": f.bob.ID}, nil, 201)
	bob("member_added", "channel_created")
	f.postAs(f.aliceT, f.private, "before removal")
	bob("post_created")
	ts.mustDo("DELETE", "/api/v1/channels/"+f.private+"/members/"+f.bob.ID, f.aliceT, nil, nil, 204)
	if ev := bob("member_removed"); !strings.Contains(string(ev.Data), f.bob.ID) {
		t.Fatalf("bob got %s", ev.Data)
	}
	f.postAs(f.aliceT, f.private, "after removal")
	f.postAs(f.aliceT, f.public, "marker")
	ev = bob("post_created")
	if !strings.Contains(string(ev.Data), "marker") {
		t.Fatalf("bob received a post of a room he left: %s", ev.Data)
	}
	if st := ts.do("GET", "/api/v1/channels/"+f.private+"/posts", f.bobT, nil, nil); st != 404 {
		t.Fatalf("removed member reads private room: %d", st)
	}
}

func TestSearchOnlyPermitted(t *testing.T) {
	f := newChatFixture(t)
	f.postAs(f.aliceT, f.private, "zebra in private")
	f.postAs(f.aliceT, f.public, "zebra in public")
	f.postAs(f.aliceT, f.dm, "zebra in dm")
	f.postAs(f.aliceT, f.public, "nothing to see")
	cases := []struct {
		tok  string
		want int
	}{
		{f.aliceT, 3}, {f.bobT, 2}, {f.guestT, 0}, {f.outT, 0},
	}
	for _, c := range cases {
		var res struct{ Posts []*postView }
		f.ts.mustDo("GET", "/api/v1/search?q=zeb", c.tok, nil, &res, 200)
		if len(res.Posts) != c.want {
			t.Errorf("search as %s: %d results, want %d", c.tok[:6], len(res.Posts), c.want)
		}
		for _, p := range res.Posts {
			if strings.Contains(p.Message, "private") && c.tok != f.aliceT {
				t.Errorf("private message leaked")
			}
		}
	}
	// FTS operators in the query are plain words, not syntax errors.
	f.ts.mustDo("GET", "/api/v1/search?q="+url.QueryEscape(`"AND OR NOT ( * NEAR`), f.bobT, nil, nil, 200)
}

func upload(t *testing.T, ts *testServer, tok, channel, name string, content []byte) *http.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/channels/"+channel+"/files", &body)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestUploads(t *testing.T) {
	f := newChatFixture(t)
	ts := f.ts
	ts.settings.mu.Lock()
	ts.settings.values["max_upload_bytes"] = 1 << 20
	ts.settings.mu.Unlock()

	resp := upload(t, ts, f.aliceT, f.public, "big.bin", bytes.Repeat([]byte{1}, 1<<20+1))
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("over-size upload: %d", resp.StatusCode)
	}

	resp = upload(t, ts, f.aliceT, f.public, "../../x", []byte("plain"))
	var up struct{ Files []*store.File }
	json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if resp.StatusCode != 201 || up.Files[0].Name != "x" {
		t.Fatalf("upload ../../x: %d %+v", resp.StatusCode, up.Files)
	}
	if _, err := os.Stat(filepath.Join(ts.cfg.DataDir, "..", "x")); err == nil {
		t.Fatal("file escaped the data dir")
	}

	html := []byte("<!doctype html><html><script>alert(document.cookie)</script></html>")
	resp = upload(t, ts, f.aliceT, f.public, "evil.html", html)
	json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	evil := up.Files[0]
	var p postView
	ts.mustDo("POST", "/api/v1/channels/"+f.public+"/posts", f.aliceT, map[string]any{"message": "see", "file_ids": []string{evil.ID}}, &p, 201)
	if len(p.Files) != 1 || p.Files[0].ID != evil.ID {
		t.Fatalf("post files %+v", p.Files)
	}
	resp = ts.request("GET", "/api/v1/files/"+evil.ID, f.bobT, nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 200 || !bytes.Equal(body, html) {
		t.Fatalf("download: %d %q", resp.StatusCode, body)
	}
	if strings.Contains(h.Get("Content-Type"), "html") || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") ||
		h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("HTML upload served unsafely: %v", h)
	}
	// Only readers of the room get it; an attached file cannot be reused.
	if st := ts.do("GET", "/api/v1/files/"+evil.ID, f.outT, nil, nil); st != 404 {
		t.Fatalf("outsider download: %d", st)
	}
	ts.mustDo("POST", "/api/v1/channels/"+f.public+"/posts", f.aliceT, map[string]any{"message": "again", "file_ids": []string{evil.ID}}, nil, 400)
	// The row's blob exists and matches its hash.
	hashes, _ := ts.store.AllFileHashes(context.Background())
	for _, h := range hashes {
		if err := ts.files.Verify(h); err != nil {
			t.Fatalf("blob %s: %v", h, err)
		}
	}
}

func TestXSSRendersInert(t *testing.T) {
	f := newChatFixture(t)
	payloads := []string{
		`<script>alert(1)</script>`,
		`<img src=x onerror=alert(1)>`,
		`[click](javascript:alert(1))`,
		`[click](JaVaScRiPt:alert(1))`,
		`<a href="javascript:alert(1)">x</a>`,
		`![x](javascript:alert(1))`,
		`<svg onload=alert(1)>`,
		`[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
	}
	for _, pl := range payloads {
		p := f.postAs(f.aliceT, f.public, pl)
		nodes, err := html.ParseFragment(strings.NewReader(p.HTML), &html.Node{Type: html.ElementNode, DataAtom: atom.Div, Data: "div"})
		if err != nil {
			t.Fatal(err)
		}
		var walk func(n *html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode {
				switch n.Data {
				case "script", "img", "svg", "iframe", "object", "embed", "style":
					t.Errorf("payload %q rendered a <%s>: %q", pl, n.Data, p.HTML)
				}
				for _, a := range n.Attr {
					v := strings.ToLower(strings.TrimSpace(a.Val))
					if strings.HasPrefix(a.Key, "on") || a.Key == "style" ||
						((a.Key == "href" || a.Key == "src") && (strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:"))) {
						t.Errorf("payload %q rendered attribute %s=%q", pl, a.Key, a.Val)
					}
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		for _, n := range nodes {
			walk(n)
		}
	}
}

func TestSlashCommandsAndWebhooks(t *testing.T) {
	f := newChatFixture(t)
	ts := f.ts
	var res commandResult
	ts.mustDo("POST", "/api/v1/channels/"+f.public+"/commands", f.bobT, map[string]string{"command": "/nope"}, &res, 200)
	if !res.Ephemeral || !strings.Contains(res.Text, "/help") {
		t.Fatalf("unknown command: %+v", res)
	}
	ts.mustDo("POST", "/api/v1/channels/"+f.public+"/commands", f.bobT, map[string]string{"command": "/me waves"}, &res, 200)
	if res.Post == nil || res.Post.Type != "me" || res.Post.Message != "*waves*" {
		t.Fatalf("/me: %+v", res)
	}
	ts.mustDo("POST", "/api/v1/channels/"+f.private+"/commands", f.aliceT, map[string]string{"command": "/invite @bob"}, &res, 200)
	if _, err := ts.store.Membership(context.Background(), f.private, f.bob.ID); err != nil {
		t.Fatalf("/invite did not add bob: %v", err)
	}
	ts.mustDo("POST", "/api/v1/channels/"+f.private+"/commands", f.bobT, map[string]string{"command": "/leave"}, &res, 200)
	if _, err := ts.store.Membership(context.Background(), f.private, f.bob.ID); err == nil {
		t.Fatal("/leave did not remove bob")
	}
	ts.mustDo("POST", "/api/v1/channels/"+f.town+"/commands", f.bobT, map[string]string{"command": "/join ~general"}, &res, 200)
	ts.mustDo("POST", "/api/v1/channels/"+f.public+"/commands", f.bobT, map[string]string{"command": "/header Sprint 12"}, &res, 200)
	var c store.Channel
	ts.mustDo("GET", "/api/v1/channels/"+f.public, f.bobT, nil, &c, 200)
	if c.Header != "Sprint 12" {
		t.Fatalf("/header: %q", c.Header)
	}

	// A bot with an API token creates a webhook; anyone with its URL posts.
	var bot store.User
	ts.mustDo("POST", "/api/v1/users", f.adminT, map[string]any{"username": "ci-bot", "is_bot": true}, &bot, 201)
	ts.mustDo("POST", "/api/v1/teams/"+f.team+"/members", f.aliceT, map[string]string{"user_id": bot.ID}, nil, 201)
	var tok struct{ Token string }
	ts.mustDo("POST", "/api/v1/users/"+bot.ID+"/tokens", f.adminT, map[string]string{"name": "ci"}, &tok, 201)
	ts.mustDo("POST", "/api/v1/channels/"+f.public+"/join", tok.Token, nil, nil, 204)
	var hook struct{ URL string }
	ts.mustDo("POST", "/api/v1/channels/"+f.public+"/hooks", tok.Token, map[string]string{"display_name": "CI"}, &hook, 201)
	resp, err := http.Post(ts.URL+hook.URL, "application/json", strings.NewReader(`{"text":"build passed"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("webhook post: %v %v", err, resp)
	}
	resp.Body.Close()
	var list struct{ Posts []*postView }
	ts.mustDo("GET", "/api/v1/channels/"+f.public+"/posts?limit=1", f.bobT, nil, &list, 200)
	if list.Posts[0].Message != "build passed" || list.Posts[0].UserID != bot.ID {
		t.Fatalf("webhook message: %+v", list.Posts[0])
	}
	if st := ts.do("POST", "/api/v1/hooks/not-a-token", "", map[string]string{"text": "x"}, nil); st != 404 {
		t.Fatalf("bad hook token: %d", st)
	}
	if st := ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "ci-bot", "password": ""}, nil); st != 401 {
		t.Fatalf("bot password login: %d", st)
	}
}

func TestPostRateLimit(t *testing.T) {
	f := newChatFixture(t)
	// 60 posts at once: the burst is 20, refilled at 5 a second, so however
	// slowly the machine serves them, some must be refused.
	before := f.ts.rateLimited("post")
	var wg sync.WaitGroup
	var limited atomic.Int32
	for range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := f.ts.request("POST", "/api/v1/channels/"+f.public+"/posts", f.bobT, map[string]string{"message": "spam"})
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
				limited.Add(1)
			}
		}()
	}
	wg.Wait()
	if limited.Load() == 0 {
		t.Fatal("60 posts at once were never rate limited")
	}
	if got := f.ts.rateLimited("post") - before; got != float64(limited.Load()) {
		t.Fatalf(`calls_rate_limited_total{limit="post"} went up by %v, want %d`, got, limited.Load())
	}
}

func TestWebsocketAbuseLimits(t *testing.T) {
	f := newChatFixture(t)
	beforeConns, beforeFrames, beforeDropped := f.ts.rateLimited("ws_connections"), f.ts.rateLimited("ws_frames"), f.ts.metric("calls_websocket_dropped_total")
	// Too many connections of one user are refused.
	var conns []*websocket.Conn
	for i := 0; i < MaxClientsPerUser; i++ {
		c, err := f.ts.dialWS(f.bobT, "")
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	if _, err := f.ts.dialWS(f.bobT, ""); err == nil {
		t.Fatalf("connection %d accepted", MaxClientsPerUser+1)
	}
	if got := f.ts.rateLimited("ws_connections") - beforeConns; got != 1 {
		t.Fatalf(`calls_rate_limited_total{limit="ws_connections"} went up by %v, want 1`, got)
	}
	for _, c := range conns {
		c.CloseNow()
	}
	// A client flooding frames is cut off.
	c, err := f.ts.dialWS(f.aliceT, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		for i := 0; i < 2000; i++ {
			if c.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`)) != nil {
				return
			}
		}
	}()
	for err == nil {
		_, _, err = c.Read(ctx)
	}
	// Cut off either for flooding or because the answers piled up unread.
	if !strings.Contains(err.Error(), "flooding") && !strings.Contains(err.Error(), "too slow") {
		t.Fatalf("flooding client: %v", err)
	}
	if strings.Contains(err.Error(), "flooding") {
		if f.ts.rateLimited("ws_frames") == beforeFrames {
			t.Fatal(`cut off for flooding, but calls_rate_limited_total{limit="ws_frames"} did not go up`)
		}
	} else if f.ts.metric("calls_websocket_dropped_total") == beforeDropped {
		t.Fatal("dropped as too slow, but calls_websocket_dropped_total did not go up")
	}
}
