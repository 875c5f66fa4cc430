package record

import (
	"bytes"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v3"

	"calls/server/record/recordtest"
	"calls/server/sfu"
)

// What the tests feed the recorder: the packets a room's tracks forward,
// each with the time it reaches the tap.

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type delivery struct {
	at    time.Duration
	track sfu.TrackInfo
	pkt   *rtp.Packet
}

// source makes a track's packets as time goes on.
type source interface {
	// until returns the packets sent before t, with when each arrives.
	until(t time.Duration) []delivery
}

func opusTrack(participant, source string) sfu.TrackInfo {
	return sfu.TrackInfo{ID: participant + "_" + source, ParticipantID: participant, Source: source,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}
}

func videoTrackInfo(participant, source, mime string) sfu.TrackInfo {
	return sfu.TrackInfo{ID: participant + "_" + source, ParticipantID: participant, Source: source,
		Codec: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}}
}

// tone is a microphone playing a sine (or silence, where freq is 0) from
// from to to, Opus-encoded the way a browser sends it: 20 ms packets whose
// sequence numbers and timestamps start just before they wrap. With
// impair, some packets are lost, all are jittered by up to 30 ms, and some
// arrive after the next one.
type tone struct {
	t        testing.TB
	info     sfu.TrackInfo
	freq     float64
	from, to time.Duration
	impair   bool
	// silentFrom, when set, makes the microphone silent from then on.
	silentFrom time.Duration
	// drift stretches the sender's clock (0.01: its 20 ms packets come
	// every 20.2 ms).
	drift float64

	enc  *recordtest.Tone
	rng  *rand.Rand
	n    int
	seq0 uint16
	ts0  uint32
}

func newTone(t testing.TB, info sfu.TrackInfo, freq float64, from, to time.Duration, impair bool) *tone {
	seed := uint64(freq*1000) + uint64(from)
	return &tone{t: t, info: info, freq: freq, from: from, to: to, impair: impair, enc: recordtest.NewTone(t, freq),
		rng:  rand.New(rand.NewPCG(seed, 7)),
		seq0: 65535 - 40, ts0: math.MaxUint32 - 960*30}
}

func (s *tone) until(t time.Duration) []delivery {
	var out []delivery
	for {
		sent := s.from + time.Duration(float64(time.Duration(s.n)*slotDur)*(1+s.drift))
		if sent >= t || sent >= s.to {
			return out
		}
		silent := s.freq == 0 || (s.silentFrom > 0 && sent >= s.silentFrom)
		frame, err := s.enc.Next(silent)
		if err != nil {
			s.t.Fatal(err)
		}
		pkt := &rtp.Packet{
			Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: s.seq0 + uint16(s.n),
				Timestamp: s.ts0 + uint32(s.n*960), Marker: s.n == 0},
			Payload: slices.Clone(frame),
		}
		s.n++
		at := sent
		if s.impair && s.n > 5 {
			switch r := s.rng.IntN(100); {
			case r < 3:
				continue // lost
			case r < 10:
				at += 25 * time.Millisecond // overtaken by the next one
			}
			at += time.Duration(s.rng.Int64N(int64(30 * time.Millisecond)))
		}
		out = append(out, delivery{at: at, track: s.info, pkt: pkt})
	}
}

// screen is a VP8 track sending a real VP8 stream over and over;
// asked for a keyframe, it goes back to the last one, as an encoder would
// send one. testdata/screen.ivf is 3 s of 320x240 at 15 fps with a keyframe
// every second, made with
//
//	ffmpeg -f lavfi -i testsrc=size=320x240:rate=15 -t 3 -c:v libvpx -b:v 200k -g 15 -f ivf screen.ivf
type screen struct {
	info     sfu.TrackInfo
	frames   [][]byte
	from, to time.Duration
	fps      int
	pack     rtp.Packetizer
	n, i     int
	keyAsked atomic.Bool
}

func newScreen(t testing.TB, info sfu.TrackInfo, from, to time.Duration) *screen {
	return &screen{info: info, frames: recordtest.IVFFrames(t, "testdata/screen.ivf"), from: from, to: to, fps: 15,
		pack: rtp.NewPacketizer(1200, 96, 1234, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)}
}

func (s *screen) until(t time.Duration) []delivery {
	var out []delivery
	for {
		sent := s.from + time.Duration(s.n)*time.Second/time.Duration(s.fps)
		if sent >= t || sent >= s.to {
			return out
		}
		if s.keyAsked.Swap(false) {
			for s.i > 0 {
				if key, _, _ := vp8Keyframe(s.frames[s.i]); key {
					break
				}
				s.i--
			}
		}
		for j, pkt := range s.pack.Packetize(s.frames[s.i], uint32(90000/s.fps)) {
			out = append(out, delivery{at: sent + time.Duration(j)*50*time.Microsecond, track: s.info, pkt: pkt})
		}
		s.n++
		s.i = (s.i + 1) % len(s.frames)
	}
}

// h264 is a video track in H.264: packets that look like it, 30 frames a
// second, one packet each.
type h264 struct {
	info     sfu.TrackInfo
	from, to time.Duration
	n        int
}

func (s *h264) until(t time.Duration) []delivery {
	var out []delivery
	for {
		sent := s.from + time.Duration(s.n)*time.Second/30
		if sent >= t || sent >= s.to {
			return out
		}
		payload := append([]byte{0x65}, bytes.Repeat([]byte{0x42}, 500)...) // an IDR slice
		out = append(out, delivery{at: sent, track: s.info, pkt: &rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: uint16(s.n), Timestamp: uint32(s.n * 3000), Marker: true},
			Payload: payload,
		}})
		s.n++
	}
}

// feed plays the sources into r for d of the fake clock, stepping the
// recorder every 20 ms, the way the SFU and the recorder's ticker would.
func feed(r *Recorder, clock *fakeClock, t0 time.Time, from, d time.Duration, sources ...source) {
	var pending []delivery
	for now := from; now < d; {
		next := now + slotDur
		for _, s := range sources {
			pending = append(pending, s.until(next)...)
		}
		slices.SortStableFunc(pending, func(a, b delivery) int { return int(a.at - b.at) })
		i := 0
		for ; i < len(pending) && pending[i].at < next; i++ {
			clock.set(t0.Add(pending[i].at))
			r.WriteRTP(pending[i].track, pending[i].pkt)
		}
		pending = pending[i:]
		now = next
		clock.set(t0.Add(now))
		r.sync()
	}
}

// start begins a recording on a fake clock.
func start(t testing.TB, path string, keyframes func(participant, source string)) (*Recorder, *fakeClock, time.Time) {
	t.Helper()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	r, err := New(Config{Path: path, Now: clock.Now, RequestKeyframe: keyframes, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return r, clock, t0
}

// keyframeLog records the recorder's keyframe requests.
type keyframeLog struct {
	mu    sync.Mutex
	asked []string
	hooks map[string]func()
}

func (k *keyframeLog) request(participant, source string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id := participant + "_" + source
	k.asked = append(k.asked, id)
	if h := k.hooks[id]; h != nil {
		h()
	}
}

func (k *keyframeLog) list() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.asked)
}
