package server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"calls/store"
)

// TestHTTPTimeouts checks the web server's limits on slow clients, shortened
// to a second each: a kept-alive connection left idle is closed, a request
// whose body stalls is cut off and stores nothing, while an upload and a
// file download slower than the read and write limits still complete
// (they get HTTPTimeouts.Transfer).
func TestHTTPTimeouts(t *testing.T) {
	t.Parallel()
	ts := startServerTB(t, func(c *Config) {
		c.HTTPTimeouts = HTTPTimeouts{Read: time.Second, Write: time.Second, Idle: time.Second}
	})
	addr := strings.TrimPrefix(ts.URL, "http://")
	ts.addUser("ann", store.RoleAdmin)
	tok := ts.login("ann")
	var team store.Team
	ts.mustDo("POST", "/api/v1/teams", tok, map[string]string{"name": "slow", "display_name": "Slow"}, &team, 201)
	var chans struct{ Channels []*store.Channel }
	ts.mustDo("GET", "/api/v1/teams/"+team.ID+"/channels", tok, nil, &chans, 200)
	room := chans.Channels[0].ID

	// closedAfter reads c until the server closes it.
	closedAfter := func(c net.Conn, r io.Reader, start time.Time) time.Duration {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.Copy(io.Discard, r); err != nil {
			t.Fatalf("the server did not close the connection: %v", err)
		}
		return time.Since(start)
	}

	t.Run("idle keep-alive connection", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: calls\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("first request: %v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		if took := closedAfter(c, br, time.Now()); took < 800*time.Millisecond || took > 10*time.Second {
			t.Fatalf("idle connection closed after %v, want the 1 s idle timeout", took)
		}
	})

	t.Run("request body that stalls", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		fmt.Fprintf(c, "POST /api/v1/channels/%s/posts HTTP/1.1\r\nHost: calls\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"message\": \"half a", room, tok)
		if took := closedAfter(c, c, start); took < 800*time.Millisecond || took > 10*time.Second {
			t.Fatalf("stalled body cut off after %v, want the 1 s read timeout", took)
		}
		var page struct{ Posts []postView }
		ts.mustDo("GET", "/api/v1/channels/"+room+"/posts", tok, nil, &page, 200)
		for _, p := range page.Posts {
			if strings.Contains(p.Message, "half a") {
				t.Fatalf("the cut-off request was stored: %q", p.Message)
			}
		}
	})

	// The two transfers go over 2.5 s or more: past both 1 s limits.
	content := bytes.Repeat([]byte("0123456789abcdef"), 24<<20/16) // 24 MiB
	var stored struct {
		Files []struct{ ID string }
	}
	t.Run("slow upload", func(t *testing.T) {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			fw, _ := mw.CreateFormFile("file", "big.bin")
			const chunks = 10
			for i := range chunks {
				if _, err := fw.Write(content[i*len(content)/chunks : (i+1)*len(content)/chunks]); err != nil {
					pw.CloseWithError(err)
					return
				}
				time.Sleep(250 * time.Millisecond)
			}
			pw.CloseWithError(mw.Close())
		}()
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/channels/"+room+"/files", pr)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("upload over %v: %v", time.Since(start), err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&stored); err != nil || resp.StatusCode != 201 || len(stored.Files) != 1 {
			t.Fatalf("upload over %v: status %d, %v", time.Since(start), resp.StatusCode, err)
		}
		t.Logf("24 MiB uploaded in %v", time.Since(start).Round(10*time.Millisecond))
	})

	t.Run("slow download", func(t *testing.T) {
		if len(stored.Files) != 1 {
			t.Skip("no upload")
		}
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/files/"+stored.Files[0].ID, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("download: %v %v", resp, err)
		}
		defer resp.Body.Close()
		h := sha256.New()
		buf := make([]byte, 1<<20)
		for {
			n, err := io.ReadFull(resp.Body, buf)
			h.Write(buf[:n])
			if err != nil {
				break
			}
			time.Sleep(120 * time.Millisecond) // about 8 MiB/s
		}
		if got, want := h.Sum(nil), sha256.Sum256(content); !bytes.Equal(got, want[:]) {
			t.Fatalf("download over %v is not what was uploaded", time.Since(start))
		}
		t.Logf("24 MiB downloaded in %v", time.Since(start).Round(10*time.Millisecond))
	})
}
