// Package hub fans realtime events out to websocket clients. An event is
// marshalled once and the same bytes are queued to every recipient; a client
// whose queue is full is dropped rather than allowed to slow anyone else.
package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ringSize is how many recent events are kept so a client that reconnects
// within a short outage receives what it missed instead of refetching.
const ringSize = 4096

// Hub is the registry of connected clients, by user.
type Hub struct {
	mu      sync.Mutex
	seq     uint64
	first   uint64 // the first seq this hub assigned
	clients map[string]map[*Client]struct{}
	count   int
	ring    [ringSize]ringEntry
	closed  bool
	// announced: the clients AnnounceShutdown told (not told again).
	announced map[*Client]bool

	// recent are the audiences of the latest events. An event to the same
	// people as one of them shares its list, so the ring holds one copy
	// per busy room instead of one per event: 4,096 posts to a room of
	// 10,000 people otherwise keep about 1.9 GB of user ids alive.
	recent     [16][]string
	nextRecent int

	// MaxPerUser, when above zero, caps one user's clients: Register
	// refuses more with ErrTooManyClients. The check is made under the lock
	// that adds the client, so two connections cannot both take the last
	// place; registering before the websocket upgrade is answered makes a
	// user's next connection count this one.
	MaxPerUser int

	// OnPresence, when set, is called (outside the lock, so it must not
	// block for long) after a client of the user connects or leaves.
	OnPresence func(userID string)

	// OnDrop, when set, is called (outside the lock) once for each client
	// dropped because it could not keep up: its queue was full (a
	// broadcast, a reply or a frame for it alone) or a write failed or
	// timed out. The server counts these in /metrics.
	OnDrop func(c *Client)

	// PingInterval and PongTimeout, when above zero, replace the package's
	// defaults of the same names; set them before any client runs.
	PingInterval time.Duration
	PongTimeout  time.Duration

	// The ping wheel (ping.go); h.mu guards it.
	wheel        [wheelSlots]map[*Client]struct{}
	wheelPos     int
	wheelClients int
	wheelRunning bool
}

type ringEntry struct {
	seq      uint64
	audience []string // sorted user ids; nil means everyone
	frame    []byte
}

// New returns an empty hub. Sequence numbers start at the current time in
// microseconds, so after a restart every number a client remembers is older
// than the ring and the client is told to resync rather than wrongly
// "resuming" into a fresh count. (Safe in JavaScript numbers until 2255.)
func New() *Hub {
	seq := uint64(time.Now().UnixMicro())
	return &Hub{clients: map[string]map[*Client]struct{}{}, seq: seq, first: seq + 1}
}

// ErrTooManyClients is Register's answer to a user who already has
// MaxPerUser clients.
var ErrTooManyClients = errors.New("too many connections for this user")

// Frame is the envelope of every websocket message, both directions.
type Frame struct {
	Type string          `json:"type"`
	Seq  uint64          `json:"seq,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// encode builds the frame bytes around already-marshalled data.
func encode(typ string, seq uint64, data []byte) []byte {
	t, _ := json.Marshal(typ)
	b := make([]byte, 0, len(data)+len(t)+40)
	b = append(b, `{"type":`...)
	b = append(b, t...)
	if seq > 0 {
		b = fmt.Appendf(b, `,"seq":%d`, seq)
	}
	if len(data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	return append(b, '}')
}

// Publish sends an event to the connected clients of the given users (all
// clients when users is nil) and returns its sequence number.
func (h *Hub) Publish(typ string, data any, users []string) (uint64, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return 0, fmt.Errorf("publish %s: %w", typ, err)
	}
	var audience []string
	if users != nil {
		audience = slices.Clone(users)
		slices.Sort(audience)
		audience = slices.Compact(audience)
	}
	var dropped []*Client
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return 0, nil
	}
	h.seq++
	seq := h.seq
	frame := encode(typ, seq, raw)
	audience = h.share(audience)
	h.ring[seq%ringSize] = ringEntry{seq: seq, audience: audience, frame: frame}
	if audience == nil {
		for _, set := range h.clients {
			for c := range set {
				if !c.enqueue(frame) {
					dropped = append(dropped, c)
				}
			}
		}
	} else {
		for _, u := range audience {
			for c := range h.clients[u] {
				if !c.enqueue(frame) {
					dropped = append(dropped, c)
				}
			}
		}
	}
	h.mu.Unlock()
	for _, c := range dropped {
		c.Close(ReasonTooSlow) // counts it (OnDrop)
	}
	return seq, nil
}

// share returns a recent audience equal to a, or remembers a; h.mu held.
func (h *Hub) share(a []string) []string {
	if len(a) == 0 {
		return a
	}
	for _, prev := range h.recent {
		if slices.Equal(prev, a) {
			return prev
		}
	}
	h.recent[h.nextRecent] = a
	h.nextRecent = (h.nextRecent + 1) % len(h.recent)
	return a
}

// Register adds a client and queues its first frames: a "hello" frame
// carrying hello as data, then the events after since (the last sequence
// number the client saw; 0 for a fresh start) that were addressed to the
// user — or, when they have left the ring, a "resync" frame telling the
// client to refetch. Doing both under the hub's lock means no live event can
// slip between them, be duplicated or arrive out of order.
func (h *Hub) Register(c *Client, since uint64, hello any) error {
	raw, err := json.Marshal(hello)
	if err != nil {
		return err
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return fmt.Errorf("hub is shutting down")
	}
	set := h.clients[c.UserID]
	if h.MaxPerUser > 0 && len(set) >= h.MaxPerUser {
		h.mu.Unlock()
		return ErrTooManyClients
	}
	if set == nil {
		set = map[*Client]struct{}{}
		h.clients[c.UserID] = set
	}
	set[c] = struct{}{}
	h.count++
	h.replay(c, since, raw)
	h.mu.Unlock()
	if h.OnPresence != nil {
		h.OnPresence(c.UserID)
	}
	return nil
}

// replay queues a new client's hello and what it missed; h.mu held.
func (h *Hub) replay(c *Client, since uint64, raw []byte) {
	oldest := h.first
	if h.seq >= h.first+ringSize {
		oldest = h.seq - ringSize + 1
	}
	switch {
	case since == 0 || since == h.seq:
		c.enqueue(encode("hello", h.seq, raw))
	case since+1 < oldest || since > h.seq:
		c.enqueue(encode("hello", h.seq, raw))
		c.enqueue(encode("resync", h.seq, nil))
	default:
		c.enqueue(encode("hello", since, raw))
		for s := since + 1; s <= h.seq; s++ {
			e := &h.ring[s%ringSize]
			if e.audience == nil || containsSorted(e.audience, c.UserID) {
				c.enqueue(e.frame)
			}
		}
	}
}

func containsSorted(s []string, v string) bool {
	_, ok := slices.BinarySearch(s, v)
	return ok
}

// Unregister removes a registered client that will never Run (its
// websocket upgrade failed); a client that runs unregisters itself.
func (h *Hub) Unregister(c *Client) {
	c.Close("")
	h.unregister(c)
}

// unregister removes a client; called by the client when it closes.
func (h *Hub) unregister(c *Client) {
	h.mu.Lock()
	defer func() {
		h.mu.Unlock()
		if h.OnPresence != nil {
			h.OnPresence(c.UserID)
		}
	}()
	h.stopPings(c)
	if set, ok := h.clients[c.UserID]; ok {
		if _, ok := set[c]; ok {
			delete(set, c)
			h.count--
		}
		if len(set) == 0 {
			delete(h.clients, c.UserID)
		}
	}
}

// Closed reports whether Shutdown has begun.
func (h *Hub) Closed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// Count is the number of connected clients.
func (h *Hub) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

// ClientsOf is how many clients a user has connected.
func (h *Hub) ClientsOf(userID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients[userID])
}

// Online reports whether the user has at least one connected client.
func (h *Hub) Online(userID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients[userID]) > 0
}

// Presence states of a user.
const (
	StatusOnline  = "online"
	StatusAway    = "away"
	StatusOffline = "offline"
)

// Status is online when any client of the user is active, away when all
// report idle, offline without clients.
func (h *Hub) Status(userID string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.clients[userID]
	if len(set) == 0 {
		return StatusOffline
	}
	for c := range set {
		if !c.away.Load() {
			return StatusOnline
		}
	}
	return StatusAway
}

// DisconnectUser closes every client of a user (deactivation, role change).
func (h *Hub) DisconnectUser(userID string, reason string) {
	for _, c := range h.snapshot(func(c *Client) bool { return c.UserID == userID }) {
		c.Close(reason)
	}
}

// DisconnectSession closes the clients logged in with one session (logout).
func (h *Hub) DisconnectSession(sessionHash string, reason string) {
	for _, c := range h.snapshot(func(c *Client) bool { return c.SessionHash == sessionHash }) {
		c.Close(reason)
	}
}

func (h *Hub) snapshot(match func(*Client) bool) []*Client {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Client
	for _, set := range h.clients {
		for c := range set {
			if match(c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// Shutdown tells every client the server is going away, closes them and
// refuses new ones.
func (h *Hub) Shutdown() {
	announced := h.AnnounceShutdown()
	frame := encode("server_shutdown", 0, nil)
	for _, c := range h.snapshot(func(*Client) bool { return true }) {
		if !announced[c] {
			c.enqueue(frame)
		}
		c.Close(ReasonShutdown)
	}
}

// AnnounceShutdown sends server_shutdown to every client without closing
// them yet (the server still ends its calls), and refuses new clients. It
// returns the clients told this time; a second call tells nobody again.
func (h *Hub) AnnounceShutdown() map[*Client]bool {
	h.mu.Lock()
	if h.closed {
		told := h.announced
		h.mu.Unlock()
		return told
	}
	h.closed = true
	h.mu.Unlock()
	frame := encode("server_shutdown", 0, nil)
	told := map[*Client]bool{}
	for _, c := range h.snapshot(func(*Client) bool { return true }) {
		c.enqueue(frame)
		told[c] = true
	}
	h.mu.Lock()
	h.announced = told
	h.mu.Unlock()
	return told
}
