package server

import (
	"strings"

	"calls/store"
)

var cmdJoin = &command{
	Name:  "join",
	Usage: "/join ~channel",
	Help:  "join a public channel of this team",
	Run: func(cc *commandCall) (*commandResult, error) {
		name := strings.TrimPrefix(strings.Fields(cc.args + " x")[0], "~")
		if cc.args == "" || cc.room.TeamID == "" {
			return reply("Usage: /join ~channel (in a team channel)"), nil
		}
		chans, err := cc.s.store.PublicChannels(cc.ctx, cc.room.TeamID)
		if err != nil {
			return nil, err
		}
		for _, c := range chans {
			if strings.EqualFold(c.Name, name) {
				rm, err := cc.s.room(cc.ctx, cc.user, c.ID)
				if err != nil {
					break
				}
				if err := cc.s.join(cc.r, cc.user, rm); err != nil {
					return nil, err
				}
				return reply("You joined ~%s.", c.Name), nil
			}
		}
		if cc.user.Role == store.RoleGuest {
			return reply("Guests join channels by invitation."), nil
		}
		return reply("No public channel ~%s in this team.", name), nil
	},
}
