package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
)

const (
	audioTrackNumber = 1
	videoTrackNumber = 2

	// cuesReserve is the space kept at the front of the file for the Cues,
	// written there when the recording stops. One CuePoint takes about 20
	// bytes and there is one per cluster (every 1-5 s), so this holds a few
	// hours; ebml-go thins the cues out if it runs short.
	cuesReserve = 64 << 10
	// A cluster starts at a video keyframe once the current one is a second
	// long, and after five seconds in any case: the granularity of seeking.
	clusterMinMs = 1000
	clusterMaxMs = 5000

	opusSeekPreRoll = 80 * time.Millisecond // what the Matroska spec asks for Opus
)

type audioEntry struct {
	TrackNumber  uint64        `ebml:"TrackNumber"`
	TrackUID     uint64        `ebml:"TrackUID"`
	TrackType    uint64        `ebml:"TrackType"`
	CodecID      string        `ebml:"CodecID"`
	CodecPrivate []byte        `ebml:"CodecPrivate"`
	CodecDelay   uint64        `ebml:"CodecDelay"`
	SeekPreRoll  uint64        `ebml:"SeekPreRoll"`
	Audio        audioSettings `ebml:"Audio"`
}

type audioSettings struct {
	SamplingFrequency float64 `ebml:"SamplingFrequency"`
	Channels          uint64  `ebml:"Channels"`
}

type videoEntry struct {
	TrackNumber uint64        `ebml:"TrackNumber"`
	TrackUID    uint64        `ebml:"TrackUID"`
	TrackType   uint64        `ebml:"TrackType"`
	CodecID     string        `ebml:"CodecID"`
	Video       videoSettings `ebml:"Video"`
}

// videoSettings has fixed-size fields so that the first keyframe's size
// can be written over them.
type videoSettings struct {
	PixelWidth  uint64 `ebml:"PixelWidth,size=2"`
	PixelHeight uint64 `ebml:"PixelHeight,size=2"`
}

// muxer writes the mixed Opus stream and the chosen VP8 frames into one
// WebM file with ebml-go's SimpleBlock writer: the EBML header, a SeekHead,
// Info (with a Duration placeholder) and Tracks first, then space for the
// Cues, then clusters of unknown size appended as blocks arrive. On Stop,
// ebml-go writes the Cues into the reserved space and the Duration over its
// placeholder.
//
// If the process dies instead, the file keeps every block that reached the
// disk and plays from the start: clusters of unknown size need no closing.
// What it lacks is the Cues (the reserved space stays a Void element, so
// players seek by scanning, or the file can be remuxed with
// `ffmpeg -i in.webm -c copy out.webm`), and the Duration is the one last
// written by the muxer every few seconds (ebml-go itself leaves a
// placeholder until the end).
//
// Both tracks are declared from the start, because a track cannot be added
// once blocks follow; if no video frame was written, the video TrackEntry is
// overwritten with a Void element of the same size when the recording
// stops, so the file then has one audio track.
type muxer struct {
	out   *output
	audio mkvcore.BlockWriteCloser
	video mkvcore.BlockWriteCloser

	lastMs   int64 // timestamp of the last block: blocks go out in order
	anyBlock bool
	hasVideo bool
	sized    bool // the first keyframe's size is in the header

	durationAt   int64 // file offset of the Duration's float64, or -1
	videoEntryAt int64 // file offset of the video TrackEntry, or -1
	videoEntryN  int
	videoSizeAt  int64 // file offset of PixelWidth's data; PixelHeight's is 4 bytes on

	// held is the frame last handed to ebml-go: its goroutine may still be
	// marshalling it until the next Write returns.
	held *frame

	mu    sync.Mutex
	fatal error // from ebml-go's goroutine
}

func newMuxer(out *output, preSkip int, start time.Time) (*muxer, error) {
	m := &muxer{out: out, durationAt: -1, videoEntryAt: -1, videoSizeAt: -1}
	ae := audioEntry{
		TrackNumber:  audioTrackNumber,
		TrackUID:     rand.Uint64(),
		TrackType:    2,
		CodecID:      "A_OPUS",
		CodecPrivate: opusHead(channels, preSkip),
		CodecDelay:   uint64(preSkip) * uint64(time.Second) / sampleRate,
		SeekPreRoll:  uint64(opusSeekPreRoll),
		Audio:        audioSettings{SamplingFrequency: sampleRate, Channels: channels},
	}
	ve := videoEntry{
		TrackNumber: videoTrackNumber,
		TrackUID:    rand.Uint64(),
		TrackType:   1,
		CodecID:     "V_VP8",
		Video:       videoSettings{PixelWidth: 1280, PixelHeight: 720},
	}
	info := &webm.Info{
		TimecodeScale: uint64(time.Millisecond), // block timestamps in ms
		MuxingApp:     "calls",
		WritingApp:    "calls",
		DateUTC:       start.UTC(),
	}
	ws, err := mkvcore.NewSimpleBlockWriter(out, []mkvcore.TrackDescription{
		{TrackNumber: audioTrackNumber, TrackEntry: ae},
		{TrackNumber: videoTrackNumber, TrackEntry: ve},
	},
		mkvcore.WithEBMLHeader(webm.DefaultEBMLHeader),
		mkvcore.WithSegmentInfo(info), // not webm.DefaultSegmentInfo: ebml-go writes into it
		mkvcore.WithBlockInterceptor(nil),
		mkvcore.WithSeekHead(true),
		mkvcore.WithCues(cuesReserve),
		mkvcore.WithMinMaxClusterDuration(videoTrackNumber, clusterMinMs, clusterMaxMs),
		mkvcore.WithOnFatalHandler(m.setFatal),
	)
	if err != nil {
		return nil, fmt.Errorf("start webm: %w", err)
	}
	m.audio, m.video = ws[0], ws[1]

	// Find what is patched later, the way ebml-go finds its Duration: the
	// header is small and each pattern occurs once in it.
	head := out.header()
	if i := bytes.Index(head, []byte{0x44, 0x89, 0x88}); i >= 0 { // Duration, 8-byte float
		m.durationAt = int64(i) + 3
	}
	entry, err := marshalElement(&struct {
		E videoEntry `ebml:"TrackEntry"`
	}{ve})
	if err != nil {
		return nil, err
	}
	settings, err := marshalElement(&struct {
		V videoSettings `ebml:"Video"`
	}{ve.Video})
	if err != nil {
		return nil, err
	}
	if i := bytes.Index(head, entry); i >= 0 {
		m.videoEntryAt, m.videoEntryN = int64(i), len(entry)
		if j := bytes.Index(entry, settings); j >= 0 {
			// Video ID, size, PixelWidth ID, size, then the two bytes.
			m.videoSizeAt = int64(i+j) + 4
		}
	}
	return m, nil
}

func marshalElement(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := ebml.Marshal(v, &b); err != nil {
		return nil, fmt.Errorf("webm header: %w", err)
	}
	return b.Bytes(), nil
}

// opusHead is the Opus identification header (RFC 7845 §5.1), which
// Matroska carries as the track's CodecPrivate.
func opusHead(channels, preSkip int) []byte {
	h := make([]byte, 19)
	copy(h, "OpusHead")
	h[8] = 1 // version
	h[9] = byte(channels)
	binary.LittleEndian.PutUint16(h[10:], uint16(preSkip))
	binary.LittleEndian.PutUint32(h[12:], sampleRate)
	// output gain 0, channel mapping family 0
	return h
}

func (m *muxer) setFatal(err error) {
	m.mu.Lock()
	if m.fatal == nil {
		m.fatal = err
	}
	m.mu.Unlock()
}

func (m *muxer) err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fatal
}

// writeAudio writes one Opus packet. data must stay untouched until the
// next write returns.
func (m *muxer) writeAudio(ms int64, data []byte) {
	m.write(m.audio, true, ms, data)
	m.release(nil)
}

// writeVideo writes one VP8 frame; the muxer gives the frame back to the
// pool once ebml-go is done with it.
func (m *muxer) writeVideo(f *frame) {
	if f.key && !m.sized && m.videoSizeAt >= 0 {
		var b [6]byte
		binary.BigEndian.PutUint16(b[0:], uint16(f.width))
		b[2], b[3] = 0xBA, 0x82 // PixelHeight ID, size 2
		binary.BigEndian.PutUint16(b[4:], uint16(f.height))
		if _, err := m.out.WriteAt(b[:], m.videoSizeAt); err != nil {
			m.setFatal(fmt.Errorf("write video size: %w", err))
		}
		m.sized = true
	}
	m.write(m.video, f.key, f.ms, f.data)
	m.hasVideo = true
	m.release(f)
}

func (m *muxer) write(w mkvcore.BlockWriter, key bool, ms int64, data []byte) {
	// ebml-go takes the first block's timestamp as zero and wants them in
	// order (a cluster's timestamp is unsigned).
	if m.anyBlock && ms < m.lastMs {
		ms = m.lastMs
	}
	m.lastMs, m.anyBlock = ms, true
	_, _ = w.Write(key, ms, data) // never fails: it hands the frame to ebml-go's goroutine
}

// release hands back the previously held frame, which ebml-go has finished
// with now that another Write returned, and holds f.
func (m *muxer) release(f *frame) {
	if m.held != nil {
		m.held.free()
	}
	m.held = f
}

// patchDuration writes the Duration (in ms) over the header's.
func (m *muxer) patchDuration(ms int64) error {
	if m.durationAt < 0 {
		return nil
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], math.Float64bits(float64(ms)))
	_, err := m.out.WriteAt(b[:], m.durationAt)
	return err
}

// close finishes the file: the video track is voided if it stayed empty,
// ebml-go writes its Cues, and the Duration is set to durationMs.
func (m *muxer) close(durationMs int64) error {
	var errs []error
	if !m.hasVideo && m.videoEntryAt >= 0 {
		if _, err := m.out.WriteAt(voidElement(m.videoEntryN), m.videoEntryAt); err != nil {
			errs = append(errs, fmt.Errorf("remove empty video track: %w", err))
		}
	}
	// Closing the last writer returns after ebml-go has written the final
	// cluster, the Cues and its Duration and closed out.
	m.audio.Close()
	m.video.Close()
	m.release(nil)
	if err := m.patchDuration(durationMs); err != nil {
		errs = append(errs, fmt.Errorf("write duration: %w", err))
	}
	if err := m.err(); err != nil {
		errs = append(errs, fmt.Errorf("webm: %w", err))
	}
	return errors.Join(errs...)
}

// voidElement is an EBML Void element n bytes long (n ≥ 2), which readers
// skip wherever it stands.
func voidElement(n int) []byte {
	b := make([]byte, n)
	b[0] = 0xEC
	size := uint64(n - 2)
	switch {
	case size < 0x7F:
		b[1] = 0x80 | byte(size)
	default: // an 8-byte size
		size = uint64(n - 9)
		b[1] = 0x01
		for i := 0; i < 7; i++ {
			b[8-i] = byte(size >> (8 * i))
		}
	}
	return b
}
