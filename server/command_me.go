package server

import "calls/store"

var cmdMe = &command{
	Name:  "me",
	Usage: "/me action",
	Help:  "post an action, e.g. /me waves",
	Run: func(cc *commandCall) (*commandResult, error) {
		if cc.args == "" {
			return reply("Usage: /me action"), nil
		}
		p, err := cc.s.post(cc.ctx, cc.user, cc.room, store.NewPost{Type: "me", Message: "*" + cc.args + "*"})
		if err != nil {
			return nil, err
		}
		return &commandResult{Post: p}, nil
	},
}
