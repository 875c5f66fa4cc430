package server

import "strings"

var cmdHelp = &command{
	Name:  "help",
	Usage: "/help",
	Help:  "list the commands",
	Run: func(cc *commandCall) (*commandResult, error) {
		var b strings.Builder
		b.WriteString("Commands:\n")
		for _, c := range cc.s.commands() {
			b.WriteString(c.Usage + " — " + c.Help + "\n")
		}
		return reply("%s", strings.TrimRight(b.String(), "\n")), nil
	},
}
