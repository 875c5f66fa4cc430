package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"

	"calls/server/sfu"
)

// fuzzTracks are the tracks a fuzzed call has: two microphones, a camera,
// a screen share and a camera in a codec the file cannot carry.
var fuzzTracks = []sfu.TrackInfo{
	opusTrack("alice", "mic"),
	opusTrack("bob", "mic"),
	videoTrackInfo("alice", "camera", webrtc.MimeTypeVP8),
	videoTrackInfo("bob", "screen", webrtc.MimeTypeVP8),
	videoTrackInfo("carol", "camera", webrtc.MimeTypeH264),
}

// A fuzzed recording is a list of records, each one RTP packet as it
// reaches the tap: a flags byte (bits 0-2: the track; bit 3: the recorder
// takes a step after it; bits 4-7: how many 5 ms pass before it), a 2-byte
// length, then the packet's bytes, parsed as the SFU parses them.
func fuzzRecord(track int, step bool, wait time.Duration, pkt []byte) []byte {
	flags := byte(track) | byte(min(wait/(5*time.Millisecond), 15))<<4
	if step {
		flags |= 0x08
	}
	return append(binary.BigEndian.AppendUint16([]byte{flags}, uint16(len(pkt))), pkt...)
}

// fuzzSeeds are real calls: Opus from the encoder, VP8 from the test
// stream, and H.264 that the file cannot take, interleaved as they arrive.
func fuzzSeeds(t testing.TB) [][]byte {
	const d = 1500 * time.Millisecond // past the test stream's second keyframe, at 1 s
	sources := []source{
		newTone(t, fuzzTracks[0], 440, 0, d, true),
		newTone(t, fuzzTracks[1], 660, 100*time.Millisecond, d, false),
		newScreen(t, fuzzTracks[3], 0, d),
		&h264{info: fuzzTracks[4], to: d},
	}
	var all []delivery
	for _, s := range sources {
		all = append(all, s.until(d)...)
	}
	// A camera chosen as the recorded video, asked for a keyframe, sends
	// its last one again, as an encoder does.
	camera := newScreen(t, fuzzTracks[2], 0, d)
	cam := camera.until(70 * time.Millisecond)
	camera.keyAsked.Store(true)
	cam = append(cam, camera.until(500*time.Millisecond)...)
	index := func(info sfu.TrackInfo) int {
		for i, t := range fuzzTracks {
			if t.ID == info.ID {
				return i
			}
		}
		return 0
	}
	build := func(ds []delivery, mangle func(i int, p *rtp.Packet)) []byte {
		sortDeliveries(ds)
		var b []byte
		var at time.Duration
		for i, dl := range ds {
			p := dl.pkt.Clone()
			if mangle != nil {
				mangle(i, p)
			}
			raw, err := p.Marshal()
			if err != nil {
				continue
			}
			wait := min(max(dl.at-at, 0)/(5*time.Millisecond), 15) * 5 * time.Millisecond
			b = append(b, fuzzRecord(index(dl.track), i%4 == 0, wait, raw)...)
			at += wait
		}
		return b
	}
	return [][]byte{
		build(append(all, cam...), nil),
		build(slices.Clone(cam), nil),
		build(slices.Clone(all[:40]), nil),
		// Padding, header extensions and CSRCs on every packet.
		build(append(all, cam...), func(i int, p *rtp.Packet) {
			p.Padding, p.PaddingSize = true, byte(1+i%30)
			p.CSRC = []uint32{uint32(i)}
			_ = p.SetExtension(1, []byte{byte(i)})
		}),
		// Truncated packets: every payload cut in half.
		build(slices.Clone(all[:120]), func(_ int, p *rtp.Packet) { p.Payload = p.Payload[:len(p.Payload)/2] }),
	}
}

func sortDeliveries(ds []delivery) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].at < ds[j-1].at; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

// FuzzRecorder feeds any sequence of RTP packets through a recording: the
// tap's copy, the Opus jitter buffer, decoder and mix, the VP8 depacketizer
// and frame assembly, the choice of video and the WebM writer. Nothing may
// panic, and the recording must still end as a complete file of the size
// it reports.
func FuzzRecorder(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		hung := time.AfterFunc(30*time.Second, func() {
			buf := make([]byte, 1<<20)
			os.Stderr.Write(buf[:runtime.Stack(buf, true)])
			panic("the recording hung")
		})
		defer hung.Stop()
		path := filepath.Join(t.TempDir(), "call.webm")
		r, clock, t0 := start(t, path, func(string, string) {})
		var now time.Duration
		for len(in) >= 3 {
			flags, n := in[0], int(binary.BigEndian.Uint16(in[1:3]))
			in = in[3:]
			if n > len(in) {
				n = len(in)
			}
			raw := in[:n]
			in = in[n:]
			now += time.Duration(flags>>4) * 5 * time.Millisecond
			if now > 3*time.Second {
				break // long enough: a call of noise mixes the same way
			}
			var pkt rtp.Packet
			if pkt.Unmarshal(raw) != nil {
				continue // the SFU forwards only what parses
			}
			clock.set(t0.Add(now))
			r.WriteRTP(fuzzTracks[int(flags&7)%len(fuzzTracks)], &pkt)
			if flags&0x08 != 0 {
				r.sync()
			}
		}
		clock.set(t0.Add(now + slotDur))
		res, err := r.Stop()
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
		for _, e := range unwrapJoin(res.Err) {
			if !errors.Is(e, ErrUnsupportedCodec) {
				t.Errorf("recording error: %v", e)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != res.Size || !bytes.HasPrefix(b, []byte{0x1a, 0x45, 0xdf, 0xa3}) {
			t.Errorf("file of %d bytes (reported %d), starting % x: not a finished WebM file", len(b), res.Size, b[:min(4, len(b))])
		}
		if !containsCues(b) {
			t.Error("the finished file has no Cues")
		}
	})
}

func unwrapJoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
