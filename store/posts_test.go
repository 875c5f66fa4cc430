package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Posts that wait at the same moment share one commit; a bad post among
// them fails alone, and the good ones are stored with the room's last post
// time, the authors' read marks and the mention counts they imply. A post
// alone in its commit behaves the same.
func TestCreatePostGroupCommit(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	var users []*User
	for i := range 3 {
		u, err := s.CreateUser(ctx, NewUser{Username: fmt.Sprintf("u%d", i), Role: RoleMember})
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	team, town, err := s.CreateTeam(ctx, "t", "T", users[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users[1:] {
		if err := s.AddTeamMember(ctx, team.ID, u.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	members, err := s.ChannelMembers(ctx, town.ID)
	if err != nil || len(members) != 3 {
		t.Fatalf("members %v, %v", members, err)
	}
	for _, u := range users {
		if !slices.Contains(members, u.ID) {
			t.Fatalf("members %v lack %s", members, u.ID)
		}
	}
	if none, err := s.ChannelMembers(ctx, NewID()); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("members of no room: %#v, %v", none, err)
	}
	root, err := s.CreatePost(ctx, NewPost{ChannelID: town.ID, UserID: users[0].ID, Message: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePost(ctx, NewPost{ChannelID: town.ID, UserID: users[0].ID, RootID: NewID(), Message: "alone, bad root"}); !errors.Is(err, ErrBadRoot) {
		t.Fatalf("a lone reply to a missing root: %v, want ErrBadRoot", err)
	}

	var commits atomic.Int64
	s.Observe = func(op string, d time.Duration) {
		if op == "create_posts" {
			commits.Add(1)
		}
	}
	// Hold the writer connection so that the posts queue up behind it.
	hold, held := make(chan struct{}), make(chan struct{})
	go s.write(ctx, "hold", func(*sql.Tx) error { close(held); <-hold; return nil })
	<-held

	const n = 40
	results := make([]*Post, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := NewPost{ChannelID: town.ID, UserID: users[i%3].ID, Message: fmt.Sprintf("m%d", i)}
			switch i % 10 {
			case 3:
				in.RootID = NewID() // no such root: fails alone
			case 5:
				in.RootID = root.ID
			case 7:
				in.FileIDs = []string{NewID()} // no such upload: fails alone
			case 8:
				in.Mentioned = []string{users[(i+1)%3].ID}
			}
			results[i], errs[i] = s.CreatePost(ctx, in)
		}()
	}
	time.Sleep(300 * time.Millisecond) // let them queue
	close(hold)
	wg.Wait()
	if c := commits.Load(); c >= n-8 {
		t.Fatalf("%d commits for %d posts: they did not share", c, n)
	}

	lastRead := map[string]int64{}
	var latest *Post
	replies := 0
	for i, p := range results {
		switch i % 10 {
		case 3:
			if !errors.Is(errs[i], ErrBadRoot) {
				t.Fatalf("post %d: %v, want ErrBadRoot", i, errs[i])
			}
			continue
		case 7:
			if !errors.Is(errs[i], ErrFileUnusable) {
				t.Fatalf("post %d: %v, want ErrFileUnusable", i, errs[i])
			}
			continue
		case 5:
			replies++
		}
		if errs[i] != nil {
			t.Fatalf("post %d: %v", i, errs[i])
		}
		got, err := s.PostByID(ctx, p.ID)
		if err != nil || got.Message != p.Message {
			t.Fatalf("post %d stored as %+v, %v", i, got, err)
		}
		lastRead[p.UserID] = max(lastRead[p.UserID], p.PK)
		if latest == nil || p.PK > latest.PK {
			latest = p
		}
	}
	for _, u := range users {
		m, err := s.Membership(ctx, town.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.LastReadPK != lastRead[u.ID] {
			t.Fatalf("%s's read mark %d, want their last post %d", u.Username, m.LastReadPK, lastRead[u.ID])
		}
		// Posts 8, 18, 28, 38 mention the next user.
		want := 0
		for i := 8; i < n; i += 10 {
			if users[(i+1)%3].ID == u.ID && users[i%3].ID != u.ID {
				want++
			}
		}
		if m.MentionCount != want {
			t.Fatalf("%s's mentions %d, want %d", u.Username, m.MentionCount, want)
		}
	}
	ch, err := s.ChannelByID(ctx, town.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ch.LastPostAt == nil || ch.LastPostAt.Before(latest.CreatedAt) {
		t.Fatalf("room's last post at %v, want %v", ch.LastPostAt, latest.CreatedAt)
	}
	got, err := s.PostByID(ctx, root.ID)
	if err != nil || got.ReplyCount != replies {
		t.Fatalf("root's reply count %d, want %d (%v)", got.ReplyCount, replies, err)
	}
}
