package server

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
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

// Every setting takes a good value (and keeps it across a reload from the
// database) and refuses a bad one with a clear error, saving nothing.
func TestSettingsRoundTripAndValidation(t *testing.T) {
	f := newChatFixture(t)
	ts := f.ts
	ws, next := wsEvents(t, ts, f.bobT)
	defer ws.CloseNow()

	cases := []struct {
		key  string
		good any
		want any // as GET answers it; nil: same as good
		bad  []any
	}{
		{"site_name", "Acme chat", nil, []any{"", " padded", strings.Repeat("x", 65), 5}},
		{"calls_enabled", false, nil, []any{"no", 0}},
		{"calls_in_channels", false, nil, []any{"false"}},
		{"calls_in_private", false, nil, []any{nil}},
		{"calls_in_dms", false, nil, []any{1}},
		{"calls_in_groups", false, nil, []any{"x"}},
		{"calls_in_discussions", false, nil, []any{[]bool{true}}},
		{"ringing", false, nil, []any{"off"}},
		{"ring_timeout", "45s", nil, []any{"2h", "0s", "soon", 45}},
		{"video_allowed", false, nil, []any{"no"}},
		{"screen_share_allowed", false, nil, []any{"no"}},
		{"max_call_participants", 12, float64(12), []any{1, 10001, 2.5, "12"}},
		{"recording_allowed", false, nil, []any{"no"}},
		{"recording_max", "2h0m0s", nil, []any{"5s", "25h", "long"}},
		{"recording_reminder", "5m0s", nil, []any{"-1s", "3h"}}, // 3h: not shorter than recording_max
		{"recording_by", "admins", nil, []any{"everyone", ""}},
		{"default_mic_on", false, nil, []any{"no"}},
		{"default_camera_on", true, nil, []any{"yes"}},
		{"public_ips", []string{"203.0.113.7", "2001:db8::1"}, []any{"203.0.113.7", "2001:db8::1"}, []any{[]string{"not-an-ip"}, "203.0.113.7", []string{"0.0.0.0"}}},
		{"ice_servers", []map[string]any{{"urls": "turn:turn.example.com:3478", "username": "u", "credential": "p"}},
			[]any{map[string]any{"urls": []any{"turn:turn.example.com:3478"}, "username": "u", "credential": "p"}},
			[]any{[]map[string]any{{"urls": "http://example.com"}}, []map[string]any{{"urls": "turn:t.example.com"}}, "turn:x"}},
		{"signup", "open", nil, []any{"maybe", true}},
		{"default_team_id", f.team, nil, []any{"not-a-team", store.NewID(), 7}},
		{"max_upload_bytes", 2_000_000, float64(2_000_000), []any{10, -1, "big"}},
		{"message_retention_days", 30, float64(30), []any{-1, 36501, "30"}},
	}
	if len(cases) != len(settingDefs) {
		t.Fatalf("%d cases for %d settings: every setting needs a case", len(cases), len(settingDefs))
	}
	get := func() map[string]any {
		var out struct {
			Settings map[string]any
			Fixed    []string
		}
		ts.mustDo("GET", "/api/v1/admin/settings", f.adminT, nil, &out, 200)
		return out.Settings
	}
	auditCount := func() int {
		var out struct{ Total int }
		ts.mustDo("GET", "/api/v1/admin/audit", f.adminT, nil, &out, 200)
		return out.Total
	}
	for _, c := range cases {
		before, audits := get(), auditCount()
		for _, bad := range c.bad {
			var out map[string]any
			// A bad value beside a good one: the good one is not saved either.
			body := map[string]any{"site_name": "Should not be saved", "ringing": false}
			body[c.key] = bad
			if st := ts.do("PATCH", "/api/v1/admin/settings", f.adminT, body, &out); st != 400 || out["code"] != "invalid_setting" ||
				!strings.Contains(out["error"].(string), c.key) {
				t.Fatalf("%s = %v: %d %v, want 400 invalid_setting naming the key", c.key, bad, st, out)
			}
		}
		if after := get(); !reflect.DeepEqual(before, after) || auditCount() != audits {
			t.Fatalf("%s: refused changes were saved: %v → %v", c.key, before, after)
		}
		var out struct {
			Settings map[string]any
			Changed  int
		}
		ts.mustDo("PATCH", "/api/v1/admin/settings", f.adminT, map[string]any{c.key: c.good}, &out, 200)
		want := c.want
		if want == nil {
			want = c.good
		}
		if got := out.Settings[c.key]; out.Changed != 1 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: PATCH %v answered %v (changed %d), want %v", c.key, c.good, got, out.Changed, want)
		}
		if auditCount() != audits+1 {
			t.Fatalf("%s: no audit entry", c.key)
		}
		// Every change is announced to connected clients with the public subset.
		ev := next("settings_changed")
		var pub map[string]any
		json.Unmarshal(ev.Data, &pub)
		def, _ := settingDef(c.key)
		if _, has := pub[c.key]; has != def.Public || pub["ice_servers"] != nil {
			t.Fatalf("%s: settings_changed %s (public %v)", c.key, ev.Data, def.Public)
		}
	}
	// Everything survives a reload from the database.
	before := get()
	if err := ts.loadSettings(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := get(); !reflect.DeepEqual(before, after) {
		t.Fatalf("reload changed settings:\n%v\n%v", before, after)
	}
	// The new values are in force.
	if ts.settingString("recording_by") != "admins" || ts.settingInt("max_upload_bytes") != 2_000_000 ||
		len(ts.configuredICEServers()) != 1 || ts.settingStrings("public_ips")[1] != "2001:db8::1" {
		t.Fatal("settings not applied")
	}
	// The public subset hides what members must not see.
	var pub map[string]any
	ts.mustDo("GET", "/api/v1/settings", f.bobT, nil, &pub, 200)
	for _, k := range []string{"ice_servers", "public_ips", "default_team_id", "recording_max"} {
		if _, ok := pub[k]; ok {
			t.Errorf("public settings show %s", k)
		}
	}
	for _, k := range []string{"site_name", "calls_in_dms", "ringing", "ring_timeout", "video_allowed", "signup", "default_camera_on"} {
		if _, ok := pub[k]; !ok {
			t.Errorf("public settings lack %s", k)
		}
	}
	// The audit log shows who changed what, old → new.
	var audit struct{ Entries []store.AuditEntry }
	ts.mustDo("GET", "/api/v1/admin/audit?limit=500", f.adminT, nil, &audit, 200)
	found := false
	for _, e := range audit.Entries {
		if e.Target == "ring_timeout" && e.Action == "setting_changed" {
			found = true
			if e.ActorUsername != "admin" || string(e.Old) != `"30s"` || string(e.New) != `"45s"` {
				t.Fatalf("audit entry %+v old %s new %s", e, e.Old, e.New)
			}
		}
	}
	if !found {
		t.Fatal("no audit entry for ring_timeout")
	}
}

// A setting given on the command line is shown as fixed and cannot be
// changed at runtime.
func TestSettingFixedByFlag(t *testing.T) {
	ts := startServerTB(t, func(c *Config) {
		c.RingTimeout = 20 * time.Second
		c.MaxUpload = 5_000_000
		c.FixedSettings = map[string]bool{"ring_timeout": true, "max_upload_bytes": true}
	})
	ts.addUser("root", store.RoleAdmin)
	tok := ts.login("root")
	var out struct {
		Settings map[string]any
		Fixed    []string
		Schema   []settingView
	}
	ts.mustDo("GET", "/api/v1/admin/settings", tok, nil, &out, 200)
	if !slices.Equal(out.Fixed, []string{"ring_timeout", "max_upload_bytes"}) || out.Settings["ring_timeout"] != "20s" ||
		out.Settings["max_upload_bytes"] != float64(5_000_000) {
		t.Fatalf("fixed %v settings %v", out.Fixed, out.Settings)
	}
	for _, v := range out.Schema {
		if v.Fixed != slices.Contains(out.Fixed, v.Key) {
			t.Fatalf("schema says %s fixed=%v", v.Key, v.Fixed)
		}
	}
	var e map[string]any
	if st := ts.do("PATCH", "/api/v1/admin/settings", tok, map[string]any{"ring_timeout": "40s", "ringing": false}, &e); st != 409 ||
		e["code"] != "setting_fixed" || !strings.Contains(e["error"].(string), "command line") {
		t.Fatalf("PATCH a fixed setting: %d %v", st, e)
	}
	if ts.settingDuration("ring_timeout") != 20*time.Second || !ts.settingBool("ringing") {
		t.Fatal("a refused PATCH changed something")
	}
	// A value stored before the flag was given does not override it.
	if err := ts.store.SaveSettings(context.Background(), "", []store.SettingChange{{Key: "ring_timeout", Old: `"20s"`, New: `"50s"`}}); err != nil {
		t.Fatal(err)
	}
	if err := ts.loadSettings(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ts.settingDuration("ring_timeout") != 20*time.Second {
		t.Fatal("a stored value beat the flag")
	}
}

// Calls turned off for DMs: /call start in a DM is refused with a clear
// message, while a channel still takes calls.
func TestCallStartRefusedWhereCallsAreOff(t *testing.T) {
	f := newChatFixture(t)
	ts := f.ts
	ts.mustDo("PATCH", "/api/v1/admin/settings", f.adminT, map[string]any{"calls_in_dms": false}, nil, 200)
	var out map[string]any
	st := ts.do("POST", "/api/v1/channels/"+f.dm+"/commands", f.aliceT, map[string]string{"command": "/call start"}, &out)
	if st != 403 || out["code"] != "calls_disabled" || !strings.Contains(out["error"].(string), "direct messages") {
		t.Fatalf("/call start in a DM: %d %v", st, out)
	}
	var res commandResult
	ts.mustDo("POST", "/api/v1/channels/"+f.public+"/commands", f.aliceT, map[string]string{"command": "/call start"}, &res, 200)
	if res.Action != "call_join" {
		t.Fatalf("/call start in a channel: %+v", res)
	}
	// Turned off everywhere, channels refuse too.
	ts.mustDo("PATCH", "/api/v1/admin/settings", f.adminT, map[string]any{"calls_enabled": false}, nil, 200)
	if st := ts.do("POST", "/api/v1/channels/"+f.public+"/commands", f.aliceT, map[string]string{"command": "/call start"}, &out); st != 403 {
		t.Fatalf("/call start with calls off: %d %v", st, out)
	}
}
