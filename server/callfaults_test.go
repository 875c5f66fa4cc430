package server

import (
	"context"
	"encoding/json"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"calls/store"
)

// netSwitch is a call peer's network: one UDP socket under its ICE, which
// a test can cut (packets both ways vanish, as when Wi-Fi drops), close
// for good, or move to a new port (a new network: the old address is dead).
type netSwitch struct {
	mu     sync.Mutex
	conn   *net.UDPConn
	closed bool
	cut    atomic.Bool
	// dropPT, while above zero, loses that many incoming RTP packets of
	// payload type losePT (the header's first bytes are not encrypted in
	// SRTP), as a link that loses a few packets of one stream would.
	dropPT atomic.Int32
	losePT uint8
	lost   atomic.Int32 // how many it lost
}

func newNetSwitch(t *testing.T) *netSwitch {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	n := &netSwitch{conn: c}
	t.Cleanup(func() { n.Close() })
	return n
}

func (n *netSwitch) current() (*net.UDPConn, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conn, n.closed
}

// ReadFrom reads from whichever socket is current, dropping what arrives
// while the network is cut.
func (n *netSwitch) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		c, _ := n.current()
		k, addr, err := c.ReadFrom(b)
		if err != nil {
			if now, closed := n.current(); now != c && !closed {
				continue // moved to a new socket
			}
			return k, addr, err
		}
		if n.cut.Load() {
			continue
		}
		if k >= 12 && b[0]>>6 == 2 && b[1]&0x7f == n.losePT && n.dropPT.Load() > 0 && n.dropPT.Add(-1) >= 0 {
			n.lost.Add(1)
			continue
		}
		return k, addr, nil
	}
}

// WriteTo sends, or silently loses the packet while the network is cut.
func (n *netSwitch) WriteTo(b []byte, addr net.Addr) (int, error) {
	if n.cut.Load() {
		return len(b), nil
	}
	c, _ := n.current()
	return c.WriteTo(b, addr)
}

func (n *netSwitch) LocalAddr() net.Addr {
	c, _ := n.current()
	return c.LocalAddr()
}

func (n *netSwitch) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	return n.conn.Close()
}

func (n *netSwitch) SetDeadline(t time.Time) error { c, _ := n.current(); return c.SetDeadline(t) }
func (n *netSwitch) SetReadDeadline(t time.Time) error {
	c, _ := n.current()
	return c.SetReadDeadline(t)
}
func (n *netSwitch) SetWriteDeadline(t time.Time) error {
	c, _ := n.current()
	return c.SetWriteDeadline(t)
}

// move puts the peer on a new port and closes the old one.
func (n *netSwitch) move(t *testing.T) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	old := n.conn
	n.conn = c
	n.mu.Unlock()
	old.Close()
}

// waitParticipant waits until p hears of the participant in a frame of the
// type (with the state, if given), and returns the frame's data.
func waitParticipant(t *testing.T, p *callPeer, typ, pid, state string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case f, ok := <-p.events:
			if !ok {
				t.Fatalf("%s: websocket closed waiting for %s of %s", p.name, typ, pid)
			}
			if f.Type != typ {
				continue
			}
			var d map[string]any
			json.Unmarshal(f.Data, &d)
			if d["participant_id"] == pid && (state == "" || d["state"] == state) {
				return d
			}
		case <-deadline:
			t.Fatalf("%s: no %s %s of %s within %v", p.name, typ, state, pid, within)
		}
	}
}

// callOfThree: ann and ben on the loopback network, cat on a network the
// test controls; everyone publishes audio and hears the others.
func callOfThree(t *testing.T, f *callFixture) (ann, ben, cat *callPeer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ann, ben, cat = f.peer(t, "ann"), f.peer(t, "ben"), f.peer(t, "cat")
	cat.udp = newNetSwitch(t)
	for _, p := range []*callPeer{ann, ben, cat} {
		if j := p.join(f.channel, true, false); j.Type != "call_joined" {
			t.Fatalf("%s join: %s %s", p.name, j.Type, j.Data)
		}
		p.publish(ctx)
	}
	for _, pair := range [][2]*callPeer{{ben, ann}, {ben, cat}, {cat, ann}, {ann, cat}} {
		to, from := pair[0], pair[1]
		waitFor(t, from.name+"'s audio at "+to.name, 15*time.Second, func() bool {
			n, _ := to.packetsFrom(from.pid, "mic")
			return n > 25
		})
	}
	return ann, ben, cat
}

// more waits until p has received n more packets from a participant than
// it had when called.
func more(t *testing.T, p, from *callPeer, n int, within time.Duration, what string) {
	t.Helper()
	start, _ := p.packetsFrom(from.pid, "mic")
	waitFor(t, what, within, func() bool {
		now, _ := p.packetsFrom(from.pid, "mic")
		return now >= start+n
	})
}

// A participant whose network goes away without leaving (its UDP socket
// closed, its websocket still up) is shown to the others as reconnecting,
// then removed once the grace period is over; the others' call goes on.
func TestCallParticipantNetworkDrops(t *testing.T) {
	const grace = 2 * time.Second
	f := newCallFixture(t, func(c *Config) { c.ReconnectGrace = grace })
	ann, ben, cat := callOfThree(t, f)
	callID := f.ts.runningCall(f.channel).id

	dropped := time.Now()
	cat.udp.Close()
	waitParticipant(t, ben, evCallParticipantState, cat.pid, "reconnecting", 20*time.Second)
	seen := time.Now()
	t.Logf("cat shown as reconnecting %v after the drop", seen.Sub(dropped).Round(10*time.Millisecond))
	more(t, ben, ann, 25, 5*time.Second, "ann's audio at ben while cat is reconnecting")

	left := waitParticipant(t, ben, evCallParticipantLeft, cat.pid, "", grace+15*time.Second)
	gone := time.Now()
	t.Logf("cat removed %v after being shown reconnecting (grace %v)", gone.Sub(seen).Round(10*time.Millisecond), grace)
	if left["reason"] != "connection lost" {
		t.Errorf("cat left for %v, want connection lost", left["reason"])
	}
	if gone.Sub(seen) < grace-200*time.Millisecond {
		t.Errorf("cat removed %v after reconnecting, before the %v grace", gone.Sub(seen), grace)
	}

	// The call goes on for the others, with media.
	cl := f.ts.runningCall(f.channel)
	if cl == nil || cl.id != callID {
		t.Fatal("the call ended with cat's network")
	}
	if v := cl.view(); len(v.Participants) != 2 {
		t.Fatalf("participants after cat's removal: %+v", v.Participants)
	}
	more(t, ben, ann, 25, 5*time.Second, "ann's audio at ben after cat's removal")
	more(t, ann, ben, 25, 5*time.Second, "ben's audio at ann after cat's removal")

	// The log keeps cat as an attendee.
	ann.send("call_leave", nil)
	ben.send("call_leave", nil)
	waitFor(t, "the call to end", 10*time.Second, func() bool { return f.ts.runningCall(f.channel) == nil })
	rec, err := f.ts.store.CallByID(context.Background(), callID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Attendees) != 3 {
		t.Errorf("attendees %v, want ann, ben and cat", rec.Attendees)
	}
}

// A participant whose network drops and comes back on another address
// restarts ICE: it is the same participant of the same call (no new call,
// no leave and join), media flows again both ways, and meanwhile the
// others never stopped hearing each other.
func TestCallICERestartAfterNetworkChange(t *testing.T) {
	f := newCallFixture(t, func(c *Config) { c.ReconnectGrace = 30 * time.Second })
	ann, ben, cat := callOfThree(t, f)
	callID := f.ts.runningCall(f.channel).id

	// The network drops: both directions lose everything.
	cat.udp.cut.Store(true)
	dropped := time.Now()
	waitParticipant(t, ben, evCallParticipantState, cat.pid, "reconnecting", 20*time.Second)
	t.Logf("cat shown as reconnecting %v after the drop", time.Since(dropped).Round(10*time.Millisecond))
	more(t, ben, ann, 25, 5*time.Second, "ann's audio at ben while cat is away")
	more(t, ann, ben, 25, 5*time.Second, "ben's audio at ann while cat is away")

	// It comes back on a new port (the old one is gone), and restarts ICE.
	cat.udp.move(t)
	cat.udp.cut.Store(false)
	restarted := time.Now()
	cat.restartICE()
	waitParticipant(t, ben, evCallParticipantState, cat.pid, "connected", 20*time.Second)
	t.Logf("cat connected again %v after the ICE restart", time.Since(restarted).Round(10*time.Millisecond))
	more(t, ben, cat, 25, 10*time.Second, "cat's audio at ben after the restart")
	more(t, cat, ann, 25, 10*time.Second, "ann's audio at cat after the restart")

	// Same call, same participant, nobody left.
	cl := f.ts.runningCall(f.channel)
	if cl == nil || cl.id != callID {
		t.Fatal("the ICE restart made a new call")
	}
	v := cl.view()
	ids := map[string]bool{}
	for _, p := range v.Participants {
		ids[p.ID] = true
	}
	if len(v.Participants) != 3 || !ids[cat.pid] || !ids[ann.pid] || !ids[ben.pid] {
		t.Errorf("participants after the restart: %+v", v.Participants)
	}
	for {
		select {
		case f := <-ben.events:
			if f.Type == evCallParticipantLeft || f.Type == evCallParticipantJoined {
				t.Errorf("ben was told %s %s during the restart", f.Type, f.Data)
			}
			continue
		default:
		}
		break
	}

	// When everyone has left, the room's log holds that one call, with the
	// three of them.
	for _, p := range []*callPeer{ann, ben, cat} {
		p.send("call_leave", nil)
	}
	var calls []*store.Call
	var err error
	waitFor(t, "the call to end in the log", 10*time.Second, func() bool {
		calls, _, err = f.ts.store.ListCalls(context.Background(), f.channel, "", 10)
		return err != nil || len(calls) > 0
	})
	if err != nil || len(calls) != 1 || calls[0].ID != callID || len(calls[0].Attendees) != 3 {
		t.Errorf("the room's call log: %+v %v, want the one call with 3 attendees", calls, err)
	}
}
