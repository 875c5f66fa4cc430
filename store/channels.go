package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Room kinds.
const (
	KindPublic     = "public"
	KindPrivate    = "private"
	KindDM         = "dm"
	KindGroup      = "group"
	KindDiscussion = "discussion"
)

// Channel is any room people talk in: a team channel, a DM, a group DM or
// a discussion.
type Channel struct {
	ID           string     `json:"id"`
	TeamID       string     `json:"team_id,omitempty"`
	Kind         string     `json:"type"`
	Name         string     `json:"name"`
	DisplayName  string     `json:"display_name"`
	Header       string     `json:"header"`
	Purpose      string     `json:"purpose"`
	ParentID     string     `json:"parent_id,omitempty"`
	ParentPostID string     `json:"parent_post_id,omitempty"`
	CreatorID    string     `json:"creator_id,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	LastPostAt   *time.Time `json:"last_post_at,omitempty"`
	ArchivedAt   *time.Time `json:"archived_at,omitempty"`
	DeletedAt    *time.Time `json:"-"`
}

// Archived reports whether the room is read-only.
func (c *Channel) Archived() bool { return c.ArchivedAt != nil }

// Direct reports whether the room is a DM or group DM.
func (c *Channel) Direct() bool { return c.Kind == KindDM || c.Kind == KindGroup }

// Membership is a user's state in one room.
type Membership struct {
	ChannelID    string `json:"channel_id"`
	UserID       string `json:"user_id"`
	LastReadPK   int64  `json:"-"`
	MentionCount int    `json:"mention_count"`
}

// NewChannel is what CreateChannel needs.
type NewChannel struct {
	TeamID       string
	Kind         string
	Name         string
	DisplayName  string
	Header       string
	Purpose      string
	ParentID     string
	ParentPostID string
	CreatorID    string
	Members      []string // user ids; the creator is added too
}

// channelColumns are read from "channels c" in every query.
const channelColumns = `c.id, COALESCE(c.team_id, ''), c.kind, c.name, c.display_name, c.header, c.purpose,
	COALESCE(c.parent_id, ''), COALESCE(c.parent_post_id, ''), COALESCE(c.creator_id, ''), c.created_at, c.last_post_at,
	c.archived_at, c.deleted_at`

func scanChannel(row interface{ Scan(...any) error }, extra ...any) (*Channel, error) {
	var c Channel
	var created, lastPost int64
	var archived, deleted sql.NullInt64
	dest := append([]any{&c.ID, &c.TeamID, &c.Kind, &c.Name, &c.DisplayName, &c.Header, &c.Purpose, &c.ParentID,
		&c.ParentPostID, &c.CreatorID, &created, &lastPost, &archived, &deleted}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	c.CreatedAt = fromMillis(created)
	if lastPost > 0 {
		t := fromMillis(lastPost)
		c.LastPostAt = &t
	}
	c.ArchivedAt, c.DeletedAt = fromNullMillis(archived), fromNullMillis(deleted)
	return &c, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func insertChannel(ctx context.Context, tx *sql.Tx, c *Channel, members []string) error {
	var dmKey any
	if c.Kind == KindDM || c.Kind == KindGroup {
		dmKey = directKey(members)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO channels (id, team_id, kind, name, display_name, header, purpose, parent_id,
		parent_post_id, dm_key, creator_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, nullable(c.TeamID), c.Kind, c.Name, c.DisplayName, c.Header, c.Purpose, nullable(c.ParentID),
		nullable(c.ParentPostID), dmKey, nullable(c.CreatorID), toMillis(c.CreatedAt))
	if err != nil {
		return err
	}
	for _, u := range members {
		if _, err := tx.ExecContext(ctx, "INSERT INTO channel_members (channel_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			c.ID, u, toMillis(c.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

func directKey(members []string) string {
	m := slices.Clone(members)
	slices.Sort(m)
	return strings.Join(slices.Compact(m), ",")
}

// CreateChannel makes a team channel or a discussion, with its members.
func (s *Store) CreateChannel(ctx context.Context, nc NewChannel) (*Channel, error) {
	c := &Channel{ID: NewID(), TeamID: nc.TeamID, Kind: nc.Kind, Name: nc.Name, DisplayName: nc.DisplayName,
		Header: nc.Header, Purpose: nc.Purpose, ParentID: nc.ParentID, ParentPostID: nc.ParentPostID,
		CreatorID: nc.CreatorID, CreatedAt: now()}
	members := nc.Members
	if nc.CreatorID != "" && !slices.Contains(members, nc.CreatorID) {
		members = append([]string{nc.CreatorID}, members...)
	}
	err := s.write(ctx, "create_channel", func(tx *sql.Tx) error { return insertChannel(ctx, tx, c, members) })
	if isUniqueViolation(err) {
		return nil, fmt.Errorf("channel name %q: %w", nc.Name, ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("create channel: %w", err)
	}
	return c, nil
}

// DirectChannel returns the DM (two people) or group DM (3-8) of exactly
// these users, creating it on first use: asking twice gives the same room.
func (s *Store) DirectChannel(ctx context.Context, creatorID string, userIDs []string) (*Channel, bool, error) {
	members := append([]string{creatorID}, userIDs...)
	key := directKey(members)
	n := strings.Count(key, ",") + 1
	kind := KindDM
	if n > 2 {
		kind = KindGroup
	}
	if c, err := scanChannel(s.reader.QueryRowContext(ctx, "SELECT "+channelColumns+" FROM channels c WHERE dm_key = ?", key)); err == nil {
		return c, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	c := &Channel{ID: NewID(), Kind: kind, CreatorID: creatorID, CreatedAt: now()}
	err := s.write(ctx, "create_direct", func(tx *sql.Tx) error { return insertChannel(ctx, tx, c, strings.Split(key, ",")) })
	if isUniqueViolation(err) { // created concurrently: take that one
		c, err := scanChannel(s.reader.QueryRowContext(ctx, "SELECT "+channelColumns+" FROM channels c WHERE dm_key = ?", key))
		return c, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("create direct channel: %w", err)
	}
	return c, true, nil
}

// ChannelByID returns a room, deleted ones included (callers check).
func (s *Store) ChannelByID(ctx context.Context, id string) (*Channel, error) {
	defer s.observe("channel_by_id", time.Now())
	return scanChannel(s.reader.QueryRowContext(ctx, "SELECT "+channelColumns+" FROM channels c WHERE id = ?", id))
}

// ChannelPatch changes some fields of a room; nil fields stay.
type ChannelPatch struct {
	Name        *string
	DisplayName *string
	Header      *string
	Purpose     *string
}

// UpdateChannel applies a patch and returns the room as it now is.
func (s *Store) UpdateChannel(ctx context.Context, id string, p ChannelPatch) (*Channel, error) {
	err := s.write(ctx, "update_channel", func(tx *sql.Tx) error {
		sets, args := []string{}, []any{}
		for col, v := range map[string]*string{"name": p.Name, "display_name": p.DisplayName, "header": p.Header, "purpose": p.Purpose} {
			if v != nil {
				sets = append(sets, col+" = ?")
				args = append(args, *v)
			}
		}
		if len(sets) == 0 {
			return nil
		}
		res, err := tx.ExecContext(ctx, "UPDATE channels SET "+strings.Join(sets, ", ")+" WHERE id = ? AND deleted_at IS NULL", append(args, id)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if isUniqueViolation(err) {
		return nil, fmt.Errorf("channel name: %w", ErrConflict)
	}
	if err != nil {
		return nil, err
	}
	return s.ChannelByID(ctx, id)
}

// SetArchived archives (read-only) or unarchives a room and its discussions.
func (s *Store) SetArchived(ctx context.Context, id string, archived bool) error {
	return s.write(ctx, "set_archived", func(tx *sql.Tx) error {
		var at any
		if archived {
			at = toMillis(now())
		}
		res, err := tx.ExecContext(ctx, "UPDATE channels SET archived_at = ? WHERE (id = ? OR parent_id = ?) AND deleted_at IS NULL", at, id, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// DeleteChannel removes a room (and its discussions) for everyone. The row
// stays, marked deleted, so links to it answer "gone" rather than "never
// was"; its posts are no longer served.
func (s *Store) DeleteChannel(ctx context.Context, id string) error {
	return s.write(ctx, "delete_channel", func(tx *sql.Tx) error {
		ms := toMillis(now())
		res, err := tx.ExecContext(ctx, "UPDATE channels SET deleted_at = ?, dm_key = NULL WHERE (id = ? OR parent_id = ?) AND deleted_at IS NULL", ms, id, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// Membership returns a user's membership of a room, or ErrNotFound.
func (s *Store) Membership(ctx context.Context, channelID, userID string) (*Membership, error) {
	m := Membership{ChannelID: channelID, UserID: userID}
	err := s.reader.QueryRowContext(ctx, "SELECT last_read_pk, mention_count FROM channel_members WHERE channel_id = ? AND user_id = ?",
		channelID, userID).Scan(&m.LastReadPK, &m.MentionCount)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &m, err
}

// AddChannelMember adds a user to a room; they start with everything read.
// It reports whether they were not a member before.
func (s *Store) AddChannelMember(ctx context.Context, channelID, userID string) (bool, error) {
	var added bool
	err := s.write(ctx, "add_channel_member", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO channel_members (channel_id, user_id, last_read_pk, created_at)
			VALUES (?, ?, (SELECT COALESCE(MAX(pk), 0) FROM posts WHERE channel_id = ?), ?) ON CONFLICT DO NOTHING`,
			channelID, userID, channelID, toMillis(now()))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		added = n > 0
		return nil
	})
	return added, err
}

// RemoveChannelMember takes a user out of a room; false if they were not in.
func (s *Store) RemoveChannelMember(ctx context.Context, channelID, userID string) (bool, error) {
	var removed bool
	err := s.write(ctx, "remove_channel_member", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM channel_members WHERE channel_id = ? AND user_id = ?", channelID, userID)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		removed = n > 0
		return nil
	})
	return removed, err
}

// ChannelMembers lists the user ids of a room's members.
//
// The ids come as one row and are split here: for a room of 1,000 that is
// a few allocations instead of a few per member (every post reads them).
// They are substrings of one string, which stays in memory as long as any
// of them does.
func (s *Store) ChannelMembers(ctx context.Context, channelID string) ([]string, error) {
	defer s.observe("channel_members", time.Now())
	var all sql.NullString
	err := s.reader.QueryRowContext(ctx, "SELECT group_concat(user_id, ' ') FROM channel_members WHERE channel_id = ?", channelID).Scan(&all)
	if err != nil {
		return nil, err
	}
	if all.String == "" {
		return []string{}, nil
	}
	return strings.Split(all.String, " "), nil
}

// SidebarChannel is a room as the sidebar shows it: with unread state.
type SidebarChannel struct {
	*Channel
	Unread       int      `json:"unread_count"`
	MentionCount int      `json:"mention_count"`
	Members      []string `json:"member_ids,omitempty"` // DMs and group DMs only
}

// ChannelsForUser lists every live room the user is a member of, with
// unread and mention counts, newest activity first.
func (s *Store) ChannelsForUser(ctx context.Context, userID string) ([]*SidebarChannel, error) {
	defer s.observe("channels_for_user", time.Now())
	rows, err := s.reader.QueryContext(ctx, "SELECT "+channelColumns+`, m.mention_count,
		(SELECT COUNT(*) FROM posts p WHERE p.channel_id = c.id AND p.pk > m.last_read_pk AND p.user_id != m.user_id AND p.deleted_at IS NULL),
		CASE WHEN c.kind IN ('dm', 'group') THEN COALESCE(c.dm_key, '') ELSE '' END
		FROM channel_members m JOIN channels c ON c.id = m.channel_id
		WHERE m.user_id = ? AND c.deleted_at IS NULL ORDER BY c.last_post_at DESC, c.created_at DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*SidebarChannel{}
	for rows.Next() {
		var sc SidebarChannel
		var key string
		c, err := scanChannel(rows, &sc.MentionCount, &sc.Unread, &key)
		if err != nil {
			return nil, err
		}
		sc.Channel = c
		if key != "" {
			sc.Members = strings.Split(key, ",")
		}
		out = append(out, &sc)
	}
	return out, rows.Err()
}

// PublicChannels lists a team's live public channels (for browsing).
func (s *Store) PublicChannels(ctx context.Context, teamID string) ([]*Channel, error) {
	return s.queryChannels(ctx, "c.team_id = ? AND c.kind = 'public' AND c.deleted_at IS NULL ORDER BY c.display_name", teamID)
}

// Discussions lists the live discussions under a room.
func (s *Store) Discussions(ctx context.Context, parentID string) ([]*Channel, error) {
	return s.queryChannels(ctx, "c.parent_id = ? AND c.deleted_at IS NULL ORDER BY c.created_at", parentID)
}

func (s *Store) queryChannels(ctx context.Context, where string, args ...any) ([]*Channel, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT "+channelColumns+" FROM channels c WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Channel{}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// MarkRead records that the user has read the room up to its newest post
// and clears their mention count.
func (s *Store) MarkRead(ctx context.Context, channelID, userID string) error {
	return s.write(ctx, "mark_read", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE channel_members SET mention_count = 0,
			last_read_pk = (SELECT COALESCE(MAX(pk), 0) FROM posts WHERE channel_id = ?)
			WHERE channel_id = ? AND user_id = ?`, channelID, channelID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}
