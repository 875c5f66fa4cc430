package turn

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var errNoRelayPort = errors.New("no free relay port")

// relayAllocator hands pion a relay socket per allocation (it implements
// pion's RelayAddressGenerator). Each socket is a *relayConn that holds
// datagrams to the peer filter (on channels: once, when bound) and the
// bandwidth limit, and counts what it relays. Ports are scanned from a
// random start across the whole range, so a nearly full range still finds
// its last free port.
type relayAllocator struct {
	bindIP  netip.Addr
	relayIP net.IP
	min     int // 0: any ephemeral port
	max     int
	bw      int64
	filter  *peerFilter
	stats   *counters
	log     *slog.Logger

	mu     sync.Mutex
	conns  map[int]*relayConn // by port
	closed bool
}

// Validate implements turn.RelayAddressGenerator.
func (r *relayAllocator) Validate() error { return nil }

// AllocatePacketConn implements turn.RelayAddressGenerator.
func (r *relayAllocator) AllocatePacketConn(network string, requestedPort int) (net.PacketConn, net.Addr, error) {
	return r.allocate(network, requestedPort, nil)
}

// loopAllocator is the RelayAddressGenerator of the UDP listener: its
// allocations are read by the relay loop.
type loopAllocator struct {
	*relayAllocator
	loop *relayLoop
}

// AllocatePacketConn implements turn.RelayAddressGenerator.
func (r loopAllocator) AllocatePacketConn(network string, requestedPort int) (net.PacketConn, net.Addr, error) {
	return r.allocate(network, requestedPort, r.loop)
}

func (r *relayAllocator) allocate(network string, requestedPort int, loop *relayLoop) (net.PacketConn, net.Addr, error) {
	var ports []int
	switch {
	case requestedPort != 0:
		if r.min != 0 && (requestedPort < r.min || requestedPort > r.max) {
			return nil, nil, fmt.Errorf("relay port %d outside %d-%d", requestedPort, r.min, r.max)
		}
		ports = []int{requestedPort}
	case r.min == 0:
		ports = []int{0}
	default:
		n := r.max - r.min + 1
		start := rand.IntN(n)
		ports = make([]int, n)
		for i := range ports {
			ports[i] = r.min + (start+i)%n
		}
	}
	for _, port := range ports {
		r.mu.Lock()
		_, busy := r.conns[port]
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return nil, nil, net.ErrClosed
		}
		if busy && port != 0 {
			continue
		}
		addr := net.JoinHostPort(r.bindIP.String(), strconv.Itoa(port))
		pc, err := net.ListenPacket(network, addr)
		if err != nil {
			continue
		}
		udp := pc.(*net.UDPConn)
		c := &relayConn{UDPConn: udp, owner: r, port: udp.LocalAddr().(*net.UDPAddr).Port}
		if r.bw > 0 {
			c.out = newTokenBucket(r.bw)
			c.in = newTokenBucket(r.bw)
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			udp.Close()
			return nil, nil, net.ErrClosed
		}
		r.conns[c.port] = c
		r.mu.Unlock()
		if loop != nil {
			c.slow = make(chan slowPacket, 64)
			c.done = make(chan struct{})
			if loop.add(c) == nil {
				c.loop = loop
			}
		}
		return c, &net.UDPAddr{IP: r.relayIP, Port: c.port}, nil
	}
	return nil, nil, errNoRelayPort
}

// AllocateConn implements turn.RelayAddressGenerator. TCP relays (RFC 6062)
// are not offered: browsers relay media over UDP allocations only.
func (r *relayAllocator) AllocateConn(string, int) (net.Conn, net.Addr, error) {
	return nil, nil, errors.New("TCP relay allocations are not supported")
}

func (r *relayAllocator) byPort(port int) *relayConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns[port]
}

// remove forgets a closed socket and folds its counters into the totals,
// under the same lock as traffic so that the sum never goes backwards.
func (r *relayAllocator) remove(c *relayConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns[c.port] == c {
		delete(r.conns, c.port)
	}
	s := &r.stats.closedTraffic
	s.pktsOut.Add(c.traffic.pktsOut.Load())
	s.bytesOut.Add(c.traffic.bytesOut.Load())
	s.pktsIn.Add(c.traffic.pktsIn.Load())
	s.bytesIn.Add(c.traffic.bytesIn.Load())
}

// closeAll closes every relay socket; pion then drops their allocations.
func (r *relayAllocator) closeAll() {
	r.mu.Lock()
	r.closed = true
	conns := make([]*relayConn, 0, len(r.conns))
	for _, c := range r.conns {
		conns = append(conns, c)
	}
	r.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// traffic adds the live sockets' counters to the totals of closed ones.
func (r *relayAllocator) traffic() (t traffic) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		t.add(&c.traffic)
	}
	t.add(&r.stats.closedTraffic)
	return t
}

// relayConn is one allocation's relay socket: pion reads and writes it as
// a net.PacketConn, and the channel data plane (channel.go) uses it
// directly.
type relayConn struct {
	*net.UDPConn
	owner   *relayAllocator
	port    int
	out, in *tokenBucket // nil: unlimited
	traffic trafficCounters
	// bwLogged is set by the first datagram dropped over the bandwidth
	// limit, which is logged; later ones are only counted.
	bwLogged atomic.Bool

	client   atomic.Pointer[clientSink]
	channels atomic.Pointer[[]channel] // copy on write: bindings change rarely

	// Set for allocations the relay loop reads (relayloop_linux.go).
	loop   *relayLoop
	loopID int32
	raw    syscall.RawConn
	slow   chan slowPacket // datagrams for pion
	done   chan struct{}

	// Used only by pion's read loop for this allocation (ReadFrom).
	rx       *rxQueue
	toClient *txQueue // UDP clients
	tcpOut   net.Buffers
	// Used only by the read loop of the client's listener (forwarding).
	toPeer *txQueue

	mu      sync.Mutex
	closed  bool
	onClose func()

	closeOnce sync.Once
	closeErr  error
}

type trafficCounters struct {
	pktsOut, bytesOut, pktsIn, bytesIn atomic.Uint64
}

type traffic struct {
	pktsOut, bytesOut, pktsIn, bytesIn uint64
}

func (t *traffic) add(c *trafficCounters) {
	t.pktsOut += c.pktsOut.Load()
	t.bytesOut += c.bytesOut.Load()
	t.pktsIn += c.pktsIn.Load()
	t.bytesIn += c.bytesIn.Load()
}

// WriteTo relays a datagram from the client to a peer (pion's Send
// indication and unbound ChannelData). Datagrams to a forbidden peer or
// over the bandwidth limit are dropped silently, as the network would drop
// them; pion's own permission check has already run.
func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("relay to %v: not a UDP address", addr)
	}
	ap := ua.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if !c.owner.filter.allowAddr(ap) {
		c.owner.stats.peerPacketDrops.Add(1)
		return len(p), nil
	}
	if !c.countOut(len(p)) {
		return len(p), nil
	}
	return c.UDPConn.WriteToUDPAddrPort(p, ap)
}

// countOut applies the bandwidth limit to a datagram for a peer and counts
// it; false drops it.
func (c *relayConn) countOut(n int) bool {
	if c.out != nil && !c.out.take(n, time.Now()) {
		c.bandwidthDrop("to peer")
		return false
	}
	c.traffic.pktsOut.Add(1)
	c.traffic.bytesOut.Add(uint64(n))
	return true
}

// countIn is countOut for a datagram from a peer.
func (c *relayConn) countIn(n int) bool {
	if c.in != nil && !c.in.take(n, time.Now()) {
		c.bandwidthDrop("to client")
		return false
	}
	c.traffic.pktsIn.Add(1)
	c.traffic.bytesIn.Add(uint64(n))
	return true
}

// bandwidthDrop counts a datagram dropped over the bandwidth limit and
// logs the allocation's first one, so that an operator sees whom the limit
// bites without a line per packet.
func (c *relayConn) bandwidthDrop(direction string) {
	c.owner.stats.bandwidthDrops.Add(1)
	if c.bwLogged.Load() || !c.bwLogged.CompareAndSwap(false, true) {
		return
	}
	user, client := "", ""
	if sink := c.client.Load(); sink != nil {
		user, client = sink.user, sink.addr.String()
	}
	if c.owner.log != nil {
		c.owner.log.Warn("TURN datagrams dropped: allocation over its bandwidth limit (further drops on it are only counted)",
			"user", user, "client", client, "relay_port", c.port, "direction", direction, "limit_bytes_per_s", c.owner.bw)
	}
}

// attach gives the allocation its client and runs onClose when the socket
// closes; false if it already has.
func (c *relayConn) attach(client *clientSink, onClose func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.client.Store(client)
	c.onClose = onClose
	return true
}

// Close closes the socket once, folds its counters into the totals and
// releases its quota slot. Concurrent callers (pion's allocation timer,
// Server.Close) all return after that is done.
func (c *relayConn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		onClose := c.onClose
		c.mu.Unlock()
		if c.loop != nil {
			c.loop.remove(c)
			close(c.done)
		}
		c.closeErr = c.UDPConn.Close()
		c.owner.remove(c)
		if onClose != nil {
			onClose()
		}
	})
	return c.closeErr
}

// tokenBucket limits one direction of one allocation to rate bytes/s with
// one second of burst, so short spikes (a video keyframe) pass.
type tokenBucket struct {
	rate float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newTokenBucket(rate int64) *tokenBucket {
	return &tokenBucket{rate: float64(rate), tokens: float64(rate), last: time.Now()}
}

func (b *tokenBucket) take(n int, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens += now.Sub(b.last).Seconds() * b.rate
	b.last = now
	if b.tokens > b.rate {
		b.tokens = b.rate
	}
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}
