package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"calls/server/markdown"
	"calls/store"
)

// MaxMessageLen is the longest message, in characters (Mattermost's cap).
const MaxMessageLen = 16383

// postView is a post as clients get it: rendered, with its files and
// reactions.
type postView struct {
	*store.Post
	HTML      string          `json:"html"`
	Mentions  []string        `json:"mentions,omitempty"`
	Files     []*store.File   `json:"files,omitempty"`
	Reactions []reactionGroup `json:"reactions,omitempty"`
}

type reactionGroup struct {
	Emoji   string   `json:"emoji"`
	UserIDs []string `json:"user_ids"`
}

// viewPosts renders posts and loads their files and reactions in bulk.
func (s *Server) viewPosts(ctx context.Context, posts []*store.Post) ([]*postView, error) {
	ids := make([]string, len(posts))
	out := make([]*postView, len(posts))
	byID := make(map[string]*postView, len(posts))
	for i, p := range posts {
		ids[i] = p.ID
		v, err := s.viewPostAlone(ctx, p)
		if err != nil {
			return nil, err
		}
		out[i], byID[p.ID] = v, v
	}
	rs, err := s.store.ReactionsFor(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		v := byID[r.PostID]
		i := -1
		for j, g := range v.Reactions {
			if g.Emoji == r.Emoji {
				i = j
			}
		}
		if i < 0 {
			v.Reactions = append(v.Reactions, reactionGroup{Emoji: r.Emoji})
			i = len(v.Reactions) - 1
		}
		v.Reactions[i].UserIDs = append(v.Reactions[i].UserIDs, r.UserID)
	}
	return out, nil
}

// viewPostAlone renders a post and loads its files, without reactions
// (all a post just created has).
func (s *Server) viewPostAlone(ctx context.Context, p *store.Post) (*postView, error) {
	v := &postView{Post: p}
	if p.DeletedAt == nil {
		v.HTML, _ = s.md.Render(p.Message)
	}
	if len(p.FileIDs) > 0 {
		fs, err := s.store.FilesByIDs(ctx, p.FileIDs)
		if err != nil {
			return nil, err
		}
		v.Files = fs
	}
	return v, nil
}

func (s *Server) viewPost(ctx context.Context, p *store.Post) (*postView, error) {
	vs, err := s.viewPosts(ctx, []*store.Post{p})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

func (s *Server) listPosts(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			s.writeError(w, r, errorf(http.StatusBadRequest, "bad_limit", "limit must be 1-200"))
			return
		}
		limit = n
	}
	before := r.URL.Query().Get("before")
	if before != "" && !store.ValidID(before) {
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_before", "before must be a post id"))
		return
	}
	posts, more, err := s.store.ListPosts(r.Context(), rm.ID, before, limit)
	if errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_before", "before is not a post of this room"))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views, err := s.viewPosts(r.Context(), posts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"posts": views, "has_more": more})
}

type createPostRequest struct {
	Message string   `json:"message"`
	RootID  string   `json:"root_id"`
	FileIDs []string `json:"file_ids"`
}

func (s *Server) createPost(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req createPostRequest
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	post, err := s.post(r.Context(), p.User, rm, store.NewPost{Message: req.Message, RootID: req.RootID, FileIDs: req.FileIDs})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, post)
}

// post is the one way a message enters a room (API, commands, webhooks,
// call messages): checks, mentions, store, then the live event.
func (s *Server) post(ctx context.Context, u *store.User, rm *room, np store.NewPost) (*postView, error) {
	if err := rm.canPost(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(np.Message) == "" && len(np.FileIDs) == 0 && np.Type == "" {
		return nil, errorf(http.StatusBadRequest, "empty_message", "message is empty")
	}
	if !utf8.ValidString(np.Message) {
		return nil, errorf(http.StatusBadRequest, "bad_message", "message must be UTF-8 text")
	}
	if n := utf8.RuneCountInString(np.Message); n > MaxMessageLen {
		return nil, errorf(http.StatusBadRequest, "message_too_long", "message is %d characters; the limit is %d", n, MaxMessageLen)
	}
	if len(np.FileIDs) > 10 {
		return nil, errorf(http.StatusBadRequest, "too_many_files", "at most 10 files per message")
	}
	if np.RootID != "" && !store.ValidID(np.RootID) {
		return nil, errorf(http.StatusBadRequest, "bad_root", "root_id is not a post id")
	}
	// People are rate limited; the server's own notices (calls) are not.
	if person := np.Type == "" || np.Type == "me"; !person {
		// no limit
	} else if ok, wait := s.postLimit.Allow(u.ID); !ok {
		s.metrics.rateLimited.WithLabelValues("post").Inc()
		return nil, &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "you are posting too fast", RetryAfter: wait}
	}
	members, err := s.store.ChannelMembers(ctx, rm.ID)
	if err != nil {
		return nil, err
	}
	np.ChannelID, np.UserID = rm.ID, u.ID
	np.Mentioned, err = s.mentioned(ctx, rm, u.ID, members, np.Message)
	if err != nil {
		return nil, err
	}
	created, err := s.store.CreatePost(ctx, np)
	switch {
	case errors.Is(err, store.ErrBadRoot):
		return nil, errorf(http.StatusBadRequest, "bad_root", "root_id is not a message of this room")
	case errors.Is(err, store.ErrFileUnusable):
		return nil, errorf(http.StatusBadRequest, "bad_file", "file_ids must be your uploads to this room, not yet attached")
	case err != nil:
		return nil, err
	}
	v, err := s.viewPostAlone(ctx, created) // nobody has reacted yet
	if err != nil {
		return nil, err
	}
	v.Mentions = np.Mentioned
	s.publish(evPostCreated, map[string]any{"post": v}, append(members, u.ID))
	return v, nil
}

// mentioned resolves who a message mentions among the room's members:
// @name, @channel/@all/@here (everyone), and every other member of a DM
// or group DM (a direct message always notifies).
func (s *Server) mentioned(ctx context.Context, rm *room, author string, members []string, msg string) ([]string, error) {
	if rm.Direct() {
		return slices.DeleteFunc(slices.Clone(members), func(id string) bool { return id == author }), nil
	}
	names := markdown.Mentions(msg)
	if len(names) == 0 {
		return nil, nil
	}
	var out []string
	var usernames []string
	for _, n := range names {
		switch n {
		case "channel", "all", "here":
			return slices.DeleteFunc(slices.Clone(members), func(id string) bool { return id == author }), nil
		default:
			usernames = append(usernames, n)
		}
	}
	us, err := s.store.UsersByUsernames(ctx, usernames)
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		for _, m := range members {
			if m == u.ID {
				out = append(out, u.ID)
			}
		}
	}
	return out, nil
}

// postFor loads the {id} post and its room for the principal.
func (s *Server) postFor(r *http.Request, p *principal) (*store.Post, *room, error) {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		return nil, nil, errNotFound
	}
	post, err := s.store.PostByID(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	rm, err := s.room(r.Context(), p.User, post.ChannelID)
	if err != nil {
		return nil, nil, err
	}
	if post.DeletedAt != nil {
		return nil, nil, errNotFound
	}
	return post, rm, nil
}

func (s *Server) getPost(w http.ResponseWriter, r *http.Request, p *principal) {
	post, _, err := s.postFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.viewPost(r.Context(), post)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) editPost(w http.ResponseWriter, r *http.Request, p *principal) {
	post, rm, err := s.postFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Message string `json:"message"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case post.UserID != p.User.ID || post.Type != "":
		err = errorf(http.StatusForbidden, "not_author", "only the author may edit a message")
	case rm.Archived():
		err = errArchived
	case strings.TrimSpace(req.Message) == "":
		err = errorf(http.StatusBadRequest, "empty_message", "message is empty; delete the message instead")
	case utf8.RuneCountInString(req.Message) > MaxMessageLen:
		err = errorf(http.StatusBadRequest, "message_too_long", "the limit is %d characters", MaxMessageLen)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	edited, err := s.store.EditPost(r.Context(), post.ID, req.Message)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.viewPost(r.Context(), edited)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.publishToRoom(r.Context(), rm.ID, evPostEdited, map[string]any{"post": v})
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) deletePost(w http.ResponseWriter, r *http.Request, p *principal) {
	post, rm, err := s.postFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if post.UserID != p.User.ID && p.User.Role != store.RoleAdmin {
		s.writeError(w, r, errorf(http.StatusForbidden, "not_author", "only the author or an admin may delete a message"))
		return
	}
	if rm.Archived() {
		s.writeError(w, r, errArchived)
		return
	}
	if _, err := s.store.DeletePost(r.Context(), post.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.publishToRoom(r.Context(), rm.ID, evPostDeleted, map[string]string{"post_id": post.ID, "channel_id": rm.ID, "root_id": post.RootID})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) thread(w http.ResponseWriter, r *http.Request, p *principal) {
	post, _, err := s.postFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if post.RootID != "" { // asked for a reply: show its whole thread
		if post, err = s.store.PostByID(r.Context(), post.RootID); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	replies, err := s.store.Thread(r.Context(), post.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views, err := s.viewPosts(r.Context(), append([]*store.Post{post}, replies...))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"root": views[0], "posts": views[1:]})
}

func (s *Server) toggleReaction(w http.ResponseWriter, r *http.Request, p *principal) {
	post, rm, err := s.postFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Emoji string `json:"emoji"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := validEmoji(req.Emoji); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := rm.canPost(); err != nil {
		s.writeError(w, r, err)
		return
	}
	added, err := s.store.ToggleReaction(r.Context(), post.ID, p.User.ID, req.Emoji)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ev := evReactionRemoved
	if added {
		ev = evReactionAdded
	}
	s.publishToRoom(r.Context(), rm.ID, ev, map[string]string{"post_id": post.ID, "channel_id": rm.ID, "user_id": p.User.ID, "emoji": req.Emoji})
	v, err := s.viewPost(r.Context(), post)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"added": added, "reactions": v.Reactions})
}

// validEmoji accepts an emoji character sequence or a :short_name:, short
// enough to never be a message in disguise.
func validEmoji(e string) error {
	if e == "" || len(e) > 64 || !utf8.ValidString(e) || strings.ContainsAny(e, "<>\"'&\n\r\t ") {
		return errorf(http.StatusBadRequest, "bad_emoji", "emoji must be one emoji or a :name:")
	}
	return nil
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, p *principal) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || len(q) > 512 {
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_query", "q must be 1-512 characters"))
		return
	}
	posts, err := s.store.SearchPosts(r.Context(), p.User.ID, p.User.Role == store.RoleGuest, q, 100)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views, err := s.viewPosts(r.Context(), posts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"posts": views})
}
