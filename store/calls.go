package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Call is a call in a room, running (EndedAt nil) or past.
type Call struct {
	ID        string     `json:"id"`
	ChannelID string     `json:"channel_id"`
	HostID    string     `json:"host_id"`
	Title     string     `json:"title"`
	PostID    string     `json:"post_id,omitempty"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// Attendees are the distinct users who joined, in order of first join.
	Attendees []string `json:"attendees"`
	// DurationSeconds is set once the call has ended.
	DurationSeconds int64 `json:"duration_s,omitempty"`
	// Recordings made during the call, oldest first.
	Recordings []*Recording `json:"recordings"`
}

// CreateCall records a new call.
func (s *Store) CreateCall(ctx context.Context, c *Call) error {
	return s.write(ctx, "create_call", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO calls (id, channel_id, host_id, title, post_id, started_at) VALUES (?, ?, ?, ?, ?, ?)",
			c.ID, c.ChannelID, c.HostID, c.Title, nullable(c.PostID), toMillis(c.StartedAt))
		return err
	})
}

// SetCallPost links a call to the message that shows it.
func (s *Store) SetCallPost(ctx context.Context, callID, postID string) error {
	return s.write(ctx, "set_call_post", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE calls SET post_id = ? WHERE id = ?", postID, callID)
		return err
	})
}

// SetCallHost records a new host (the host left, or handed over).
func (s *Store) SetCallHost(ctx context.Context, callID, hostID string) error {
	return s.write(ctx, "set_call_host", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE calls SET host_id = ? WHERE id = ?", hostID, callID)
		return err
	})
}

// CallJoined records a participant joining.
func (s *Store) CallJoined(ctx context.Context, callID, participantID, userID string, at time.Time) error {
	return s.write(ctx, "call_joined", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO call_participants (id, call_id, user_id, joined_at) VALUES (?, ?, ?, ?)",
			participantID, callID, userID, toMillis(at))
		return err
	})
}

// CallLeft records a participant leaving.
func (s *Store) CallLeft(ctx context.Context, participantID string, at time.Time) error {
	return s.write(ctx, "call_left", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE call_participants SET left_at = ? WHERE id = ? AND left_at IS NULL", toMillis(at), participantID)
		return err
	})
}

// EndCall marks a call and its remaining participants ended.
func (s *Store) EndCall(ctx context.Context, callID string, at time.Time) error {
	return s.write(ctx, "end_call", func(tx *sql.Tx) error {
		ms := toMillis(at)
		if _, err := tx.ExecContext(ctx, "UPDATE call_participants SET left_at = ? WHERE call_id = ? AND left_at IS NULL", ms, callID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE calls SET ended_at = ? WHERE id = ? AND ended_at IS NULL", ms, callID)
		return err
	})
}

// CloseOpenCalls ends calls left open by a crash, at the last moment anyone
// was seen in them (their latest join or leave), and returns them.
func (s *Store) CloseOpenCalls(ctx context.Context) ([]*Call, error) {
	open, err := s.queryCalls(ctx, "c.ended_at IS NULL ORDER BY c.started_at")
	if err != nil {
		return nil, err
	}
	for _, c := range open {
		var last sql.NullInt64
		if err := s.reader.QueryRowContext(ctx, `SELECT MAX(MAX(COALESCE(left_at, 0)), MAX(joined_at)) FROM call_participants WHERE call_id = ?`,
			c.ID).Scan(&last); err != nil {
			return nil, err
		}
		end := c.StartedAt
		if last.Valid && last.Int64 > toMillis(end) {
			end = fromMillis(last.Int64)
		}
		if err := s.EndCall(ctx, c.ID, end); err != nil {
			return nil, err
		}
		c.EndedAt = &end
		c.DurationSeconds = int64(end.Sub(c.StartedAt).Seconds())
	}
	return open, nil
}

// CallByID returns a call with its attendees.
func (s *Store) CallByID(ctx context.Context, id string) (*Call, error) {
	cs, err := s.queryCalls(ctx, "c.id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, ErrNotFound
	}
	return cs[0], nil
}

// ListCalls returns a room's ended calls, newest first, started before
// the call before (all when ""), and whether older ones remain.
func (s *Store) ListCalls(ctx context.Context, channelID, before string, limit int) ([]*Call, bool, error) {
	beforeMs := int64(1 << 62)
	if before != "" {
		if err := s.reader.QueryRowContext(ctx, "SELECT started_at FROM calls WHERE id = ? AND channel_id = ?", before, channelID).Scan(&beforeMs); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, false, fmt.Errorf("before: %w", ErrNotFound)
			}
			return nil, false, err
		}
	}
	cs, err := s.queryCalls(ctx, "c.channel_id = ? AND c.ended_at IS NOT NULL AND c.started_at < ? ORDER BY c.started_at DESC LIMIT ?",
		channelID, beforeMs, limit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(cs) > limit
	if more {
		cs = cs[:limit]
	}
	return cs, more, nil
}

func (s *Store) queryCalls(ctx context.Context, where string, args ...any) ([]*Call, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT c.id, c.channel_id, c.host_id, c.title, COALESCE(c.post_id, ''), c.started_at, c.ended_at
		FROM calls c WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	var cs []*Call
	for rows.Next() {
		var c Call
		var started int64
		var ended sql.NullInt64
		if err := rows.Scan(&c.ID, &c.ChannelID, &c.HostID, &c.Title, &c.PostID, &started, &ended); err != nil {
			rows.Close()
			return nil, err
		}
		c.StartedAt, c.EndedAt = fromMillis(started), fromNullMillis(ended)
		if c.EndedAt != nil {
			c.DurationSeconds = int64(c.EndedAt.Sub(c.StartedAt).Seconds())
		}
		cs = append(cs, &c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range cs {
		ids, err := s.queryIDs(ctx, "SELECT user_id FROM call_participants WHERE call_id = ? GROUP BY user_id ORDER BY MIN(joined_at)", c.ID)
		if err != nil {
			return nil, err
		}
		c.Attendees = ids
		if c.Recordings, err = s.CallRecordings(ctx, c.ID); err != nil {
			return nil, err
		}
	}
	return cs, nil
}
