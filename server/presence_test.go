package server

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Presence follows websocket activity: someone sharing a room with bob sees
// him come online when he connects, away when his client says it is idle,
// and offline when it disconnects, each within a batch (presenceBatch).
func TestPresenceOnlineAwayOffline(t *testing.T) {
	f := newChatFixture(t) // alice and bob share #general and a DM
	_, alice := wsEvents(t, f.ts, f.aliceT)

	// waitFor reads alice's events until bob's presence is status.
	waitFor := func(status string) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			ev := alice("presence")
			var p presenceEvent
			if err := json.Unmarshal(ev.Data, &p); err != nil {
				t.Fatalf("presence %s: %v", ev.Data, err)
			}
			if p.UserID != f.bob.ID {
				continue // alice's own status, announced to her own clients
			}
			if p.Status != status {
				t.Fatalf("bob's presence is %q, want %q", p.Status, status)
			}
			if took := time.Since(start); took > presenceBatch+3*time.Second {
				t.Fatalf("bob %s after %v", status, took)
			}
			return time.Since(start)
		}
	}

	bob, err := f.ts.dialWS(f.bobT, "")
	if err != nil {
		t.Fatal(err)
	}
	readFrame(t, bob) // hello
	t.Logf("online after %v", waitFor("online"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := bob.Write(ctx, websocket.MessageText, []byte(`{"type":"presence","data":{"status":"away"}}`)); err != nil {
		t.Fatal(err)
	}
	t.Logf("away after %v", waitFor("away"))

	if err := bob.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Logf("close: %v", err) // the server may have closed first; offline is what counts
	}
	t.Logf("offline after %v", waitFor("offline"))

	var u struct{ Status string }
	f.ts.mustDo("GET", "/api/v1/users/"+f.bob.ID, f.aliceT, nil, &u, 200)
	if u.Status != "offline" {
		t.Fatalf("GET /users/bob says %q after he left, want offline", u.Status)
	}
}
