package server

var cmdLeave = &command{
	Name:  "leave",
	Usage: "/leave",
	Help:  "leave this room",
	Run: func(cc *commandCall) (*commandResult, error) {
		if err := cc.s.leave(cc.r, cc.user, cc.room); err != nil {
			return nil, err
		}
		return reply("You left %s.", cc.room.DisplayName), nil
	},
}
