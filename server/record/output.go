package record

import (
	"errors"
	"io"
	"sync"
)

// file is what a recording is written to: an *os.File, or in tests a
// file that runs out of space.
// File is what a recording is written to: an *os.File.
type File interface {
	io.Writer
	io.WriterAt
	Sync() error
	Close() error
}

const (
	outputBuffer = 64 << 10 // bytes buffered between flushes
	headCapture  = 4 << 10  // bytes of the file's start kept to find header fields
)

var errPastEnd = errors.New("write past the end of the recording")

// output is the recording file as the WebM writer sees it. It batches the
// writer's many small writes (three per block) into one system call per
// mixing slot, and it never returns a write error: ebml-go panics on one
// by default and, given a handler instead, stops reading its frame channel
// so that every later Write blocks forever. The first error is kept for the
// recorder to report, and later appends are dropped, so what reached the
// disk before it stays a readable file.
//
// Write and Close are called from ebml-go's goroutine, flush and WriteAt
// from the recorder's; the mutex orders them.
type output struct {
	mu   sync.Mutex
	f    File
	buf  []byte
	size int64 // bytes in the file
	err  error
	head []byte // the file's first bytes: the EBML header and Segment head
}

func newOutput(f File) *output {
	return &output{f: f, buf: make([]byte, 0, outputBuffer), head: make([]byte, 0, headCapture)}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := min(len(p), cap(o.head)-len(o.head)); n > 0 {
		o.head = append(o.head, p[:n]...)
	}
	if o.err != nil {
		return len(p), nil
	}
	if len(o.buf)+len(p) > cap(o.buf) {
		o.flushLocked()
		if len(p) >= cap(o.buf) {
			o.writeLocked(p)
			return len(p), nil
		}
	}
	o.buf = append(o.buf, p...)
	return len(p), nil
}

// WriteAt overwrites bytes already in the file (the Cues, the Duration,
// the video track's size); it never extends the file.
func (o *output) WriteAt(p []byte, off int64) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.flushLocked()
	if off < 0 || off+int64(len(p)) > o.size {
		return 0, errPastEnd
	}
	return o.f.WriteAt(p, off)
}

// Close flushes; the recorder closes the file itself, after its last
// WriteAt.
func (o *output) Close() error {
	o.flush()
	return nil
}

func (o *output) flush() {
	o.mu.Lock()
	o.flushLocked()
	o.mu.Unlock()
}

func (o *output) flushLocked() {
	if len(o.buf) > 0 {
		o.writeLocked(o.buf)
		o.buf = o.buf[:0]
	}
}

func (o *output) writeLocked(p []byte) {
	if o.err != nil {
		return
	}
	n, err := o.f.Write(p)
	o.size += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	o.err = err
}

// failure returns the first write error.
func (o *output) failure() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// header returns a copy of the file's first bytes.
func (o *output) header() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]byte(nil), o.head...)
}

func (o *output) written() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.size
}
