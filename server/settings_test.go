package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"calls/store"
)

func TestAdminSettings(t *testing.T) {
	f := newChatFixture(t)
	ts := f.ts
	ts.settings.fixed = map[string]bool{"max_call_participants": true} // as if given on the command line
	for _, path := range []string{"/api/v1/admin/settings", "/api/v1/admin/audit", "/api/v1/admin/calls", "/api/v1/admin/users"} {
		if st := ts.do("GET", path, f.bobT, nil, nil); st != 403 {
			t.Errorf("member GET %s: %d, want 403", path, st)
		}
	}
	if st := ts.do("PATCH", "/api/v1/admin/settings", f.bobT, map[string]any{"ringing": false}, nil); st != 403 {
		t.Errorf("member PATCH settings: %d", st)
	}
	cases := []struct {
		body   map[string]any
		status int
		code   string
	}{
		{map[string]any{"ringing": "no"}, 400, "invalid_setting"},
		{map[string]any{"ring_timeout": "2h"}, 400, "invalid_setting"},
		{map[string]any{"site_name": ""}, 400, "invalid_setting"},
		{map[string]any{"nope": true}, 400, "unknown_setting"},
		{map[string]any{"max_call_participants": 5}, 409, "setting_fixed"},
		{map[string]any{"ringing": false, "ring_timeout": "not a duration"}, 400, "invalid_setting"}, // nothing saved
		{map[string]any{"ring_timeout": "45s", "site_name": "Acme chat", "calls_in_dms": false}, 200, ""},
	}
	for _, c := range cases {
		var out map[string]any
		if st := ts.do("PATCH", "/api/v1/admin/settings", f.adminT, c.body, &out); st != c.status || (c.code != "" && out["code"] != c.code) {
			t.Fatalf("PATCH %v: %d %v, want %d %s", c.body, st, out, c.status, c.code)
		}
	}
	if ts.settingDuration("ring_timeout") != 45*time.Second || ts.settingString("site_name") != "Acme chat" || !ts.settingBool("ringing") {
		t.Fatal("settings not applied (or a refused request saved something)")
	}
	var pub map[string]any
	ts.mustDo("GET", "/api/v1/settings", f.bobT, nil, &pub, 200)
	if pub["calls_in_dms"] != false || pub["site_name"] != "Acme chat" {
		t.Fatalf("public settings %v", pub)
	}
	var audit struct{ Entries []store.AuditEntry }
	ts.mustDo("GET", "/api/v1/admin/audit", f.adminT, nil, &audit, 200)
	if len(audit.Entries) != 3 || audit.Entries[0].ActorID != f.admin.ID {
		t.Fatalf("audit %+v", audit.Entries)
	}
	var detail map[string]string
	for _, e := range audit.Entries {
		if e.Target == "ring_timeout" {
			json.Unmarshal(e.Detail, &detail)
		}
	}
	if detail["old"] != `"30s"` || detail["new"] != `"45s"` {
		t.Fatalf("audit detail %v", detail)
	}

	// Calls turned off for DMs: a DM call is refused with a clear message,
	// while channels still take calls.
	p := newCallPeer(t, ts, "alice", f.aliceT)
	if j := p.join(f.dm, true, false); j.Type != "error" || !strings.Contains(string(j.Data), "calls_disabled") {
		t.Fatalf("DM call with DM calls off: %s %s", j.Type, j.Data)
	}
	q := newCallPeer(t, ts, "alice2", f.aliceT)
	if j := q.join(f.public, true, false); j.Type != "call_joined" {
		t.Fatalf("channel call: %s %s", j.Type, j.Data)
	}
	// The settings survive a reload from the database.
	if err := ts.loadSettings(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ts.settingDuration("ring_timeout") != 45*time.Second {
		t.Fatal("stored setting lost")
	}
}
