package turn

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLoggerFactory sends pion's log lines to slog at debug level, however
// pion grades them: pion logs every malformed or unauthenticated datagram
// as an error, and a port open to the internet receives plenty of those.
// What an operator needs (refusals, quota) the Server logs itself.
type pionLoggerFactory struct{ log *slog.Logger }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(msg string)                  {}
func (l pionLogger) Tracef(format string, args ...any) {}
func (l pionLogger) Debug(msg string)                  { l.logf("%s", msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.logf(format, args...) }
func (l pionLogger) Info(msg string)                   { l.logf("%s", msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.logf(format, args...) }
func (l pionLogger) Warn(msg string)                   { l.logf("%s", msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.logf(format, args...) }
func (l pionLogger) Error(msg string)                  { l.logf("%s", msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(format, args...) }
