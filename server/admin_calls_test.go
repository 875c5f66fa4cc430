package server

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"calls/store"
)

// An admin stops a call's recording (the file is posted as usual) and
// ends the call for everyone; both are audited.
func TestAdminStopsRecordingAndEndsCall(t *testing.T) {
	f := newCallFixture(t)
	ts, admin := f.ts, f.tokens["cat"]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann := f.peer(t, "ann")
	ann.join(f.channel, true, false)
	ann.publish(ctx)
	ben := f.peer(t, "ben")
	ben.join(f.channel, true, false)
	waitFor(t, "ben hears ann", 30*time.Second, ben.heard(ann.pid, "mic", 11))

	path := "/api/v1/admin/calls/" + f.channel
	ts.mustDo("POST", path+"/recording/stop", admin, nil, nil, 409) // nothing to stop yet
	ann.send("call_record", map[string]bool{"on": true})
	ben.event("call_recording")
	var calls struct{ Calls []adminCall }
	ts.mustDo("GET", "/api/v1/admin/calls", admin, nil, &calls, 200)
	if len(calls.Calls) != 1 || calls.Calls[0].Recording == nil || calls.Calls[0].Recording.StartedBy != f.users["ann"].ID {
		t.Fatalf("recording state: %+v", calls.Calls)
	}
	time.Sleep(time.Second) // something to record

	ts.mustDo("POST", path+"/recording/stop", admin, nil, nil, 204)
	if ev := ben.event("call_recording"); !strings.Contains(string(ev.Data), `"on":false`) || !strings.Contains(string(ev.Data), "cat") {
		t.Fatalf("recording stopped: %s", ev.Data)
	}
	ts.mustDo("POST", path+"/recording/stop", admin, nil, nil, 409)
	postID := calls.Calls[0].PostID
	var thread struct{ Posts []*postView }
	waitFor(t, "recording posted", 30*time.Second, func() bool {
		ts.mustDo("GET", "/api/v1/posts/"+postID+"/thread", f.tokens["ben"], nil, &thread, 200)
		return len(thread.Posts) > 0
	})
	if thread.Posts[0].Type != "call_recording" || len(thread.Posts[0].FileIDs) != 1 {
		t.Fatalf("recording post %+v", thread.Posts[0])
	}

	ts.mustDo("POST", path+"/end", admin, nil, nil, 204)
	ann.event("call_ended_for_you")
	ben.event("call_ended_for_you")
	ts.mustDo("GET", "/api/v1/admin/calls", admin, nil, &calls, 200)
	if len(calls.Calls) != 0 {
		t.Fatalf("call still running: %+v", calls.Calls)
	}
	ts.mustDo("POST", path+"/end", admin, nil, nil, 404)

	var audit struct{ Entries []store.AuditEntry }
	ts.mustDo("GET", "/api/v1/admin/audit", admin, nil, &audit, 200)
	if len(audit.Entries) != 2 || audit.Entries[0].Action != "call.end" || audit.Entries[1].Action != "recording.stop" ||
		audit.Entries[0].Target != f.channel || audit.Entries[0].ActorUsername != "cat" {
		t.Fatalf("audit %+v", audit.Entries)
	}
}

// The admin's view of a running call gives each participant's packet loss:
// none for a clean sender, about a tenth for one whose link drops every
// tenth packet, and the percentage agrees with the counts.
func TestAdminCallsShowPacketLoss(t *testing.T) {
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann, ben := f.peer(t, "ann"), f.peer(t, "ben")
	ben.dropEvery = 10
	ann.join(f.channel, true, false)
	ann.publish(ctx)
	ben.join(f.channel, true, false)
	ben.publish(ctx)
	waitFor(t, "ann hears ben", 30*time.Second, ann.heard(ben.pid, "mic", 11))

	// Read the JSON as a client does, so a renamed or missing field fails.
	type track struct {
		Kind    string   `json:"kind"`
		Packets uint64   `json:"packets"`
		Lost    *uint64  `json:"lost"`
		LossPct *float64 `json:"loss_pct"`
	}
	var calls struct {
		Calls []struct {
			Participants []struct {
				UserID string  `json:"user_id"`
				Tracks []track `json:"tracks"`
			} `json:"participants"`
		} `json:"calls"`
	}
	byUser := map[string]track{}
	waitFor(t, "150 packets from each", 30*time.Second, func() bool {
		f.ts.mustDo("GET", "/api/v1/admin/calls", f.tokens["cat"], nil, &calls, 200)
		if len(calls.Calls) != 1 || len(calls.Calls[0].Participants) != 2 {
			return false
		}
		for _, p := range calls.Calls[0].Participants {
			if len(p.Tracks) != 1 || p.Tracks[0].Packets < 150 {
				return false
			}
			byUser[p.UserID] = p.Tracks[0]
		}
		return true
	})
	for name, want := range map[string]struct{ min, max float64 }{"ann": {0, 2}, "ben": {8, 12}} {
		tr := byUser[f.users[name].ID]
		if tr.Lost == nil || tr.LossPct == nil {
			t.Fatalf("%s's track has no lost / loss_pct: %+v", name, tr)
		}
		lost, pct := *tr.Lost, *tr.LossPct
		if pct < want.min || pct > want.max {
			t.Errorf("%s: loss %.2f%% (%d lost, %d arrived), want %.0f-%.0f%%", name, pct, lost, tr.Packets, want.min, want.max)
		}
		if calc := float64(lost) * 100 / float64(lost+tr.Packets); pct < calc-0.01 || pct > calc+0.01 {
			t.Errorf("%s: loss_pct %.3f does not match %d lost of %d", name, pct, lost, lost+tr.Packets)
		}
		t.Logf("%s: %d packets arrived, %d lost (%.2f%%)", name, tr.Packets, lost, pct)
	}
}

// rawCall joins a room's call over a websocket (no media) and leaves it.
func rawCall(t *testing.T, ts *testServer, tok, channelID string, then func()) {
	t.Helper()
	ws, err := ts.dialWS(tok, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	send := func(typ string, data any) {
		b, _ := json.Marshal(map[string]any{"type": typ, "data": data})
		if err := ws.Write(context.Background(), websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	send("call_join", map[string]string{"channel_id": channelID})
	if f := readFrameOf(t, ws, "call_joined", "error"); f.Type != "call_joined" {
		t.Fatalf("join %s: %s", channelID, f.Data)
	}
	if then != nil {
		then()
	}
	send("call_leave", nil)
}

// The history of every room's calls, searchable by room, user and date.
func TestAdminCallHistory(t *testing.T) {
	f := newChatFixture(t)
	ts := f.ts
	var history struct {
		Calls []store.PastCall
		Total int
	}
	search := func(q string) string {
		t.Helper()
		ts.mustDo("GET", "/api/v1/admin/calls/history"+q, f.adminT, nil, &history, 200)
		var out []string
		for _, c := range history.Calls {
			var who []string
			for _, a := range c.Attendees {
				who = append(who, a.Username)
			}
			out = append(out, c.ChannelName+":"+c.HostUsername+":"+strings.Join(who, "+"))
		}
		return strings.Join(out, " ")
	}
	// general: alice hosts, bob joins; the DM: bob alone; secret: alice.
	rawCall(t, ts, f.aliceT, f.public, func() {
		rawCall(t, ts, f.bobT, f.public, nil)
		// bob is out before alice leaves, so alice stays the host.
		waitFor(t, "bob out of the call", 10*time.Second, func() bool {
			var c callView
			return ts.do("GET", "/api/v1/channels/"+f.public+"/call", f.aliceT, nil, &c) == 200 && len(c.Participants) == 1
		})
	})
	waitFor(t, "first call ended", 30*time.Second, func() bool { return search("") == "general:alice:alice+bob" })
	time.Sleep(5 * time.Millisecond)
	rawCall(t, ts, f.bobT, f.dm, nil)
	time.Sleep(5 * time.Millisecond)
	rawCall(t, ts, f.aliceT, f.private, nil)
	waitFor(t, "three calls", 30*time.Second, func() bool { search(""); return history.Total == 3 })

	now := time.Now().UTC()
	firstDay, lastDay := history.Calls[2].StartedAt.Format("2006-01-02"), history.Calls[0].StartedAt.Format("2006-01-02")
	for _, c := range []struct{ q, want string }{
		{"", "secret:alice:alice alice, bob:bob:bob general:alice:alice+bob"},
		{"?room=gener", "general:alice:alice+bob"},
		{"?room=" + f.dm, "alice, bob:bob:bob"},
		{"?room=nothing", ""},
		{"?user=bob", "alice, bob:bob:bob general:alice:alice+bob"},
		{"?user=" + f.alice.ID, "secret:alice:alice general:alice:alice+bob"},
		{"?user=ALI&room=sec", "secret:alice:alice"},
		{"?from=" + url.QueryEscape(now.Add(time.Hour).Format(time.RFC3339)), ""},
		{"?to=" + url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339)), ""},
		{"?from=" + url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339)) + "&to=" + url.QueryEscape(now.Add(time.Hour).Format(time.RFC3339)),
			"secret:alice:alice alice, bob:bob:bob general:alice:alice+bob"},
		{"?to=" + history.Calls[2].StartedAt.AddDate(0, 0, -1).Format("2006-01-02"), ""},
		{"?from=" + firstDay + "&to=" + lastDay, "secret:alice:alice alice, bob:bob:bob general:alice:alice+bob"},
		{"?limit=1&offset=1", "alice, bob:bob:bob"},
	} {
		if got := search(c.q); got != c.want {
			t.Errorf("history %s: %q, want %q", c.q, got, c.want)
		}
	}
	search("?limit=1")
	if history.Total != 3 || history.Calls[0].DurationSeconds < 0 || history.Calls[0].EndedAt.Before(history.Calls[0].StartedAt) {
		t.Fatalf("page %+v", history)
	}
	for _, q := range []string{"?from=yesterday", "?to=2026-13-01", "?limit=501"} {
		if st := ts.do("GET", "/api/v1/admin/calls/history"+q, f.adminT, nil, nil); st != 400 {
			t.Errorf("history %s: %d, want 400", q, st)
		}
	}
}
