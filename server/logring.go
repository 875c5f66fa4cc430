package server

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

// logRing keeps the server's most recent log lines in memory, for the
// support bundle: an admin can send what happened lately without shell
// access to the host. It is bounded by lines, and each line by length.
type logRing struct {
	mu    sync.Mutex
	lines [][]byte
	next  int  // where the next line goes
	full  bool // lines has wrapped
}

const (
	logRingLines   = 1000
	logRingLineMax = 4096
)

func newLogRing() *logRing { return &logRing{lines: make([][]byte, logRingLines)} }

// Write takes one formatted record (slog handlers write each record with
// one call).
func (r *logRing) Write(p []byte) (int, error) {
	line := bytes.TrimRight(p, "\n")
	if len(line) > logRingLineMax {
		line = append(line[:logRingLineMax:logRingLineMax], "…"...)
	}
	r.mu.Lock()
	r.lines[r.next] = append(r.lines[r.next][:0], line...)
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
	r.mu.Unlock()
	return len(p), nil
}

// Lines returns the kept lines, oldest first, one per line.
func (r *logRing) Lines() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b bytes.Buffer
	start, n := 0, r.next
	if r.full {
		start, n = r.next, len(r.lines)
	}
	for i := 0; i < n; i++ {
		b.Write(r.lines[(start+i)%len(r.lines)])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ringHandler passes records to the configured handler and also keeps
// those at Info and above, as text, in a logRing, whatever the configured
// level.
type ringHandler struct {
	next slog.Handler
	ring slog.Handler
}

func newRingHandler(next slog.Handler, ring *logRing) *ringHandler {
	return &ringHandler{next: next, ring: slog.NewTextHandler(ring, &slog.HandlerOptions{Level: slog.LevelInfo})}
}

func (h *ringHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l) || h.ring.Enabled(ctx, l)
}

func (h *ringHandler) Handle(ctx context.Context, rec slog.Record) error {
	var err error
	if h.next.Enabled(ctx, rec.Level) {
		err = h.next.Handle(ctx, rec.Clone())
	}
	if h.ring.Enabled(ctx, rec.Level) {
		_ = h.ring.Handle(ctx, rec)
	}
	return err
}

func (h *ringHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &ringHandler{next: h.next.WithAttrs(attrs), ring: h.ring.WithAttrs(attrs)}
}

func (h *ringHandler) WithGroup(name string) slog.Handler {
	return &ringHandler{next: h.next.WithGroup(name), ring: h.ring.WithGroup(name)}
}
