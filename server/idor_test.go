package server

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"calls/server/hub"
	"calls/store"

	"github.com/pion/webrtc/v3"
)

// The IDOR walk: someone who shares no team and no room with the victim
// calls every route that takes an id with the victim's ids, and sends every
// websocket frame that takes one. The answer is 404 (a room, post, file or
// team you may not read does not exist for you) or the 403 the route's own
// rule gives, never a 2xx; the victim's data is the same afterwards, and
// nothing of it reaches the outsider.

// muxRoute is one registration in routes.go.
type muxRoute struct {
	pattern string
	wrapper string // "authed", "adminOnly", or "" for a route without a session
}

// routesFromSource reads the routing table from routes.go itself, so a
// route added there cannot be missed here.
func routesFromSource(t *testing.T) []muxRoute {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "routes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []muxRoute
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "mux" || len(call.Args) != 2 {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			t.Fatalf("routes.go registers a route whose pattern is not a string literal (%T): keep patterns literal so the IDOR walk can read them", call.Args[0])
		}
		pattern, _ := strconv.Unquote(lit.Value)
		r := muxRoute{pattern: pattern}
		if inner, ok := call.Args[1].(*ast.CallExpr); ok {
			if s, ok := inner.Fun.(*ast.SelectorExpr); ok {
				r.wrapper = s.Sel.Name
			}
		}
		out = append(out, r)
		return true
	})
	if len(out) < 40 {
		t.Fatalf("found only %d routes in routes.go; is the parser still reading it right?", len(out))
	}
	return out
}

// idorVictim is everything the victim owns: a team with rooms of every
// kind, posts, a thread, reactions, files, a webhook, a running call with
// a real media peer, and a DM call ringing them.
type idorVictim struct {
	vic, vic2, vic3  *store.User
	tok, tok2        string
	team             string
	town, public     string
	private, dm      string
	group, disc      string
	root, reply      string // a thread in the private room
	filePost         string
	dmPost, pubPost  string
	file, loose      string // an attached file; an upload not yet posted
	hookID, hookTok  string
	callID, callPost string
	pid              string // the victim's participant id in the call
	ringCall         string // the DM call ringing the victim
	secrets          []string
}

func (v *idorVictim) rooms() []string {
	return []string{v.town, v.public, v.private, v.dm, v.group, v.disc}
}

func (v *idorVictim) posts() []string {
	return []string{v.root, v.reply, v.filePost, v.dmPost, v.pubPost, v.callPost}
}

// snapshot is the victim's data as stored, to compare before and after.
func (v *idorVictim) snapshot(t *testing.T, ts *testServer) string {
	t.Helper()
	ctx := context.Background()
	var snap []any
	add := func(what string, x any, err error) {
		if err != nil {
			t.Fatalf("snapshot %s: %v", what, err)
		}
		snap = append(snap, what, x)
	}
	for _, id := range v.rooms() {
		c, err := ts.store.ChannelByID(ctx, id)
		add("channel", c, err)
		m, err := ts.store.ChannelMembers(ctx, id)
		add("members", m, err)
		posts, _, err := ts.store.ListPosts(ctx, id, "", 200)
		add("posts", posts, err)
		ids := []string{}
		for _, p := range posts {
			ids = append(ids, p.ID)
			replies, err := ts.store.Thread(ctx, p.ID)
			add("thread", replies, err)
			for _, r := range replies {
				ids = append(ids, r.ID)
			}
		}
		rs, err := ts.store.ReactionsFor(ctx, ids)
		add("reactions", rs, err)
		calls, _, err := ts.store.ListCalls(ctx, id, "", 200)
		add("calls", calls, err)
	}
	team, err := ts.store.TeamByID(ctx, v.team)
	add("team", team, err)
	tm, err := ts.store.TeamMembers(ctx, v.team)
	add("team members", tm, err)
	for _, id := range []string{v.file, v.loose} {
		f, err := ts.store.FileByID(ctx, id)
		add("file", f, err)
	}
	for _, u := range []*store.User{v.vic, v.vic2, v.vic3} {
		got, err := ts.store.UserByID(ctx, u.ID)
		add("user", got, err)
	}
	b, _ := json.Marshal(snap)
	return string(b)
}

func newIDORVictim(t *testing.T, ts *testServer) *idorVictim {
	t.Helper()
	v := &idorVictim{}
	v.vic, v.vic2, v.vic3 = ts.addUser("vic", store.RoleMember), ts.addUser("vic2", store.RoleMember), ts.addUser("vic3", store.RoleMember)
	v.tok, v.tok2 = ts.login("vic"), ts.login("vic2")
	var team store.Team
	ts.mustDo("POST", "/api/v1/teams", v.tok, map[string]string{"name": "acme", "display_name": "Acme Secret Team"}, &team, 201)
	v.team = team.ID
	for _, u := range []*store.User{v.vic2, v.vic3} {
		ts.mustDo("POST", "/api/v1/teams/"+v.team+"/members", v.tok, map[string]string{"user_id": u.ID}, nil, 201)
	}
	var chans struct{ Channels []*store.Channel }
	ts.mustDo("GET", "/api/v1/teams/"+v.team+"/channels", v.tok, nil, &chans, 200)
	v.town = chans.Channels[0].ID
	mk := func(name, typ string) string {
		var c store.Channel
		ts.mustDo("POST", "/api/v1/channels", v.tok, map[string]string{"team_id": v.team, "name": name,
			"display_name": "Victim " + name, "type": typ, "header": "vicheader-" + name}, &c, 201)
		return c.ID
	}
	v.public, v.private = mk("plans", "public"), mk("secret", "private")
	ts.mustDo("POST", "/api/v1/channels/"+v.private+"/members", v.tok, map[string]string{"user_id": v.vic2.ID}, nil, 201)
	ts.mustDo("POST", "/api/v1/channels/"+v.public+"/join", v.tok2, nil, nil, 204)
	var dm, group, disc store.Channel
	ts.mustDo("POST", "/api/v1/dms", v.tok, map[string]any{"user_ids": []string{v.vic2.ID}}, &dm, 201)
	ts.mustDo("POST", "/api/v1/dms", v.tok, map[string]any{"user_ids": []string{v.vic2.ID, v.vic3.ID}}, &group, 201)
	ts.mustDo("POST", "/api/v1/channels", v.tok, map[string]any{"type": "discussion", "parent_id": v.private,
		"display_name": "Victim discussion", "user_ids": []string{v.vic2.ID}}, &disc, 201)
	v.dm, v.group, v.disc = dm.ID, group.ID, disc.ID

	post := func(tok, room, msg, root string, files ...string) string {
		var p postView
		ts.mustDo("POST", "/api/v1/channels/"+room+"/posts", tok, map[string]any{"message": msg, "root_id": root, "file_ids": files}, &p, 201)
		return p.ID
	}
	for _, room := range v.rooms() {
		post(v.tok, room, "vicsecret-"+room, "")
	}
	v.root = post(v.tok, v.private, "vicsecret-root", "")
	v.reply = post(v.tok2, v.private, "vicsecret-reply", v.root)
	v.dmPost = post(v.tok, v.dm, "vicsecret-dm", "")
	v.pubPost = post(v.tok, v.public, "vicsecret-public", "")
	ts.mustDo("POST", "/api/v1/posts/"+v.root+"/reactions", v.tok2, map[string]string{"emoji": "👍"}, nil, 200)

	upload := func(name string) string {
		resp := upload(t, ts, v.tok, v.private, name, []byte("vicsecret-file-"+name))
		defer resp.Body.Close()
		var up struct{ Files []*store.File }
		json.NewDecoder(resp.Body).Decode(&up)
		if resp.StatusCode != 201 || len(up.Files) != 1 {
			t.Fatalf("upload %s: %d", name, resp.StatusCode)
		}
		return up.Files[0].ID
	}
	v.file, v.loose = upload("vicplan.txt"), upload("vicdraft.txt")
	v.filePost = post(v.tok, v.private, "vicsecret-attached", "", v.file)

	var hook map[string]string
	ts.mustDo("POST", "/api/v1/channels/"+v.private+"/hooks", v.tok, map[string]string{"display_name": "vicbot"}, &hook, 201)
	v.hookID, v.hookTok = hook["id"], strings.TrimPrefix(hook["url"], "/api/v1/hooks/")

	v.secrets = []string{"vicsecret", "vicheader", "Victim ", "vicplan", "vicdraft", "Acme Secret", v.team, v.hookID, v.hookTok}
	v.secrets = append(v.secrets, v.rooms()...)
	v.secrets = append(v.secrets, v.root, v.reply, v.filePost, v.dmPost, v.pubPost, v.file, v.loose)
	return v
}

// startCalls puts the victim in a call in their private room (a real pion
// peer, sending audio) and has vic2 ring them in their DM.
func (v *idorVictim) startCalls(t *testing.T, ts *testServer) (vicPeer *callPeer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	vicPeer = newCallPeer(t, ts, "vic", v.tok)
	j := vicPeer.join(v.private, true, false)
	if j.Type != "call_joined" {
		t.Fatalf("victim's call: %s %s", j.Type, j.Data)
	}
	vicPeer.publish(ctx)
	v.pid = vicPeer.pid
	for {
		f := vicPeer.event(evCallParticipantState)
		if strings.Contains(string(f.Data), `"state":"connected"`) {
			break
		}
	}
	cl := ts.runningCall(v.private)
	v.callID = cl.id
	v.callPost = cl.view().PostID

	caller := newCallPeer(t, ts, "vic2", v.tok2)
	j = caller.join(v.dm, true, false)
	if j.Type != "call_joined" {
		t.Fatalf("vic2's DM call: %s %s", j.Type, j.Data)
	}
	var joined struct{ Call callView }
	json.Unmarshal(j.Data, &joined)
	v.ringCall = joined.Call.ID
	if r := ts.ringFor(v.ringCall); r == nil || r.calleeID != v.vic.ID {
		t.Fatalf("the DM call is not ringing the victim: %+v", r)
	}
	v.secrets = append(v.secrets, v.callID, v.callPost, v.pid, v.ringCall)
	// The call messages are rewritten at most once a second: let the last
	// rewrite land before anything is compared.
	time.Sleep(callPostInterval + 300*time.Millisecond)
	return vicPeer
}

// idorOutsider is who attacks: a member or a guest of another team, or
// nobody logged in.
type idorOutsider struct {
	name string
	user *store.User // nil: anonymous
	tok  string
	role string
	lair string // a room of the outsider's own
}

// idorCase is what one id-taking route must answer to an outsider.
type idorCase struct {
	// paths are the concrete paths to try, built from the victim's ids.
	paths func(v *idorVictim, me *idorOutsider) []string
	body  any // a well-formed body, so that only the access check can refuse it
	want  int
	// wantMember, when set, is the answer to a logged-in non-guest (a rule
	// of the route, explained where the case is).
	wantMember int
	// shell: the route serves the web app's page, which holds nothing of
	// the room; its body must be the same bytes as "/".
	shell bool
	// guessed: the id is a secret token whose guessing is rate limited per
	// address (all outsiders share loopback here), so 429 is also right.
	guessed bool
}

// upload bodies are sent as multipart.
type idorUpload struct{ name, content string }

// idorSDP is an SDP offer (application/sdp); idorFrag a trickle ICE
// fragment (application/trickle-ice-sdpfrag).
type (
	idorSDP  struct{ sdp string }
	idorFrag struct{}
)

// idorOffer is a real offer from a pion peer with one audio section.
func idorOffer(dir webrtc.RTPTransceiverDirection) string {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		panic(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: dir}); err != nil {
		panic(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		panic(err)
	}
	return offer.SDP
}

func idorCases() map[string]idorCase {
	rooms := func(rest string) func(v *idorVictim, _ *idorOutsider) []string {
		return func(v *idorVictim, _ *idorOutsider) []string {
			var out []string
			for _, id := range v.rooms() {
				out = append(out, "/api/v1/channels/"+id+rest)
			}
			return out
		}
	}
	posts := func(rest string) func(v *idorVictim, _ *idorOutsider) []string {
		return func(v *idorVictim, _ *idorOutsider) []string {
			var out []string
			for _, id := range v.posts() {
				out = append(out, "/api/v1/posts/"+id+rest)
			}
			return out
		}
	}
	team := func(rest string) func(v *idorVictim, _ *idorOutsider) []string {
		return func(v *idorVictim, _ *idorOutsider) []string { return []string{"/api/v1/teams/" + v.team + rest} }
	}
	users := func(rest string) func(v *idorVictim, _ *idorOutsider) []string {
		return func(v *idorVictim, _ *idorOutsider) []string {
			return []string{"/api/v1/users/" + v.vic.ID + rest, "/api/v1/users/" + v.vic2.ID + rest}
		}
	}
	stream := func(kind string) func(v *idorVictim, _ *idorOutsider) []string {
		return func(v *idorVictim, _ *idorOutsider) []string {
			var out []string
			for _, id := range v.rooms() {
				out = append(out, "/api/v1/channels/"+id+"/call/"+kind+"/"+v.pid)
			}
			return out
		}
	}
	viewer := func(v *idorVictim, _ *idorOutsider) []string {
		return []string{"/api/v1/channels/" + v.private + "/call/whep/" + v.pid + "/" + v.pid}
	}
	adminUsers := func(rest string) func(v *idorVictim, _ *idorOutsider) []string {
		return func(v *idorVictim, _ *idorOutsider) []string {
			return []string{"/api/v1/admin/users/" + v.vic.ID + rest}
		}
	}
	adminCalls := func(rest string) func(v *idorVictim, _ *idorOutsider) []string {
		return func(v *idorVictim, _ *idorOutsider) []string {
			return []string{"/api/v1/admin/calls/" + v.private + rest, "/api/v1/admin/calls/" + v.dm + rest}
		}
	}
	links := func(kind string) func(v *idorVictim, _ *idorOutsider) []string {
		return func(v *idorVictim, _ *idorOutsider) []string {
			return []string{"/api/v1/" + kind + "/" + v.vic.ID, "/api/v1/" + kind + "/" + v.hookTok, "/api/v1/" + kind + "/" + v.tok}
		}
	}
	self := func(me *idorOutsider) string {
		if me.user == nil {
			return store.NewID()
		}
		return me.user.ID
	}
	return map[string]idorCase{
		"GET /api/v1/users/{id}": {paths: users(""), want: 404,
			// Non-guests may look anyone up: it is the people picker's
			// directory (GET /api/v1/users lists the same). Guests see only
			// people they share a room with.
			wantMember: 200},
		"PUT /api/v1/users/{id}/active":   {paths: users("/active"), body: map[string]bool{"active": false}, want: 403},
		"POST /api/v1/users/{id}/tokens":  {paths: users("/tokens"), body: map[string]string{"name": "stolen"}, want: 403},
		"GET /api/v1/teams/{id}/members":  {paths: team("/members"), want: 404},
		"POST /api/v1/teams/{id}/members": {paths: team("/members"), want: 404},
		"DELETE /api/v1/teams/{id}/members/{user_id}": {want: 404, paths: func(v *idorVictim, me *idorOutsider) []string {
			return []string{"/api/v1/teams/" + v.team + "/members/" + v.vic2.ID, "/api/v1/teams/" + v.team + "/members/" + self(me)}
		}},
		"GET /api/v1/teams/{id}/channels":       {paths: team("/channels"), want: 404},
		"GET /api/v1/channels/{id}":             {paths: rooms(""), want: 404},
		"PATCH /api/v1/channels/{id}":           {paths: rooms(""), body: map[string]string{"header": "pwned", "display_name": "pwned"}, want: 404},
		"DELETE /api/v1/channels/{id}":          {paths: rooms(""), want: 404},
		"POST /api/v1/channels/{id}/archive":    {paths: rooms("/archive"), want: 404},
		"POST /api/v1/channels/{id}/unarchive":  {paths: rooms("/unarchive"), want: 404},
		"POST /api/v1/channels/{id}/join":       {paths: rooms("/join"), want: 404},
		"POST /api/v1/channels/{id}/leave":      {paths: rooms("/leave"), want: 404},
		"GET /api/v1/channels/{id}/members":     {paths: rooms("/members"), want: 404},
		"POST /api/v1/channels/{id}/members":    {paths: rooms("/members"), want: 404},
		"POST /api/v1/channels/{id}/read":       {paths: rooms("/read"), want: 404},
		"GET /api/v1/channels/{id}/discussions": {paths: rooms("/discussions"), want: 404},
		"GET /api/v1/channels/{id}/posts":       {paths: rooms("/posts"), want: 404},
		"POST /api/v1/channels/{id}/posts":      {paths: rooms("/posts"), body: map[string]string{"message": "pwned"}, want: 404},
		"POST /api/v1/channels/{id}/files":      {paths: rooms("/files"), body: idorUpload{"pwned.txt", "pwned"}, want: 404},
		"POST /api/v1/channels/{id}/commands":   {paths: rooms("/commands"), body: map[string]string{"command": "/header pwned"}, want: 404},
		"POST /api/v1/channels/{id}/hooks":      {paths: rooms("/hooks"), body: map[string]string{"display_name": "pwned"}, want: 404},
		"GET /api/v1/channels/{id}/call":        {paths: rooms("/call"), want: 404},
		"GET /api/v1/channels/{id}/calls":       {paths: rooms("/calls"), want: 404},
		"DELETE /api/v1/channels/{id}/members/{user_id}": {want: 404, paths: func(v *idorVictim, me *idorOutsider) []string {
			var out []string
			for _, id := range v.rooms() {
				out = append(out, "/api/v1/channels/"+id+"/members/"+v.vic2.ID, "/api/v1/channels/"+id+"/members/"+self(me))
			}
			return out
		}},
		"GET /api/v1/posts/{id}":            {paths: posts(""), want: 404},
		"PATCH /api/v1/posts/{id}":          {paths: posts(""), body: map[string]string{"message": "pwned"}, want: 404},
		"DELETE /api/v1/posts/{id}":         {paths: posts(""), want: 404},
		"GET /api/v1/posts/{id}/thread":     {paths: posts("/thread"), want: 404},
		"POST /api/v1/posts/{id}/reactions": {paths: posts("/reactions"), body: map[string]string{"emoji": "💀"}, want: 404},
		"GET /api/v1/files/{id}": {want: 404, paths: func(v *idorVictim, _ *idorOutsider) []string {
			return []string{"/api/v1/files/" + v.file, "/api/v1/files/" + v.loose, "/api/v1/files/" + v.file + "?download=1"}
		}},
		// The token in the URL is the credential: the hook's id, or anything
		// else that is not its token, finds nothing.
		"POST /api/v1/hooks/{token}": {body: map[string]string{"text": "pwned"}, want: 404, paths: func(v *idorVictim, _ *idorOutsider) []string {
			return []string{"/api/v1/hooks/" + v.hookID, "/api/v1/hooks/" + v.tok, "/api/v1/hooks/" + v.hookTok[:len(v.hookTok)-1]}
		}},
		// WHIP/WHEP: a well-formed offer, so only the access check refuses.
		// A WHIP attempt spends a call join (rate limited per user), so one
		// room stands for all: the walk's websocket joins come later.
		"POST /api/v1/channels/{id}/call/whip": {paths: func(v *idorVictim, _ *idorOutsider) []string {
			return []string{"/api/v1/channels/" + v.private + "/call/whip"}
		}, body: idorSDP{idorOffer(webrtc.RTPTransceiverDirectionSendonly)}, want: 404},
		"PATCH /api/v1/channels/{id}/call/whip/{session}":                {paths: stream("whip"), body: idorFrag{}, want: 404},
		"DELETE /api/v1/channels/{id}/call/whip/{session}":               {paths: stream("whip"), want: 404},
		"POST /api/v1/channels/{id}/call/whep/{participant}":             {paths: stream("whep"), body: idorSDP{idorOffer(webrtc.RTPTransceiverDirectionRecvonly)}, want: 404},
		"PATCH /api/v1/channels/{id}/call/whep/{participant}/{session}":  {paths: viewer, body: idorFrag{}, want: 404},
		"DELETE /api/v1/channels/{id}/call/whep/{participant}/{session}": {paths: viewer, want: 404},
		// Admin routes refuse everyone else before looking at the id.
		"PATCH /api/v1/admin/users/{id}":                       {paths: adminUsers(""), body: map[string]string{"role": "guest"}, want: 403},
		"POST /api/v1/admin/users/{id}/reset-link":             {paths: adminUsers("/reset-link"), want: 403},
		"DELETE /api/v1/admin/invites/{id}":                    {paths: func(*idorVictim, *idorOutsider) []string { return []string{"/api/v1/admin/invites/" + store.NewID()} }, want: 403},
		"POST /api/v1/admin/calls/{channel_id}/end":            {paths: adminCalls("/end"), want: 403},
		"POST /api/v1/admin/calls/{channel_id}/recording/stop": {paths: adminCalls("/recording/stop"), want: 403},
		// Invite and reset links: the token is the credential; ids are not
		// tokens.
		"GET /api/v1/invites/{token}":  {guessed: true, paths: links("invites"), want: 404},
		"POST /api/v1/invites/{token}": {guessed: true, paths: links("invites"), body: map[string]string{"username": "pwned", "password": "pwned-password-1"}, want: 404},
		"GET /api/v1/reset/{token}":    {guessed: true, paths: links("reset"), want: 404},
		"POST /api/v1/reset/{token}":   {guessed: true, paths: links("reset"), body: map[string]string{"password": "pwned-password-1"}, want: 404},
		// A call link opens the app for anyone (it asks them to log in, then
		// the API decides): the page is the same app shell for every room.
		"GET /call/{id}": {want: 200, shell: true, paths: func(v *idorVictim, _ *idorOutsider) []string {
			var out []string
			for _, id := range v.rooms() {
				out = append(out, "/call/"+id)
			}
			return out
		}},
	}
}

// send makes one request as the outsider and returns status and body.
func (o *idorOutsider) send(t *testing.T, ts *testServer, method, path string, body any) (int, string) {
	t.Helper()
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case idorSDP:
		r, ctype = strings.NewReader(b.sdp), "application/sdp"
	case idorFrag:
		r, ctype = strings.NewReader("a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"), "application/trickle-ice-sdpfrag"
	case idorUpload:
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", b.name)
		fw.Write([]byte(b.content))
		mw.Close()
		r, ctype = &buf, mw.FormDataContentType()
	default:
		j, _ := json.Marshal(b)
		r, ctype = bytes.NewReader(j), "application/json"
	}
	req, _ := http.NewRequest(method, ts.URL+path, r)
	if o.tok != "" {
		req.Header.Set("Authorization", "Bearer "+o.tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wsCollector reads every frame a websocket gets, to check afterwards that
// none of them carried the victim's data.
type wsCollector struct {
	conn    *websocket.Conn
	mu      sync.Mutex
	frames  []string
	replies chan hub.Frame
}

func collectWS(t *testing.T, ts *testServer, tok string) *wsCollector {
	t.Helper()
	c, err := ts.dialWS(tok, "")
	if err != nil {
		t.Fatal(err)
	}
	w := &wsCollector{conn: c, replies: make(chan hub.Frame, 64)}
	go func() {
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				close(w.replies)
				return
			}
			w.mu.Lock()
			w.frames = append(w.frames, string(b))
			w.mu.Unlock()
			var f hub.Frame
			if json.Unmarshal(b, &f) == nil && (f.Type == "error" || f.Type == "pong") {
				w.replies <- f
			}
		}
	}()
	return w
}

// ask sends a frame and returns the error it is answered with; a frame
// that is accepted silently (answered by nothing, then a pong) fails.
func (w *wsCollector) ask(t *testing.T, typ string, data any) hub.Frame {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"type": typ, "data": data})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.conn.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	w.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`))
	select {
	case f, ok := <-w.replies:
		if !ok {
			t.Fatalf("%s: websocket closed", typ)
		}
		if f.Type != "error" {
			t.Fatalf("%s %s was accepted; want an error", typ, b)
		}
		<-w.replies // the pong
		return f
	case <-ctx.Done():
		t.Fatalf("%s: no answer", typ)
	}
	return hub.Frame{}
}

// sync returns once a ping is answered.
func (w *wsCollector) sync(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`))
	select {
	case f := <-w.replies:
		if f.Type != "pong" {
			t.Fatalf("sync: got %s", f.Type)
		}
	case <-ctx.Done():
		t.Fatal("sync: no pong")
	}
}

func frameCode(f hub.Frame) string {
	var e struct{ Code, Request string }
	json.Unmarshal(f.Data, &e)
	return e.Code
}

func TestIDORWalk(t *testing.T) {
	ts := startServerTB(t, func(c *Config) { c.RingTimeout = 10 * time.Minute })
	v := newIDORVictim(t, ts)
	vicPeer := v.startCalls(t, ts)

	// The outsiders: a member and a guest of another team, each with a
	// room of their own, and nobody at all.
	mallory := &idorOutsider{name: "mallory", user: ts.addUser("mallory", store.RoleMember), role: store.RoleMember}
	gus := &idorOutsider{name: "gus", user: ts.addUser("gus", store.RoleGuest), role: store.RoleGuest}
	mallory.tok, gus.tok = ts.login("mallory"), ts.login("gus")
	var evil store.Team
	ts.mustDo("POST", "/api/v1/teams", mallory.tok, map[string]string{"name": "evil"}, &evil, 201)
	ts.mustDo("POST", "/api/v1/teams/"+evil.ID+"/members", mallory.tok, map[string]string{"user_id": gus.user.ID}, nil, 201)
	var lair store.Channel
	ts.mustDo("POST", "/api/v1/channels", mallory.tok, map[string]string{"team_id": evil.ID, "name": "lair", "type": "private"}, &lair, 201)
	ts.mustDo("POST", "/api/v1/channels/"+lair.ID+"/members", mallory.tok, map[string]string{"user_id": gus.user.ID}, nil, 201)
	mallory.lair, gus.lair = lair.ID, lair.ID
	nobody := &idorOutsider{name: "anonymous"}

	malloryWS, gusWS := collectWS(t, ts, mallory.tok), collectWS(t, ts, gus.tok)
	before := v.snapshot(t, ts)

	// Every route of routes.go with an id in its path has a case, and
	// every case is a route that exists.
	cases := idorCases()
	registered := map[string]muxRoute{}
	for _, r := range routesFromSource(t) {
		if strings.Contains(r.pattern, "{") {
			registered[r.pattern] = r
			if _, ok := cases[r.pattern]; !ok {
				t.Errorf("routes.go registers %q, which takes an id, but the IDOR walk has no case for it: add one to idorCases", r.pattern)
			}
		}
	}
	for p := range cases {
		if _, ok := registered[p]; !ok {
			t.Errorf("idorCases has %q, which routes.go does not register", p)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	shell := func() string {
		_, b := nobody.send(t, ts, "GET", "/", nil)
		return b
	}()
	patterns := make([]string, 0, len(cases))
	for p := range cases {
		patterns = append(patterns, p)
	}
	slices.Sort(patterns)
	tried := 0
	for _, o := range []*idorOutsider{mallory, gus, nobody} {
		for _, pattern := range patterns {
			c := cases[pattern]
			method, _, _ := strings.Cut(pattern, " ")
			want := c.want
			switch {
			case o.user == nil && registered[pattern].wrapper != "":
				want = http.StatusUnauthorized
			case o.role == store.RoleMember && c.wantMember != 0:
				want = c.wantMember
			}
			for _, path := range c.paths(v, o) {
				tried++
				status, body := o.send(t, ts, method, path, c.body)
				if status != want && !(c.guessed && status == http.StatusTooManyRequests) {
					t.Errorf("%s: %s %s: %d %s, want %d", o.name, method, path, status, body, want)
					continue
				}
				if c.shell && body != shell {
					t.Errorf("%s: %s %s: the page differs from the app shell: %.200s", o.name, method, path, body)
				}
				if status >= 400 {
					var e struct{ Error, Code string }
					if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" || e.Code == "" {
						t.Errorf("%s: %s %s: %d without a JSON error: %.200s", o.name, method, path, status, body)
					}
				}
				for _, s := range v.secrets {
					if strings.Contains(body, s) {
						t.Errorf("%s: %s %s: the answer holds the victim's %q: %.300s", o.name, method, path, s, body)
					}
				}
			}
		}
	}
	t.Logf("%d requests by outsiders to %d id-taking routes", tried, len(cases))

	// Ids in bodies and queries, used from the outsider's own room: refused
	// as bad input, nothing borrowed from the victim.
	lairPath := "/api/v1/channels/" + lair.ID
	for _, o := range []*idorOutsider{mallory, gus} {
		bodyCases := []struct {
			method, path string
			body         any
			want         int
		}{
			{"POST", lairPath + "/posts", map[string]any{"message": "hi", "root_id": v.root}, 400},
			{"POST", lairPath + "/posts", map[string]any{"message": "hi", "file_ids": []string{v.file}}, 400},
			{"POST", lairPath + "/posts", map[string]any{"message": "hi", "file_ids": []string{v.loose}}, 400},
			{"GET", lairPath + "/posts?before=" + v.root, nil, 400},
			{"GET", lairPath + "/calls?before=" + v.callID, nil, 400},
			{"POST", lairPath + "/members", map[string]string{"user_id": v.vic.ID}, 400},
			{"POST", "/api/v1/channels", map[string]any{"type": "discussion", "parent_id": v.private, "display_name": "x"}, 404},
			{"POST", "/api/v1/channels", map[string]any{"type": "discussion", "parent_id": lair.ID, "parent_post_id": v.root, "display_name": "x"}, 400},
			{"POST", "/api/v1/channels", map[string]any{"type": "discussion", "parent_id": lair.ID, "display_name": "x", "user_ids": []string{v.vic.ID}}, 400},
			{"POST", "/api/v1/channels", map[string]any{"type": "public", "team_id": v.team, "name": "x"}, 400},
		}
		if o.role == store.RoleGuest { // a guest cannot start a DM with someone it shares no room with
			bodyCases = append(bodyCases, struct {
				method, path string
				body         any
				want         int
			}{"POST", "/api/v1/dms", map[string]any{"user_ids": []string{v.vic.ID}}, 400})
		}
		for _, bc := range bodyCases {
			if status, body := o.send(t, ts, bc.method, bc.path, bc.body); status != bc.want {
				t.Errorf("%s: %s %s %v: %d %s, want %d", o.name, bc.method, bc.path, bc.body, status, body, bc.want)
			}
		}
		// Commands run in the outsider's room reach only that room's team.
		for _, cmd := range []string{"/join ~plans", "/invite @vic", "/invite @vic2"} {
			status, body := o.send(t, ts, "POST", lairPath+"/commands", map[string]string{"command": cmd})
			if status >= 500 || strings.Contains(body, "You joined") {
				t.Errorf("%s: %s in their own room: %d %s", o.name, cmd, status, body)
			}
		}
		// Search and lists find nothing of the victim's.
		for _, path := range []string{"/api/v1/search?q=vicsecret", "/api/v1/channels", "/api/v1/teams", "/api/v1/teams/" + evil.ID + "/channels"} {
			status, body := o.send(t, ts, "GET", path, nil)
			if status != 200 {
				t.Errorf("%s: GET %s: %d", o.name, path, status)
			}
			for _, s := range v.secrets {
				if strings.Contains(body, s) {
					t.Errorf("%s: GET %s holds the victim's %q", o.name, path, s)
				}
			}
		}
	}

	// Websocket frames that name a room, a call or a participant.
	for _, w := range []*wsCollector{malloryWS, gusWS} {
		for _, room := range v.rooms() {
			if code := frameCode(w.ask(t, "typing", map[string]string{"channel_id": room})); code != "not_found" {
				t.Errorf("typing in the victim's room %s: %s, want not_found", room, code)
			}
			if code := frameCode(w.ask(t, "call_join", map[string]string{"channel_id": room})); code != "no_access" {
				t.Errorf("call_join of the victim's room %s: %s, want no_access", room, code)
			}
		}
		for _, typ := range []string{"call_ring_decline", "call_ring_dismiss"} {
			for _, id := range []string{v.ringCall, v.callID} {
				if code := frameCode(w.ask(t, typ, map[string]string{"call_id": id, "reply": "pwned"})); code != "no_ring" {
					t.Errorf("%s of the victim's call %s: %s, want no_ring", typ, id, code)
				}
			}
		}
		// Not in a call: signaling, host actions and the rest go nowhere,
		// whatever ids the frame carries.
		sig := map[string]any{"type": "offer", "sdp": "v=0\r\n", "participant_id": v.pid, "call_id": v.callID, "channel_id": v.private}
		for _, typ := range []string{"call_signal", "call_track", "call_mute", "call_hand", "call_screen", "call_record", "call_end", "call_reaction"} {
			if code := frameCode(w.ask(t, typ, sig)); code != "not_in_call" {
				t.Errorf("%s outside any call: %s, want not_in_call", typ, code)
			}
		}
		if code := frameCode(w.ask(t, "call_host", map[string]string{"action": "remove", "participant_id": v.pid})); code != "not_in_call" {
			t.Errorf("call_host outside any call: %s, want not_in_call", code)
		}
	}
	// The host of a call of their own cannot reach into the victim's: their
	// participant ids are not in it.
	hostPeer := newCallPeer(t, ts, "mallory", mallory.tok)
	if j := hostPeer.join(lair.ID, true, false); j.Type != "call_joined" {
		t.Fatalf("mallory's own call: %s %s", j.Type, j.Data)
	}
	hostCtx, stopHost := context.WithCancel(context.Background())
	defer stopHost()
	hostPeer.publish(hostCtx)
	for _, action := range []string{"remove", "mute", "ask_unmute", "stop_screen", "lower_hand", "make_host"} {
		hostPeer.send("call_host", map[string]string{"action": action, "participant_id": v.pid})
		f := hostPeer.event("error")
		if code := frameCode(f); code != "no_participant" {
			t.Errorf("call_host %s on the victim's participant: %s, want no_participant", action, code)
		}
	}
	hostPeer.send("call_host", map[string]string{"action": "mute_all"}) // mutes only mallory's own call
	// A join of the victim's room while in a call of one's own changes nothing.
	hostPeer.send("call_join", map[string]string{"channel_id": v.private})
	if code := frameCode(hostPeer.event("error")); code != "no_access" {
		t.Errorf("call_join of the victim's room from a call: %s", code)
	}
	if m := ts.runningCall(lair.ID); m == nil || len(m.view().Participants) != 1 {
		t.Errorf("mallory's own call lost her")
	}

	// The victim's call, ring and data are as they were.
	cl := ts.runningCall(v.private)
	if cl == nil || cl.id != v.callID {
		t.Fatal("the victim's call is gone")
	}
	view := cl.view()
	if len(view.Participants) != 1 || view.Participants[0].ID != v.pid || view.Participants[0].Muted || view.HostID != v.vic.ID {
		t.Errorf("the victim's call changed: %+v", view)
	}
	if r := ts.ringFor(v.ringCall); r == nil || r.state != ringCalling {
		t.Errorf("the DM call no longer rings the victim: %+v", r)
	}
	if n, _ := vicPeer.packetsFrom(hostPeer.pid, "mic"); n != 0 {
		t.Errorf("the victim received %d packets of mallory's call", n)
	}
	if n, _ := hostPeer.packetsFrom(v.pid, "mic"); n != 0 {
		t.Errorf("mallory received %d packets of the victim's call", n)
	}
	if after := v.snapshot(t, ts); after != before {
		t.Errorf("the victim's data changed:\nbefore %s\nafter  %s", before, after)
	}

	// Now the victim's rooms are busy; none of it reaches the outsiders.
	for _, room := range v.rooms() {
		ts.mustDo("POST", "/api/v1/channels/"+room+"/posts", v.tok, map[string]string{"message": "vicsecret-later"}, nil, 201)
	}
	vicPeer.send("call_hand", map[string]bool{"raised": true})
	vicPeer.send("typing", map[string]string{"channel_id": v.private})
	time.Sleep(presenceBatch + 500*time.Millisecond)
	for name, w := range map[string]*wsCollector{"mallory": malloryWS, "gus": gusWS} {
		w.sync(t) // the frames sent before the pong have arrived
		w.mu.Lock()
		for _, f := range w.frames {
			for _, s := range v.secrets {
				if strings.Contains(f, s) {
					t.Errorf("%s's websocket got the victim's %q: %.300s", name, s, f)
				}
			}
		}
		t.Logf("%s's websocket: %d frames, none about the victim", name, len(w.frames))
		w.mu.Unlock()
	}
}
