package hub

import "time"

// wheelSlots is how many ticks one ping interval is cut into. Each running
// client sits in one slot and is pinged when the hub's one ticker reaches
// it, once per interval; clients that connected together (after a
// restart, all of them) are spread over the slots by when they came.
// Per client that is a map entry instead of a timer and a goroutine.
const wheelSlots = 100

func (h *Hub) pingInterval() time.Duration {
	if h.PingInterval > 0 {
		return h.PingInterval
	}
	return PingInterval
}

func (h *Hub) pongTimeout() time.Duration {
	if h.PongTimeout > 0 {
		return h.PongTimeout
	}
	return PongTimeout
}

// startPings puts a running client on the wheel: its first ping is one
// interval from now. The ticker runs while any client is on the wheel.
func (h *Hub) startPings(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c.UserID][c]; !ok || c.slot >= 0 {
		return // already gone
	}
	slot := h.wheelPos // just passed: its next turn is a whole interval away
	if h.wheel[slot] == nil {
		h.wheel[slot] = map[*Client]struct{}{}
	}
	h.wheel[slot][c] = struct{}{}
	c.slot = slot
	h.wheelClients++
	if !h.wheelRunning {
		h.wheelRunning = true
		go h.pinger()
	}
}

// stopPings takes a client off the wheel; h.mu held.
func (h *Hub) stopPings(c *Client) {
	if c.slot < 0 {
		return
	}
	delete(h.wheel[c.slot], c)
	c.slot = -1
	h.wheelClients--
}

// pinger turns the wheel: at each tick the clients of the next slot get a
// keepalive (session check and ping), unless their last one is still
// waiting for its pong. It ends when no client is left.
func (h *Hub) pinger() {
	t := time.NewTicker(h.pingInterval() / wheelSlots)
	defer t.Stop()
	var due []*Client
	for range t.C {
		h.mu.Lock()
		if h.wheelClients == 0 {
			h.wheelRunning = false
			h.mu.Unlock()
			return
		}
		h.wheelPos = (h.wheelPos + 1) % wheelSlots
		for c := range h.wheel[h.wheelPos] {
			due = append(due, c)
		}
		h.mu.Unlock()
		for _, c := range due {
			if c.pinging.CompareAndSwap(false, true) {
				go c.keepalive()
			}
		}
		clear(due)
		due = due[:0]
	}
}
