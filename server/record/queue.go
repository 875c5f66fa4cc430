package record

import (
	"time"

	"github.com/pion/rtp"

	"calls/server/sfu"
)

// maxPayload is the largest RTP payload kept; the SFU reads packets into
// 1500-byte buffers, so nothing larger reaches the tap.
const maxPayload = 1500

// packet is an RTP packet copied off an SFU forwarding goroutine.
type packet struct {
	track  sfu.TrackInfo
	at     time.Duration // arrival on the recording's timeline
	seq    uint16
	ts     uint32
	marker bool
	n      int
	data   [maxPayload]byte

	// VP8, filled in on the recorder's goroutine.
	start bool // the packet starts a frame
	off   int  // where the VP8 frame data starts, after the payload descriptor
}

func (p *packet) payload() []byte { return p.data[:p.n] }

// queue hands packets from the SFU's goroutines to the recorder's without
// allocating or blocking: a fixed set of packets cycles between free and
// full, and when none is free the packet is dropped.
type queue struct {
	free chan *packet
	full chan *packet
}

func newQueue(n int) *queue {
	q := &queue{free: make(chan *packet, n), full: make(chan *packet, n)}
	for range n {
		q.free <- new(packet)
	}
	return q
}

// push copies pkt into a free packet and queues it; false if none was free.
func (q *queue) push(track sfu.TrackInfo, at time.Duration, pkt *rtp.Packet) bool {
	if len(pkt.Payload) > maxPayload {
		return false
	}
	var p *packet
	select {
	case p = <-q.free:
	default:
		return false
	}
	p.track = track
	p.at = at
	p.seq, p.ts, p.marker = pkt.SequenceNumber, pkt.Timestamp, pkt.Marker
	p.n = copy(p.data[:], pkt.Payload)
	p.start, p.off = false, 0
	q.full <- p // never blocks: there are only as many packets as places
	return true
}

// release returns a packet taken from full.
func (q *queue) release(p *packet) {
	q.free <- p
}
