package sfu

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"
)

// rtpPacket is a minimal RTP packet whose sequence number says which
// writer sent it and in what order.
func rtpPacket(writer, seq int) []byte {
	p := make([]byte, 12+40)
	p[0], p[1] = 0x80, 111
	binary.BigEndian.PutUint16(p[2:], uint16(seq))
	p[12] = byte(writer)
	return p
}

func loopbackPair(t *testing.T) (*batchConn, *net.UDPConn) {
	t.Helper()
	send, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	recv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = recv.SetReadBuffer(4 << 20)
	t.Cleanup(func() { send.Close(); recv.Close() })
	return newBatchConn(send), recv
}

func TestBatchConnHoldsRTPUntilTheFanoutEnds(t *testing.T) {
	bc, recv := loopbackPair(t)
	to := recv.LocalAddr()
	buf := make([]byte, 1500)

	// Outside a fan-out, RTP leaves at once.
	bc.WriteTo(rtpPacket(0, 1), to)
	recv.SetReadDeadline(time.Now().Add(time.Second))
	if _, _, err := recv.ReadFrom(buf); err != nil {
		t.Fatalf("RTP outside a fan-out: %v", err)
	}

	// During one, it waits for the end; other packets (here a STUN-like
	// one) do not.
	bc.beginFanout()
	for i := range 10 {
		bc.WriteTo(rtpPacket(0, 100+i), to)
	}
	stun := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	bc.WriteTo(stun, to)
	recv.SetReadDeadline(time.Now().Add(time.Second))
	n, _, err := recv.ReadFrom(buf)
	if err != nil || n != len(stun) || buf[0] != 0x00 {
		t.Fatalf("during a fan-out the first packet out should be the STUN one: %d bytes, %v", n, err)
	}
	recv.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, _, err := recv.ReadFrom(buf); err == nil {
		t.Fatal("RTP left before the fan-out ended")
	}
	bc.endFanout()
	for i := range 10 {
		recv.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := recv.ReadFrom(buf)
		if err != nil {
			t.Fatalf("packet %d of the batch: %v", i, err)
		}
		if seq := int(binary.BigEndian.Uint16(buf[2:])); n != 52 || seq != 100+i {
			t.Fatalf("packet %d: seq %d (%d bytes), want %d", i, seq, n, 100+i)
		}
	}
}

// Many forward loops at once: every packet arrives, and each writer's
// packets arrive in the order written. Writers take a token per packet
// that the reader gives back, so the socket buffer never overflows (a
// loss would look like a reordering).
func TestBatchConnConcurrentFanoutsKeepOrder(t *testing.T) {
	bc, recv := loopbackPair(t)
	to := recv.LocalAddr()
	const writers, fanouts, perFanout = 4, 40, 30
	got := make(chan [2]int, writers*fanouts*perFanout)
	tokens := make(chan struct{}, 128)
	go func() {
		buf := make([]byte, 1500)
		for {
			recv.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, _, err := recv.ReadFrom(buf); err != nil {
				close(got)
				return
			}
			got <- [2]int{int(buf[12]), int(binary.BigEndian.Uint16(buf[2:]))}
			<-tokens
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq := 0
			for range fanouts {
				for range perFanout {
					tokens <- struct{}{}
				}
				bc.beginFanout()
				for range perFanout {
					bc.WriteTo(rtpPacket(w, seq), to)
					seq++
				}
				bc.endFanout()
			}
		}()
	}
	wg.Wait()
	next := make([]int, writers)
	total := 0
	for p := range got {
		if p[1] != next[p[0]] {
			t.Fatalf("writer %d: got seq %d, want %d", p[0], p[1], next[p[0]])
		}
		next[p[0]]++
		if total++; total == writers*fanouts*perFanout {
			break
		}
	}
	if total != writers*fanouts*perFanout {
		t.Fatalf("%d packets arrived, want %d", total, writers*fanouts*perFanout)
	}
}

// ReadFrom gives what a peer sent and where from, like the socket's own,
// on an IPv4 socket and on a dual-stack one (IPv4 peers as mapped
// addresses, as net.UDPConn gives them), and returns when a read
// deadline passes.
func TestBatchConnReadFrom(t *testing.T) {
	for _, tc := range []struct{ listen, peer string }{{"127.0.0.1:0", "127.0.0.1"}, {"[::]:0", "127.0.0.1"}, {"[::]:0", "::1"}} {
		uc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(tc.listen)))
		if err != nil {
			t.Skipf("%s: %v", tc.listen, err)
		}
		defer uc.Close()
		bc := newBatchConn(uc)
		port := uc.LocalAddr().(*net.UDPAddr).Port
		peer, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.ParseIP(tc.peer), Port: port})
		if err != nil {
			t.Skipf("%s: %v", tc.peer, err)
		}
		defer peer.Close()
		for _, msg := range []string{"first", "second, a little longer"} {
			if _, err := peer.Write([]byte(msg)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			bc.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := bc.ReadFrom(buf)
			if err != nil || string(buf[:n]) != msg {
				t.Fatalf("%s from %s: read %q, %v; want %q", tc.listen, tc.peer, buf[:n], err, msg)
			}
			want := peer.LocalAddr().(*net.UDPAddr)
			got, ok := from.(*net.UDPAddr)
			if !ok || !got.IP.Equal(want.IP) || got.Port != want.Port {
				t.Fatalf("%s from %s: source %v, want %v", tc.listen, tc.peer, from, want)
			}
		}
		bc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, _, err := bc.ReadFrom(make([]byte, 1500)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("%s: read past the deadline: %v, want a timeout", tc.listen, err)
		}
	}
}
