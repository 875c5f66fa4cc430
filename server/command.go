package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"calls/store"
)

// A slash command runs in a room on behalf of a user. Each command lives in
// its own file (command_NAME.go) and registers itself in commands().
type command struct {
	Name  string
	Usage string // e.g. "/invite @user"
	Help  string
	Run   func(cc *commandCall) (*commandResult, error)
}

// commandCall is one invocation.
type commandCall struct {
	s    *Server
	r    *http.Request
	ctx  context.Context
	user *store.User
	room *room
	args string // everything after the name, trimmed
}

// commandResult is what the caller sees: a reply only they see
// (ephemeral) and, for commands that post, the post.
type commandResult struct {
	Text      string    `json:"text"`
	Ephemeral bool      `json:"ephemeral"`
	Post      *postView `json:"post,omitempty"`
	// Action asks the web client to act: "call_join" (with Title) or
	// "call_leave".
	Action string `json:"action,omitempty"`
	Title  string `json:"title,omitempty"`
}

func reply(format string, args ...any) *commandResult {
	return &commandResult{Text: fmt.Sprintf(format, args...), Ephemeral: true}
}

// commandList is the registry, in the order /help lists them. It is set
// in init because /help itself reads it.
var commandList []*command

func init() {
	commandList = []*command{cmdHelp, cmdJoin, cmdLeave, cmdInvite, cmdMe, cmdShrug, cmdHeader, cmdCall}
}

func (s *Server) commands() []*command { return commandList }

// parseCommand splits "/name args" into a lower-cased name and the rest.
func parseCommand(text string) (name, args string, err error) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") || len(text) < 2 {
		return "", "", fmt.Errorf("a command starts with / and a name, e.g. /help")
	}
	if !utf8.ValidString(text) || len(text) > MaxMessageLen*4 {
		return "", "", fmt.Errorf("command is not valid text or too long")
	}
	name, args, _ = strings.Cut(text[1:], " ")
	if i := strings.IndexAny(name, "\n\t"); i >= 0 {
		name, args = name[:i], name[i+1:]+" "+args
	}
	return strings.ToLower(name), strings.TrimSpace(args), nil
}

func (s *Server) runCommand(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Command string `json:"command"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	name, args, err := parseCommand(req.Command)
	if err != nil {
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_command", "%s", err.Error()))
		return
	}
	cmds := s.commands()
	i := slices.IndexFunc(cmds, func(c *command) bool { return c.Name == name })
	if i < 0 {
		writeJSON(w, http.StatusOK, reply("/%s is not a command here. Try /help for the list.", name))
		return
	}
	res, err := cmds[i].Run(&commandCall{s: s, r: r, ctx: r.Context(), user: p.User, room: rm, args: args})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
