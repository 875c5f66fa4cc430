// Package record records a call into one WebM file, inside the server and
// in pure Go.
//
// A Recorder is the SFU room's tap (sfu.Tap). It copies each forwarded RTP
// packet into a bounded queue (dropping, and counting, when the queue is
// full, so that the SFU never waits) and does everything else on its own
// goroutine:
//
//   - Audio: every participant's Opus track is decoded (github.com/thesyncim/gopus)
//     through a jitter buffer, placed on the recording's timeline by its RTP
//     timestamps, mixed every 20 ms of the recorder's clock with what each
//     track has for that slot, and re-encoded as one mono Opus stream. Loss
//     is concealed with in-band FEC or the decoder's PLC, then silence;
//     packets that carry silence (a muted microphone, DTX) are not decoded.
//   - Video: VP8 passed through, never decoded: the screen share when there
//     is one, else the active speaker's camera, else none. A source starts
//     at a keyframe, which is asked for on every switch.
//   - File: github.com/at-wat/ebml-go's SimpleBlock writer: header, space
//     kept for the Cues, then clusters appended as the call goes (flushed
//     every 20 ms, synced every 5 s); Cues and Duration are written on Stop.
//
// The mix runs playoutDelay behind the clock, so packets that arrive up to
// that late, or out of order, still make their slot.
//
// If the process dies, the file keeps what reached it, which plays from the
// start (ebml-go writes clusters of unknown size, which need no closing).
// It lacks the Cues, so players seek by scanning (or remux it:
// ffmpeg -i in.webm -c copy out.webm), and its Duration is the one last
// brought up to date, at most 5 s old. If the disk fills up, the recording
// stops writing, Err says so, and Stop still finishes the file.
package record

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
	"github.com/thesyncim/gopus"

	"calls/server/sfu"
)

const (
	slotDur = 20 * time.Millisecond // the mix's step, one Opus frame
	// playoutDelay is how far behind the clock the mix runs: the jitter
	// buffer every track gets.
	playoutDelay = 100 * time.Millisecond

	bitrate    = 32000 // bit/s of the mixed Opus stream
	complexity = 5     // Opus encoder complexity: a mix of voices needs little more

	audioQueue = 512  // packets: 8 speakers for over a second
	videoQueue = 1024 // packets: a large keyframe in flight, and frames being put together

	durationEvery = 5 * time.Second // how often the file's Duration is brought up to date, and synced
)

// ErrUnsupportedCodec is reported (see Recorder.Err) for a track the file
// cannot carry: video other than VP8, audio other than Opus.
var ErrUnsupportedCodec = errors.New("codec not supported by the recording")

// Config configures a Recorder.
type Config struct {
	// Path is the .webm file to write. It must not exist; it is created and
	// written as the recording goes.
	Path string
	// RequestKeyframe asks a participant for a keyframe of one of their
	// video sources (sfu.Room.RequestKeyframe). It is called on the
	// recorder's goroutine and must not block for long.
	RequestKeyframe func(participantID, source string)
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Logger gets the recording's events; slog.Default() if nil.
	Logger *slog.Logger

	// Create creates the file at Path; if nil, it is created with mode
	// 0640 and must not exist. Tests put a full disk here.
	Create func(path string) (File, error)
}

// Result describes a finished recording.
type Result struct {
	Path     string
	Duration time.Duration // of the recording: the time it covers
	Size     int64         // bytes in the file
	// Err is what went wrong while recording (see Recorder.Err); the file
	// holds what was recorded before and is readable.
	Err error
	// Dropped counts packets lost because the recorder fell behind.
	Dropped uint64
}

var _ sfu.Tap = (*Recorder)(nil)

// Recorder records one call. It implements sfu.Tap.
type Recorder struct {
	cfg Config
	now func() time.Time
	t0  time.Time
	log *slog.Logger

	// Shared with the SFU's goroutines.
	aq, vq            *queue
	dropped           atomic.Uint64
	stopped           atomic.Bool
	wantCur, wantPend atomic.Pointer[string] // video track IDs passed on in full

	stopc  chan struct{}
	syncc  chan func() // tests: run a step now, then the function
	done   chan struct{}
	fsyncc chan struct{}
	fsyncd chan struct{}
	once   sync.Once

	mu     sync.Mutex
	errs   []error
	result Result
	endErr error

	// Owned by the recorder's goroutine.
	f         File
	out       *output
	mux       *muxer
	enc       *gopus.Encoder
	mix       []float32
	clip      []float32
	encBuf    [2][]byte
	slot      int64 // the next slot to mix
	written   int64 // slots in the file
	synced    int64 // slot at the last Duration update
	failed    bool  // the file can take no more
	audio     map[string]*audioTrack
	audioList []*audioTrack
	badAudio  map[string]bool
	video     map[string]*videoTrack
	videoList []*videoTrack
	cur, pend *videoTrack // the video recorded, the one being switched to
	frames    frameQueue
	framePool framePool

	speaker, candidate string
	candidateSince     time.Duration
}

// New creates the file and starts recording.
func New(cfg Config) (*Recorder, error) {
	if cfg.Path == "" {
		return nil, errors.New("record: no file path")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Create == nil {
		cfg.Create = func(path string) (File, error) {
			return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
		}
	}
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: sampleRate, Channels: channels, Application: gopus.ApplicationAudio})
	if err != nil {
		return nil, fmt.Errorf("record: opus encoder: %w", err)
	}
	if err := enc.SetBitrate(bitrate); err != nil {
		return nil, fmt.Errorf("record: opus bitrate: %w", err)
	}
	if err := enc.SetComplexity(complexity); err != nil {
		return nil, fmt.Errorf("record: opus complexity: %w", err)
	}
	f, err := cfg.Create(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	r := &Recorder{
		cfg:      cfg,
		now:      cfg.Now,
		t0:       cfg.Now(),
		log:      cfg.Logger.With(slog.String("recording", cfg.Path)),
		aq:       newQueue(audioQueue),
		vq:       newQueue(videoQueue),
		stopc:    make(chan struct{}),
		syncc:    make(chan func()),
		done:     make(chan struct{}),
		fsyncc:   make(chan struct{}, 1),
		fsyncd:   make(chan struct{}),
		f:        f,
		out:      newOutput(f),
		enc:      enc,
		mix:      make([]float32, frameSamples*channels),
		clip:     make([]float32, channels),
		encBuf:   [2][]byte{make([]byte, maxPayload), make([]byte, maxPayload)},
		audio:    map[string]*audioTrack{},
		badAudio: map[string]bool{},
		video:    map[string]*videoTrack{},
	}
	r.mux, err = newMuxer(r.out, enc.Lookahead(), r.t0)
	if err == nil {
		r.out.flush()
		err = r.out.failure()
		if err != nil {
			r.mux.audio.Close()
			r.mux.video.Close()
		}
	}
	if err != nil {
		f.Close()
		os.Remove(cfg.Path)
		return nil, fmt.Errorf("record: write %s: %w", cfg.Path, err)
	}
	go r.run()
	go r.fsync()
	r.log.Info("recording started")
	return r, nil
}

// WriteRTP takes a packet the SFU forwards (sfu.Tap). It copies the packet
// and returns at once; the video tracks not being recorded are only
// watched, through the last packet of each frame.
func (r *Recorder) WriteRTP(track sfu.TrackInfo, pkt *rtp.Packet) {
	if r.stopped.Load() {
		return
	}
	q := r.aq
	if !isAudio(track.Codec.MimeType) {
		if !pkt.Marker && !r.wanted(track.ID) {
			return
		}
		q = r.vq
	}
	if !q.push(track, r.now().Sub(r.t0), pkt) {
		r.dropped.Add(1)
	}
}

func isAudio(mime string) bool {
	return len(mime) > 6 && strings.EqualFold(mime[:6], "audio/")
}

// Err reports what has gone wrong so far, in the order it happened: the
// file could not be written (the disk is full: errors.Is(err,
// syscall.ENOSPC)), a source uses a codec the file cannot carry
// (ErrUnsupportedCodec). Nil while all is well. The recording goes on
// without what failed; after a write error the file keeps what it had.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

func (r *Recorder) problem(err error) {
	r.log.Warn("recording: " + err.Error())
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

// Stop ends the recording: it mixes what has arrived, writes the Cues and
// the Duration, and closes the file. The error is about finishing the file
// (it may then lack its Cues); what went wrong while recording is in
// Result.Err. Stop may be called more than once.
func (r *Recorder) Stop() (Result, error) {
	r.once.Do(func() {
		r.stopped.Store(true)
		close(r.stopc)
	})
	<-r.done
	return r.result, r.endErr
}

func (r *Recorder) run() {
	defer close(r.done)
	tick := time.NewTicker(slotDur)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			r.step(false)
		case f := <-r.syncc:
			r.step(false)
			f()
		case <-r.stopc:
			r.step(true)
			r.finish()
			return
		}
	}
}

// sync runs a step now and returns after it (tests drive the clock).
func (r *Recorder) sync() { r.inspect(func() {}) }

// inspect runs a step now, then f, on the recorder's goroutine (tests).
func (r *Recorder) inspect(f func()) {
	c := make(chan struct{})
	select {
	case r.syncc <- func() { f(); close(c) }:
		<-c
	case <-r.done:
	}
}

// step takes the packets that have arrived and mixes the slots that are
// due: those playoutDelay old, or all of them at the end.
func (r *Recorder) step(final bool) {
	now := r.now().Sub(r.t0)
	r.drain()
	for _, v := range [...]*videoTrack{r.cur, r.pend} {
		if v != nil {
			r.assemble(v, now)
		}
	}
	r.chooseVideo(now)

	due := now
	if !final {
		due -= playoutDelay
	}
	for ; r.slot < int64(due/slotDur); r.slot++ {
		r.mixSlot(r.slot)
	}

	r.out.flush()
	if err := r.out.failure(); err != nil && !r.failed {
		r.failed = true
		r.problem(fmt.Errorf("write recording: %w", err))
	}
	if r.written-r.synced >= int64(durationEvery/slotDur) && !r.failed {
		r.synced = r.written
		if err := r.mux.patchDuration(r.written * int64(slotDur/time.Millisecond)); err != nil {
			r.log.Debug("recording: duration not updated", "err", err)
		}
		select {
		case r.fsyncc <- struct{}{}:
		default:
		}
	}
	r.forget(now)
}

// drain takes every packet queued.
func (r *Recorder) drain() {
	for range audioQueue {
		select {
		case p := <-r.aq.full:
			r.takeAudio(p)
		default:
			goto video
		}
	}
video:
	for range videoQueue {
		select {
		case p := <-r.vq.full:
			r.takeVideo(p)
		default:
			return
		}
	}
}

func (r *Recorder) takeAudio(p *packet) {
	defer r.aq.release(p)
	t := r.audio[p.track.ID]
	if t == nil {
		if r.badAudio[p.track.ID] {
			return
		}
		if !strings.EqualFold(p.track.Codec.MimeType, webrtc.MimeTypeOpus) {
			r.badAudio[p.track.ID] = true
			r.problem(fmt.Errorf("%w: %s of participant %s is %s; recording without it", ErrUnsupportedCodec,
				p.track.Source, p.track.ParticipantID, p.track.Codec.MimeType))
			return
		}
		var err error
		if t, err = newAudioTrack(p.track); err != nil {
			r.badAudio[p.track.ID] = true
			r.problem(err)
			return
		}
		r.audio[p.track.ID] = t
		r.audioList = append(r.audioList, t)
	}
	t.push(p)
}

func (r *Recorder) takeVideo(p *packet) {
	v := r.video[p.track.ID]
	if v == nil {
		v = newVideoTrack(p.track, p.at)
		r.video[p.track.ID] = v
		r.videoList = append(r.videoList, v)
	}
	v.lastSeen = max(v.lastSeen, p.at)
	v.clock.place(p.ts, timelineUnits(p.at, videoRate))
	if !v.vp8 || (v != r.cur && v != r.pend) {
		r.vq.release(p)
		return
	}
	v.asm.push(p, r.vq)
	r.assemble(v, p.at)
}

// mixSlot mixes, encodes and writes slot k, then the video frames up to
// its end.
func (r *Recorder) mixSlot(k int64) {
	if r.failed {
		return
	}
	clear(r.mix)
	for _, t := range r.audioList {
		t.mixInto(k*frameSamples, r.mix)
	}
	gopus.PCMSoftClip(r.mix, channels, r.clip)
	buf := r.encBuf[k&1] // ebml-go may still be reading the other one
	n, err := r.enc.Encode(r.mix, buf)
	if err != nil || n == 0 {
		if err != nil && r.written == 0 {
			r.problem(fmt.Errorf("opus encode: %w", err))
		}
		return
	}
	ms := k * int64(slotDur/time.Millisecond)
	r.mux.writeAudio(ms, buf[:n])
	r.written = k + 1
	r.writeVideoUpTo(ms + int64(slotDur/time.Millisecond))
}

// fsync puts the file on the disk every durationEvery, so that a power
// cut loses at most that much; it runs apart because a sync can take long.
func (r *Recorder) fsync() {
	defer close(r.fsyncd)
	failed := false
	for range r.fsyncc {
		if err := r.f.Sync(); err != nil && !failed {
			failed = true
			r.problem(fmt.Errorf("sync recording: %w", err))
		}
	}
}

// finish closes the file and sets the result.
func (r *Recorder) finish() {
	end := r.written * int64(slotDur/time.Millisecond)
	r.writeVideoUpTo(end)
	for r.frames.peek() != nil {
		r.frames.pop().free()
	}
	var errs []error
	if err := r.mux.close(end); err != nil {
		errs = append(errs, err)
	}
	close(r.fsyncc)
	<-r.fsyncd
	if err := r.out.failure(); err != nil && !r.failed {
		r.failed = true
		r.problem(fmt.Errorf("write recording: %w", err))
	}
	if err := r.f.Sync(); err != nil && !r.failed {
		errs = append(errs, fmt.Errorf("sync: %w", err))
	}
	if err := r.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close: %w", err))
	}
	var endErr error
	if len(errs) > 0 {
		endErr = fmt.Errorf("record: finish %s: %w", r.cfg.Path, errors.Join(errs...))
	}
	res := Result{
		Path:     r.cfg.Path,
		Duration: time.Duration(r.written) * slotDur,
		Size:     r.out.written(),
		Err:      r.Err(),
		Dropped:  r.dropped.Load(),
	}
	r.result, r.endErr = res, endErr
	r.log.Info("recording stopped", "duration", res.Duration, "bytes", res.Size, "dropped", res.Dropped, "err", res.Err)
}
