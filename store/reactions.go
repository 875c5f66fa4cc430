package store

import (
	"context"
	"database/sql"
	"strings"
)

// Reaction is one user's emoji on a post.
type Reaction struct {
	PostID string `json:"post_id"`
	UserID string `json:"user_id"`
	Emoji  string `json:"emoji"`
}

// ToggleReaction adds the user's emoji to a post, or removes it when it is
// already there; it reports whether the reaction now exists.
func (s *Store) ToggleReaction(ctx context.Context, postID, userID, emoji string) (bool, error) {
	var added bool
	err := s.write(ctx, "toggle_reaction", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM reactions WHERE post_id = ? AND user_id = ? AND emoji = ?", postID, userID, emoji)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		added = true
		_, err = tx.ExecContext(ctx, "INSERT INTO reactions (post_id, user_id, emoji, created_at) VALUES (?, ?, ?, ?)",
			postID, userID, emoji, toMillis(now()))
		return err
	})
	return added, err
}

// ReactionsFor returns the reactions on the given posts, oldest first.
func (s *Store) ReactionsFor(ctx context.Context, postIDs []string) ([]Reaction, error) {
	out := []Reaction{}
	if len(postIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(postIDs))
	for i, id := range postIDs {
		args[i] = id
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT post_id, user_id, emoji FROM reactions WHERE post_id IN (?"+
		strings.Repeat(",?", len(postIDs)-1)+") ORDER BY created_at", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r Reaction
		if err := rows.Scan(&r.PostID, &r.UserID, &r.Emoji); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
