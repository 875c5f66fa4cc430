package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"calls/server/record"
	"calls/server/record/recordtest"
	"calls/store"
)

func TestCallRecordingPostedInThread(t *testing.T) {
	f := newCallFixture(t)
	fc := &fakeClock{now: time.Now()}
	f.ts.clock = fc
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann, ben := f.peer(t, "ann"), f.peer(t, "ben")
	ann.join(f.channel, true, true) // host, with a camera
	ann.publish(ctx)
	ben.join(f.channel, true, false)
	ben.publish(ctx)
	waitFor(t, "ben hears ann", 10*time.Second, ben.heard(ann.pid, "mic", 6))

	ben.send("call_record", map[string]bool{"on": true})
	if e := ben.event("error"); !strings.Contains(string(e.Data), "not_host") {
		t.Fatalf("non-host recording: %s", e.Data)
	}
	ann.send("call_record", map[string]bool{"on": true})
	if ev := ben.event("call_recording"); !strings.Contains(string(ev.Data), `"on":true`) {
		t.Fatalf("recording indicator: %s", ev.Data)
	}
	// A late joiner sees the indicator too.
	dan := f.peer(t, "dan")
	if j := dan.join(f.channel, false, false); !strings.Contains(string(j.Data), `"recording":{"on":true`) {
		t.Fatalf("late joiner: %s", j.Data)
	}
	time.Sleep(2 * time.Second)
	// The reminder comes 10 min before the 60 min limit; the limit stops it.
	fc.Advance(50 * time.Minute)
	if ev := ann.event("call_recording_alert"); !strings.Contains(string(ev.Data), "reminder") {
		t.Fatalf("reminder: %s", ev.Data)
	}
	fc.Advance(10 * time.Minute)
	if ev := ben.event("call_recording"); !strings.Contains(string(ev.Data), "limit") {
		t.Fatalf("stop at the limit: %s", ev.Data)
	}

	// The file is posted in the call's thread, and plays as WebM.
	var call callView
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["ben"], nil, &call, 200)
	var thread struct{ Posts []*postView }
	waitFor(t, "recording posted", 10*time.Second, func() bool {
		f.ts.mustDo("GET", "/api/v1/posts/"+call.PostID+"/thread", f.tokens["dan"], nil, &thread, 200)
		return len(thread.Posts) > 0
	})
	p := thread.Posts[0]
	if p.Type != "call_recording" || len(p.Files) != 1 || p.Files[0].ContentType != "video/webm" {
		t.Fatalf("recording post %+v", p)
	}
	resp := f.ts.request("GET", "/api/v1/files/"+p.Files[0].ID, f.tokens["dan"], nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) < 1000 || resp.Header.Get("Content-Type") != "video/webm" {
		t.Fatalf("recording download: %d, %d bytes, %s", resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
	}
	if _, err := exec.LookPath("ffprobe"); err == nil {
		file := filepath.Join(t.TempDir(), "r.webm")
		os.WriteFile(file, body, 0o600)
		out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", file).Output()
		if err != nil {
			t.Fatalf("ffprobe: %v", err)
		}
		var probe struct {
			Streams []struct {
				CodecName string `json:"codec_name"`
			}
			Format struct {
				FormatName string `json:"format_name"`
			}
		}
		json.Unmarshal(out, &probe)
		codecs := ""
		for _, s := range probe.Streams {
			codecs += s.CodecName + " "
		}
		if !strings.Contains(probe.Format.FormatName, "webm") || !strings.Contains(codecs, "opus") {
			t.Fatalf("ffprobe: format %s, streams %s", probe.Format.FormatName, codecs)
		}
		t.Logf("recording: %s with %s", probe.Format.FormatName, codecs)
	}
	// The host can start a new one at once.
	ann.send("call_record", map[string]bool{"on": true})
	for !strings.Contains(string(ben.event("call_recording").Data), `"on":true`) {
	}

	// The conference log lists both recordings once the call ends (which
	// stops the second).
	ann.send("call_end", nil)
	var log struct{ Calls []*store.Call }
	waitFor(t, "two recordings in the log", 10*time.Second, func() bool {
		f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/calls", f.tokens["ben"], nil, &log, 200)
		return len(log.Calls) == 1 && len(log.Calls[0].Recordings) == 2 && log.Calls[0].Recordings[1].StoppedAt != nil
	})
	first := log.Calls[0].Recordings[0]
	if first.FileID != p.Files[0].ID || first.StartedBy != f.users["ann"].ID || first.DurationMS <= 0 || first.Size != int64(len(body)) {
		t.Fatalf("first recording row %+v (file %s, %d bytes)", first, p.Files[0].ID, len(body))
	}
	// The post says how long and how big; the file is named by the room
	// and the start time.
	dur := time.Duration(first.DurationMS) * time.Millisecond
	if first.DurationMS < 1500 || first.DurationMS > 10_000 {
		t.Fatalf("recorded %v, want about the 2 s between start and the limit", dur)
	}
	if want := fmt.Sprintf("Recording, %s, %.1f MB", dur.Round(time.Second), float64(len(body))/1e6); p.Message != want ||
		!regexp.MustCompile(`^Recording, [0-9]+s, [0-9]+\.[0-9] MB$`).MatchString(p.Message) {
		t.Fatalf("recording post says %q, want %q", p.Message, want)
	}
	var ch store.Channel
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel, f.tokens["dan"], nil, &ch, 200)
	if want := "Recording " + ch.DisplayName + " " + first.StartedAt.Format("2006-01-02 15-04") + ".webm"; p.Files[0].Name != want || ch.DisplayName == "" {
		t.Fatalf("recording file named %q, want %q", p.Files[0].Name, want)
	}

	// A recording a crash cut short is posted at the next start from what
	// it had written, and its row is closed.
	ctx = context.Background()
	crashed := &store.Recording{ID: store.NewID(), CallID: call.ID, StartedBy: f.users["ann"].ID, StartedAt: time.Now().UTC()}
	if err := f.ts.store.RecordingStarted(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	path := recordingPath(f.ts.cfg.DataDir, call.ID, crashed.ID)
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.ts.closeCrashedRecordings(ctx); err != nil {
		t.Fatal(err)
	}
	rs, err := f.ts.store.CallRecordings(ctx, call.ID)
	if err != nil || len(rs) != 3 || rs[2].StoppedAt == nil || rs[2].FileID == "" || !strings.Contains(rs[2].Error, "server stopped") {
		t.Fatalf("crashed recording row: %+v %v", rs[len(rs)-1], err)
	}
	f.ts.mustDo("GET", "/api/v1/posts/"+call.PostID+"/thread", f.tokens["dan"], nil, &thread, 200)
	last := thread.Posts[len(thread.Posts)-1]
	if last.Type != "call_recording" || !strings.Contains(last.Message, "cut short") || len(last.Files) != 1 || last.Files[0].ID != rs[2].FileID {
		t.Fatalf("crashed recording post %+v", last)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("crash copy left in tmp: %v", err)
	}
}

// unpostedRecording makes a call with a recording as stopRecording leaves
// it when the post fails: a closed row with what was recorded but no
// file, and the file kept in tmp (two hours old).
func unpostedRecording(t *testing.T) (f *callFixture, call callView, path string, content []byte) {
	t.Helper()
	f = newCallFixture(t)
	ann := f.peer(t, "ann")
	if j := ann.join(f.channel, true, false); j.Type != "call_joined" {
		t.Fatalf("join: %s", j.Data)
	}
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["ann"], nil, &call, 200)
	ctx := context.Background()
	started := time.Now().Add(-3 * time.Hour).UTC()
	rec := &store.Recording{ID: store.NewID(), CallID: call.ID, StartedBy: f.users["ann"].ID, StartedAt: started}
	if err := f.ts.store.RecordingStarted(ctx, rec); err != nil {
		t.Fatal(err)
	}
	content = append([]byte{0x1a, 0x45, 0xdf, 0xa3}, []byte(strings.Repeat("what fitted on the disk ", 2000))...)
	if err := f.ts.store.RecordingStopped(ctx, rec.ID, started.Add(75*time.Second), "", 75*time.Second, int64(len(content)),
		"write: no space left on device"); err != nil {
		t.Fatal(err)
	}
	path = recordingPath(f.ts.cfg.DataDir, call.ID, rec.ID)
	if err := os.WriteFile(path, content, 0o640); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(path, old, old)
	return f, call, path, content
}

// A recording taken into the file store whose post then fails (the
// database refuses the write) is put back and posted at the next start.
func TestRecordingWhosePostFailsIsPostedLater(t *testing.T) {
	f, call, path, content := unpostedRecording(t)
	ctx := context.Background()
	// A second connection to the server's own database file adds a
	// trigger that refuses recording posts, as a failing disk would.
	db, err := sql.Open("sqlite", filepath.Join(f.ts.cfg.DataDir, "calls.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER refuse_recording_posts BEFORE INSERT ON posts WHEN NEW.type = 'call_recording'
		BEGIN SELECT RAISE(ABORT, 'injected: the disk failed'); END`); err != nil {
		t.Fatal(err)
	}
	if err := f.ts.closeCrashedRecordings(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("the recording is not kept after its post failed: %d bytes, %v", len(got), err)
	}
	rs, _ := f.ts.store.CallRecordings(ctx, call.ID)
	if len(rs) != 1 || rs[0].FileID != "" {
		t.Fatalf("row after the failed post: %+v", rs)
	}

	if _, err := db.Exec(`DROP TRIGGER refuse_recording_posts`); err != nil {
		t.Fatal(err)
	}
	if err := f.ts.closeCrashedRecordings(ctx); err != nil {
		t.Fatal(err)
	}
	rs, _ = f.ts.store.CallRecordings(ctx, call.ID)
	if len(rs) != 1 || rs[0].FileID == "" {
		t.Fatalf("row after the retry: %+v", rs)
	}
	p, body := recordingPosted(t, f, call.PostID, 1)
	if !bytes.Equal(body, content) || p.Files[0].ID != rs[0].FileID {
		t.Fatalf("posted %d bytes as file %s, want the %d kept, file %s", len(body), p.Files[0].ID, len(content), rs[0].FileID)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("posted recording left in tmp: %v", err)
	}
}

// A recording whose file could not be stored when it stopped (a full disk)
// keeps its file, however old, and is posted at the next start that can
// store it.
func TestUnpostedRecordingIsKeptAndPostedLater(t *testing.T) {
	f, call, path, content := unpostedRecording(t)
	ctx := context.Background()

	// The store still cannot take it: its blob directory is broken.
	sum := sha256.Sum256(content)
	sha := hex.EncodeToString(sum[:])
	blobDir := filepath.Join(f.ts.cfg.DataDir, "files", sha[:2])
	if err := os.Rename(blobDir, blobDir+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blobDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.ts.closeCrashedRecordings(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the unposted recording was deleted at start: %v", err)
	}
	rs, _ := f.ts.store.CallRecordings(ctx, call.ID)
	if len(rs) != 1 || rs[0].FileID != "" {
		t.Fatalf("row after a failed retry: %+v", rs)
	}

	// Next start, the store works again: it is posted in the call's thread.
	os.Remove(blobDir)
	if err := os.Rename(blobDir+".away", blobDir); err != nil {
		t.Fatal(err)
	}
	if err := f.ts.closeCrashedRecordings(ctx); err != nil {
		t.Fatal(err)
	}
	rs, _ = f.ts.store.CallRecordings(ctx, call.ID)
	if len(rs) != 1 || rs[0].FileID == "" || !strings.Contains(rs[0].Error, "no space left") || !strings.Contains(rs[0].Error, "posted at the next start") {
		t.Fatalf("row after the retry: %+v", rs[0])
	}
	var thread struct{ Posts []*postView }
	f.ts.mustDo("GET", "/api/v1/posts/"+call.PostID+"/thread", f.tokens["ben"], nil, &thread, 200)
	if len(thread.Posts) != 1 {
		t.Fatalf("thread has %d posts, want the recording", len(thread.Posts))
	}
	p := thread.Posts[0]
	if p.Type != "call_recording" || p.Message != "Recording, 1m15s, 0.0 MB" || len(p.Files) != 1 || p.Files[0].ID != rs[0].FileID {
		t.Fatalf("recording post %+v (message %q)", p, p.Message)
	}
	resp := f.ts.request("GET", "/api/v1/files/"+p.Files[0].ID, f.tokens["ben"], nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, content) {
		t.Fatalf("posted file: %d bytes, want the %d kept", len(body), len(content))
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("posted recording left in tmp: %v", err)
	}
}

// recordingPosted waits for the call's thread to hold n recordings and
// returns the last, with its file's bytes.
func recordingPosted(t *testing.T, f *callFixture, rootID string, n int) (*postView, []byte) {
	t.Helper()
	var thread struct{ Posts []*postView }
	var recs []*postView
	waitFor(t, "recording posted", 15*time.Second, func() bool {
		f.ts.mustDo("GET", "/api/v1/posts/"+rootID+"/thread", f.tokens["dan"], nil, &thread, 200)
		recs = recs[:0]
		for _, p := range thread.Posts {
			if p.Type == "call_recording" {
				recs = append(recs, p)
			}
		}
		return len(recs) >= n
	})
	p := recs[n-1]
	if len(p.Files) != 1 || p.Files[0].ContentType != "video/webm" {
		t.Fatalf("recording post %+v", p)
	}
	resp := f.ts.request("GET", "/api/v1/files/"+p.Files[0].ID, f.tokens["dan"], nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || int64(len(body)) != p.Files[0].Size {
		t.Fatalf("recording download: %d, %d bytes of %d", resp.StatusCode, len(body), p.Files[0].Size)
	}
	return p, body
}

// A recording that fails (the disk fills up, a screen share comes in a
// codec the file cannot carry) tells the host at once, and what was
// recorded is kept and posted in the call's thread when it stops.
func TestCallRecordingProblemTellsHostAndPostsWhatWasRecorded(t *testing.T) {
	recordtest.NeedFFmpeg(t)
	tests := []struct {
		name       string
		free       int64 // bytes the disk has for the recording; 0: plenty
		screenMime string
		alert      string // in the host's alerts
		problem    string // in the recording's row
		video      int    // VP8 streams in the file
		cut        bool   // the file ends before the recording does
	}{
		// The recorder keeps 64 KiB for the file's index; past that the
		// VP8 share fills the rest in about a second.
		{"disk full", 64<<10 + 32<<10, webrtc.MimeTypeVP8, "disk is full", "no space left on device", 1, true},
		{"H.264 screen share", 0, webrtc.MimeTypeH264, "codec not supported", "codec not supported", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCallFixture(t)
			if tt.free > 0 {
				f.ts.recordingFile = func(path string) (record.File, error) { return recordtest.CreateFullDisk(path, tt.free) }
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ann, ben := f.peer(t, "ann"), f.peer(t, "ben")
			ann.tone, ann.screenMime = recordtest.NewTone(t, 440), tt.screenMime
			if j := ann.join(f.channel, true, false); j.Type != "call_joined" { // the host
				t.Fatalf("ann join: %s", j.Data)
			}
			ann.publish(ctx)
			ben.tone = recordtest.NewTone(t, 660)
			ben.join(f.channel, true, false)
			ben.publish(ctx)
			waitFor(t, "ben sees ann's screen", 10*time.Second, ben.heard(ann.pid, "screen", 6))

			started := time.Now()
			ann.send("call_record", map[string]bool{"on": true})
			ann.event("call_recording")
			alert := ann.event("call_recording_alert")
			var a struct{ Kind, Text string }
			json.Unmarshal(alert.Data, &a)
			if a.Kind != "problem" || !strings.Contains(a.Text, tt.alert) || !strings.Contains(a.Text, "kept") ||
				strings.Contains(a.Text, f.ts.cfg.DataDir) {
				t.Fatalf("alert while recording: %s", alert.Data)
			}
			t.Logf("host told after %v: %s", time.Since(started).Round(time.Millisecond), a.Text)
			time.Sleep(time.Second)
			ann.send("call_record", map[string]bool{"on": false})
			for !strings.Contains(string(ben.event("call_recording").Data), `"on":false`) {
			}
			recorded := time.Since(started)
			if alert := ann.event("call_recording_alert"); !strings.Contains(string(alert.Data), "saved with a problem") ||
				!strings.Contains(string(alert.Data), tt.alert) {
				t.Fatalf("alert at the stop: %s", alert.Data)
			}

			// What was recorded is in the thread, for everyone in the room.
			var call callView
			f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["ben"], nil, &call, 200)
			p, body := recordingPosted(t, f, call.PostID, 1)
			file := filepath.Join(t.TempDir(), "r.webm")
			os.WriteFile(file, body, 0o600)
			probe := recordtest.FFprobe(t, file)
			if !strings.Contains(probe.Format.FormatName, "webm") || probe.Count("audio", "opus") != 1 || probe.Count("video", "vp8") != tt.video || len(probe.Streams) != 1+tt.video {
				t.Fatalf("posted file: %s with %+v", probe.Format.FormatName, probe.Streams)
			}
			d := probe.Duration(t)
			if d < 500*time.Millisecond || d > recorded {
				t.Fatalf("posted file plays %v of the %v recorded", d, recorded)
			}
			if tt.cut != (d < recorded-time.Second) {
				t.Fatalf("posted file plays %v of the %v recorded (cut short by the disk: %v)", d, recorded, tt.cut)
			}
			// The voices are in it (a loaded machine may lose some of the
			// real-time audio; most of it must be there).
			x := recordtest.DecodeAudio(t, file)
			for _, hz := range []float64{440, 660} {
				if h := recordtest.Heard(x, hz, 0.2, d.Seconds()); h < 0.5 {
					t.Errorf("%.0f Hz heard in %.0f%% of the posted file", hz, 100*h)
				}
			}
			rs, _ := f.ts.store.CallRecordings(ctx, call.ID)
			if len(rs) != 1 || rs[0].FileID != p.Files[0].ID || !strings.Contains(rs[0].Error, tt.problem) {
				t.Fatalf("recording row %+v", rs)
			}
			t.Logf("posted %q: %v of %v recorded", p.Message, d.Round(10*time.Millisecond), recorded.Round(10*time.Millisecond))
		})
	}
}

// Two people speak known tones through real pion peers and the SFU, one
// also shares a VP8 screen; the posted recording is one WebM file with one
// Opus and one VP8 stream, as long as the recording ran, and both voices
// are heard in it.
func TestCallRecordingOfTonesAndScreenShare(t *testing.T) {
	recordtest.NeedFFmpeg(t)
	f := newCallFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann, ben := f.peer(t, "ann"), f.peer(t, "ben")
	ann.tone, ann.screenMime = recordtest.NewTone(t, 440), webrtc.MimeTypeVP8
	if j := ann.join(f.channel, true, false); j.Type != "call_joined" { // the host
		t.Fatalf("ann join: %s", j.Data)
	}
	ann.publish(ctx)
	ben.tone = recordtest.NewTone(t, 660)
	if j := ben.join(f.channel, true, false); j.Type != "call_joined" {
		t.Fatalf("ben join: %s", j.Data)
	}
	ben.publish(ctx)
	waitFor(t, "both hear each other and ben sees the screen", 10*time.Second, func() bool {
		a, _ := ben.packetsFrom(ann.pid, "mic")
		s, _ := ben.packetsFrom(ann.pid, "screen")
		b, _ := ann.packetsFrom(ben.pid, "mic")
		return a > 10 && s > 10 && b > 10
	})

	// The time recorded as the clients see it: at most from asking to
	// start until told it stopped, at least from told it started until
	// asking to stop.
	asked := time.Now()
	ann.send("call_record", map[string]bool{"on": true})
	for !strings.Contains(string(ann.event("call_recording").Data), `"on":true`) {
	}
	told := time.Now()
	time.Sleep(4 * time.Second)
	stopAsked := time.Now()
	ann.send("call_record", map[string]bool{"on": false})
	for !strings.Contains(string(ben.event("call_recording").Data), `"on":false`) {
	}
	atMost, atLeast := time.Since(asked), stopAsked.Sub(told)

	var call callView
	f.ts.mustDo("GET", "/api/v1/channels/"+f.channel+"/call", f.tokens["ben"], nil, &call, 200)
	_, body := recordingPosted(t, f, call.PostID, 1)
	rs, err := f.ts.store.CallRecordings(ctx, call.ID)
	if err != nil || len(rs) != 1 || rs[0].Error != "" {
		t.Fatalf("recording row %+v %v", rs, err)
	}
	recorded := time.Duration(rs[0].DurationMS) * time.Millisecond
	if recorded < atLeast-50*time.Millisecond || recorded > atMost {
		t.Fatalf("the server recorded %v; the clients saw it run between %v and %v", recorded, atLeast, atMost)
	}

	file := filepath.Join(t.TempDir(), "call.webm")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	p := recordtest.FFprobe(t, file)
	if !strings.Contains(p.Format.FormatName, "webm") || len(p.Streams) != 2 || p.Count("audio", "opus") != 1 || p.Count("video", "vp8") != 1 {
		t.Fatalf("ffprobe: %s with %+v, want WebM with one Opus and one VP8 stream", p.Format.FormatName, p.Streams)
	}
	for _, s := range p.Streams {
		if s.CodecType == "video" && (s.Width != 320 || s.Height != 240 || s.Frames == "" || s.Frames == "0") {
			t.Errorf("video stream %+v, want ann's 320x240 screen", s)
		}
	}
	d := p.Duration(t)
	if d < recorded*95/100 || d > recorded*105/100 {
		t.Errorf("ffprobe duration %v, want the %v recorded ± 5%%", d, recorded)
	}

	x := recordtest.DecodeAudio(t, file)
	if got := time.Duration(len(x)) * time.Second / 48000; got < recorded*95/100 {
		t.Errorf("ffmpeg decoded %v of audio, want %v", got, recorded)
	}
	// Both voices, mixed: where the file has sound, both tones are in it.
	// A loaded machine (this test under -race on a shared CI box) can
	// starve the real-time path, which the recorder fills with silence or
	// with one voice's loss concealment for a moment; most of the
	// recording must still have sound, and most of that both voices. On an
	// idle machine every window has both.
	from, to := 0.3, recorded.Seconds()-0.1
	windows, sounding, both := 0, 0, 0
	for w := from; w+0.1 <= to; w += 0.1 {
		windows++
		var energy float64
		for _, v := range x[int(w*48000):int((w+0.1)*48000)] {
			energy += v * v
		}
		if math.Sqrt(energy/4800) < 0.05 { // the two tones give 0.3
			continue
		}
		sounding++
		if recordtest.Amplitude(x, 440, w, w+0.1) >= 0.1 && recordtest.Amplitude(x, 660, w, w+0.1) >= 0.1 {
			both++
		}
	}
	t.Logf("of %d windows of 100 ms, %d have sound, %d of them both tones (440 Hz: %.3f, 660 Hz: %.3f over all of it)", windows, sounding, both,
		recordtest.Amplitude(x, 440, from, to), recordtest.Amplitude(x, 660, from, to))
	if sounding < windows/2 || both < sounding*3/4 {
		t.Errorf("of %d windows of 100 ms, %d have sound and %d of them both tones; want most with sound and most of those with both", windows, sounding, both)
	}
	for _, hz := range []float64{550, 1000} {
		if a := recordtest.Amplitude(x, hz, from, to); a > 0.02 {
			t.Errorf("%.0f Hz, never sent, has amplitude %.3f", hz, a)
		}
	}
	t.Logf("recorded %v (clients: %v to %v); file %v, %d bytes, %s frames of video", recorded, atLeast.Round(time.Millisecond),
		atMost.Round(time.Millisecond), d, len(body), p.Streams[1].Frames)
}
