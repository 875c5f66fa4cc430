package server

import (
	"strings"

	"calls/store"
)

var cmdShrug = &command{
	Name:  "shrug",
	Usage: "/shrug [message]",
	Help:  `post ¯\_(ツ)_/¯ after your message`,
	Run: func(cc *commandCall) (*commandResult, error) {
		msg := strings.TrimSpace(cc.args + ` ¯\\\_(ツ)\_/¯`)
		p, err := cc.s.post(cc.ctx, cc.user, cc.room, store.NewPost{Message: msg})
		if err != nil {
			return nil, err
		}
		return &commandResult{Post: p}, nil
	},
}
