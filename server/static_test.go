package server

import (
	"net/http"
	"strings"
	"testing"

	"calls/store"
)

// framable reports why a response may be put in another site's frame, or
// "" when it may not: X-Frame-Options DENY/SAMEORIGIN, or a CSP whose
// frame-ancestors is 'none' or 'self'.
func framable(h http.Header) string {
	xfo := strings.ToUpper(h.Get("X-Frame-Options"))
	xfoOK := xfo == "DENY" || xfo == "SAMEORIGIN"
	csp := h.Get("Content-Security-Policy")
	ancestors := ""
	for _, d := range strings.Split(csp, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), "frame-ancestors"); ok {
			ancestors = strings.TrimSpace(v)
		}
	}
	switch {
	case ancestors == "'none'" || ancestors == "'self'":
		return ""
	case ancestors != "":
		return "frame-ancestors " + ancestors // it overrides X-Frame-Options in browsers
	case xfoOK:
		return ""
	}
	return "neither X-Frame-Options nor frame-ancestors"
}

// Clickjacking: no answer of the server can be framed by another site:
// the app, a call link, API answers and errors, uploaded files, metrics.
func TestNothingFramable(t *testing.T) {
	f := newChatFixture(t)
	ts := f.ts
	resp := upload(t, ts, f.aliceT, f.public, "photo.png", []byte("\x89PNG\r\n\x1a\n0000"))
	var up struct{ Files []*store.File }
	decode(resp, &up)
	resp.Body.Close()
	ts.mustDo("POST", "/api/v1/channels/"+f.public+"/posts", f.aliceT, map[string]any{"message": "pic", "file_ids": []string{up.Files[0].ID}}, nil, 201)

	cases := []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/", "", 200},
		{"GET", "/login", "", 200},
		{"GET", "/call/" + f.public, "", 200},
		{"GET", "/call/" + f.archived, "", 410},
		{"GET", "/nope.js", "", 404},
		{"GET", "/healthz", "", 200},
		{"GET", "/metrics", "", 200},
		{"GET", "/api/v1/setup", "", 200},
		{"GET", "/api/v1/users/me", f.aliceT, 200},
		{"GET", "/api/v1/users/me", "", 401},
		{"GET", "/api/v1/channels/" + f.public + "/posts", f.bobT, 200},
		{"GET", "/api/v1/channels/" + f.private + "/posts", f.outT, 404},
		{"GET", "/api/v1/nope", f.aliceT, 404},
		{"GET", "/api/v1/files/" + up.Files[0].ID, f.bobT, 200},
		{"GET", "/api/v1/files/" + up.Files[0].ID + "?download=1", f.bobT, 200},
		{"POST", "/api/v1/hooks/nothing", "", 404},
		{"GET", "/api/v1/ws", "", 401},
	}
	for _, c := range cases {
		resp := ts.request(c.method, c.path, c.token, nil)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
		if why := framable(resp.Header); why != "" {
			t.Errorf("%s %s (%d) can be framed by any site: %s (headers %v)", c.method, c.path, resp.StatusCode, why, resp.Header)
		}
	}
}
