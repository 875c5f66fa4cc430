package store

import (
	"context"
	"database/sql"
	"time"
)

// Recording is one recording of a call: running (StoppedAt nil) or done,
// with the file it produced (FileID empty if nothing could be saved).
type Recording struct {
	ID         string     `json:"id"`
	CallID     string     `json:"call_id"`
	StartedBy  string     `json:"started_by"`
	StartedAt  time.Time  `json:"started_at"`
	StoppedAt  *time.Time `json:"stopped_at,omitempty"`
	FileID     string     `json:"file_id,omitempty"`
	DurationMS int64      `json:"duration_ms"`
	Size       int64      `json:"size"`
	Error      string     `json:"error,omitempty"`
}

// RecordingStarted opens a recording's row.
func (s *Store) RecordingStarted(ctx context.Context, r *Recording) error {
	return s.write(ctx, "recording_started", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO recordings (id, call_id, started_by, started_at) VALUES (?, ?, ?, ?)",
			r.ID, r.CallID, r.StartedBy, toMillis(r.StartedAt))
		return err
	})
}

// RecordingStopped completes a recording's row: its file (or none), length,
// size and what went wrong, if anything.
func (s *Store) RecordingStopped(ctx context.Context, id string, at time.Time, fileID string, duration time.Duration, size int64, problem string) error {
	return s.write(ctx, "recording_stopped", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE recordings SET stopped_at = ?, file_id = ?, duration_ms = ?, size = ?, error = ? WHERE id = ?",
			toMillis(at), nullable(fileID), duration.Milliseconds(), size, problem, id)
		return err
	})
}

// OpenRecordings returns the recordings a crash left running.
func (s *Store) OpenRecordings(ctx context.Context) ([]*Recording, error) {
	return s.queryRecordings(ctx, "stopped_at IS NULL ORDER BY started_at")
}

// UnpostedRecordings returns the finished recordings that wrote something
// but have no file: their file could not be stored or posted when they
// stopped (a full disk), and the server tries again at its next start.
func (s *Store) UnpostedRecordings(ctx context.Context) ([]*Recording, error) {
	return s.queryRecordings(ctx, "stopped_at IS NOT NULL AND file_id IS NULL AND size > 0 ORDER BY started_at")
}

// RecordingPosted gives a finished recording the file posted for it after
// it stopped, and what went wrong, if anything.
func (s *Store) RecordingPosted(ctx context.Context, id, fileID, problem string) error {
	return s.write(ctx, "recording_posted", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE recordings SET file_id = ?, error = ? WHERE id = ?", nullable(fileID), problem, id)
		return err
	})
}

// CallRecordings returns a call's recordings, oldest first.
func (s *Store) CallRecordings(ctx context.Context, callID string) ([]*Recording, error) {
	return s.queryRecordings(ctx, "call_id = ? ORDER BY started_at, id", callID)
}

func (s *Store) queryRecordings(ctx context.Context, where string, args ...any) ([]*Recording, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, call_id, started_by, started_at, stopped_at, COALESCE(file_id, ''), duration_ms, size, error
		FROM recordings WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rs := []*Recording{}
	for rows.Next() {
		var r Recording
		var started int64
		var stopped sql.NullInt64
		if err := rows.Scan(&r.ID, &r.CallID, &r.StartedBy, &started, &stopped, &r.FileID, &r.DurationMS, &r.Size, &r.Error); err != nil {
			return nil, err
		}
		r.StartedAt, r.StoppedAt = fromMillis(started), fromNullMillis(stopped)
		rs = append(rs, &r)
	}
	return rs, rows.Err()
}
