// Package recordtest holds what the recorder's tests and the server's call
// recording tests share: media that stands for a browser's (an Opus tone, a
// VP8 screen share from an IVF file), a disk that fills up, and the checks
// of a finished file with Debian's ffprobe and ffmpeg (streams, duration,
// a Goertzel filter for the tones).
//
// It imports testing and is meant only for tests.
package recordtest

import (
	"encoding/binary"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/thesyncim/gopus"
)

// Tone encodes a sine (or silence, at 0 Hz) as a browser's microphone
// sends it: mono Opus at 32 kbit/s, one 20 ms frame at a time, amplitude
// 0.3.
type Tone struct {
	Freq float64
	enc  *gopus.Encoder
	n    int
	pcm  []float32
	buf  []byte
}

// NewTone makes a tone of freq Hz.
func NewTone(tb testing.TB, freq float64) *Tone {
	tb.Helper()
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: 48000, Channels: 1, Application: gopus.ApplicationVoIP})
	if err != nil {
		tb.Fatal(err)
	}
	if err := enc.SetBitrate(32000); err != nil {
		tb.Fatal(err)
	}
	return &Tone{Freq: freq, enc: enc, pcm: make([]float32, 960), buf: make([]byte, 1500)}
}

// Next encodes the next 20 ms; silent makes them silence (the tone's phase
// runs on). The bytes are valid until the next call.
func (s *Tone) Next(silent bool) ([]byte, error) {
	for i := range s.pcm {
		x := float64(s.n*960 + i)
		s.pcm[i] = 0
		if !silent && s.Freq != 0 {
			s.pcm[i] = float32(0.3 * math.Sin(2*math.Pi*s.Freq*x/48000))
		}
	}
	s.n++
	k, err := s.enc.Encode(s.pcm, s.buf)
	return s.buf[:k], err
}

// IVFFrames reads the frames of an IVF file (a VP8 stream).
func IVFFrames(tb testing.TB, path string) [][]byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if len(b) < 32 || string(b[:4]) != "DKIF" {
		tb.Fatalf("%s: not an IVF file", path)
	}
	var frames [][]byte
	for p := int(binary.LittleEndian.Uint16(b[6:])); p+12 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[p:]))
		p += 12
		if p+n > len(b) {
			break
		}
		frames = append(frames, b[p:p+n])
		p += n
	}
	return frames
}

// VP8Keyframe reports whether a VP8 frame is a keyframe (RFC 6386 9.1).
func VP8Keyframe(frame []byte) bool { return len(frame) > 0 && frame[0]&1 == 0 }

// FullDisk is a file on a disk that fills up after Limit bytes: past them a
// write stores what fits and fails with ENOSPC.
type FullDisk struct {
	*os.File
	Limit, size int64
}

// CreateFullDisk creates path (it must not exist) on a disk with limit
// bytes free.
func CreateFullDisk(path string, limit int64) (*FullDisk, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, err
	}
	return &FullDisk{File: f, Limit: limit}, nil
}

func (f *FullDisk) Write(p []byte) (int, error) {
	if room := f.Limit - f.size; int64(len(p)) > room {
		n, _ := f.File.Write(p[:max(room, 0)])
		f.size += int64(n)
		return n, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	n, err := f.File.Write(p)
	f.size += int64(n)
	return n, err
}

// Probe is ffprobe's view of a file.
type Probe struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		Frames    string `json:"nb_read_frames"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// NeedFFmpeg skips the test where ffprobe or ffmpeg is not installed.
func NeedFFmpeg(tb testing.TB) {
	tb.Helper()
	for _, tool := range []string{"ffprobe", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("%s not installed (apt-get install ffmpeg)", tool)
		}
	}
}

// FFprobe reads a file's format and streams, counting its frames.
func FFprobe(tb testing.TB, path string) Probe {
	tb.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", path).Output()
	if err != nil {
		tb.Fatalf("ffprobe %s: %v\n%s", path, err, Stderr(err))
	}
	var p Probe
	if err := json.Unmarshal(out, &p); err != nil {
		tb.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return p
}

// Count is the number of streams of a kind ("audio", "video") and codec
// (any, if empty).
func (p Probe) Count(kind, codec string) int {
	n := 0
	for _, s := range p.Streams {
		if s.CodecType == kind && (codec == "" || s.CodecName == codec) {
			n++
		}
	}
	return n
}

// Duration is the file's duration.
func (p Probe) Duration(tb testing.TB) time.Duration {
	tb.Helper()
	d, err := strconv.ParseFloat(p.Format.Duration, 64)
	if err != nil {
		tb.Fatalf("ffprobe duration %q: %v", p.Format.Duration, err)
	}
	return time.Duration(d * float64(time.Second))
}

// Stderr is what a failed command wrote to its standard error.
func Stderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// DecodeAudio has ffmpeg decode a file's audio to 48 kHz mono.
func DecodeAudio(tb testing.TB, path string) []float64 {
	tb.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "s16le", "-ac", "1", "-ar", "48000", "-").Output()
	if err != nil {
		tb.Fatalf("ffmpeg decode %s: %v\n%s", path, err, Stderr(err))
	}
	x := make([]float64, len(out)/2)
	for i := range x {
		x[i] = float64(int16(binary.LittleEndian.Uint16(out[2*i:]))) / 32768
	}
	return x
}

// Amplitude measures the amplitude of freq in x[from:to] (seconds, at
// 48 kHz) with a Goertzel filter: about 0.3 for a Tone.
func Amplitude(x []float64, freq, from, to float64) float64 {
	a, b := int(from*48000), min(int(to*48000), len(x))
	if a >= b {
		return 0
	}
	w := 2 * math.Pi * freq / 48000
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x[a:b] {
		s1, s2 = v+coeff*s1-s2, s1
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(power) / float64(b-a)
}

// Heard is the share of the 100 ms windows of x[from:to] (seconds) in
// which freq is heard at an amplitude of 0.1 or more: 1 for a Tone that
// played throughout, less where a real-time path lost some of it.
func Heard(x []float64, freq, from, to float64) float64 {
	n, heard := 0, 0
	for w := from; w+0.1 <= to; w += 0.1 {
		n++
		if Amplitude(x, freq, w, w+0.1) >= 0.1 {
			heard++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(heard) / float64(n)
}
