package record

import (
	"calls/server/record/recordtest"

	"bytes"
	"errors"
	"log/slog"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
)

// checkTones asserts which tones the recording's audio holds between from
// and to seconds.
func checkTones(t *testing.T, x []float64, from, to float64, present, absent []float64) {
	t.Helper()
	for _, f := range present {
		if a := recordtest.Amplitude(x, f, from, to); a < 0.1 {
			t.Errorf("%.0f Hz from %.1f s to %.1f s: amplitude %.3f, want the tone (0.3)", f, from, to, a)
		}
	}
	for _, f := range absent {
		if a := recordtest.Amplitude(x, f, from, to); a > 0.02 {
			t.Errorf("%.0f Hz from %.1f s to %.1f s: amplitude %.3f, want none", f, from, to, a)
		}
	}
}

func checkDuration(t *testing.T, p recordtest.Probe, want time.Duration) {
	t.Helper()
	if d := p.Duration(t); d < want*95/100 || d > want*105/100 {
		t.Errorf("ffprobe duration %v, want %v ± 5%%", d, want)
	}
}

func TestRecordTwoSpeakersAndScreenShare(t *testing.T) {
	recordtest.NeedFFmpeg(t)
	t.Parallel()
	path := filepath.Join(t.TempDir(), "call.webm")
	share := newScreen(t, videoTrackInfo("carol", "screen", webrtc.MimeTypeVP8), 300*time.Millisecond, time.Hour)
	keys := &keyframeLog{hooks: map[string]func(){"carol_screen": func() { share.keyAsked.Store(true) }}}
	r, clock, t0 := start(t, path, keys.request)

	const length = 4 * time.Second
	feed(r, clock, t0, 0, length,
		newTone(t, opusTrack("alice", "mic"), 440, 0, time.Hour, true),
		newTone(t, opusTrack("bob", "mic"), 660, 0, time.Hour, true),
		newTone(t, opusTrack("carol", "mic"), 0, 0, time.Hour, false), // listening, muted
		share,
	)
	res, err := r.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil || r.Err() != nil {
		t.Errorf("recording errors: %v", res.Err)
	}
	if res.Duration != length || res.Path != path {
		t.Errorf("result %+v, want %v of %s", res, length, path)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != res.Size {
		t.Errorf("file: %v, size %d, result says %d", err, st.Size(), res.Size)
	}
	if !slices.Contains(keys.list(), "carol_screen") {
		t.Errorf("keyframe requests %v, want one for the screen share", keys.list())
	}

	p := recordtest.FFprobe(t, path)
	if p.Format.FormatName != "matroska,webm" {
		t.Errorf("format %q, want matroska,webm", p.Format.FormatName)
	}
	if len(p.Streams) != 2 || p.Count("audio", "opus") != 1 || p.Count("video", "vp8") != 1 {
		t.Errorf("streams %+v, want one Opus and one VP8", p.Streams)
	}
	for _, s := range p.Streams {
		if s.CodecType == "video" {
			if s.Width != 320 || s.Height != 240 {
				t.Errorf("video %dx%d, want 320x240", s.Width, s.Height)
			}
			// 15 fps from the first keyframe, asked for when the share was seen.
			if n, _ := strconv.Atoi(s.Frames); n < 45 {
				t.Errorf("%s video frames, want about 55", s.Frames)
			}
		}
	}
	checkDuration(t, p, length)
	if b, err := os.ReadFile(path); err != nil || !containsCues(b) {
		t.Errorf("no Cues in the file (%v): not seekable", err)
	}

	x := recordtest.DecodeAudio(t, path)
	if got := time.Duration(len(x)) * time.Second / 48000; got < length*95/100 {
		t.Errorf("decoded %v of audio, want %v", got, length)
	}
	checkTones(t, x, 0.3, 3.9, []float64{440, 660}, []float64{1000})
}

func TestRecordParticipantsJoinAndLeaveAudioOnly(t *testing.T) {
	recordtest.NeedFFmpeg(t)
	t.Parallel()
	path := filepath.Join(t.TempDir(), "call.webm")
	keys := &keyframeLog{}
	r, clock, t0 := start(t, path, keys.request)
	const length = 4 * time.Second
	feed(r, clock, t0, 0, length,
		newTone(t, opusTrack("alice", "mic"), 440, 0, time.Hour, true),
		newTone(t, opusTrack("bob", "mic"), 660, 2*time.Second, time.Hour, true), // joins
		newTone(t, opusTrack("dan", "mic"), 880, 0, 1500*time.Millisecond, true), // leaves
	)
	res, err := r.Stop()
	if err != nil || res.Err != nil {
		t.Fatalf("stop: %v, recording: %v", err, res.Err)
	}
	if len(keys.list()) != 0 {
		t.Errorf("keyframe requests %v without video", keys.list())
	}

	p := recordtest.FFprobe(t, path)
	if len(p.Streams) != 1 || p.Count("audio", "opus") != 1 {
		t.Errorf("streams %+v, want only Opus audio", p.Streams)
	}
	checkDuration(t, p, length)
	x := recordtest.DecodeAudio(t, path)
	checkTones(t, x, 0.3, 1.4, []float64{440, 880}, []float64{660, 1000})
	checkTones(t, x, 2.3, 3.9, []float64{440, 660}, []float64{880, 1000})
}

func TestRecordUnsupportedVideoCodec(t *testing.T) {
	recordtest.NeedFFmpeg(t)
	t.Parallel()
	path := filepath.Join(t.TempDir(), "call.webm")
	r, clock, t0 := start(t, path, nil)
	alice := newTone(t, opusTrack("alice", "mic"), 440, 0, time.Hour, false)
	bob := newTone(t, opusTrack("bob", "mic"), 660, 0, time.Hour, false)
	share := &h264{info: videoTrackInfo("bob", "screen", webrtc.MimeTypeH264), from: 500 * time.Millisecond, to: time.Hour}
	feed(r, clock, t0, 0, 2*time.Second, alice, bob, share)
	if err := r.Err(); !errors.Is(err, ErrUnsupportedCodec) {
		t.Errorf("Err() while recording = %v, want ErrUnsupportedCodec", err)
	}
	feed(r, clock, t0, 2*time.Second, 3*time.Second, alice, bob, share)
	res, err := r.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Err, ErrUnsupportedCodec) {
		t.Errorf("Result.Err = %v, want ErrUnsupportedCodec", res.Err)
	}

	p := recordtest.FFprobe(t, path)
	if len(p.Streams) != 1 || p.Count("audio", "opus") != 1 {
		t.Errorf("streams %+v, want only Opus audio", p.Streams)
	}
	checkDuration(t, p, 3*time.Second)
	checkTones(t, recordtest.DecodeAudio(t, path), 0.3, 2.9, []float64{440, 660}, []float64{1000})
}

func TestRecordDiskFullKeepsWhatWasRecorded(t *testing.T) {
	recordtest.NeedFFmpeg(t)
	t.Parallel()
	path := filepath.Join(t.TempDir(), "call.webm")
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	share := newScreen(t, videoTrackInfo("carol", "screen", webrtc.MimeTypeVP8), 0, time.Hour)
	r, err := New(Config{
		Path:            path,
		Now:             clock.Now,
		RequestKeyframe: func(string, string) { share.keyAsked.Store(true) },
		// Room for the header and the space kept for the Cues, and then
		// about two seconds of the call.
		Create: func(path string) (File, error) {
			return recordtest.CreateFullDisk(path, cuesReserve+60<<10)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	alice := newTone(t, opusTrack("alice", "mic"), 440, 0, time.Hour, false)
	feed(r, clock, t0, 0, 4*time.Second, alice, share)
	if err := r.Err(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Err() while recording = %v, want ENOSPC", err)
	}
	res, err := r.Stop()
	if err != nil {
		t.Logf("stop: %v", err)
	}
	if !errors.Is(res.Err, syscall.ENOSPC) {
		t.Errorf("Result.Err = %v, want ENOSPC", res.Err)
	}
	if res.Duration <= 500*time.Millisecond || res.Duration >= 4*time.Second {
		t.Errorf("Result.Duration = %v, want what fitted (about 2 s)", res.Duration)
	}

	p := recordtest.FFprobe(t, path)
	if p.Count("audio", "opus") != 1 || p.Count("video", "vp8") != 1 {
		t.Errorf("streams %+v, want one Opus and one VP8", p.Streams)
	}
	if d := p.Duration(t); d < res.Duration*8/10 || d > res.Duration+100*time.Millisecond {
		t.Errorf("ffprobe duration %v, want about %v", d, res.Duration)
	}
	x := recordtest.DecodeAudio(t, path)
	if got := time.Duration(len(x)) * time.Second / 48000; got < 500*time.Millisecond {
		t.Fatalf("decoded %v of audio", got)
	}
	checkTones(t, x, 0.3, 0.5, []float64{440}, []float64{660})
}

func TestRecordCrashLeavesPlayableFile(t *testing.T) {
	recordtest.NeedFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "call.webm")
	share := newScreen(t, videoTrackInfo("carol", "screen", webrtc.MimeTypeVP8), 0, time.Hour)
	r, clock, t0 := start(t, path, func(string, string) { share.keyAsked.Store(true) })
	defer r.Stop()
	alice := newTone(t, opusTrack("alice", "mic"), 440, 0, time.Hour, false)
	feed(r, clock, t0, 0, 7*time.Second, alice, share)

	// What a crash now would leave on the disk.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(dir, "crashed.webm")
	if err := os.WriteFile(crashed, b, 0o600); err != nil {
		t.Fatal(err)
	}
	p := recordtest.FFprobe(t, crashed)
	if p.Count("audio", "opus") != 1 || p.Count("video", "vp8") != 1 {
		t.Errorf("streams %+v, want one Opus and one VP8", p.Streams)
	}
	// The Duration is brought up to date every 5 s.
	if d := p.Duration(t); d < 5*time.Second || d > 7*time.Second {
		t.Errorf("ffprobe duration %v, want 5-7 s", d)
	}
	x := recordtest.DecodeAudio(t, crashed)
	if got := time.Duration(len(x)) * time.Second / 48000; got < 6*time.Second {
		t.Errorf("decoded %v of audio, want the 6.9 s mixed so far", got)
	}
	checkTones(t, x, 0.3, 6.5, []float64{440}, []float64{1000})
}

func TestRecordVideoFollowsSpeakerThenScreenShare(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	alice := newScreen(t, videoTrackInfo("alice", "camera", webrtc.MimeTypeVP8), 0, time.Hour)
	bob := newScreen(t, videoTrackInfo("bob", "camera", webrtc.MimeTypeVP8), 0, time.Hour)
	share := newScreen(t, videoTrackInfo("carol", "screen", webrtc.MimeTypeVP8), 4*time.Second, time.Hour)
	keys := &keyframeLog{hooks: map[string]func(){
		"alice_camera": func() { alice.keyAsked.Store(true) },
		"bob_camera":   func() { bob.keyAsked.Store(true) },
		"carol_screen": func() { share.keyAsked.Store(true) },
	}}
	r, clock, t0 := start(t, filepath.Join(dir, "call.webm"), keys.request)
	aliceMic := newTone(t, opusTrack("alice", "mic"), 440, 0, time.Hour, false)
	aliceMic.silentFrom = 2 * time.Second
	bobMic := newTone(t, opusTrack("bob", "mic"), 660, 2*time.Second, time.Hour, false)

	feed(r, clock, t0, 0, 1500*time.Millisecond, aliceMic, bobMic, alice, bob, share)
	if got := recording(r); got != "alice_camera" {
		t.Errorf("at 1.5 s recording %v, want alice's camera", got)
	}
	feed(r, clock, t0, 1500*time.Millisecond, 3800*time.Millisecond, aliceMic, bobMic, alice, bob, share)
	if got := recording(r); got != "bob_camera" {
		t.Errorf("at 3.8 s recording %v, want bob's camera (he speaks from 2 s)", got)
	}
	feed(r, clock, t0, 3800*time.Millisecond, 5500*time.Millisecond, aliceMic, bobMic, alice, bob, share)
	if got := recording(r); got != "carol_screen" {
		t.Errorf("at 5.5 s recording %v, want the screen share (from 4 s)", got)
	}
	res, err := r.Stop()
	if err != nil || res.Err != nil {
		t.Fatalf("stop: %v, recording: %v", err, res.Err)
	}
	want := []string{"alice_camera", "bob_camera", "carol_screen"}
	var firsts []string
	for _, id := range keys.list() {
		if !slices.Contains(firsts, id) {
			firsts = append(firsts, id)
		}
	}
	if !slices.Equal(firsts, want) {
		t.Errorf("keyframes asked of %v, want %v in that order", firsts, want)
	}
}

// recording names the video track being recorded.
func recording(r *Recorder) string {
	got := "no video"
	r.inspect(func() {
		if r.cur != nil {
			got = r.cur.info.ID
		}
	})
	return got
}

// containsCues reports whether a WebM file has its Cues: the element's ID
// followed by its size and a CuePoint (the SeekHead names the ID too).
func containsCues(b []byte) bool {
	id := []byte{0x1C, 0x53, 0xBB, 0x6B}
	for i := bytes.Index(b, id); i >= 0 && i+5 < len(b); {
		size := bits.LeadingZeros8(b[i+4]) + 1
		if j := i + 4 + size; j < len(b) && b[j] == 0xBB {
			return true
		}
		k := bytes.Index(b[i+1:], id)
		if k < 0 {
			return false
		}
		i += 1 + k
	}
	return false
}

func TestRecordOnTheRealClock(t *testing.T) {
	recordtest.NeedFFmpeg(t)
	t.Parallel()
	path := filepath.Join(t.TempDir(), "call.webm")
	const length = 1500 * time.Millisecond
	packets := newTone(t, opusTrack("alice", "mic"), 440, 0, time.Hour, false).until(length)
	before := time.Now()
	r, err := New(Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	for _, d := range packets {
		time.Sleep(time.Until(begin.Add(d.at)))
		r.WriteRTP(d.track, d.pkt)
	}
	time.Sleep(time.Until(begin.Add(length)))
	res, err := r.Stop()
	elapsed := time.Since(before)
	if err != nil || res.Err != nil {
		t.Fatalf("stop: %v, recording: %v", err, res.Err)
	}
	// From New to Stop, to within a slot.
	if res.Duration > elapsed || res.Duration < length-slotDur {
		t.Errorf("recorded %v in %v", res.Duration, elapsed)
	}
	p := recordtest.FFprobe(t, path)
	checkDuration(t, p, res.Duration)
	checkTones(t, recordtest.DecodeAudio(t, path), 0.2, 1.4, []float64{440}, []float64{660})
}
