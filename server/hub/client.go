package hub

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Connection timing. Pings every 20 s because some reverse proxies close a
// connection that has been quiet for 30–60 s; a peer that has not answered
// for 25 s more is dead.
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

// Handler receives each frame a client sends, on that client's goroutine.
// A returned frame, if any, is sent back to that client.
type Handler func(ctx context.Context, c *Client, f Frame) *Frame

// Client is one websocket connection of one user.
//
// Most clients are idle most of the time, so an idle one costs one
// goroutine (Run, waiting for the client's next frame, which it also
// handles) and small buffers (wire.go), and nothing else that lives as
// long as the connection: a writer goroutine exists only while frames wait
// and the queue only while it holds something; pings are started by the
// hub's one ticker (ping.go) on a short-lived goroutine.
type Client struct {
	UserID      string
	SessionHash string
	// Host is the host name the client reached the server by, set before
	// Run (the ICE servers a client is given name the server that way).
	Host string

	hub  *Hub
	away atomic.Bool

	mu       sync.Mutex
	queue    [][]byte        // frames not yet taken by the writer
	spare    [][]byte        // an emptied queue kept for reuse, when small
	pending  int             // queued plus taken but not yet written; at most QueueSize
	writing  bool            // a writer goroutine is running
	stopped  bool            // no writer may start: the connection is closing
	running  bool            // Run has started; frames queued before then wait for it
	conn     *websocket.Conn // set by Accept
	wire     *wire           // the connection under conn, for data frames
	flushed  chan struct{}   // made by waitFlushed: signalled when a writer ends
	ctx      context.Context // Run's context
	validate func(context.Context) error

	pinging atomic.Bool // a keepalive is in flight
	slot    int         // the ping wheel's slot holding the client, or -1 (hub.mu)

	done       chan struct{}
	closeOnce  sync.Once
	finishOnce sync.Once
	reason     string
}

// NewClient prepares a client for Hub.Register, Accept and Run.
func (h *Hub) NewClient(userID, sessionHash string) *Client {
	return &Client{UserID: userID, SessionHash: sessionHash, hub: h, slot: -1, done: make(chan struct{})}
}

// Accept upgrades the request to the client's websocket (websocket.Accept
// with opts), on small buffers of its own instead of the HTTP server's
// (wire.go). The caller must not use w or r afterwards.
func (c *Client) Accept(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions) error {
	sb := &smallBuffers{ResponseWriter: w}
	conn, err := websocket.Accept(sb, r, opts)
	if err != nil {
		return err
	}
	conn.SetReadLimit(ReadLimit)
	c.mu.Lock()
	c.conn, c.wire = conn, sb.wire
	c.mu.Unlock()
	return nil
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
	if c.queue == nil {
		c.queue, c.spare = c.spare, nil
	}
	c.queue = append(c.queue, frame)
	c.pending++
	c.startWriter()
	return true
}

// startWriter starts a writer if Run is serving and none runs; c.mu held.
func (c *Client) startWriter() {
	if c.writing || !c.running || c.stopped {
		return
	}
	c.writing = true
	go c.writer()
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

// Close ends the connection with a reason; safe to call many times, from
// any goroutine. Queued frames are still written (for up to a second),
// then the websocket is closed with the reason.
func (c *Client) Close(reason string) {
	first := false
	c.closeOnce.Do(func() {
		c.reason = reason
		close(c.done)
		first = true
	})
	if !first {
		return
	}
	// Counted here, once per client, whichever queue or write found it
	// too slow: a broadcast, a reply, a frame for it alone, a failed write.
	if reason == ReasonTooSlow && c.hub != nil && c.hub.OnDrop != nil {
		c.hub.OnDrop(c)
	}
	c.mu.Lock()
	running := c.running
	c.mu.Unlock()
	if running {
		// Run may be waiting for the client's next frame: closing the
		// connection is what ends that wait.
		go c.finish()
	}
}

// Done is closed when the client is closing.
func (c *Client) Done() <-chan struct{} { return c.done }

// Run serves the connection until it closes, on the calling goroutine:
// it reads the client's frames and hands each to handle, whose reply it
// queues. validate is called at every ping; when it returns an error the
// client is closed with that text (it catches a session revoked by another
// process, such as `calls user deactivate` beside the server). When ctx
// ends the client is closed as the server shutting down. Accept must have
// succeeded first.
func (c *Client) Run(ctx context.Context, handle Handler, validate func(context.Context) error) {
	defer c.hub.unregister(c)
	c.mu.Lock()
	c.ctx, c.validate, c.running = ctx, validate, true
	if c.pending > 0 {
		c.startWriter() // the hello and anything replayed
	}
	c.mu.Unlock()
	select {
	case <-c.done: // closed before it ran (e.g. dropped, or shutdown)
		c.finish()
		return
	default:
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { c.Close(ReasonShutdown) })
		defer stop()
	}
	c.hub.startPings(c)
	c.read(ctx, handle)
	c.Close("") // the peer went away or sent garbage: nothing to tell
	c.finish()
}

// read handles the client's frames until the connection fails or the
// client is closed.
func (c *Client) read(ctx context.Context, handle Handler) {
	for {
		// Background: no per-read timer; closing the connection ends a
		// read, and pings find a dead peer.
		typ, data, err := c.conn.Read(context.Background())
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			return
		}
		var reply *Frame
		var f Frame
		if err := json.Unmarshal(data, &f); err != nil || f.Type == "" {
			// A malformed frame is answered, not fatal: clients have bugs.
			reply = &Frame{Type: "error", Data: []byte(`{"code":"bad_frame","error":"frame must be JSON {\"type\":...,\"data\":...}"}`)}
		} else {
			reply = handle(ctx, c, f)
		}
		if reply != nil && !c.enqueue(encode(reply.Type, 0, reply.Data)) {
			c.Close(ReasonTooSlow)
		}
		select {
		case <-c.done:
			return
		default:
		}
	}
}

// finish lets the writer flush what is queued (e.g. server_shutdown)
// briefly, then closes the websocket with the reason; once.
func (c *Client) finish() {
	c.finishOnce.Do(func() {
		c.waitFlushed(time.Second)
		c.mu.Lock()
		c.stopped = true // a writer still busy stops after its write
		conn := c.conn
		c.mu.Unlock()
		if conn == nil {
			return
		}
		status := websocket.StatusNormalClosure
		switch c.reason {
		case ReasonTooSlow:
			status = websocket.StatusPolicyViolation
		case ReasonShutdown:
			status = websocket.StatusGoingAway
		}
		_ = conn.Close(status, c.reason)
	})
}

// keepalive re-checks the session, then pings; a peer that does not
// answer within the pong timeout is closed. Started by the hub's ticker.
func (c *Client) keepalive() {
	defer c.pinging.Store(false)
	c.mu.Lock()
	ctx, conn, validate := c.ctx, c.conn, c.validate
	c.mu.Unlock()
	if validate != nil {
		if err := validate(ctx); err != nil {
			c.Close(err.Error())
			return
		}
	}
	pctx, cancel := context.WithTimeout(ctx, c.hub.pongTimeout())
	defer cancel()
	if err := conn.Ping(pctx); err != nil && pctx.Err() != nil && ctx.Err() == nil {
		c.Close("ping timeout")
	}
}

// writer writes queued frames until the queue is empty, then ends. A
// closing client's queue is still flushed (finish waits for that briefly).
func (c *Client) writer() {
	for {
		c.mu.Lock()
		batch := c.queue
		if len(batch) == 0 || c.stopped {
			c.writerDone()
			c.mu.Unlock()
			return
		}
		c.queue, c.spare = c.spare, nil
		c.mu.Unlock()
		n, err := c.wire.writeText(batch, WriteTimeout)
		clear(batch)
		c.mu.Lock()
		c.pending -= n
		if err != nil {
			c.queue, c.pending = nil, 0
			c.writerDone()
			c.mu.Unlock()
			if errors.Is(err, errCloseSent) {
				return // closing: the rest is not for a closed websocket
			}
			// A write failed or timed out, maybe halfway through a frame:
			// nothing more can follow it.
			_ = c.conn.CloseNow()
			c.Close(ReasonTooSlow)
			return
		}
		if c.spare == nil && cap(batch) <= 8 {
			c.spare = batch[:0]
		}
		c.mu.Unlock()
	}
}

// writerDone records that the writer ends, in the same hold of c.mu in
// which it found nothing more to write (so that a frame queued meanwhile
// starts a new one), and wakes waitFlushed.
func (c *Client) writerDone() {
	c.writing = false
	if c.flushed != nil {
		select {
		case c.flushed <- struct{}{}:
		default:
		}
	}
}

// waitFlushed waits up to max for the writer to empty the queue.
func (c *Client) waitFlushed(max time.Duration) {
	var timeout <-chan time.Time
	for {
		c.mu.Lock()
		busy := c.writing
		if busy && c.flushed == nil {
			c.flushed = make(chan struct{}, 1)
		}
		flushed := c.flushed
		c.mu.Unlock()
		if !busy {
			return
		}
		if timeout == nil {
			t := time.NewTimer(max)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-flushed:
		case <-timeout:
			return
		}
	}
}
