package hub

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Connection timing. Pings every 20 s because some reverse proxies close a
// connection that has been quiet for 30–60 s; a peer that has not answered
// for 45 s is dead.
const (
	PingInterval = 20 * time.Second
	PongTimeout  = 25 * time.Second
	WriteTimeout = 10 * time.Second
	// ReadLimit caps one incoming frame; signaling (SDP) is the largest.
	ReadLimit = 64 << 10
	// QueueSize is how many frames may wait for a slow client before it is
	// dropped.
	QueueSize = 256
)

// Reasons a client is closed, sent in the websocket close frame.
const (
	ReasonTooSlow     = "too slow: send queue full"
	ReasonShutdown    = "server shutting down"
	ReasonLoggedOut   = "logged out"
	ReasonDeactivated = "account deactivated"
	ReasonSession     = "session ended"
)

// Handler receives each frame a client sends, on that client's loop
// goroutine. A returned frame, if any, is sent back to that client.
type Handler func(ctx context.Context, c *Client, f Frame) *Frame

// Client is one websocket connection of one user: a reader that decodes
// frames into a channel, a writer that drains a bounded queue with a write
// deadline, and a loop that owns the client's state.
//
// Most clients are idle most of the time, so an idle one holds neither a
// queue buffer nor a writer goroutine: the writer is started when a frame
// is queued and ends when the queue is empty: about 14 KiB less per
// client, measured with 10,000 of them (docs/PERFORMANCE.md).
type Client struct {
	UserID      string
	SessionHash string

	hub  *Hub
	away atomic.Bool

	mu      sync.Mutex
	queue   [][]byte        // frames not yet taken by the writer
	pending int             // queued plus taken but not yet written; at most QueueSize
	writing bool            // a writer goroutine is running
	conn    *websocket.Conn // set by Run; frames queued before then wait for it
	ctx     context.Context // Run's context, for writes
	flushed chan struct{}   // signalled when a writer ends

	done      chan struct{}
	closeOnce sync.Once
	reason    string
}

// NewClient prepares a client for Hub.Register and Run.
func (h *Hub) NewClient(userID, sessionHash string) *Client {
	return &Client{UserID: userID, SessionHash: sessionHash, hub: h,
		flushed: make(chan struct{}, 1), done: make(chan struct{})}
}

// enqueue queues a frame without blocking; false means the queue is full.
func (c *Client) enqueue(frame []byte) bool {
	select {
	case <-c.done:
		return true // closing anyway; not a slow-consumer drop
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending >= QueueSize {
		return false
	}
	c.queue = append(c.queue, frame)
	c.pending++
	c.startWriter()
	return true
}

// startWriter starts a writer if Run is serving and none runs; c.mu held.
func (c *Client) startWriter() {
	if c.writing || c.conn == nil {
		return
	}
	c.writing = true
	go c.writer(c.ctx, c.conn)
}

// Send queues a frame for this client alone; a full queue drops the client.
func (c *Client) Send(typ string, data any) {
	raw, err := json.Marshal(data)
	if err != nil {
		return
	}
	if !c.enqueue(encode(typ, 0, raw)) {
		c.Close(ReasonTooSlow)
	}
}

// SetAway records the client's idle state (see Hub.Status).
func (c *Client) SetAway(away bool) { c.away.Store(away) }

// Close ends the connection with a reason; safe to call many times.
func (c *Client) Close(reason string) {
	c.closeOnce.Do(func() {
		c.reason = reason
		close(c.done)
	})
}

// Done is closed when the client is closing.
func (c *Client) Done() <-chan struct{} { return c.done }

// Run serves the connection until it closes. validate is called at every
// ping; when it returns an error the client is closed with that text (it
// catches a session revoked by another process, such as `calls user
// deactivate` beside the server).
func (c *Client) Run(ctx context.Context, conn *websocket.Conn, handle Handler, validate func(context.Context) error) {
	defer c.hub.unregister(c)
	conn.SetReadLimit(ReadLimit)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	in := make(chan Frame)
	readErr := make(chan error, 1)
	go c.reader(ctx, conn, in, readErr)
	c.mu.Lock()
	c.conn, c.ctx = conn, ctx
	if c.pending > 0 {
		c.startWriter() // the hello and anything replayed
	}
	c.mu.Unlock()

	ping := time.NewTicker(PingInterval)
	defer ping.Stop()
loop:
	for {
		select {
		case f := <-in:
			if reply := handle(ctx, c, f); reply != nil {
				if !c.enqueue(encode(reply.Type, 0, reply.Data)) {
					c.Close(ReasonTooSlow)
				}
			}
		case err := <-readErr:
			_ = err // the peer went away or sent garbage; nothing to tell
			c.Close("")
			break loop
		case <-ping.C:
			// Not on this goroutine: it lives as long as the connection, and
			// the session check is a database query whose deep stack it
			// would keep (with 10,000 clients, ~60 MB more).
			go c.keepalive(ctx, conn, validate)
		case <-c.done:
			break loop
		case <-ctx.Done():
			c.Close(ReasonShutdown)
			break loop
		}
	}
	// Let the writer flush what is queued (e.g. server_shutdown) briefly.
	c.waitFlushed(time.Second)
	cancel()
	status := websocket.StatusNormalClosure
	switch c.reason {
	case ReasonTooSlow:
		status = websocket.StatusPolicyViolation
	case ReasonShutdown:
		status = websocket.StatusGoingAway
	}
	_ = conn.Close(status, c.reason)
}

// keepalive re-checks the session, then pings; a peer that does not
// answer within PongTimeout is closed.
func (c *Client) keepalive(ctx context.Context, conn *websocket.Conn, validate func(context.Context) error) {
	if validate != nil {
		if err := validate(ctx); err != nil {
			c.Close(err.Error())
			return
		}
	}
	pctx, cancel := context.WithTimeout(ctx, PongTimeout)
	defer cancel()
	if err := conn.Ping(pctx); err != nil && pctx.Err() != nil && ctx.Err() == nil {
		c.Close("ping timeout")
	}
}

func (c *Client) reader(ctx context.Context, conn *websocket.Conn, in chan<- Frame, errc chan<- error) {
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			errc <- err
			return
		}
		if typ != websocket.MessageText {
			errc <- errors.New("binary frame")
			return
		}
		var f Frame
		if err := json.Unmarshal(data, &f); err != nil || f.Type == "" {
			// A malformed frame is answered, not fatal: clients have bugs.
			if !c.enqueue(encode("error", 0, []byte(`{"code":"bad_frame","error":"frame must be JSON {\"type\":...,\"data\":...}"}`))) {
				c.Close(ReasonTooSlow)
			}
			continue
		}
		select {
		case in <- f:
		case <-ctx.Done():
			return
		}
	}
}

// writer writes queued frames until the queue is empty, then ends. A
// closing client's queue is still flushed (Run waits for that briefly).
func (c *Client) writer(ctx context.Context, conn *websocket.Conn) {
	defer func() {
		select {
		case c.flushed <- struct{}{}:
		default:
		}
	}()
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for i, frame := range batch {
			if err := c.write(ctx, conn, frame); err != nil {
				c.Close(ReasonTooSlow)
				c.mu.Lock()
				c.queue, c.pending, c.writing = nil, 0, false
				c.mu.Unlock()
				return
			}
			batch[i] = nil
			c.mu.Lock()
			c.pending--
			c.mu.Unlock()
		}
	}
}

// waitFlushed waits up to max for the writer to empty the queue.
func (c *Client) waitFlushed(max time.Duration) {
	timeout := time.After(max)
	for {
		c.mu.Lock()
		busy := c.writing
		c.mu.Unlock()
		if !busy {
			return
		}
		select {
		case <-c.flushed:
		case <-timeout:
			return
		}
	}
}

func (c *Client) write(ctx context.Context, conn *websocket.Conn, frame []byte) error {
	wctx, cancel := context.WithTimeout(ctx, WriteTimeout)
	defer cancel()
	return conn.Write(wctx, websocket.MessageText, frame)
}
