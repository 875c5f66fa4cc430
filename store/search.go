package store

import (
	"context"
	"strings"
	"time"
)

// SearchPosts finds live posts matching query in rooms the user may read:
// rooms they are a member of, and public channels of their teams (unless
// they are a guest). Newest first.
func (s *Store) SearchPosts(ctx context.Context, userID string, guest bool, query string, limit int) ([]*Post, error) {
	defer s.observe("search_posts", time.Now())
	match := ftsQuery(query)
	if match == "" {
		return []*Post{}, nil
	}
	public := `OR (c.kind = 'public' AND c.team_id IN (SELECT team_id FROM team_members WHERE user_id = ?))`
	args := []any{match, userID}
	if guest {
		public = ""
	} else {
		args = append(args, userID)
	}
	args = append(args, limit)
	posts, err := s.queryPosts(ctx, `p.pk IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)
		AND p.deleted_at IS NULL
		AND p.channel_id IN (SELECT c.id FROM channels c WHERE c.deleted_at IS NULL AND (
			c.id IN (SELECT channel_id FROM channel_members WHERE user_id = ?) `+public+`))
		ORDER BY p.pk DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	return posts, s.attachFileIDs(ctx, posts)
}

// ftsQuery turns what a person typed into an FTS5 query: every word must
// appear (prefix match on the last one, as you type), quotes keep phrases,
// and FTS5 operators in the input are taken as plain words.
func ftsQuery(q string) string {
	var terms []string
	for _, f := range strings.Fields(q) {
		f = strings.ReplaceAll(f, `"`, "")
		if f == "" {
			continue
		}
		terms = append(terms, `"`+f+`"`)
	}
	if len(terms) == 0 {
		return ""
	}
	terms[len(terms)-1] += "*"
	return strings.Join(terms, " ")
}
