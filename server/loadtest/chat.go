package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// chatLoad is the chat side of a run: clients on websockets in one
// channel, posting through the API at a steady rate while the run
// measures; every client times each post from the request to its
// post_created event.
type chatLoad struct {
	r       *runner
	clients []*chatClient
	prefix  string // every load post starts with it: "lt:<run>:"

	posted, failed, delivered atomic.Uint64
	delivery, ack             histogram
	errMu                     sync.Mutex
	firstErr                  error
}

type chatClient struct {
	acct *account
	ws   *websocket.Conn
}

func (c *chatLoad) connect(ctx context.Context) error {
	c.prefix = "lt:" + c.r.fx.run + ":"
	for _, a := range c.r.fx.chatUsers {
		ws, err := c.r.dialWS(ctx, a.token)
		if err != nil {
			return fmt.Errorf("chat client %s: %w", a.name, err)
		}
		cl := &chatClient{acct: a, ws: ws}
		c.clients = append(c.clients, cl)
		go c.read(cl)
	}
	return nil
}

// read times the load posts this client receives.
func (c *chatLoad) read(cl *chatClient) {
	for {
		_, b, err := cl.ws.Read(context.Background())
		if err != nil {
			return
		}
		now := c.r.now()
		var f frame
		if json.Unmarshal(b, &f) != nil || f.Type != "post_created" {
			continue
		}
		var d struct {
			Post struct {
				Message string `json:"message"`
			} `json:"post"`
		}
		if json.Unmarshal(f.Data, &d) != nil {
			continue
		}
		rest, ok := strings.CutPrefix(d.Post.Message, c.prefix)
		if !ok {
			continue
		}
		stamp, _, _ := strings.Cut(rest, " ")
		if sent, err := strconv.ParseInt(stamp, 10, 64); err == nil {
			c.delivered.Add(1)
			c.delivery.add(time.Duration(now - sent))
		}
	}
}

// post sends rate posts a second, round robin over the clients, until
// ctx ends; it returns when the last request is answered.
func (c *chatLoad) post(ctx context.Context, rate float64) {
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	inflight := make(chan struct{}, 64)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cl := c.clients[i%len(c.clients)]
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-inflight; wg.Done() }()
			sent := c.r.now()
			msg := fmt.Sprintf("%s%d load test post %d", c.prefix, sent, i)
			err := c.r.api.do(context.Background(), "POST", "/api/v1/channels/"+c.r.fx.chatChannel+"/posts", cl.acct.token,
				map[string]string{"message": msg}, nil)
			if err != nil {
				c.failed.Add(1)
				c.errMu.Lock()
				if c.firstErr == nil {
					c.firstErr = err
				}
				c.errMu.Unlock()
				return
			}
			c.posted.Add(1)
			c.ack.add(time.Duration(c.r.now() - sent))
		}()
	}
}

func (c *chatLoad) close() {
	for _, cl := range c.clients {
		_ = cl.ws.CloseNow()
	}
}
