package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// account is a user the load test created, with its API token.
type account struct {
	id, name, token string
}

// fixture is everything the load test creates on the server: a team, one
// private channel per call (its participants are the members), a channel
// for the chat clients, and the users.
type fixture struct {
	api   *api
	admin string // admin token
	run   string // random id in every name, so runs never collide

	team        string
	calls       []string     // channel id per call
	callUsers   [][]*account // [call][participant]
	chatChannel string
	chatUsers   []*account

	mu       sync.Mutex
	channels []string // created, to delete
	users    []string // created, to deactivate
}

func newRunID() string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 6)
	for i := range b {
		b[i] = digits[rand.IntN(len(digits))]
	}
	return string(b)
}

// setupConcurrency bounds the API requests in flight while setting up and
// cleaning up: enough to hide round trips, few enough not to be a load
// test of the database.
const setupConcurrency = 8

// create makes the team, channels, users and tokens.
func (f *fixture) create(ctx context.Context, cfg *Config) error {
	var team struct {
		ID string `json:"id"`
	}
	if err := f.api.do(ctx, "POST", "/api/v1/teams", f.admin,
		map[string]string{"name": "lt-" + f.run, "display_name": "Load test " + f.run}, &team); err != nil {
		return fmt.Errorf("create team: %w", err)
	}
	f.team = team.ID
	newChannel := func(name, display string) (string, error) {
		var c struct {
			ID string `json:"id"`
		}
		err := f.api.do(ctx, "POST", "/api/v1/channels", f.admin,
			map[string]string{"team_id": f.team, "name": name, "display_name": display, "type": "private"}, &c)
		if err != nil {
			return "", fmt.Errorf("create channel %s: %w", name, err)
		}
		f.mu.Lock()
		f.channels = append(f.channels, c.ID)
		f.mu.Unlock()
		return c.ID, nil
	}
	type job struct {
		a       *account
		channel *string // filled in before the jobs run
	}
	var jobs []job
	f.calls = make([]string, cfg.Calls)
	f.callUsers = make([][]*account, cfg.Calls)
	for c := range cfg.Calls {
		id, err := newChannel(fmt.Sprintf("lt-%s-call-%d", f.run, c+1), fmt.Sprintf("Load test %s call %d", f.run, c+1))
		if err != nil {
			return err
		}
		f.calls[c] = id
		for p := range cfg.Participants {
			a := &account{name: fmt.Sprintf("lt-%s-c%d-p%d", f.run, c+1, p+1)}
			f.callUsers[c] = append(f.callUsers[c], a)
			jobs = append(jobs, job{a, &f.calls[c]})
		}
	}
	if cfg.ChatClients > 0 {
		id, err := newChannel("lt-"+f.run+"-chat", "Load test "+f.run+" chat")
		if err != nil {
			return err
		}
		f.chatChannel = id
		for i := range cfg.ChatClients {
			a := &account{name: fmt.Sprintf("lt-%s-chat-%d", f.run, i+1)}
			f.chatUsers = append(f.chatUsers, a)
			jobs = append(jobs, job{a, &f.chatChannel})
		}
	}
	var next atomic.Int64
	errs := make([]error, setupConcurrency)
	var wg sync.WaitGroup
	for w := range setupConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) || ctx.Err() != nil {
					return
				}
				if err := f.addUser(ctx, jobs[i].a, *jobs[i].channel); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// addUser creates a bot user (no password: no password hashing, and
// logins are rate limited anyway), gives it an API token, and puts it in
// the team and the channel.
func (f *fixture) addUser(ctx context.Context, a *account, channel string) error {
	var u user
	err := f.api.do(ctx, "POST", "/api/v1/users", f.admin,
		map[string]any{"username": a.name, "role": "member", "is_bot": true, "display_name": a.name}, &u)
	if err != nil {
		return fmt.Errorf("create user %s: %w", a.name, err)
	}
	a.id = u.ID
	f.mu.Lock()
	f.users = append(f.users, u.ID)
	f.mu.Unlock()
	var tok struct {
		Token string `json:"token"`
	}
	if err := f.api.do(ctx, "POST", "/api/v1/users/"+u.ID+"/tokens", f.admin, map[string]string{"name": "loadtest"}, &tok); err != nil {
		return fmt.Errorf("token for %s: %w", a.name, err)
	}
	a.token = tok.Token
	if err := f.api.do(ctx, "POST", "/api/v1/teams/"+f.team+"/members", f.admin, map[string]string{"user_id": u.ID}, nil); err != nil {
		return fmt.Errorf("add %s to the team: %w", a.name, err)
	}
	if err := f.api.do(ctx, "POST", "/api/v1/channels/"+channel+"/members", f.admin, map[string]string{"user_id": u.ID}, nil); err != nil {
		return fmt.Errorf("add %s to its channel: %w", a.name, err)
	}
	return nil
}

// remove deletes the channels and deactivates the users (which revokes
// their tokens). The team stays: the API has no way to delete one.
func (f *fixture) remove(ctx context.Context) error {
	f.mu.Lock()
	channels, users := f.channels, f.users
	f.mu.Unlock()
	var mu sync.Mutex
	var errs []error
	var n int
	run := func(items []string, do func(string) error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range setupConcurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(items) {
						return
					}
					if err := do(items[i]); err != nil {
						mu.Lock()
						if n++; len(errs) < 3 {
							errs = append(errs, err)
						}
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
	}
	run(channels, func(id string) error { return f.api.do(ctx, "DELETE", "/api/v1/channels/"+id, f.admin, nil, nil) })
	run(users, func(id string) error {
		return f.api.do(ctx, "PUT", "/api/v1/users/"+id+"/active", f.admin, map[string]bool{"active": false}, nil)
	})
	if n > 0 {
		return fmt.Errorf("clean up: %d requests failed, e.g. %w", n, errors.Join(errs...))
	}
	return nil
}
