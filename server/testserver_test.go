package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"calls/store"

	"golang.org/x/crypto/argon2"
)

// testServer is a real server on 127.0.0.1 with its own data dir.
type testServer struct {
	*Server
	URL string
	t   testing.TB
	// shutdown starts the graceful stop Serve does on SIGTERM.
	shutdown context.CancelFunc
	// stopped is closed when Serve has returned.
	stopped <-chan struct{}
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	return startServerTB(t)
}

// startServerTB starts a server for any test, benchmark or fuzz target;
// opts adjust its configuration.
func startServerTB(t testing.TB, opts ...func(*Config)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	level := slog.LevelWarn
	if os.Getenv("CALLS_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{
		DataDir:     filepath.Join(t.TempDir(), "data"),
		Insecure:    true,
		Listener:    ln,
		RTCAddr:     "127.0.0.1:0",
		ICELoopback: true,
		UI:          fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>calls</title>")}},
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	s.cfg.Ready = func(url string) { ready <- url }
	done := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		done <- s.Serve(ctx)
		close(stopped)
	}()
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
	return &testServer{Server: s, URL: url, t: t, shutdown: cancel, stopped: stopped}
}

// testHash is an argon2id hash with the smallest parameters, for users
// made by tests: logins verify with the parameters stored in the hash, so
// they stay real checks but skip the 19 MiB of work per user that the
// race detector makes slow. Users made through the API get the real ones.
func testHash(pw string) string {
	salt := []byte("test-salt-16byte")
	key := argon2.IDKey([]byte(pw), salt, 1, 64, 1, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// addUser creates a user straight in the store.
func (ts *testServer) addUser(name, role string) *store.User {
	ts.t.Helper()
	u, err := ts.store.CreateUser(context.Background(), store.NewUser{Username: name, DisplayName: name, Role: role, PasswordHash: testHash(name + "-password")})
	if err != nil {
		ts.t.Fatal(err)
	}
	return u
}

// login returns a bearer token for the user made by addUser.
func (ts *testServer) login(name string) string {
	ts.t.Helper()
	var out loginResponse
	status := ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": name + "-password"}, &out)
	if status != 200 {
		ts.t.Fatalf("login %s: status %d", name, status)
	}
	return out.Token
}

// do sends a JSON request with an optional bearer token and decodes the
// answer into out (if not nil); it returns the status.
func (ts *testServer) do(method, path, token string, body, out any) int {
	ts.t.Helper()
	resp := ts.request(method, path, token, body)
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (ts *testServer) request(method, path, token string, body any) *http.Response {
	ts.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, ts.URL+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	return resp
}

// browser is an HTTP client with a cookie jar, like a browser tab.
func (ts *testServer) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return strings.NewReader(string(b))
}

func decode(resp *http.Response, out any) {
	json.NewDecoder(resp.Body).Decode(out)
}
