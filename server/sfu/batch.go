package sfu

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchConn is the media UDP socket with batched egress. One sendto(2)
// costs about as much CPU as everything else a forwarded packet needs, so
// RTP written while a forward loop fans a packet out is queued and leaves
// in one sendmmsg(2) when the fan-out ends. Everything else (STUN, DTLS,
// RTCP) goes out at once, and so does RTP written while no fan-out runs
// (a NACK retransmission, say): no packet waits for a timer.
type batchConn struct {
	net.PacketConn
	out batchWriter
	raw syscall.RawConn // for sendRaw; nil if unavailable

	fanouts atomic.Int32 // forward loops between beginFanout and endFanout

	mu  sync.Mutex // guards cur
	cur *batch
	// sendMu keeps one batch on the wire at a time, so packets leave in
	// the order they were written. Taken with mu held, never the reverse.
	sendMu sync.Mutex
	spare  *batch // guarded by sendMu
}

type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// batchSize is the most packets one sendmmsg carries; slotSize holds any
// packet pion writes (it keeps RTP under a 1,500-byte MTU).
const (
	batchSize = 64
	slotSize  = 1500
)

type batch struct {
	msgs []ipv4.Message
	data []byte // batchSize slots of slotSize bytes
	raw  rawBatch
}

func newBatch() *batch {
	b := &batch{msgs: make([]ipv4.Message, 0, batchSize), data: make([]byte, batchSize*slotSize)}
	return b
}

// newBatchConn wraps a UDP socket. Only Linux has sendmmsg; elsewhere
// WriteBatch sends one message per call, which is still correct.
func newBatchConn(c *net.UDPConn) *batchConn {
	bc := &batchConn{PacketConn: c, cur: newBatch(), spare: newBatch()}
	if rc, err := c.SyscallConn(); err == nil {
		bc.raw = rc
	}
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		// A dual-stack socket: Linux takes IPv4 destinations on it too.
		bc.out = ipv6.NewPacketConn(c)
	} else {
		bc.out = ipv4.NewPacketConn(c)
	}
	return bc
}

// isRTP tells RTP from RTCP, STUN and DTLS (RFC 7983, RFC 5761).
func isRTP(b []byte) bool {
	return len(b) >= 12 && b[0] >= 128 && b[0] <= 191 && (b[1] < 192 || b[1] > 223)
}

// WriteTo queues RTP during a fan-out and sends everything else at once.
func (c *batchConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if !isRTP(b) || len(b) > slotSize {
		return c.PacketConn.WriteTo(b, addr)
	}
	c.mu.Lock()
	cur := c.cur
	i := len(cur.msgs)
	slot := cur.data[i*slotSize : i*slotSize+len(b)]
	copy(slot, b)
	cur.msgs = cur.msgs[:i+1]
	m := &cur.msgs[i]
	if m.Buffers == nil {
		m.Buffers = make([][]byte, 1)
	}
	m.Buffers[0], m.Addr = slot, addr
	if i+1 == batchSize || c.fanouts.Load() == 0 {
		c.flushLocked()
	} else {
		c.mu.Unlock()
	}
	return len(b), nil
}

// flushLocked sends the queued packets. Called with mu held; releases it
// as soon as the next batch can fill, before the system call.
func (c *batchConn) flushLocked() {
	b := c.cur
	c.sendMu.Lock()
	c.cur, c.spare = c.spare, nil
	c.mu.Unlock()
	msgs := b.msgs[c.sendRaw(b):]
	for len(msgs) > 0 {
		n, err := c.out.WriteBatch(msgs, 0)
		if err != nil {
			n++ // that one failed (gone peer, unreachable): it is lost, as with sendto
		}
		msgs = msgs[min(max(n, 1), len(msgs)):]
	}
	for i := range b.msgs {
		b.msgs[i].Addr = nil
	}
	b.msgs = b.msgs[:0]
	c.spare = b
	c.sendMu.Unlock()
}

// beginFanout marks a forward loop writing one packet to its subscribers.
func (c *batchConn) beginFanout() {
	if c != nil {
		c.fanouts.Add(1)
	}
}

// endFanout sends what the fan-out (and anyone writing meanwhile) queued.
func (c *batchConn) endFanout() {
	if c == nil {
		return
	}
	c.fanouts.Add(-1)
	c.mu.Lock()
	if len(c.cur.msgs) == 0 {
		c.mu.Unlock()
		return
	}
	c.flushLocked()
}
