package record

import (
	"strings"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v3"

	"calls/server/sfu"
)

const (
	videoRate = 90000 // the RTP clock of every video codec
	// asmSlots is how many packets a video track holds while frames are
	// put together: a large keyframe and a retransmission's worth.
	asmSlots = 256
	// assembleWait is how long a missing packet may hold up the frames
	// behind it (a retransmission usually comes within a round trip).
	assembleWait = 200 * time.Millisecond
)

// videoTrack is one published video track. Every track is watched (its
// liveness, its clock) from the packets that end its frames, which the tap
// always passes on; only the track being recorded, and the one being
// switched to, have all their packets put together into frames.
type videoTrack struct {
	info      sfu.TrackInfo
	vp8       bool
	reported  bool // its codec was reported as unsupported
	clock     rtpClock
	firstSeen time.Duration
	lastSeen  time.Duration
	lastKey   time.Duration // when a keyframe of it was last recorded
	keyAsked  time.Duration // when a keyframe of it was last requested
	asm       assembler
}

func newVideoTrack(info sfu.TrackInfo, now time.Duration) *videoTrack {
	return &videoTrack{
		info:      info,
		vp8:       strings.EqualFold(info.Codec.MimeType, webrtc.MimeTypeVP8),
		clock:     rtpClock{rate: videoRate},
		firstSeen: now,
	}
}

func (v *videoTrack) alive(now time.Duration) bool {
	return now-v.lastSeen < videoAlive
}

// ms returns where the frame with RTP timestamp ts belongs on the
// recording's timeline, in milliseconds.
func (v *videoTrack) ms(ts uint32) int64 {
	c := &v.clock
	return (c.ext + int64(int32(ts-c.lastTS)) + c.off) * 1000 / videoRate
}

// frame is one VP8 frame on its way into the file.
type frame struct {
	ms            int64
	ts            uint32
	key           bool
	width, height int
	data          []byte
	pool          *framePool
}

func (f *frame) free() { f.pool.put(f) }

// framePool keeps frame buffers for reuse; it is used on the recorder's
// goroutine only.
type framePool struct{ free []*frame }

func (p *framePool) get() *frame {
	if n := len(p.free); n > 0 {
		f := p.free[n-1]
		p.free = p.free[:n-1]
		return f
	}
	return &frame{pool: p}
}

func (p *framePool) put(f *frame) {
	f.data = f.data[:0]
	p.free = append(p.free, f)
}

// frameQueue holds the frames waiting for the audio to reach their time,
// so that blocks go into the file in timestamp order.
type frameQueue struct {
	ring       [128]*frame
	head, size int
}

func (q *frameQueue) push(f *frame) bool {
	if q.size == len(q.ring) {
		return false
	}
	q.ring[(q.head+q.size)%len(q.ring)] = f
	q.size++
	return true
}

func (q *frameQueue) peek() *frame {
	if q.size == 0 {
		return nil
	}
	return q.ring[q.head]
}

func (q *frameQueue) pop() *frame {
	f := q.ring[q.head]
	q.ring[q.head] = nil
	q.head = (q.head + 1) % len(q.ring)
	q.size--
	return f
}

// assembler puts VP8 frames together from RTP packets (RFC 7741): a frame
// starts at the packet with the S bit and partition 0, and ends at the
// marker bit, or where the timestamp changes if the marker was lost.
// Packets are held by sequence number so that reordered and retransmitted
// ones fall into place; a packet missing for longer than assembleWait
// costs the frame, and then everything up to the next keyframe.
type assembler struct {
	ring    [asmSlots]*packet
	count   int
	head    uint16 // the first packet of the next frame
	synced  bool   // head is known
	stalled bool
	stallAt time.Duration
	needKey bool
	desc    codecs.VP8Packet
}

// reset lets go of every packet held.
func (a *assembler) reset(q *queue) {
	for i, p := range a.ring {
		if p != nil {
			q.release(p)
			a.ring[i] = nil
		}
	}
	a.count, a.synced, a.stalled, a.needKey = 0, false, false, true
}

// push takes a packet of the track (or gives it back to q).
func (a *assembler) push(p *packet, q *queue) {
	vp8, err := a.desc.Unmarshal(p.payload())
	if err != nil || len(vp8) == 0 {
		q.release(p)
		return
	}
	p.start = a.desc.S == 1 && a.desc.PID == 0
	p.off = p.n - len(vp8)
	if !a.synced {
		if !p.start {
			// Keep it: the start of its frame may come after it.
			a.store(p, q)
			return
		}
		a.head, a.synced = p.seq, true
		for i, o := range a.ring {
			if o != nil && int16(o.seq-a.head) < 0 {
				q.release(o) // the end of a frame begun before
				a.ring[i] = nil
				a.count--
			}
		}
	}
	d := int16(p.seq - a.head)
	if d < 0 {
		q.release(p) // late: its frame is gone
		return
	}
	if int(d) >= asmSlots {
		// Too far ahead to wait for what is missing.
		a.reset(q)
		if !p.start {
			q.release(p)
			return
		}
		a.head, a.synced = p.seq, true
	}
	a.store(p, q)
}

func (a *assembler) store(p *packet, q *queue) {
	i := p.seq % asmSlots
	if a.ring[i] != nil {
		q.release(p) // a duplicate
		return
	}
	a.ring[i] = p
	a.count++
}

// pop puts the next complete frame into f; false if there is none yet.
func (a *assembler) pop(now time.Duration, f *frame, q *queue) bool {
	for a.synced && a.count > 0 {
		first := a.ring[a.head%asmSlots]
		if first != nil && !first.start {
			// The rest of a frame whose start was given up on.
			a.drop(q)
			a.needKey = true
			continue
		}
		n, complete := 0, false
		if first != nil {
			n, complete = a.frameLen(first)
		}
		if !complete {
			if !a.stalled {
				a.stalled, a.stallAt = true, now
			}
			if now-a.stallAt < assembleWait {
				return false
			}
			// Give up on the frame: skip to the next one that starts.
			a.drop(q)
			for a.count > 0 {
				if p := a.ring[a.head%asmSlots]; p != nil && p.start {
					break
				}
				a.drop(q)
			}
			a.stalled = false
			a.needKey = true
			if a.count == 0 {
				a.synced = false // start again at the next frame that starts
			}
			continue
		}
		a.stalled = false
		a.emit(n, f, q)
		return true
	}
	return false
}

// frameLen counts the packets of the frame that starts at head, and
// whether all of them are here.
func (a *assembler) frameLen(first *packet) (int, bool) {
	for i := 1; i <= asmSlots; i++ {
		p := a.ring[(a.head+uint16(i-1))%asmSlots]
		if p == nil {
			return 0, false
		}
		if i > 1 && (p.ts != first.ts || p.start) {
			return i - 1, true // the marker was lost
		}
		if p.marker {
			return i, true
		}
	}
	return 0, false
}

// drop lets go of the packet at head, if any, and moves on.
func (a *assembler) drop(q *queue) {
	i := a.head % asmSlots
	if p := a.ring[i]; p != nil {
		q.release(p)
		a.ring[i] = nil
		a.count--
	}
	a.head++
}

// emit moves the n packets from head into f.
func (a *assembler) emit(n int, f *frame, q *queue) {
	first := a.ring[a.head%asmSlots]
	f.ts = first.ts
	for range n {
		i := a.head % asmSlots
		p := a.ring[i]
		f.data = append(f.data, p.data[p.off:p.n]...)
		q.release(p)
		a.ring[i] = nil
		a.count--
		a.head++
	}
	f.key, f.width, f.height = vp8Keyframe(f.data)
}

// vp8Keyframe reports whether a VP8 frame is a keyframe and, if so, its
// size (RFC 6386 §9.1: a 3-byte frame tag whose lowest bit is 0 for a
// keyframe, the start code 9d 01 2a, then 14-bit width and height).
func vp8Keyframe(b []byte) (key bool, width, height int) {
	if len(b) < 10 || b[0]&1 != 0 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
		return false, 0, 0
	}
	return true, int(uint16(b[6])|uint16(b[7])<<8) & 0x3fff, int(uint16(b[8])|uint16(b[9])<<8) & 0x3fff
}
