package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// RetentionBatch is what one DeleteOldPosts call removed.
type RetentionBatch struct {
	Posts int // posts deleted (their reactions and search rows went with them)
	Files int // file records deleted with their posts
	// Blobs are the hashes of blobs no file record names any more: the
	// caller removes them from disk.
	Blobs []string
}

// DeleteOldPosts deletes up to limit posts created before cutoff, oldest
// first, in one short transaction, so the writer is never held for long:
// call it again while it returns a full batch. A thread's root goes only
// once its last reply is old too. Reactions go by cascade and search rows
// by trigger; the posts' file records are deleted, and a root that loses
// replies gets its count fixed.
func (s *Store) DeleteOldPosts(ctx context.Context, cutoff time.Time, limit int) (RetentionBatch, error) {
	var b RetentionBatch
	ms := toMillis(cutoff)
	err := s.write(ctx, "delete_old_posts", func(tx *sql.Tx) error {
		b = RetentionBatch{}
		rows, err := tx.QueryContext(ctx, `SELECT id, COALESCE(root_id, '') FROM posts
			WHERE created_at < ? AND (root_id IS NOT NULL OR COALESCE(last_reply_at, 0) < ?)
			ORDER BY created_at, pk LIMIT ?`, ms, ms, limit)
		if err != nil {
			return err
		}
		var ids []any
		roots := map[string]bool{}
		for rows.Next() {
			var id, root string
			if err := rows.Scan(&id, &root); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
			if root != "" {
				roots[root] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		in := "(?" + strings.Repeat(",?", len(ids)-1) + ")"
		shas, err := txStrings(ctx, tx, "DELETE FROM files WHERE post_id IN "+in+" RETURNING sha256", ids...)
		if err != nil {
			return err
		}
		b.Files = len(shas)
		res, err := tx.ExecContext(ctx, "DELETE FROM posts WHERE id IN "+in, ids...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		b.Posts = int(n)
		for root := range roots {
			if _, err := tx.ExecContext(ctx, `UPDATE posts SET reply_count = (SELECT COUNT(*) FROM posts r
				WHERE r.root_id = posts.id AND r.deleted_at IS NULL) WHERE id = ?`, root); err != nil {
				return err
			}
		}
		seen := map[string]bool{}
		for _, sha := range shas {
			if seen[sha] {
				continue
			}
			seen[sha] = true
			var one int
			err := tx.QueryRowContext(ctx, "SELECT 1 FROM files WHERE sha256 = ? LIMIT 1", sha).Scan(&one)
			if err == sql.ErrNoRows {
				b.Blobs = append(b.Blobs, sha)
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	return b, err
}

// BlobReferenced says whether any file record names the blob.
func (s *Store) BlobReferenced(ctx context.Context, sha string) (bool, error) {
	var one int
	err := s.reader.QueryRowContext(ctx, "SELECT 1 FROM files WHERE sha256 = ? LIMIT 1", sha).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

func txStrings(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
