package server

import (
	"context"
)

// Event types sent over the websocket (docs/PROTOCOL.md).
const (
	evPostCreated       = "post_created"
	evPostEdited        = "post_edited"
	evPostDeleted       = "post_deleted"
	evReactionAdded     = "reaction_added"
	evReactionRemoved   = "reaction_removed"
	evChannelCreated    = "channel_created"
	evChannelUpdated    = "channel_updated"
	evChannelDeleted    = "channel_deleted"
	evMemberAdded       = "member_added"
	evMemberRemoved     = "member_removed"
	evTeamMemberAdded   = "team_member_added"
	evTeamMemberRemoved = "team_member_removed"
	evTyping            = "typing"
	evPresence          = "presence"
)

// publishToRoom sends an event to the room's current members and to any
// extra users (e.g. someone just removed, who must hear of it).
func (s *Server) publishToRoom(ctx context.Context, channelID, typ string, data any, extra ...string) {
	members, err := s.store.ChannelMembers(ctx, channelID)
	if err != nil {
		s.log.Error("publish: room members", "channel", channelID, "err", err)
		return
	}
	s.publish(typ, data, append(members, extra...))
}

// publish sends an event to the given users (never to everyone by
// accident: a nil list means nobody).
func (s *Server) publish(typ string, data any, users []string) {
	if len(users) == 0 {
		return
	}
	if _, err := s.hub.Publish(typ, data, users); err != nil {
		s.log.Error("publish", "type", typ, "err", err)
	}
}
