package server

import (
	"context"
	"testing"
	"time"

	"calls/store"
)

// Message retention deletes posts older than N days with their reactions,
// search rows and the files no other post uses, in batches; it is off by
// default.
func TestMessageRetention(t *testing.T) {
	ts := startServerTB(t, func(c *Config) { c.RetentionBatch = 2 }) // several batches
	ctx := context.Background()
	ts.addUser("root", store.RoleAdmin)
	ts.addUser("ann", store.RoleMember)
	tok, ann := ts.login("root"), ts.login("ann")
	var team store.Team
	ts.mustDo("POST", "/api/v1/teams", ann, map[string]string{"name": "t"}, &team, 201)
	var ch store.Channel
	ts.mustDo("POST", "/api/v1/channels", ann, map[string]string{"team_id": team.ID, "name": "c", "type": "public"}, &ch, 201)
	postIn := func(body map[string]any) *postView {
		var p postView
		ts.mustDo("POST", "/api/v1/channels/"+ch.ID+"/posts", ann, body, &p, 201)
		return &p
	}
	uploadFile := func(content string) *store.File {
		resp := upload(t, ts, ann, ch.ID, "f.txt", []byte(content))
		var out struct{ Files []*store.File }
		decode(resp, &out)
		resp.Body.Close()
		f, err := ts.store.FileByID(ctx, out.Files[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}

	// Old: a post with a reaction and two files (one only it uses, one
	// shared with a newer post), a thread whose replies are all old, and a
	// root whose last reply is new.
	only, shared := uploadFile("only in the old post"), uploadFile("shared by old and new")
	old := postIn(map[string]any{"message": "zebrafish quartet", "file_ids": []string{only.ID, shared.ID}})
	ts.mustDo("POST", "/api/v1/posts/"+old.ID+"/reactions", ann, map[string]string{"emoji": ":+1:"}, nil, 200)
	oldRoot := postIn(map[string]any{"message": "old thread"})
	oldReply := postIn(map[string]any{"message": "old reply", "root_id": oldRoot.ID})
	liveRoot := postIn(map[string]any{"message": "live thread"})
	oldInLive := postIn(map[string]any{"message": "early reply", "root_id": liveRoot.ID})
	for i := 0; i < 5; i++ {
		postIn(map[string]any{"message": "filler"})
	}
	time.Sleep(10 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(10 * time.Millisecond)
	shared2 := uploadFile("shared by old and new")
	recent := postIn(map[string]any{"message": "recent narwhal", "file_ids": []string{shared2.ID}})
	newReply := postIn(map[string]any{"message": "late reply", "root_id": liveRoot.ID})
	now := cutoff.Add(24 * time.Hour) // as if a day had passed since the cutoff

	// Off by default: nothing goes, however old.
	if res, err := ts.applyRetention(ctx, now.AddDate(10, 0, 0)); err != nil || res.Posts != 0 {
		t.Fatalf("retention off: %+v %v", res, err)
	}
	ts.mustDo("PATCH", "/api/v1/admin/settings", tok, map[string]any{"message_retention_days": 1}, nil, 200)
	res, err := ts.applyRetention(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Posts != 9 || res.Files != 2 || res.Blobs != 1 {
		t.Fatalf("deleted %+v, want 9 posts (the old post, the old thread and its reply, the early reply, 5 fillers), 2 files, 1 blob", res)
	}
	for _, id := range []string{old.ID, oldRoot.ID, oldReply.ID, oldInLive.ID} {
		ts.mustDo("GET", "/api/v1/posts/"+id, ann, nil, nil, 404)
	}
	for _, id := range []string{recent.ID, liveRoot.ID, newReply.ID} {
		ts.mustDo("GET", "/api/v1/posts/"+id, ann, nil, nil, 200)
	}
	var live postView
	ts.mustDo("GET", "/api/v1/posts/"+liveRoot.ID, ann, nil, &live, 200)
	if live.ReplyCount != 1 {
		t.Fatalf("the kept root counts %d replies, want 1", live.ReplyCount)
	}
	if rs, err := ts.store.ReactionsFor(ctx, []string{old.ID}); err != nil || len(rs) != 0 {
		t.Fatalf("reactions left: %v %v", rs, err)
	}
	var found struct{ Posts []postView }
	ts.mustDo("GET", "/api/v1/search?q=zebrafish", ann, nil, &found, 200)
	if len(found.Posts) != 0 {
		t.Fatalf("search still finds the deleted post: %+v", found.Posts)
	}
	ts.mustDo("GET", "/api/v1/search?q=narwhal", ann, nil, &found, 200)
	if len(found.Posts) != 1 {
		t.Fatalf("search lost the recent post: %+v", found.Posts)
	}
	// The file only the old post used is gone, record and bytes; the
	// shared blob stays for the newer post.
	if _, err := ts.store.FileByID(ctx, only.ID); err == nil {
		t.Fatal("the old post's file record is still there")
	}
	if ts.files.Exists(only.SHA256) || !ts.files.Exists(shared.SHA256) {
		t.Fatalf("blobs: only-old exists %v, shared exists %v", ts.files.Exists(only.SHA256), ts.files.Exists(shared.SHA256))
	}
	ts.mustDo("GET", "/api/v1/files/"+shared2.ID, ann, nil, nil, 200)
	// Running again finds nothing more.
	if res, err := ts.applyRetention(ctx, now); err != nil || res.Posts != 0 {
		t.Fatalf("second pass: %+v %v", res, err)
	}
	if ok, err := ts.store.IntegrityCheck(ctx); err != nil || ok != "ok" {
		t.Fatalf("integrity %q %v", ok, err)
	}
}
