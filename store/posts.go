package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Post is one message in a room, or a reply in a thread under a root post.
type Post struct {
	PK         int64           `json:"-"`
	ID         string          `json:"id"`
	ChannelID  string          `json:"channel_id"`
	UserID     string          `json:"user_id"`
	RootID     string          `json:"root_id"`
	Type       string          `json:"type"`
	Message    string          `json:"message"`
	Props      json.RawMessage `json:"props"`
	ReplyCount int             `json:"reply_count"`
	CreatedAt  time.Time       `json:"created_at"`
	EditedAt   *time.Time      `json:"edited_at,omitempty"`
	DeletedAt  *time.Time      `json:"deleted_at,omitempty"`
	FileIDs    []string        `json:"file_ids,omitempty"`
}

// ErrBadRoot means a reply names a root that is not a root post of the room.
var ErrBadRoot = errors.New("root post not found in this room")

// NewPost is what CreatePost needs.
type NewPost struct {
	ChannelID string
	UserID    string
	RootID    string
	Type      string
	Message   string
	Props     json.RawMessage
	FileIDs   []string // files uploaded to this room by this user, not yet attached
	// Mentioned are user ids whose mention count in the room goes up.
	Mentioned []string
}

const postColumns = `p.pk, p.id, p.channel_id, p.user_id, COALESCE(p.root_id, ''), p.type, p.message, p.props,
	p.reply_count, p.created_at, p.edited_at, p.deleted_at`

func scanPost(row interface{ Scan(...any) error }) (*Post, error) {
	var p Post
	var created int64
	var edited, deleted sql.NullInt64
	var props string
	err := row.Scan(&p.PK, &p.ID, &p.ChannelID, &p.UserID, &p.RootID, &p.Type, &p.Message, &props, &p.ReplyCount,
		&created, &edited, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	p.Props = json.RawMessage(props)
	p.CreatedAt = fromMillis(created)
	p.EditedAt, p.DeletedAt = fromNullMillis(edited), fromNullMillis(deleted)
	return &p, nil
}

// postRequest is one post waiting for the group-commit writer.
type postRequest struct {
	ctx  context.Context
	in   NewPost
	post *Post
	done chan error
}

// maxPostBatch bounds one group commit.
const maxPostBatch = 256

// CreatePost stores a post durably. Posts from many writers that wait at
// the same moment share one transaction (group commit): with
// synchronous=FULL one fsync then acknowledges them all, which is what
// turns ~3,000 commits/s into tens of thousands of posts/s. The call
// returns only after the commit that holds the post.
func (s *Store) CreatePost(ctx context.Context, in NewPost) (*Post, error) {
	if len(in.Props) == 0 {
		in.Props = json.RawMessage("{}")
	}
	req := &postRequest{ctx: ctx, in: in, done: make(chan error, 1)}
	select {
	case s.posts <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.closing:
		return nil, errors.New("store is closing")
	}
	// The writer always answers; waiting for it (not ctx) means a caller
	// never reports failure for a post that was in fact committed.
	if err := <-req.done; err != nil {
		return nil, err
	}
	return req.post, nil
}

// postWriter is the goroutine that owns post inserts.
func (s *Store) postWriter() {
	defer close(s.writerDone)
	batch := make([]*postRequest, 0, maxPostBatch)
	var stmts *postStmts
	defer func() { stmts.close() }()
	for {
		var first *postRequest
		select {
		case first = <-s.posts:
		case <-s.closing:
			return
		}
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxPostBatch {
			select {
			case r := <-s.posts:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if stmts == nil {
			// Prepared at the first post, not at Open: the tables exist
			// only once the migrations have run.
			var err error
			if stmts, err = s.preparePostStmts(); err != nil {
				for _, r := range batch {
					r.done <- fmt.Errorf("create post: %w", err)
				}
				continue
			}
		}
		s.commitPosts(stmts, batch)
	}
}

// postStmts are the post writer's statements, prepared once on the writer
// connection. Neither database/sql nor the driver caches statements, and
// preparing one costs about as much as running it; database/sql reuses a
// statement prepared on a connection for every transaction on it (Tx.Stmt).
type postStmts struct {
	savepoint, release, rollbackTo *sql.Stmt
	reply, insert, room, readMark  *sql.Stmt
	mention, file                  *sql.Stmt
}

func (s *Store) preparePostStmts() (*postStmts, error) {
	ps := &postStmts{}
	for _, q := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&ps.savepoint, "SAVEPOINT post"},
		{&ps.release, "RELEASE post"},
		{&ps.rollbackTo, "ROLLBACK TO post"},
		{&ps.reply, `UPDATE posts SET reply_count = reply_count + 1, last_reply_at = ?
			WHERE id = ? AND channel_id = ? AND root_id IS NULL AND deleted_at IS NULL`},
		{&ps.insert, `INSERT INTO posts (id, channel_id, user_id, root_id, type, message, props, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
		{&ps.room, "UPDATE channels SET last_post_at = ? WHERE id = ?"},
		{&ps.readMark, "UPDATE channel_members SET last_read_pk = ? WHERE channel_id = ? AND user_id = ?"},
		{&ps.mention, "UPDATE channel_members SET mention_count = mention_count + 1 WHERE channel_id = ? AND user_id = ?"},
		{&ps.file, "UPDATE files SET post_id = ? WHERE id = ? AND user_id = ? AND channel_id = ? AND post_id IS NULL"},
	} {
		st, err := s.writer.Prepare(q.sql)
		if err != nil {
			ps.close()
			return nil, fmt.Errorf("prepare %q: %w", q.sql, err)
		}
		*q.st = st
	}
	return ps, nil
}

func (ps *postStmts) close() {
	if ps == nil {
		return
	}
	for _, st := range []*sql.Stmt{ps.savepoint, ps.release, ps.rollbackTo, ps.reply, ps.insert, ps.room, ps.readMark, ps.mention, ps.file} {
		if st != nil {
			st.Close()
		}
	}
}

// txStmts are a batch's statements, bound to its transaction when first used.
type txStmts struct {
	tx *sql.Tx
	ps *postStmts
	m  map[*sql.Stmt]*sql.Stmt
}

func (t *txStmts) exec(st *sql.Stmt, args ...any) (sql.Result, error) {
	bound, ok := t.m[st]
	if !ok {
		bound = t.tx.Stmt(st)
		t.m[st] = bound
	}
	return bound.Exec(args...)
}

func (s *Store) commitPosts(ps *postStmts, batch []*postRequest) {
	errs := make([]error, len(batch))
	err := s.write(context.Background(), "create_posts", func(tx *sql.Tx) error {
		t := &txStmts{tx: tx, ps: ps, m: make(map[*sql.Stmt]*sql.Stmt, 8)}
		// A savepoint per post, so one bad post fails alone; a post alone
		// in its batch needs none (its failure fails the transaction).
		alone := len(batch) == 1
		// The room's last post time and the author's read mark are set
		// once per room and author, for the last of their posts.
		type member struct{ channel, user string }
		lastAt := map[string]int64{}
		lastRead := map[member]int64{}
		var rooms []string
		var readers []member
		for i, r := range batch {
			if r.ctx.Err() != nil {
				errs[i] = r.ctx.Err()
				continue
			}
			if !alone {
				if _, err := t.exec(ps.savepoint); err != nil {
					return err
				}
			}
			p, err := insertPost(t, r.in)
			if err != nil {
				errs[i] = err
				if alone {
					return err
				}
				if _, err := t.exec(ps.rollbackTo); err != nil {
					return err
				}
			}
			if !alone {
				if _, err := t.exec(ps.release); err != nil {
					return err
				}
			}
			if err != nil {
				continue
			}
			r.post = p
			if _, ok := lastAt[p.ChannelID]; !ok {
				rooms = append(rooms, p.ChannelID)
			}
			lastAt[p.ChannelID] = toMillis(p.CreatedAt)
			m := member{p.ChannelID, p.UserID}
			if _, ok := lastRead[m]; !ok {
				readers = append(readers, m)
			}
			lastRead[m] = p.PK
		}
		for _, c := range rooms {
			if _, err := t.exec(ps.room, lastAt[c], c); err != nil {
				return err
			}
		}
		// The author has read their own post.
		for _, m := range readers {
			if _, err := t.exec(ps.readMark, lastRead[m], m.channel, m.user); err != nil {
				return err
			}
		}
		return nil
	})
	for i, r := range batch {
		switch {
		case errs[i] != nil:
			r.done <- errs[i]
		case err != nil:
			r.done <- fmt.Errorf("create post: %w", err)
		default:
			r.done <- nil
		}
	}
}

func insertPost(t *txStmts, in NewPost) (*Post, error) {
	ps := t.ps
	tm := now()
	ms := toMillis(tm)
	p := &Post{ID: NewID(), ChannelID: in.ChannelID, UserID: in.UserID, RootID: in.RootID, Type: in.Type,
		Message: in.Message, Props: in.Props, CreatedAt: tm}
	if in.RootID != "" {
		res, err := t.exec(ps.reply, ms, in.RootID, in.ChannelID)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, ErrBadRoot
		}
	}
	res, err := t.exec(ps.insert, p.ID, p.ChannelID, p.UserID, nullable(p.RootID), p.Type, p.Message, string(p.Props), ms)
	if err != nil {
		return nil, err
	}
	p.PK, _ = res.LastInsertId()
	for _, u := range in.Mentioned {
		if u == in.UserID {
			continue
		}
		if _, err := t.exec(ps.mention, p.ChannelID, u); err != nil {
			return nil, err
		}
	}
	for _, f := range in.FileIDs {
		res, err := t.exec(ps.file, p.ID, f, p.UserID, p.ChannelID)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, fmt.Errorf("file %s: %w", f, ErrFileUnusable)
		}
		p.FileIDs = append(p.FileIDs, f)
	}
	return p, nil
}

// PostByID returns a post (deleted ones too; callers decide).
func (s *Store) PostByID(ctx context.Context, id string) (*Post, error) {
	p, err := scanPost(s.reader.QueryRowContext(ctx, "SELECT "+postColumns+" FROM posts p WHERE p.id = ?", id))
	if err != nil {
		return nil, err
	}
	if err := s.attachFileIDs(ctx, []*Post{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// ListPosts returns up to limit posts of a room older than the post
// before (all when ""), newest first, and whether older ones remain.
// Thread replies are included (the client groups them); deleted posts are
// left out.
func (s *Store) ListPosts(ctx context.Context, channelID, before string, limit int) ([]*Post, bool, error) {
	defer s.observe("list_posts", time.Now())
	beforePK := int64(1 << 62)
	if before != "" {
		if err := s.reader.QueryRowContext(ctx, "SELECT pk FROM posts WHERE id = ? AND channel_id = ?", before, channelID).Scan(&beforePK); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, false, fmt.Errorf("before: %w", ErrNotFound)
			}
			return nil, false, err
		}
	}
	posts, err := s.queryPosts(ctx, "p.channel_id = ? AND p.pk < ? AND p.deleted_at IS NULL ORDER BY p.pk DESC LIMIT ?",
		channelID, beforePK, limit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(posts) > limit
	if more {
		posts = posts[:limit]
	}
	return posts, more, s.attachFileIDs(ctx, posts)
}

// Thread returns a root post's replies, oldest first.
func (s *Store) Thread(ctx context.Context, rootID string) ([]*Post, error) {
	posts, err := s.queryPosts(ctx, "p.root_id = ? AND p.deleted_at IS NULL ORDER BY p.pk", rootID)
	if err != nil {
		return nil, err
	}
	return posts, s.attachFileIDs(ctx, posts)
}

func (s *Store) queryPosts(ctx context.Context, where string, args ...any) ([]*Post, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT "+postColumns+" FROM posts p WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	posts := []*Post{}
	for rows.Next() {
		p, err := scanPost(rows)
		if err != nil {
			return nil, err
		}
		posts = append(posts, p)
	}
	return posts, rows.Err()
}

func (s *Store) attachFileIDs(ctx context.Context, posts []*Post) error {
	if len(posts) == 0 {
		return nil
	}
	byID := make(map[string]*Post, len(posts))
	args := make([]any, len(posts))
	for i, p := range posts {
		byID[p.ID] = p
		args[i] = p.ID
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT post_id, id FROM files WHERE post_id IN (?"+strings.Repeat(",?", len(posts)-1)+") ORDER BY created_at", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var pid, fid string
		if err := rows.Scan(&pid, &fid); err != nil {
			return err
		}
		byID[pid].FileIDs = append(byID[pid].FileIDs, fid)
	}
	return rows.Err()
}

// EditPost replaces a post's message and returns it.
func (s *Store) EditPost(ctx context.Context, id, message string) (*Post, error) {
	err := s.write(ctx, "edit_post", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE posts SET message = ?, edited_at = ? WHERE id = ? AND deleted_at IS NULL", message, toMillis(now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.PostByID(ctx, id)
}

// UpdatePostProps replaces a post's props (call posts keep live state there).
func (s *Store) UpdatePostProps(ctx context.Context, id string, props json.RawMessage) error {
	return s.write(ctx, "update_post_props", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE posts SET props = ? WHERE id = ?", string(props), id)
		return err
	})
}

// DeletePost marks a post deleted and clears its text; a deleted root
// keeps its replies hidden with it.
func (s *Store) DeletePost(ctx context.Context, id string) (*Post, error) {
	p, err := s.PostByID(ctx, id)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, "delete_post", func(tx *sql.Tx) error {
		ms := toMillis(now())
		res, err := tx.ExecContext(ctx, "UPDATE posts SET deleted_at = ?, message = '', props = '{}' WHERE id = ? AND deleted_at IS NULL", ms, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if p.RootID != "" {
			_, err = tx.ExecContext(ctx, "UPDATE posts SET reply_count = MAX(reply_count - 1, 0) WHERE id = ?", p.RootID)
		} else {
			_, err = tx.ExecContext(ctx, "UPDATE posts SET deleted_at = ?, message = '' WHERE root_id = ? AND deleted_at IS NULL", ms, id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	t := now()
	p.DeletedAt, p.Message = &t, ""
	return p, nil
}
