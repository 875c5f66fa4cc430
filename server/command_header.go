package server

import "calls/store"

var cmdHeader = &command{
	Name:  "header",
	Usage: "/header text",
	Help:  "set this room's header",
	Run: func(cc *commandCall) (*commandResult, error) {
		if err := cc.room.canPost(); err != nil {
			return nil, err
		}
		if err := validText("header", cc.args, 1024); err != nil {
			return nil, err
		}
		c, err := cc.s.store.UpdateChannel(cc.ctx, cc.room.ID, store.ChannelPatch{Header: &cc.args})
		if err != nil {
			return nil, err
		}
		cc.s.publishToRoom(cc.ctx, c.ID, evChannelUpdated, map[string]any{"channel": c})
		return reply("Header updated."), nil
	},
}
