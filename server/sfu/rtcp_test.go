package sfu

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// The SSRC of the track a subscriber's RTCP is about in these tests.
const rtcpMediaSSRC = 1234

// rtcpCase is a compound RTCP packet a subscriber might send on one of its
// receivers, and what readSenderRTCP must make of it.
type rtcpCase struct {
	name string
	raw  []byte
	want string // "keyframe", "none" (parsed, no request) or "dropped" (does not parse)
}

func rtcpCases(tb testing.TB) []rtcpCase {
	tb.Helper()
	m := func(pkts ...rtcp.Packet) []byte {
		b, err := rtcp.Marshal(pkts)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	pli := &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: rtcpMediaSSRC}
	fir := &rtcp.FullIntraRequest{SenderSSRC: 1, MediaSSRC: rtcpMediaSSRC, FIR: []rtcp.FIREntry{{SSRC: rtcpMediaSSRC, SequenceNumber: 7}}}
	block := rtcp.ReceptionReport{SSRC: rtcpMediaSSRC, FractionLost: 12, TotalLost: 3, LastSequenceNumber: 40, Jitter: 90, LastSenderReport: 0x1234, Delay: 100}
	sr := &rtcp.SenderReport{SSRC: 1, NTPTime: 0xdeadbeef00000000, RTPTime: 9000, PacketCount: 10, OctetCount: 1000, Reports: []rtcp.ReceptionReport{block}}
	rr := &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{block}}
	sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 1, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "subscriber"}}}}}
	nack := &rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: rtcpMediaSSRC, Nacks: []rtcp.NackPair{{PacketID: 5, LostPackets: 0b101}, {PacketID: 60000, LostPackets: 0xffff}}}
	remb := &rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 1, Bitrate: 500_000, SSRCs: []uint32{rtcpMediaSSRC}}
	bye := &rtcp.Goodbye{Sources: []uint32{1}, Reason: "bye"}
	compound := m(rr, sdes, pli)
	cases := []rtcpCase{
		{"pli", m(pli), "keyframe"},
		{"fir", m(fir), "keyframe"},
		{"sender report", m(sr), "none"},
		{"receiver report", m(rr), "none"},
		{"nack", m(nack), "none"},
		{"remb", m(remb), "none"},
		{"compound rr sdes pli", compound, "keyframe"},
		{"compound sr sdes nack", m(sr, sdes, nack), "none"},
		{"compound rr fir bye", m(rr, fir, bye), "keyframe"},
		{"two plis", m(pli, pli), "keyframe"},
		{"pli with a foreign media ssrc", m(&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 99}), "keyframe"},
		{"empty", nil, "dropped"},
		{"truncated header", m(pli)[:3], "dropped"},
		{"truncated pli", m(pli)[:11], "dropped"},
		{"truncated fir entry", m(fir)[:16], "dropped"},
		{"truncated compound", compound[:len(compound)-2], "dropped"},
		// The RR's length field covers the PLI after it: one RR whose report
		// block is the PLI's bytes, not a keyframe request.
		{"pli inside a cut rr's length", append(m(rr)[:20:20], m(pli)...), "none"},
		{"pli after a cut rr", append(m(rr)[:20:20], m(pli)[:4]...), "dropped"},
		{"wrong version", append([]byte{0x41}, m(pli)[1:]...), "dropped"},
	}
	// A PLI whose length field claims more than the datagram holds.
	long := m(pli)
	binary.BigEndian.PutUint16(long[2:], 40)
	cases = append(cases, rtcpCase{"pli longer than its datagram", long, "dropped"})
	return cases
}

// senderRTCP is readSenderRTCP's path for one datagram from a subscriber:
// the interceptors a peer connection is built with (newMediaEngine: NACK
// responder, RTCP reports, TWCC), bound as an RTPSender binds them to a
// VP8 track that has already sent 64 packets (so NACKs find packets to
// resend), then rtcp.Unmarshal as RTPSender.ReadRTCP does, then
// wantsKeyframe. It returns the error readSenderRTCP would stop on.
func senderRTCP(tb testing.TB, raw []byte) (keyframe bool, err error) {
	_, ir, err := newMediaEngine()
	if err != nil {
		tb.Fatal(err)
	}
	ic, err := ir.Build("fuzz")
	if err != nil {
		tb.Fatal(err)
	}
	defer ic.Close()
	ic.BindRTCPWriter(interceptor.RTCPWriterFunc(func([]rtcp.Packet, interceptor.Attributes) (int, error) { return 0, nil }))
	info := &interceptor.StreamInfo{
		SSRC: rtcpMediaSSRC, PayloadType: 96, MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}, {Type: "transport-cc"}},
	}
	w := ic.BindLocalStream(info, interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) {
		return h.MarshalSize() + len(p), nil
	}))
	defer ic.UnbindLocalStream(info)
	for i := range 64 {
		h := &rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: uint32(i) * 3000, SSRC: rtcpMediaSSRC}
		if _, err := w.Write(h, []byte{0x10, 0x00, 0x9d, byte(i)}, nil); err != nil {
			tb.Fatal(err)
		}
	}
	sent := false
	r := ic.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		if sent {
			return 0, nil, errors.New("one datagram only")
		}
		sent = true
		return copy(b, raw), a, nil
	}))
	b := make([]byte, 1500)
	n, _, err := r.Read(b, nil)
	if err != nil {
		return false, err
	}
	pkts, err := rtcp.Unmarshal(b[:n])
	if err != nil {
		return false, err
	}
	return wantsKeyframe(pkts), nil
}

// asksForKeyframe reads the RTCP headers of a compound packet that parsed,
// without pion's types: a keyframe request is a payload-specific feedback
// packet (PT 206) of format 1 (PLI) or 4 (FIR), RFC 4585 and RFC 5104.
func asksForKeyframe(raw []byte) bool {
	for len(raw) >= 4 {
		if raw[1] == 206 && (raw[0]&0x1f == 1 || raw[0]&0x1f == 4) {
			return true
		}
		n := (int(binary.BigEndian.Uint16(raw[2:])) + 1) * 4
		if n > len(raw) {
			return false
		}
		raw = raw[n:]
	}
	return false
}

// TestWantsKeyframe: a subscriber's PLI or FIR, alone or in a compound
// packet, makes the SFU ask the publisher for a keyframe; reports, NACKs
// and REMB do not; what does not parse is dropped (srtp drops it before
// the interceptors in a real connection) without a request.
func TestWantsKeyframe(t *testing.T) {
	for _, c := range rtcpCases(t) {
		keyframe, err := senderRTCP(t, c.raw)
		got := "none"
		switch {
		case err != nil:
			got = "dropped"
		case keyframe:
			got = "keyframe"
		}
		if got != c.want {
			t.Errorf("%s: %s (err %v), want %s", c.name, got, err, c.want)
		}
	}
}

// FuzzRTCP feeds any datagram a subscriber could send on its receiver's
// RTCP through what the server does with it: pion's interceptors (a NACK
// resends from the track's buffer), rtcp.Unmarshal and wantsKeyframe. It
// must not panic, and whatever parses must ask for a keyframe exactly when
// it holds a PLI or FIR (read from the raw headers).
func FuzzRTCP(f *testing.F) {
	for _, c := range rtcpCases(f) {
		f.Add(c.raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 1500 {
			return // larger than any datagram the receive buffer takes
		}
		keyframe, err := senderRTCP(t, raw)
		if err != nil {
			return
		}
		if want := asksForKeyframe(raw); keyframe != want {
			t.Fatalf("wantsKeyframe = %v, the headers say %v: % x", keyframe, want, raw)
		}
	})
}
