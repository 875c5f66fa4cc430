package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"calls/server/filestore"
	"calls/store"
)

// TestCrashDurability kills the server with SIGKILL at random moments while
// several clients post (and upload), restarts it, and checks that every
// post whose request returned 201 is there exactly once, the database is
// intact, every file row's blob exists and matches its hash, and a call
// open at the crash is closed with its attendees kept.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	kills := 20
	if v := os.Getenv("CALLS_CRASH_KILLS"); v != "" {
		fmt.Sscan(v, &kills)
	}
	data := filepath.Join(t.TempDir(), "data")
	for _, n := range []string{"w1", "w2", "w3", "w4"} {
		add := calls("user", "add", n, "--password-stdin", "--data", data)
		add.Stdin = bytes.NewReader([]byte(n + "-password\n"))
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}

	// First start: log in, make a team and channel everyone posts in.
	cmd, url, _ := startServe(t, data)
	tokens := map[string]string{}
	for _, n := range []string{"w1", "w2", "w3", "w4"} {
		var lr struct{ Token string }
		postJSON(t, url, "", "/api/v1/auth/login", map[string]string{"username": n, "password": n + "-password"}, &lr)
		tokens[n] = lr.Token
	}
	var team struct{ ID string }
	postJSON(t, url, tokens["w1"], "/api/v1/teams", map[string]string{"name": "crash"}, &team)
	var ch struct{ ID string }
	postJSON(t, url, tokens["w1"], "/api/v1/channels", map[string]string{"team_id": team.ID, "name": "load", "type": "private"}, &ch)
	var me struct{ ID string }
	for _, n := range []string{"w2", "w3", "w4"} {
		getJSON(t, url, tokens[n], "/api/v1/users/me", &me)
		postJSON(t, url, tokens["w1"], "/api/v1/teams/"+team.ID+"/members", map[string]string{"user_id": me.ID}, nil)
		postJSON(t, url, tokens["w1"], "/api/v1/channels/"+ch.ID+"/members", map[string]string{"user_id": me.ID}, nil)
	}

	var mu sync.Mutex
	acked := map[string]bool{} // message text → acknowledged
	seq := 0
	openCalls := []string{}
	for round := 0; round < kills; round++ {
		if round > 0 {
			cmd, url, _ = startServe(t, data)
		}
		if round%5 == 2 { // a call open when the crash comes
			openCalls = append(openCalls, openCallDirectly(t, data, ch.ID, tokens))
		}
		mu.Lock()
		ackedBefore := len(acked)
		mu.Unlock()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for n, tok := range tokens {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Timeout: 5 * time.Second}
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					seq++
					msg := fmt.Sprintf("%s round %d post %d", n, round, seq)
					mu.Unlock()
					body := map[string]any{"message": msg}
					if n == "w4" && i%5 == 0 { // some posts carry a file
						if id := uploadFile(client, url, tok, ch.ID, fmt.Sprintf("file %d of %s", i, msg)); id != "" {
							body["file_ids"] = []string{id}
						}
					}
					b, _ := json.Marshal(body)
					req, _ := http.NewRequest("POST", url+"/api/v1/channels/"+ch.ID+"/posts", bytes.NewReader(b))
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := client.Do(req)
					if err != nil {
						return // the server died mid-request: not acknowledged
					}
					resp.Body.Close()
					if resp.StatusCode == http.StatusCreated {
						mu.Lock()
						acked[msg] = true
						mu.Unlock()
					}
					if resp.StatusCode == http.StatusTooManyRequests {
						time.Sleep(200 * time.Millisecond)
					}
				}
			}()
		}
		// Kill at a random moment once writes are flowing in this round (a
		// slow, loaded machine takes a while to get going after a start).
		for wait := time.Now(); time.Since(wait) < 15*time.Second; time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			flowing := len(acked) > ackedBefore
			mu.Unlock()
			if flowing {
				break
			}
		}
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		close(stop)
		wg.Wait()
	}

	// Restart once more (crashed calls are closed at start), then check.
	cmd, url, _ = startServe(t, data)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	counts := map[string]int{}
	before := ""
	for {
		var page struct {
			Posts []struct {
				Message string `json:"message"`
				ID      string `json:"id"`
			}
			HasMore bool `json:"has_more"`
		}
		getJSON(t, url, tokens["w1"], "/api/v1/channels/"+ch.ID+"/posts?limit=200&before="+before, &page)
		for _, p := range page.Posts {
			counts[p.Message]++
		}
		if !page.HasMore || len(page.Posts) == 0 {
			break
		}
		before = page.Posts[len(page.Posts)-1].ID
	}
	for msg := range acked {
		if counts[msg] != 1 {
			t.Errorf("acknowledged post %q found %d times", msg, counts[msg])
		}
	}
	for msg, n := range counts {
		if n > 1 {
			t.Errorf("post %q stored %d times", msg, n)
		}
	}
	t.Logf("%d kills, %d acknowledged posts, all present exactly once; %d stored in all", kills, len(acked), len(counts))
	if len(acked) < kills {
		t.Fatalf("only %d posts acknowledged over %d rounds: the test did not exercise anything", len(acked), kills)
	}

	st, err := store.Open(context.Background(), filepath.Join(data, "calls.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(context.Background()); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q %v", res, err)
	}
	files, err := filestore.Open(filepath.Join(data, "files"))
	if err != nil {
		t.Fatal(err)
	}
	hashes, _ := st.AllFileHashes(context.Background())
	for _, h := range hashes {
		if err := files.Verify(h); err != nil {
			t.Errorf("file row names blob %s: %v", h, err)
		}
	}
	t.Logf("%d file rows, every blob present and matching its hash", len(hashes))
	for _, id := range openCalls {
		c, err := st.CallByID(context.Background(), id)
		if err != nil || c.EndedAt == nil || len(c.Attendees) != 2 {
			t.Errorf("call open at a crash: %+v %v (want ended, 2 attendees)", c, err)
		}
	}
}

// openCallDirectly records a running call the way the server does when
// people join, from a second process (the store allows it beside the
// server).
func openCallDirectly(t *testing.T, data, channelID string, tokens map[string]string) string {
	st, err := store.Open(context.Background(), filepath.Join(data, "calls.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	users, _ := st.ListUsers(context.Background())
	c := &store.Call{ID: store.NewID(), ChannelID: channelID, HostID: users[0].ID, StartedAt: time.Now().UTC()}
	if err := st.CreateCall(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	for _, u := range users[:2] {
		if err := st.CallJoined(context.Background(), c.ID, store.NewID(), u.ID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	}
	return c.ID
}

func uploadFile(client *http.Client, url, tok, channel, content string) string {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "note.txt")
	fw.Write([]byte(content))
	mw.Close()
	req, _ := http.NewRequest("POST", url+"/api/v1/channels/"+channel+"/files", &body)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var out struct{ Files []struct{ ID string } }
	if resp.StatusCode != 201 || json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Files) == 0 {
		return ""
	}
	return out.Files[0].ID
}

func postJSON(t *testing.T, url, tok, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url+path, bytes.NewReader(b))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
}

func getJSON(t *testing.T, url, tok, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	json.NewDecoder(resp.Body).Decode(out)
}
