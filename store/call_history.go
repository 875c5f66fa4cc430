package store

import (
	"context"
	"strings"
	"time"
)

// CallQuery searches past calls across all rooms (the admin's history).
type CallQuery struct {
	Room     string // a room id, or a substring of its name or display name
	User     string // a user id, or a substring of a username: host or attendee
	From, To time.Time
	Limit    int
	Offset   int
}

// CallAttendee is one person who joined a call.
type CallAttendee struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
}

// PastCall is one ended call with its room and people.
type PastCall struct {
	CallID          string         `json:"call_id"`
	ChannelID       string         `json:"channel_id"`
	ChannelKind     string         `json:"channel_kind"`
	ChannelName     string         `json:"channel_name"`
	Title           string         `json:"title"`
	HostID          string         `json:"host_id"`
	HostUsername    string         `json:"host_username"`
	StartedAt       time.Time      `json:"started_at"`
	EndedAt         time.Time      `json:"ended_at"`
	DurationSeconds int64          `json:"duration_s"`
	Attendees       []CallAttendee `json:"attendees"`
}

// SearchCalls returns ended calls matching q, newest first, and how many
// match in all. ChannelName is the room's display name (or name); DMs and
// group DMs, which have none, are left for the caller to name.
func (s *Store) SearchCalls(ctx context.Context, q CallQuery) ([]*PastCall, int, error) {
	defer s.observe("search_calls", time.Now())
	where, args := []string{"c.ended_at IS NOT NULL"}, []any{}
	if q.Room != "" {
		like := "%" + escapeLike(q.Room) + "%"
		where = append(where, `(c.channel_id = ? OR ch.name LIKE ? ESCAPE '\' OR ch.display_name LIKE ? ESCAPE '\')`)
		args = append(args, q.Room, like, like)
	}
	if q.User != "" {
		like := "%" + escapeLike(q.User) + "%"
		where = append(where, `(c.host_id IN (SELECT id FROM users WHERE id = ? OR username LIKE ? ESCAPE '\')
			OR EXISTS (SELECT 1 FROM call_participants p JOIN users u ON u.id = p.user_id
				WHERE p.call_id = c.id AND (u.id = ? OR u.username LIKE ? ESCAPE '\')))`)
		args = append(args, q.User, like, q.User, like)
	}
	if !q.From.IsZero() {
		where = append(where, "c.started_at >= ?")
		args = append(args, toMillis(q.From))
	}
	if !q.To.IsZero() {
		where = append(where, "c.started_at <= ?")
		args = append(args, toMillis(q.To))
	}
	from := " FROM calls c JOIN channels ch ON ch.id = c.channel_id LEFT JOIN users h ON h.id = c.host_id WHERE " + strings.Join(where, " AND ")
	var total int
	if err := s.reader.QueryRowContext(ctx, "SELECT COUNT(*)"+from, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT c.id, c.channel_id, ch.kind, COALESCE(NULLIF(ch.display_name, ''), ch.name), c.title,
		c.host_id, COALESCE(h.username, ''), c.started_at, c.ended_at`+from+" ORDER BY c.started_at DESC, c.id LIMIT ? OFFSET ?",
		append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	out := []*PastCall{}
	for rows.Next() {
		var c PastCall
		var started, ended int64
		if err := rows.Scan(&c.CallID, &c.ChannelID, &c.ChannelKind, &c.ChannelName, &c.Title, &c.HostID, &c.HostUsername, &started, &ended); err != nil {
			rows.Close()
			return nil, 0, err
		}
		c.StartedAt, c.EndedAt = fromMillis(started), fromMillis(ended)
		c.DurationSeconds = int64(c.EndedAt.Sub(c.StartedAt).Seconds())
		out = append(out, &c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	for _, c := range out {
		if c.Attendees, err = s.callAttendees(ctx, c.CallID); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

func (s *Store) callAttendees(ctx context.Context, callID string) ([]CallAttendee, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT p.user_id, COALESCE(u.username, '') FROM call_participants p
		LEFT JOIN users u ON u.id = p.user_id WHERE p.call_id = ? GROUP BY p.user_id ORDER BY MIN(p.joined_at), p.user_id`, callID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []CallAttendee{}
	for rows.Next() {
		var a CallAttendee
		if err := rows.Scan(&a.UserID, &a.Username); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// RoomMemberNames lists the usernames of a room's members, by name (to
// label a DM, which has no name of its own).
func (s *Store) RoomMemberNames(ctx context.Context, channelID string) ([]string, error) {
	return s.queryIDs(ctx, `SELECT u.username FROM channel_members m JOIN users u ON u.id = m.user_id
		WHERE m.channel_id = ? ORDER BY u.username`, channelID)
}
