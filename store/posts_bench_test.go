package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCreatePost measures durable posts per second (synchronous=FULL,
// a real file) with 1, 8, 64 and 256 writers posting at once. Writers that
// wait at the same moment share one commit, so throughput should grow with
// them while one writer is bounded by one fsync per post.
//
//	go test ./store -run '^$' -bench CreatePost -benchtime 3s -count 3
func BenchmarkCreatePost(b *testing.B) {
	for _, writers := range []int{1, 8, 64, 256} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, filepath.Join(b.TempDir(), "calls.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			users := make([]*User, writers)
			for i := range users {
				users[i], err = s.CreateUser(ctx, NewUser{Username: fmt.Sprintf("writer%d", i), Role: RoleMember})
				if err != nil {
					b.Fatal(err)
				}
			}
			team, town, err := s.CreateTeam(ctx, "bench", "Bench", users[0].ID)
			if err != nil {
				b.Fatal(err)
			}
			for _, u := range users[1:] {
				if err := s.AddTeamMember(ctx, team.ID, u.ID, ""); err != nil {
					b.Fatal(err)
				}
			}
			msg := "a message of about the length people write in a busy channel, with a @mention or two"

			// Commits are counted to show how many posts share one.
			var commits atomic.Int64
			var commitTime atomic.Int64
			s.Observe = func(op string, d time.Duration) {
				if op == "create_posts" {
					commits.Add(1)
					commitTime.Add(int64(d))
				}
			}

			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			b.ResetTimer()
			start := time.Now()
			for _, u := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						if _, err := s.CreatePost(ctx, NewPost{ChannelID: town.ID, UserID: u.ID, Message: msg}); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "posts/s")
			if n := commits.Load(); n > 0 {
				b.ReportMetric(float64(b.N)/float64(n), "posts/commit")
				b.ReportMetric(float64(commitTime.Load())/float64(n)/1e6, "ms/commit")
			}
		})
	}
}
