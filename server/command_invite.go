package server

import (
	"errors"
	"strings"

	"calls/store"
)

var cmdInvite = &command{
	Name:  "invite",
	Usage: "/invite @user",
	Help:  "add someone to this room",
	Run: func(cc *commandCall) (*commandResult, error) {
		fields := strings.Fields(cc.args)
		if len(fields) == 0 {
			return reply("Usage: /invite @user"), nil
		}
		var added []string
		for _, f := range fields {
			name := strings.TrimPrefix(f, "@")
			u, err := cc.s.store.UserByUsername(cc.ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				return reply("No user @%s.", name), nil
			}
			if err != nil {
				return nil, err
			}
			if err := cc.s.invite(cc.r, cc.user, cc.room, u.ID); err != nil {
				return nil, err
			}
			added = append(added, "@"+u.Username)
		}
		return reply("Added %s.", strings.Join(added, ", ")), nil
	},
}
