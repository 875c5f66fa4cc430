package sfu

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// Track sources a participant publishes.
const (
	SourceMic         = "mic"
	SourceCamera      = "camera"
	SourceScreen      = "screen"
	SourceScreenAudio = "screen_audio"
)

// forwardTrack is one published track as every subscriber receives it. It
// implements webrtc.TrackLocal: each subscriber's PeerConnection binds to
// it with its own SSRC and payload type. The packet path reads the current
// bindings through an atomic pointer (no lock per packet) and rewrites
// only the two header fields that differ per subscriber.
type forwardTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	codec        webrtc.RTPCodecCapability
	source       string
	publisher    *Peer
	remote       *webrtc.TrackRemote
	video        bool

	mu       sync.Mutex // serialises Bind/Unbind (copy-on-write of bindings)
	bindings atomic.Pointer[[]*binding]

	packets, bytes, lost atomic.Uint64
	sent                 atomic.Uint64 // packets written to subscribers
	retired              atomic.Bool
	paused               atomic.Bool // the host muted or stopped it
}

// binding is one subscriber of a track.
type binding struct {
	id          string
	ssrc        uint32
	payloadType uint8
	write       webrtc.TrackLocalWriter
	// waiting holds a new video subscriber back until a keyframe, so its
	// first frame decodes instead of showing garbage.
	waiting atomic.Bool
}

func newForwardTrack(pub *Peer, remote *webrtc.TrackRemote, source string) *forwardTrack {
	t := &forwardTrack{
		id:        pub.id + "_" + source,
		streamID:  pub.id + "_" + source,
		kind:      remote.Kind(),
		codec:     remote.Codec().RTPCodecCapability,
		source:    source,
		publisher: pub,
		remote:    remote,
		video:     remote.Kind() == webrtc.RTPCodecTypeVideo,
	}
	t.bindings.Store(&[]*binding{})
	return t
}

func (t *forwardTrack) info() TrackInfo {
	return TrackInfo{ID: t.id, ParticipantID: t.publisher.id, Source: t.source, Codec: t.codec}
}

// Bind implements webrtc.TrackLocal.
func (t *forwardTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if sameCodec(c.RTPCodecCapability, t.codec) {
			b := &binding{id: ctx.ID(), ssrc: uint32(ctx.SSRC()), payloadType: uint8(c.PayloadType), write: ctx.WriteStream()}
			b.waiting.Store(t.video)
			t.mu.Lock()
			old := *t.bindings.Load()
			next := append(append(make([]*binding, 0, len(old)+1), old...), b)
			t.bindings.Store(&next)
			t.mu.Unlock()
			if t.video {
				t.publisher.requestKeyframe(t)
			}
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

// Unbind implements webrtc.TrackLocal.
func (t *forwardTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.bindings.Load()
	next := make([]*binding, 0, len(old))
	for _, b := range old {
		if b.id != ctx.ID() {
			next = append(next, b)
		}
	}
	t.bindings.Store(&next)
	return nil
}

func (t *forwardTrack) ID() string                { return t.id }
func (t *forwardTrack) RID() string               { return "" }
func (t *forwardTrack) StreamID() string          { return t.streamID }
func (t *forwardTrack) Kind() webrtc.RTPCodecType { return t.kind }

// forward reads the publisher's packets and writes each to every
// subscriber. One goroutine per published track; buffers are reused, so
// the steady state allocates nothing per packet. A subscriber whose write
// fails (gone, or its socket full) loses that packet alone.
func (t *forwardTrack) forward(onLevel func(level uint8)) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	st := routeState{levelID: t.publisher.audioLevelID(t.remote), onLevel: onLevel, info: t.info(), out: t.publisher.room.sfu.out}
	for {
		n, _, err := t.remote.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		if t.route(&pkt, n, &st) { // throttled inside: one PLI per 300 ms at most
			t.publisher.requestKeyframe(t)
		}
	}
}

// routeState is what forward keeps from one packet to the next.
type routeState struct {
	levelID uint8             // the audio level extension's id, 0 if none
	onLevel func(level uint8) // nil: levels are not wanted
	info    TrackInfo
	out     *batchConn
	haveSeq bool
	lastSeq uint16
	// hdr is the header as one subscriber gets it. Writers take a
	// *rtp.Header through an interface, so a header in a local variable
	// would be moved to the heap: one allocation per subscriber and packet.
	// They use it only during the call (pion encrypts it, its interceptors
	// read or copy it), so one per track serves every write.
	hdr rtp.Header
}

// route handles one packet from the publisher (size bytes on the wire):
// counts it, reports its audio level, passes it to the room's tap, and
// writes it to every subscriber with their SSRC and payload type. It
// reports whether a video subscriber is still waiting for a keyframe.
func (t *forwardTrack) route(pkt *rtp.Packet, size int, st *routeState) (waiting bool) {
	t.packets.Add(1)
	t.bytes.Add(uint64(size))
	if st.haveSeq {
		if gap := pkt.SequenceNumber - st.lastSeq; gap > 1 && gap < 1000 {
			t.lost.Add(uint64(gap - 1))
		}
		if int16(pkt.SequenceNumber-st.lastSeq) > 0 {
			st.lastSeq = pkt.SequenceNumber
		}
	} else {
		st.lastSeq, st.haveSeq = pkt.SequenceNumber, true
	}
	if st.levelID != 0 && st.onLevel != nil {
		if ext := pkt.GetExtension(st.levelID); len(ext) > 0 {
			st.onLevel(ext[0] & 0x7f)
		}
	}
	if t.paused.Load() {
		return false
	}
	if tap := t.publisher.room.tap.Load(); tap != nil {
		tap.t.WriteRTP(st.info, pkt)
	}
	keyframe := t.video && isKeyframe(t.codec.MimeType, pkt.Payload)
	// The padding stays behind: pion's writers put the header (padding bit
	// included) and the payload on the wire, never the padding bytes, so
	// a forwarded padded packet would reach the subscriber malformed (a
	// padding-only one, as browsers send to probe bandwidth, cannot be
	// parsed; a padded one loses the end of its payload). Without it the
	// payload arrives whole, and a padding-only packet as an empty one.
	hdr := pkt.Header
	hdr.Padding, hdr.PaddingSize = false, 0
	bs := *t.bindings.Load()
	t.sent.Add(uint64(len(bs)))
	st.out.beginFanout() // the writes below leave in one system call
	h := &st.hdr
	for _, b := range bs {
		*h = hdr
		h.SSRC, h.PayloadType = b.ssrc, b.payloadType
		if b.waiting.Load() {
			if !keyframe {
				waiting = true
				continue
			}
			// Until the subscriber's DTLS is up, pion drops writes
			// (n == 0): keep waiting for a keyframe that gets through.
			if n, _ := b.write.WriteRTP(h, pkt.Payload); n > 0 {
				b.waiting.Store(false)
			} else {
				waiting = true
			}
			continue
		}
		_, _ = b.write.WriteRTP(h, pkt.Payload)
	}
	st.out.endFanout()
	return waiting
}

// retire adds a finished track's counters to the SFU's totals.
func (t *forwardTrack) retire() {
	if t.retired.CompareAndSwap(false, true) {
		s := t.publisher.room.sfu
		s.donePackets.Add(t.packets.Load())
		s.doneSent.Add(t.sent.Load())
	}
}

// isKeyframe reports whether an RTP payload starts a video keyframe.
func isKeyframe(mime string, p []byte) bool {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return vp8Keyframe(p)
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		return h264Keyframe(p)
	}
	return false
}

// vp8Keyframe parses the VP8 payload descriptor (RFC 7741 §4.2) and the
// first byte of the VP8 frame header (its P bit is 0 for a keyframe).
func vp8Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	x, s, pid := p[0]&0x80 != 0, p[0]&0x10 != 0, p[0]&0x07
	if !s || pid != 0 {
		return false // not the start of the first partition
	}
	i := 1
	if x {
		if len(p) < 2 {
			return false
		}
		ext := p[1]
		i = 2
		if ext&0x80 != 0 { // I: picture id, 7 or 15 bits
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K: TID/KEYIDX
			i++
		}
	}
	return len(p) > i && p[i]&0x01 == 0
}

// h264Keyframe reports an IDR slice or an SPS, alone, in a STAP-A or at
// the start of an FU-A (RFC 6184).
func h264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch nal := p[0] & 0x1f; {
	case nal == 5 || nal == 7:
		return true
	case nal == 24: // STAP-A: 2-byte sizes then NAL units
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if i+2 >= len(p) {
				break
			}
			if t := p[i+2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += 2 + size
		}
	case nal == 28: // FU-A: start bit and the inner type
		return len(p) > 1 && p[1]&0x80 != 0 && (p[1]&0x1f == 5 || p[1]&0x1f == 7)
	}
	return false
}
