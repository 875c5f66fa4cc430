// Package pionlog sends the log lines of pion's libraries (ICE, DTLS,
// SRTP, TURN) to slog, so they share the server's format (--log-format)
// and level (--log-level) instead of pion's own lines on stderr.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// Factory is a logging.LoggerFactory. pion grades routine events as
// warnings (a connectivity check while a peer has no candidates yet, a
// read on a connection being closed) and logs every malformed datagram
// that reaches an open port, so its lines go out at debug level. With
// ErrorsAsWarnings its errors go out at warn level instead (the SFU: they
// need a peer that holds ICE credentials); without, they are debug too
// (the TURN listener, which any host on the internet can send rubbish).
type Factory struct {
	Log              *slog.Logger
	ErrorsAsWarnings bool
}

func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	l := logger{log: f.Log.With("pion", scope), errLevel: slog.LevelDebug}
	if f.ErrorsAsWarnings {
		l.errLevel = slog.LevelWarn
	}
	return l
}

type logger struct {
	log      *slog.Logger
	errLevel slog.Level
}

func (l logger) logf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l logger) Trace(msg string)                  {}
func (l logger) Tracef(format string, args ...any) {}
func (l logger) Debug(msg string)                  { l.logf(slog.LevelDebug, "%s", msg) }
func (l logger) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }
func (l logger) Info(msg string)                   { l.logf(slog.LevelDebug, "%s", msg) }
func (l logger) Infof(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l logger) Warn(msg string)                   { l.logf(slog.LevelDebug, "%s", msg) }
func (l logger) Warnf(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l logger) Error(msg string)                  { l.logf(l.errLevel, "%s", msg) }
func (l logger) Errorf(format string, args ...any) { l.logf(l.errLevel, format, args...) }
