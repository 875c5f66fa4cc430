package hub

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Buffers of an upgraded connection. The HTTP server's own (4 KiB each way,
// plus the response's 2 KiB) would stay with every websocket for its whole
// life; most websockets are idle, so they get small ones instead:
//
//   - readBufSize: what the websocket library reads into. A client's frames
//     are small and rare (pings, typing, signaling); a larger frame is read
//     straight into the message buffer, past this one.
//   - controlBufSize: what the library writes its control frames (pong,
//     close; at most 2+125 bytes) into, so each leaves in one write.
//
// Data frames do not go through the library's writer at all: the client's
// writer frames a whole batch of queued messages into a pooled buffer and
// writes it at once (wire.writeText).
const (
	readBufSize    = 512
	controlBufSize = 256
)

// wire is the upgraded connection. The websocket library reads from it and
// writes its control frames to it; the client's writer writes data frames
// to it. mu keeps each write whole, so frames never interleave.
type wire struct {
	net.Conn
	mu       sync.Mutex
	closed   bool      // a close frame has gone out: nothing may follow it
	deadline time.Time // the write deadline last set on the connection
}

// Write is the library's: one whole control frame per call (its buffer is
// flushed after every frame and holds the largest). A close frame ends
// what the writer may send, as the protocol requires.
func (w *wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(p) > 0 && p[0]&0x0f == 0x8 {
		w.closed = true
	}
	if err := w.armDeadline(WriteTimeout); err != nil {
		return 0, err
	}
	return w.Conn.Write(p)
}

// armDeadline makes sure the next write has between 90 % and all of
// timeout to finish; w.mu held. The deadline stays set between writes and
// is moved at most once per tenth of timeout: setting it costs more than
// many a write (about 1 µs, a timer update), and a busy connection writes
// tens of times a second.
func (w *wire) armDeadline(timeout time.Duration) error {
	now := time.Now()
	if w.deadline.Sub(now) >= timeout-timeout/10 {
		return nil
	}
	w.deadline = now.Add(timeout)
	return w.Conn.SetWriteDeadline(w.deadline)
}

// errCloseSent is writeText's answer once the close frame has gone out.
var errCloseSent = errors.New("websocket close frame sent")

// framePool holds the buffers batches of data frames are built in, shared
// by all clients: only a client being written to holds one. An event to a
// big room has that many writers at once, so buffers start small and grow
// to what the batches need.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 2<<10); return &b }}

// maxBatchWrite is how many bytes one write carries at most (more frames
// wait for the next); a single larger frame is written alone.
const maxBatchWrite = 64 << 10

// writeText writes frames, each one unfragmented, unmasked, uncompressed
// text message (RFC 6455 §5.2, as a server sends them), in as few writes
// as possible, each within timeout. It returns how many frames were
// written whole.
func (w *wire) writeText(frames [][]byte, timeout time.Duration) (int, error) {
	bp := framePool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 2*maxBatchWrite { // not one for a rare huge frame
			framePool.Put(bp)
		}
	}()
	written := 0
	for written < len(frames) {
		buf := (*bp)[:0]
		n := written
		for n < len(frames) && (n == written || len(buf)+len(frames[n])+10 <= maxBatchWrite) {
			buf = appendTextHeader(buf, len(frames[n]))
			buf = append(buf, frames[n]...)
			n++
		}
		*bp = buf
		if err := w.write(buf, timeout); err != nil {
			return written, err
		}
		written = n
	}
	return written, nil
}

func (w *wire) write(b []byte, timeout time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errCloseSent
	}
	if err := w.armDeadline(timeout); err != nil {
		return err
	}
	_, err := w.Conn.Write(b)
	return err
}

// appendTextHeader appends the header of a final, unmasked text frame
// carrying n bytes.
func appendTextHeader(b []byte, n int) []byte {
	const finText = 0x80 | 0x1
	switch {
	case n < 126:
		return append(b, finText, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, finText, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, finText, 127), uint64(n))
	}
}

// smallBuffers is the ResponseWriter handed to websocket.Accept: its
// Hijack gives the library the wire with small buffers instead of the HTTP
// server's.
type smallBuffers struct {
	http.ResponseWriter
	wire *wire
}

func (s *smallBuffers) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// The 101 response has been flushed by the hijack; make sure.
	if err := brw.Writer.Flush(); err != nil {
		nc.Close()
		return nil, nil, err
	}
	w := &wire{Conn: nc}
	br := bufio.NewReaderSize(w, readBufSize)
	if n := brw.Reader.Buffered(); n > 0 {
		// The client's first frames came with the request: they must be
		// in the new buffer, where websocket.Accept looks for them.
		head, _ := brw.Reader.Peek(n)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(head)), w), max(readBufSize, n))
		if _, err := br.Peek(n); err != nil {
			nc.Close()
			return nil, nil, err
		}
	}
	s.wire = w
	return w, bufio.NewReadWriter(br, bufio.NewWriterSize(w, controlBufSize)), nil
}
