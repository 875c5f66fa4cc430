package loadtest_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"calls/server"
	"calls/server/auth"
	"calls/server/loadtest"
	"calls/store"
)

// startServer runs a real server on 127.0.0.1 with an admin
// ("admin"/"admin-password") and returns its URL.
func startServer(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, filepath.Join(dir, "calls.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword("admin-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, store.NewUser{Username: "admin", DisplayName: "admin", Role: store.RoleAdmin, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	s, err := server.New(ctx, server.Config{
		DataDir:     dir,
		Insecure:    true,
		Listener:    ln,
		RTCAddr:     "127.0.0.1:0",
		ICELoopback: true,
		UI:          fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>calls</title>")}},
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Ready:       func(url string) { ready <- url },
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		t.Fatalf("server stopped: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		s.Close()
	})
	return url
}

// testLog passes progress lines to t.Log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestLoadTestTinyScale(t *testing.T) {
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	rep, err := loadtest.Run(ctx, loadtest.Config{
		URL: url, AdminUser: "admin", AdminPassword: "admin-password",
		Calls: 2, Participants: 3, Speakers: 1, VideoPublishers: 1, VideoBitrate: 100_000,
		ChatClients: 2, PostsPerSecond: 2,
		Ramp: 20, Duration: 3 * time.Second, Progress: testLog{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.WriteText(&out)
	t.Logf("report:\n%s", out.String())

	if p := rep.Participants; p.Failed != 0 || p.Connected != 6 {
		t.Fatalf("participants: %d connected, %d failed (%v)", p.Connected, p.Failed, p.Errors)
	}
	if rep.Media.PacketsReceived == 0 || rep.Media.WindowReceived == 0 {
		t.Fatalf("no media arrived: %+v", rep.Media)
	}
	if rep.Chat == nil || rep.Chat.PostsFailed != 0 || rep.Chat.Deliveries == 0 {
		t.Fatalf("chat: %+v", rep.Chat)
	}
	if rep.Cleanup != "ok" {
		t.Fatalf("cleanup: %s", rep.Cleanup)
	}

	// What it created is gone: its users are deactivated.
	var login struct{ Token string }
	postJSON(t, url+"/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "admin-password"}, &login)
	var list struct {
		Users []struct {
			Username      string  `json:"username"`
			DeactivatedAt *string `json:"deactivated_at"`
		} `json:"users"`
	}
	getJSON(t, url+"/api/v1/admin/users", login.Token, &list)
	created := 0
	for _, u := range list.Users {
		if strings.HasPrefix(u.Username, "lt-"+rep.Run+"-") {
			created++
			if u.DeactivatedAt == nil {
				t.Errorf("user %s is still active after the run", u.Username)
			}
		}
	}
	if created != 8 {
		t.Errorf("%d users of run %s, want 8", created, rep.Run)
	}
}

func TestConfigErrorsNameTheFlag(t *testing.T) {
	ok := loadtest.Config{URL: "http://127.0.0.1:8443", Token: "x", Calls: 1, Participants: 4, Speakers: 1,
		VideoBitrate: 500_000, ScreenBitrate: 1_000_000, Ramp: 10, Duration: 30 * time.Second}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cases := []struct {
		name   string
		change func(*loadtest.Config)
		flag   string
	}{
		{"no url", func(c *loadtest.Config) { c.URL = "" }, "--url"},
		{"url without scheme", func(c *loadtest.Config) { c.URL = "127.0.0.1:8443" }, "--url"},
		{"no credentials", func(c *loadtest.Config) { c.Token = "" }, "--token"},
		{"more speakers than participants", func(c *loadtest.Config) { c.Speakers = 5 }, "--speakers"},
		{"negative calls", func(c *loadtest.Config) { c.Calls = -1 }, "--calls"},
		{"posts beyond the rate limit", func(c *loadtest.Config) { c.ChatClients, c.PostsPerSecond = 2, 11 }, "--posts-per-second"},
		{"posts without clients", func(c *loadtest.Config) { c.PostsPerSecond = 1 }, "--posts-per-second"},
		{"no ramp", func(c *loadtest.Config) { c.Ramp = 0 }, "--ramp"},
		{"short duration", func(c *loadtest.Config) { c.Duration = time.Millisecond }, "--duration"},
		{"tiny video bitrate", func(c *loadtest.Config) { c.VideoPublishers, c.VideoBitrate = 1, 10 }, "--video-bitrate"},
	}
	for _, tc := range cases {
		c := ok
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.flag) {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.flag)
		}
	}
}

func postJSON(t *testing.T, url, token string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	do(t, req, token, out)
}

func getJSON(t *testing.T, url, token string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	do(t, req, token, out)
}

func do(t *testing.T, req *http.Request, token string, out any) {
	t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}
