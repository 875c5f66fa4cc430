package server

import (
	"context"
	"errors"
	"net/http"

	"calls/store"
)

// room is a channel as one user may use it: every room-scoped handler
// starts with s.room, so the membership rules live in this file only.
type room struct {
	*store.Channel
	member   bool // in channel_members
	canRead  bool
	teamRole string // the user's role in the room's team, "" if none
}

var (
	errArchived  = errorf(http.StatusForbidden, "archived", "this room is archived: it is read-only")
	errNotMember = errorf(http.StatusForbidden, "not_member", "join the room first")
)

// room loads a channel for a user. A room the user may not read, or that
// is deleted, is errNotFound: the same answer as for an id that never
// existed, so ids leak nothing.
func (s *Server) room(ctx context.Context, u *store.User, channelID string) (*room, error) {
	if !store.ValidID(channelID) {
		return nil, errNotFound
	}
	c, err := s.store.ChannelByID(ctx, channelID)
	if err != nil {
		return nil, err
	}
	if c.DeletedAt != nil {
		return nil, errNotFound
	}
	r := &room{Channel: c}
	if _, err := s.store.Membership(ctx, c.ID, u.ID); err == nil {
		r.member = true
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if c.TeamID != "" {
		if tm, err := s.store.TeamMembership(ctx, c.TeamID, u.ID); err == nil {
			r.teamRole = tm.Role
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	// Members read their rooms; a public channel is also open to every
	// non-guest member of its team. Guests see only rooms they are in.
	r.canRead = r.member || (c.Kind == store.KindPublic && r.teamRole != "" && u.Role != store.RoleGuest)
	if !r.canRead {
		return nil, errNotFound
	}
	return r, nil
}

// canPost reports why the user may not post here, or nil.
func (r *room) canPost() error {
	if r.Archived() {
		return errArchived
	}
	if !r.member {
		return errNotMember
	}
	return nil
}

// canManage: rename, archive, delete, remove others. The creator, a team
// admin or a system admin; nobody renames or deletes a DM.
func (r *room) canManage(u *store.User) error {
	if r.Direct() {
		return errorf(http.StatusForbidden, "direct_room", "direct messages cannot be renamed, archived or deleted")
	}
	if u.Role == store.RoleAdmin || r.teamRole == "admin" || (r.CreatorID == u.ID && r.member) {
		return nil
	}
	return errorf(http.StatusForbidden, "forbidden", "only the room's creator, a team admin or an admin may do that")
}
