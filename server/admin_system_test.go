package server

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"calls/store"
)

func TestSystemInfo(t *testing.T) {
	ts := startServerTB(t, func(c *Config) {
		c.TURN = TURNConfig{Enabled: true, Port: 0, UserQuota: 10}
		c.Version = "v9.9.9-test"
	})
	ts.addUser("root", store.RoleAdmin)
	tok := ts.login("root")
	ws, err := ts.dialWS(tok, "")
	if err != nil {
		t.Fatal(err)
	}
	readFrame(t, ws)
	var info systemInfo
	ts.mustDo("GET", "/api/v1/admin/system", tok, nil, &info, 200)
	if info.Version != "v9.9.9-test" || info.UptimeSeconds < 0 || info.StartedAt.IsZero() || info.DataDir.DBBytes <= 0 ||
		!info.TURN.Enabled || info.WebsocketClients != 1 || info.MetricsURL != "/metrics" || info.Go.Goroutines == 0 ||
		info.SchemaVersion != store.SchemaVersion() {
		t.Fatalf("system %+v", info)
	}
}

// The support bundle has what helps (config, system, metrics, logs,
// audit) and no secret: not the TURN secret, an ICE server's credential,
// password hashes, session, invite or reset tokens, nor a message.
func TestSupportBundleHasNoSecrets(t *testing.T) {
	const turnSecret = "turn-secret-9f3a7c51d2e84b60"
	ts := startServerTB(t, func(c *Config) {
		c.TURN = TURNConfig{Enabled: true, Port: 0, UserQuota: 10, Secret: turnSecret}
	})
	root, ann := ts.addUser("root", store.RoleAdmin), ts.addUser("ann", store.RoleMember)
	tok, annTok := ts.login("root"), ts.login("ann")
	var team store.Team
	ts.mustDo("POST", "/api/v1/teams", annTok, map[string]string{"name": "t"}, &team, 201)
	var ch store.Channel
	ts.mustDo("POST", "/api/v1/channels", annTok, map[string]string{"team_id": team.ID, "name": "c", "type": "public"}, &ch, 201)
	const body = "the launch code is marmalade-7731"
	ts.mustDo("POST", "/api/v1/channels/"+ch.ID+"/posts", annTok, map[string]string{"message": body}, nil, 201)
	const iceCred = "ice-credential-55b1e0"
	ts.mustDo("PATCH", "/api/v1/admin/settings", tok, map[string]any{"site_name": "Bundle test",
		"ice_servers": []map[string]any{{"urls": "turn:relay.example.net:3478", "username": "relay-user", "credential": iceCred}}}, nil, 200)
	var inv struct{ URL string }
	ts.mustDo("POST", "/api/v1/admin/invites", tok, map[string]any{}, &inv, 201)
	var reset struct{ URL string }
	ts.mustDo("POST", "/api/v1/admin/users/"+ann.ID+"/reset-link", tok, nil, &reset, 201)
	// A careless log line is caught too.
	ts.log.Info("careless line", "turn_secret", turnSecret, "note", "secret is "+turnSecret)

	resp := ts.request("GET", "/api/v1/admin/support-bundle", tok, nil)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/gzip" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("bundle: %d %v", resp.StatusCode, resp.Header)
	}
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name], _ = io.ReadAll(tr)
	}
	for _, name := range []string{"config.json", "system.json", "metrics.txt", "recent-logs.txt", "audit.json"} {
		if len(files[name]) == 0 {
			t.Fatalf("bundle lacks %s (has %d files)", name, len(files))
		}
	}
	var cfg map[string]any
	if err := json.Unmarshal(files["config.json"], &cfg); err != nil || cfg["settings"].(map[string]any)["site_name"] != "Bundle test" {
		t.Fatalf("config.json: %v %s", err, files["config.json"])
	}
	if !strings.Contains(string(files["recent-logs.txt"]), "msg=login") || !strings.Contains(string(files["metrics.txt"]), "calls_http_requests_total") ||
		!strings.Contains(string(files["audit.json"]), "invite.create") {
		t.Fatalf("bundle contents thin:\n%s", files["recent-logs.txt"])
	}

	secrets := map[string]string{"TURN secret": turnSecret, "ICE credential": iceCred, "message": body, "message word": "marmalade",
		"admin session": tok, "member session": annTok, "invite token": tokenOf(inv.URL), "reset token": tokenOf(reset.URL)}
	for _, u := range []*store.User{root, ann} {
		full, err := ts.store.UserByID(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		secrets["password hash of "+u.Username] = full.PasswordHash
	}
	all := bytes.Join(func() [][]byte {
		var out [][]byte
		for _, b := range files {
			out = append(out, b)
		}
		return out
	}(), []byte("\n"))
	for what, s := range secrets {
		if s == "" {
			t.Fatalf("%s is empty", what)
		}
		if bytes.Contains(all, []byte(s)) {
			t.Errorf("the bundle contains the %s", what)
		}
	}
}
