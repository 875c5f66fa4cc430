package sfu

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

func TestKeyframeDetection(t *testing.T) {
	cases := []struct {
		name string
		mime string
		p    []byte
		want bool
	}{
		{"vp8 keyframe, no extension", "video/VP8", []byte{0x10, 0x00, 0x9d}, true},
		{"vp8 interframe", "video/VP8", []byte{0x10, 0x01, 0x9d}, false},
		{"vp8 continuation packet", "video/VP8", []byte{0x00, 0x00}, false},
		{"vp8 second partition", "video/VP8", []byte{0x11, 0x00}, false},
		{"vp8 keyframe, 15-bit picture id", "video/VP8", []byte{0x90, 0x80, 0x81, 0x23, 0x00}, true},
		{"vp8 keyframe, 7-bit picture id, tl0, tid", "video/VP8", []byte{0x90, 0xe0, 0x12, 0x05, 0x40, 0x00}, true},
		{"vp8 interframe, picture id", "video/VP8", []byte{0x90, 0x80, 0x12, 0x01}, false},
		{"vp8 truncated", "video/VP8", []byte{0x90, 0x80}, false},
		{"vp8 empty", "video/VP8", nil, false},
		{"h264 idr", "video/H264", []byte{0x65, 0x88}, true},
		{"h264 sps", "video/H264", []byte{0x67, 0x42}, true},
		{"h264 non-idr slice", "video/H264", []byte{0x41, 0x9a}, false},
		{"h264 stap-a with sps", "video/H264", []byte{0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"h264 stap-a without", "video/H264", []byte{0x18, 0x00, 0x02, 0x41, 0x42}, false},
		{"h264 fu-a start idr", "video/H264", []byte{0x7c, 0x85, 0x00}, true},
		{"h264 fu-a middle idr", "video/H264", []byte{0x7c, 0x05, 0x00}, false},
		{"opus is never a keyframe", "audio/opus", []byte{0x10, 0x00}, false},
	}
	for _, c := range cases {
		if got := isKeyframe(c.mime, c.p); got != c.want {
			t.Errorf("%s: isKeyframe = %v, want %v", c.name, got, c.want)
		}
	}
}

// FuzzKeyframe feeds arbitrary payloads to the parsers that read every
// forwarded video packet: they must never panic or read out of bounds.
func FuzzKeyframe(f *testing.F) {
	for _, s := range [][]byte{{0x10, 0x00}, {0x90, 0x80, 0x81, 0x23, 0x00}, {0x18, 0x00, 0x02, 0x67, 0x42}, {0x7c, 0x85}, {0x18, 0xff, 0xff}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		isKeyframe("video/VP8", p)
		isKeyframe("video/H264", p)
	})
}

func TestSameCodec(t *testing.T) {
	vp8 := "video/VP8"
	if !sameCodec(capability(vp8, 90000, ""), capability("video/vp8", 90000, "x=1")) {
		t.Error("VP8 with other fmtp should match")
	}
	a := capability("video/H264", 90000, "packetization-mode=1;profile-level-id=42e01f")
	if !sameCodec(a, capability("video/H264", 90000, "profile-level-id=42E01F;packetization-mode=1;level-asymmetry-allowed=1")) {
		t.Error("same H.264 profile should match")
	}
	if sameCodec(a, capability("video/H264", 90000, "packetization-mode=0;profile-level-id=42e01f")) {
		t.Error("H.264 packetization modes differ")
	}
}

// wireWriter is a subscriber's end of a binding. It puts the packet on the
// wire the way pion's SRTP writer does (srtp's encryptRTP: the header's
// MarshalTo, then the payload; the encryption changes no length), and
// parses it back the way the subscriber will.
type wireWriter struct {
	got []*rtp.Packet
	err error
}

func (w *wireWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	buf := make([]byte, h.MarshalSize()+len(payload))
	n, err := h.MarshalTo(buf)
	if err != nil {
		w.err = err
		return 0, err
	}
	copy(buf[n:], payload)
	var p rtp.Packet
	if err := p.Unmarshal(buf); err != nil {
		w.err = fmt.Errorf("the subscriber cannot parse what it got (% x): %w", buf, err)
		return len(buf), nil
	}
	w.got = append(w.got, &p)
	return len(buf), nil
}

func (w *wireWriter) Write(b []byte) (int, error) { return len(b), nil }

type tapLog struct{ got []*rtp.Packet }

func (l *tapLog) WriteRTP(_ TrackInfo, p *rtp.Packet) { c := p.Clone(); l.got = append(l.got, c) }

// routeOnce sends one packet through a track with two subscribers (the
// second new, so a video one waits for a keyframe) and a tap.
func routeOnce(t *testing.T, raw []byte, video bool, levelID uint8) {
	var in rtp.Packet
	if in.Unmarshal(raw) != nil {
		return // forward drops what does not parse
	}
	orig := in.Clone()
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	if video {
		codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	}
	room := &Room{id: "r", sfu: &SFU{}}
	tap := &tapLog{}
	room.SetTap(tap)
	tr := &forwardTrack{id: "p_mic", kind: webrtc.RTPCodecTypeAudio, codec: codec, source: SourceMic, publisher: &Peer{id: "p", room: room}, video: video}
	old, late := &wireWriter{}, &wireWriter{}
	bs := []*binding{{id: "a", ssrc: 0x11111111, payloadType: 100, write: old}, {id: "b", ssrc: 0x22222222, payloadType: 101, write: late}}
	bs[1].waiting.Store(video)
	tr.bindings.Store(&bs)
	var levels []uint8
	st := routeState{levelID: levelID, onLevel: func(l uint8) { levels = append(levels, l) }, info: tr.info()}

	waiting := tr.route(&in, len(raw), &st)

	key := video && isKeyframe(codec.MimeType, orig.Payload)
	if waiting != (video && !key) {
		t.Errorf("waiting = %v for a %v packet (keyframe %v)", waiting, codec.MimeType, key)
	}
	for i, w := range []*wireWriter{old, late} {
		if w.err != nil {
			t.Fatalf("subscriber %d: %v", i, w.err)
		}
		want := 1
		if i == 1 && video && !key {
			want = 0
		}
		if len(w.got) != want {
			t.Fatalf("subscriber %d got %d packets, want %d", i, len(w.got), want)
		}
		if want == 0 {
			continue
		}
		got := w.got[0]
		if got.SSRC != bs[i].ssrc || got.PayloadType != bs[i].payloadType {
			t.Errorf("subscriber %d: ssrc %x pt %d, want %x %d", i, got.SSRC, got.PayloadType, bs[i].ssrc, bs[i].payloadType)
		}
		if got.SequenceNumber != orig.SequenceNumber || got.Timestamp != orig.Timestamp || got.Marker != orig.Marker ||
			!slices.Equal(got.CSRC, orig.CSRC) || !bytes.Equal(got.Payload, orig.Payload) {
			t.Errorf("subscriber %d got\n%v\npayload % x\nthe publisher sent\n%v\npayload % x", i, got, got.Payload, &orig, orig.Payload)
		}
		for _, id := range orig.GetExtensionIDs() {
			if !bytes.Equal(got.GetExtension(id), orig.GetExtension(id)) {
				t.Errorf("subscriber %d: extension %d is % x, was % x", i, id, got.GetExtension(id), orig.GetExtension(id))
			}
		}
	}
	if len(tap.got) != 1 || !bytes.Equal(tap.got[0].Payload, orig.Payload) || tap.got[0].SequenceNumber != orig.SequenceNumber {
		t.Errorf("the tap got %v, want the packet", tap.got)
	}
	if ext := orig.GetExtension(levelID); levelID != 0 && len(ext) > 0 {
		if len(levels) != 1 || levels[0] != ext[0]&0x7f {
			t.Errorf("levels %v, want [%d]", levels, ext[0]&0x7f)
		}
	} else if len(levels) != 0 {
		t.Errorf("levels %v from a packet without the extension", levels)
	}
	if tr.packets.Load() != 1 || tr.bytes.Load() != uint64(len(raw)) {
		t.Errorf("counted %d packets, %d bytes", tr.packets.Load(), tr.bytes.Load())
	}
}

// rtpBytes marshals a packet for the seeds and cases.
func rtpBytes(h rtp.Header, payload []byte, padding byte) []byte {
	if padding > 0 {
		h.Padding, h.PaddingSize = true, padding
	}
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

func routeSeeds() [][]byte {
	level := rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 7, Timestamp: 960, SSRC: 1}
	_ = level.SetExtension(1, []byte{0x85})
	two := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 9, Timestamp: 3000, SSRC: 2, Marker: true, CSRC: []uint32{5, 6}}
	two.Extension, two.ExtensionProfile = true, 0x1000
	_ = two.SetExtension(3, make([]byte, 20))
	vp8key := []byte{0x10, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}
	return [][]byte{
		rtpBytes(level, []byte{0xfc, 1, 2, 3}, 0),
		rtpBytes(two, vp8key, 0),
		rtpBytes(rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 10, SSRC: 2}, nil, 200),  // padding only (bandwidth probing)
		rtpBytes(rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 11, SSRC: 2}, vp8key, 3), // media with padding
		rtpBytes(rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 12, SSRC: 1, CSRC: make([]uint32, 15)}, []byte{0xfc}, 0),
	}
}

// The rewrite keeps every packet as the publisher sent it, but for the
// subscriber's SSRC and payload type: extensions, CSRCs, padding, empty
// payloads.
func TestRouteKeepsPacketsIntact(t *testing.T) {
	for i, raw := range routeSeeds() {
		for _, video := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d video=%v", i, video), func(t *testing.T) { routeOnce(t, raw, video, 1) })
		}
	}
}

// FuzzRoute feeds any RTP packet the publisher's connection lets through
// (what rtp.Packet.Unmarshal accepts: truncations, padding, one- and
// two-byte extensions, CSRC lists) into the per-packet path of the SFU:
// the audio level, the keyframe check, the tap and the per-subscriber
// rewrite. Each subscriber must parse what it is sent as the same packet.
func FuzzRoute(f *testing.F) {
	for _, s := range routeSeeds() {
		f.Add(s, false, uint8(1))
		f.Add(s, true, uint8(3))
	}
	f.Fuzz(func(t *testing.T, raw []byte, video bool, levelID uint8) {
		routeOnce(t, raw, video, levelID)
	})
}

type discardWriter struct{ n int }

func (w *discardWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n++
	return h.MarshalSize() + len(payload), nil
}

func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// The forwarding path allocates nothing per packet: routing an audio
// packet (with its level read) or a video packet to 50 subscribers, after
// the first, takes no allocation.
func TestRouteAllocatesNothing(t *testing.T) {
	for _, video := range []bool{false, true} {
		codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
		payload := []byte{0xfc, 1, 2, 3, 4, 5, 6, 7}
		if video {
			codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
			payload = []byte{0x10, 0x00, 0x9d, 0x01, 0x2a, 1, 2, 3}
		}
		room := &Room{id: "r", sfu: &SFU{}}
		tr := &forwardTrack{id: "p_x", codec: codec, publisher: &Peer{id: "p", room: room}, video: video}
		w := &discardWriter{}
		bs := make([]*binding, 50)
		for i := range bs {
			bs[i] = &binding{id: fmt.Sprint(i), ssrc: uint32(i + 1), payloadType: 96, write: w}
		}
		tr.bindings.Store(&bs)
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 1, SSRC: 7}, Payload: payload}
		var levelID uint8
		if !video {
			levelID = 1
			if err := pkt.Header.SetExtension(levelID, []byte{0x90}); err != nil {
				t.Fatal(err)
			}
		}
		loudest := uint8(127)
		st := routeState{levelID: levelID, onLevel: func(l uint8) { loudest = min(loudest, l) }, info: tr.info()}
		allocs := testing.AllocsPerRun(1000, func() {
			pkt.SequenceNumber++
			tr.route(&pkt, 12+len(payload), &st)
		})
		if allocs != 0 {
			t.Errorf("video %v: %.1f allocations per routed packet, want 0", video, allocs)
		}
		if w.n < 1000*50 {
			t.Errorf("video %v: %d writes, want at least %d", video, w.n, 1000*50)
		}
		if !video && loudest != 0x10 {
			t.Errorf("audio level read as %d, want 16", loudest)
		}
	}
}
