package sfu

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
)

// TestCandidatesFollowTheirDescription: a client cannot add a candidate
// before it has the SDP the candidate belongs to, so the server must never
// signal one of its candidates ahead of the answer that starts gathering
// them. pion gathers in its own goroutine from SetLocalDescription on, so
// without the hold the first candidate often won the race (a browser then
// dropped it, and a client with UDP blocked lost its only ICE-TCP path).
func TestCandidatesFollowTheirDescription(t *testing.T) {
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{UDP: udp, TCP: tcp, Loopback: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); udp.Close(); tcp.Close() })

	room := s.Room("order")
	for i := range 40 {
		var mu sync.Mutex
		var got []string
		id := fmt.Sprintf("p%d", i)
		p, err := room.AddPeer(id, Callbacks{Signal: func(sig Signal) {
			mu.Lock()
			got = append(got, sig.Type)
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		client, err := webrtc.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
		offer, err := client.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := client.SetLocalDescription(offer); err != nil {
			t.Fatal(err)
		}
		if err := p.HandleSignal(Signal{Type: "offer", SDP: offer.SDP}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n >= 3 || time.Now().After(deadline) { // the answer and at least the UDP and TCP host candidates
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		mu.Lock()
		if len(got) < 3 || got[0] != "answer" {
			t.Errorf("peer %d: signals in order %v, want the answer first and then its candidates", i, got)
		}
		mu.Unlock()
		client.Close()
		room.RemovePeer(id)
	}
}
