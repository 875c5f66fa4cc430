package server

import (
	"errors"
	"net/http"
	"slices"

	"calls/store"
)

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request, p *principal) {
	cs, err := s.store.ChannelsForUser(r.Context(), p.User.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": cs})
}

type createChannelRequest struct {
	TeamID       string   `json:"team_id"`
	Name         string   `json:"name"`
	DisplayName  string   `json:"display_name"`
	Type         string   `json:"type"`
	Header       string   `json:"header"`
	Purpose      string   `json:"purpose"`
	ParentID     string   `json:"parent_id"`
	ParentPostID string   `json:"parent_post_id"`
	UserIDs      []string `json:"user_ids"`
}

func validText(field, v string, max int) error {
	if len([]rune(v)) > max {
		return errorf(http.StatusBadRequest, "invalid_"+field, "%s is limited to %d characters", field, max)
	}
	return nil
}

func (s *Server) createChannel(w http.ResponseWriter, r *http.Request, p *principal) {
	var req createChannelRequest
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := errors.Join(validText("header", req.Header, 1024), validText("purpose", req.Purpose, 250)); err != nil {
		s.writeError(w, r, err)
		return
	}
	var c *store.Channel
	var err error
	switch req.Type {
	case store.KindPublic, store.KindPrivate:
		c, err = s.createTeamChannel(r, p, req)
	case store.KindDiscussion:
		c, err = s.createDiscussion(r, p, req)
	default:
		err = errorf(http.StatusBadRequest, "invalid_type", `type must be "public", "private" or "discussion" (DMs: POST /api/v1/dms)`)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.publishToRoom(r.Context(), c.ID, evChannelCreated, map[string]any{"channel": c})
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) createTeamChannel(r *http.Request, p *principal, req createChannelRequest) (*store.Channel, error) {
	if !store.ValidID(req.TeamID) {
		return nil, errorf(http.StatusBadRequest, "bad_team", "team_id is required")
	}
	if _, err := s.store.TeamMembership(r.Context(), req.TeamID, p.User.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errorf(http.StatusBadRequest, "bad_team", "you are not in that team")
		}
		return nil, err
	}
	if p.User.Role == store.RoleGuest {
		return nil, errorf(http.StatusForbidden, "guest", "guests cannot create channels")
	}
	if req.DisplayName == "" {
		req.DisplayName = req.Name
	}
	if err := validName("channel", req.Name); err != nil {
		return nil, err
	}
	if err := validDisplayName(req.DisplayName); err != nil {
		return nil, err
	}
	return s.store.CreateChannel(r.Context(), store.NewChannel{TeamID: req.TeamID, Kind: req.Type, Name: req.Name,
		DisplayName: req.DisplayName, Header: req.Header, Purpose: req.Purpose, CreatorID: p.User.ID})
}

// createDiscussion starts a sub-room under a room (optionally from one of
// its messages) with its own members: the creator and the users named,
// who must be able to read the parent.
func (s *Server) createDiscussion(r *http.Request, p *principal, req createChannelRequest) (*store.Channel, error) {
	parent, err := s.room(r.Context(), p.User, req.ParentID)
	if err != nil {
		return nil, err
	}
	if err := parent.canPost(); err != nil {
		return nil, err
	}
	if parent.Kind == store.KindDiscussion {
		return nil, errorf(http.StatusBadRequest, "nested_discussion", "a discussion cannot have discussions of its own")
	}
	if err := validDisplayName(req.DisplayName); err != nil {
		return nil, err
	}
	if req.ParentPostID != "" {
		post, err := s.store.PostByID(r.Context(), req.ParentPostID)
		if err != nil || post.ChannelID != parent.ID {
			return nil, errorf(http.StatusBadRequest, "bad_parent_post", "parent_post_id is not a message of the parent room")
		}
	}
	var members []string
	for _, id := range req.UserIDs {
		u, err := s.activeUser(r, id)
		if err != nil {
			return nil, err
		}
		if _, err := s.room(r.Context(), u, parent.ID); err != nil {
			return nil, errorf(http.StatusBadRequest, "bad_user", "%s cannot read the parent room", u.Username)
		}
		members = append(members, u.ID)
	}
	return s.store.CreateChannel(r.Context(), store.NewChannel{TeamID: parent.TeamID, Kind: store.KindDiscussion,
		DisplayName: req.DisplayName, ParentID: parent.ID, ParentPostID: req.ParentPostID, CreatorID: p.User.ID,
		Members: members})
}

// createDirect finds or makes the DM / group DM of exactly these people.
func (s *Server) createDirect(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		UserIDs []string `json:"user_ids"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	others := slices.DeleteFunc(slices.Clone(req.UserIDs), func(id string) bool { return id == p.User.ID })
	slices.Sort(others)
	others = slices.Compact(others)
	if len(others) < 1 || len(others) > 7 {
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_user_ids", "a direct message is with 1 to 7 other people"))
		return
	}
	var visible []*store.User
	if p.User.Role == store.RoleGuest {
		var err error
		if visible, err = s.store.UsersSharingRooms(r.Context(), p.User.ID); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	for _, id := range others {
		u, err := s.activeUser(r, id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if visible != nil && !slices.ContainsFunc(visible, func(v *store.User) bool { return v.ID == u.ID }) {
			s.writeError(w, r, errorf(http.StatusBadRequest, "bad_user", "no such user"))
			return
		}
	}
	c, created, err := s.store.DirectChannel(r.Context(), p.User.ID, others)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A DM is named after its members: send them along.
	members, err := s.store.ChannelMembers(r.Context(), c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	view := &store.SidebarChannel{Channel: c, Members: members}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.publish(evChannelCreated, map[string]any{"channel": view}, members)
	}
	writeJSON(w, status, view)
}

// roomFor loads the {id} room of the request for the principal.
func (s *Server) roomFor(r *http.Request, p *principal) (*room, error) {
	return s.room(r.Context(), p.User, r.PathValue("id"))
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		*store.Channel
		Member bool `json:"member"`
	}{rm.Channel, rm.member})
}

func (s *Server) updateChannel(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Name        *string `json:"name"`
		DisplayName *string `json:"display_name"`
		Header      *string `json:"header"`
		Purpose     *string `json:"purpose"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := rm.canPost(); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Any member sets the header and purpose; renaming is for managers.
	if req.Name != nil || req.DisplayName != nil {
		if err := rm.canManage(p.User); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	var errs []error
	if req.Name != nil {
		if rm.Kind == store.KindDiscussion {
			errs = append(errs, errorf(http.StatusBadRequest, "invalid_name", "discussions have a display_name only"))
		} else {
			errs = append(errs, validName("channel", *req.Name))
		}
	}
	if req.DisplayName != nil {
		errs = append(errs, validDisplayName(*req.DisplayName))
	}
	if req.Header != nil {
		errs = append(errs, validText("header", *req.Header, 1024))
	}
	if req.Purpose != nil {
		errs = append(errs, validText("purpose", *req.Purpose, 250))
	}
	if err := errors.Join(errs...); err != nil {
		s.writeError(w, r, firstAPIError(errs))
		return
	}
	c, err := s.store.UpdateChannel(r.Context(), rm.ID, store.ChannelPatch{Name: req.Name, DisplayName: req.DisplayName,
		Header: req.Header, Purpose: req.Purpose})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.publishToRoom(r.Context(), c.ID, evChannelUpdated, map[string]any{"channel": c})
	writeJSON(w, http.StatusOK, c)
}

func firstAPIError(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (s *Server) setChannelArchived(archived bool) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		rm, err := s.roomFor(r, p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := rm.canManage(p.User); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.store.SetArchived(r.Context(), rm.ID, archived); err != nil {
			s.writeError(w, r, err)
			return
		}
		c, err := s.store.ChannelByID(r.Context(), rm.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if archived {
			s.roomClosed(r, c.ID)
		}
		s.publishToRoom(r.Context(), c.ID, evChannelUpdated, map[string]any{"channel": c})
		writeJSON(w, http.StatusOK, c)
	}
}

// roomClosed is called when a room is archived or deleted: its running
// call ends (and its call link answers 410 from now on).
func (s *Server) roomClosed(r *http.Request, channelID string) {
	s.endCall(r.Context(), channelID, endedRoomClosed)
}

func (s *Server) deleteChannel(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := rm.canManage(p.User); err != nil {
		s.writeError(w, r, err)
		return
	}
	members, err := s.store.ChannelMembers(r.Context(), rm.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.DeleteChannel(r.Context(), rm.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.roomClosed(r, rm.ID)
	s.publish(evChannelDeleted, map[string]string{"channel_id": rm.ID}, members)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) joinChannel(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.join(r, p.User, rm); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// join adds the user to a room they can read: public channels only (others
// are by invitation), never an archived one.
func (s *Server) join(r *http.Request, u *store.User, rm *room) error {
	if rm.member {
		return nil
	}
	if rm.Kind != store.KindPublic {
		return errorf(http.StatusForbidden, "invite_only", "this room is by invitation only")
	}
	if rm.Archived() {
		return errArchived
	}
	return s.addMember(r, rm, u.ID)
}

func (s *Server) addMember(r *http.Request, rm *room, userID string) error {
	added, err := s.store.AddChannelMember(r.Context(), rm.ID, userID)
	if err != nil {
		return err
	}
	if added {
		data := map[string]string{"channel_id": rm.ID, "user_id": userID}
		s.publishToRoom(r.Context(), rm.ID, evMemberAdded, data)
		s.publish(evChannelCreated, map[string]any{"channel": rm.Channel}, []string{userID})
	}
	return nil
}

func (s *Server) leaveChannel(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.leave(r, p.User, rm); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) leave(r *http.Request, u *store.User, rm *room) error {
	if rm.Kind == store.KindDM {
		return errorf(http.StatusBadRequest, "direct_room", "you cannot leave a direct message")
	}
	if rm.Kind == store.KindPublic && rm.Name == "town-square" {
		return errorf(http.StatusBadRequest, "town_square", "everyone in the team is in Town Square")
	}
	return s.removeMember(r, rm, u.ID)
}

func (s *Server) removeMember(r *http.Request, rm *room, userID string) error {
	removed, err := s.store.RemoveChannelMember(r.Context(), rm.ID, userID)
	if err != nil {
		return err
	}
	if !removed {
		return errorf(http.StatusNotFound, "not_member", "not a member of this room")
	}
	// After this the removed user is no longer among the room's members, so
	// no later event of the room reaches them; this one tells them so.
	s.publishToRoom(r.Context(), rm.ID, evMemberRemoved, map[string]string{"channel_id": rm.ID, "user_id": userID}, userID)
	return nil
}

func (s *Server) channelMembers(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ids, err := s.store.ChannelMembers(r.Context(), rm.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeUsers(w, r, ids)
}

func (s *Server) addChannelMember(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		UserID string `json:"user_id"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.invite(r, p.User, rm, req.UserID); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"channel_id": rm.ID, "user_id": req.UserID})
}

// invite adds someone to a room the inviter is in. Team rooms take only
// members of the team; DMs never change members (start a group DM).
func (s *Server) invite(r *http.Request, inviter *store.User, rm *room, userID string) error {
	if err := rm.canPost(); err != nil {
		return err
	}
	if rm.Direct() {
		return errorf(http.StatusBadRequest, "direct_room", "direct messages keep their members; start a group message instead")
	}
	u, err := s.activeUser(r, userID)
	if err != nil {
		return err
	}
	if rm.TeamID != "" {
		if _, err := s.store.TeamMembership(r.Context(), rm.TeamID, u.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errorf(http.StatusBadRequest, "not_in_team", "%s is not in this team", u.Username)
			}
			return err
		}
	}
	return s.addMember(r, rm, u.ID)
}

func (s *Server) removeChannelMember(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	uid := r.PathValue("user_id")
	if uid == p.User.ID {
		err = s.leave(r, p.User, rm)
	} else if err = rm.canManage(p.User); err == nil {
		err = s.removeMember(r, rm, uid)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !rm.member {
		w.WriteHeader(http.StatusNoContent) // a preview of a public channel keeps no read state
		return
	}
	if err := s.store.MarkRead(r.Context(), rm.ID, p.User.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) discussions(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ds, err := s.store.Discussions(r.Context(), rm.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Only the discussions this user may read.
	visible := ds[:0]
	for _, d := range ds {
		if _, err := s.room(r.Context(), p.User, d.ID); err == nil {
			visible = append(visible, d)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": visible})
}
