package turn

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/stun"
	pionturn "github.com/pion/turn/v2"
)

// A gate sits between one listening socket (a UDP socket, or one TCP or TLS
// connection) and pion, and looks at the few control requests pion gives
// us no hook for, answering them itself with the standard error codes:
//
//   - Allocate: 486 Allocation Quota Reached when the user holds its quota,
//     508 Insufficient Capacity when the server does (pion's
//     RelayAddressGenerator never learns who is asking);
//   - CreatePermission and ChannelBind: 403 Forbidden for a peer the filter
//     refuses (pion's PermissionHandler sees neither the user nor the port,
//     and answers a refused ChannelBind with 401).
//
// A request the gate cannot authenticate goes on to pion, which answers
// 401 or 400 as usual. On the way out the gate watches pion's Allocate and
// ChannelBind responses to learn which relay socket belongs to which user
// and client (so that closing it frees the user's slot) and which channels
// are bound (so that ChannelData bypasses pion, see relayConn).
type gate struct {
	s   *Server
	udp *net.UDPConn // the listening socket, for UDP gates
	tcp net.Conn     // the client's connection, for TCP and TLS gates

	mu      sync.RWMutex
	pending map[[stun.TransactionIDSize]byte]pendingAlloc
	binds   map[[stun.TransactionIDSize]byte]pendingBind
	allocs  map[netip.AddrPort]*relayConn // client address → its allocation's relay
}

type pendingAlloc struct {
	user   string
	client netip.AddrPort
	at     time.Time
}

type pendingBind struct {
	client netip.AddrPort
	num    uint16
	peer   netip.AddrPort
	at     time.Time
}

// pendingTimeout bounds how long a quota slot stays reserved for an
// Allocate request pion never answered (pion answers synchronously, so
// this only matters if the reply could not be written).
const pendingTimeout = 30 * time.Second

// channelLifetime is pion's channel binding lifetime (RFC 8656 §12: 10
// minutes); the gate's copy of a binding ends a second earlier.
const channelLifetime = 10 * time.Minute

func newGate(s *Server, udp *net.UDPConn, tcp net.Conn) *gate {
	return &gate{
		s:       s,
		udp:     udp,
		tcp:     tcp,
		pending: make(map[[stun.TransactionIDSize]byte]pendingAlloc),
		binds:   make(map[[stun.TransactionIDSize]byte]pendingBind),
		allocs:  make(map[netip.AddrPort]*relayConn),
	}
}

// STUN message types (RFC 5389 §6: method and class bits interleaved).
const (
	typeAllocateRequest         = 0x0003
	typeAllocateSuccess         = 0x0103
	typeAllocateError           = 0x0113
	typeCreatePermissionRequest = 0x0008
	typeChannelBindRequest      = 0x0009
	typeChannelBindSuccess      = 0x0109
	typeChannelBindError        = 0x0119
	stunMagicCookie             = 0x2112A442
)

// isChannelData reports whether b starts like a ChannelData frame
// (channel numbers 0x4000-0x7FFF, RFC 8656 §12).
func isChannelData(b []byte) bool {
	return len(b) >= 4 && b[0]&0xC0 == 0x40
}

// queueChannelData queues b for its peer if it is ChannelData on a channel
// the client has bound (relayConn.queueForward), and reports whether it
// was taken. A relay whose queue was empty is appended to touched: the
// caller flushes those before it reuses the read buffers.
func (g *gate) queueChannelData(b []byte, from netip.AddrPort, touched []*relayConn) ([]*relayConn, bool) {
	if !isChannelData(b) {
		return touched, false
	}
	rc := g.relayFor(from)
	if rc == nil {
		return touched, false
	}
	ok, first := rc.queueForward(b)
	if first {
		touched = append(touched, rc)
	}
	return touched, ok
}

// relayFor returns the allocation of a client of this gate, or nil.
func (g *gate) relayFor(client netip.AddrPort) *relayConn {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.allocs[client]
}

func stunType(b []byte) uint16 {
	if len(b) < 20 || binary.BigEndian.Uint32(b[4:8]) != stunMagicCookie {
		return 0
	}
	return binary.BigEndian.Uint16(b[0:2])
}

// inspect looks at a datagram from a client. It returns a reply to send
// back, and drop when pion must not see the request.
func (g *gate) inspect(b []byte, from netip.AddrPort) (reply []byte, drop bool) {
	t := stunType(b)
	if t != typeAllocateRequest && t != typeCreatePermissionRequest && t != typeChannelBindRequest {
		return nil, false
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := m.Decode(); err != nil {
		return nil, false
	}
	var username stun.Username
	if !m.Contains(stun.AttrMessageIntegrity) || username.GetFrom(m) != nil {
		return nil, false // pion answers 401 with a nonce
	}
	key, user, err := g.s.authKey(username.String())
	if err == nil {
		err = stun.MessageIntegrity(key).Check(m)
	}
	if err != nil {
		if t == typeAllocateRequest {
			g.s.stats.authFailures.Add(1)
			g.s.logLimited("auth", "TURN allocation refused: bad credentials",
				"username", username.String(), "client", from.String(), "err", err)
		}
		return nil, false // pion refuses it too
	}
	switch t {
	case typeAllocateRequest:
		return g.allocate(m, key, user, from)
	default:
		return g.permission(m, key, user, from)
	}
}

func (g *gate) allocate(m *stun.Message, key []byte, user string, client netip.AddrPort) ([]byte, bool) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for id, p := range g.pending {
		if now.Sub(p.at) > pendingTimeout {
			delete(g.pending, id)
			g.s.quotas.release(p.user)
		}
	}
	if _, ok := g.allocs[client]; ok {
		return nil, false // a retransmission, or pion's 437 Allocation Mismatch
	}
	if _, ok := g.pending[m.TransactionID]; ok {
		return nil, false
	}
	ok, code := g.s.quotas.reserve(user)
	if !ok {
		if code == stun.CodeAllocQuotaReached {
			g.s.stats.userQuotaRefusals.Add(1)
			g.s.logLimited("user-quota:"+user, "TURN allocation refused: user quota reached",
				"user", user, "quota", g.s.cfg.UserQuota, "client", client.String())
		} else {
			g.s.stats.totalQuotaRefusals.Add(1)
			g.s.logLimited("total-quota", "TURN allocation refused: server allocation quota reached",
				"quota", g.s.cfg.TotalQuota, "user", user, "client", client.String())
		}
		return errorReply(m, stun.MethodAllocate, code, key), true
	}
	g.pending[m.TransactionID] = pendingAlloc{user: user, client: client, at: now}
	return nil, false
}

func (g *gate) permission(m *stun.Message, key []byte, user string, from netip.AddrPort) ([]byte, bool) {
	method := stun.MethodCreatePermission
	if m.Type.Method == stun.MethodChannelBind {
		method = stun.MethodChannelBind
	}
	for _, a := range m.Attributes {
		if a.Type != stun.AttrXORPeerAddress {
			continue
		}
		ap, ok := xorAddr(a.Value, m.TransactionID)
		if !ok {
			return nil, false // pion answers 400
		}
		if ap.Addr().Is6() {
			// Relays are IPv4 (pion v2 allocates udp4 only).
			return errorReply(m, method, codePeerAddrFamilyMismatch, key), true
		}
		allowed := g.s.filter.allowIP(ap.Addr())
		if method == stun.MethodChannelBind {
			allowed = g.s.filter.allowAddr(ap)
		}
		if !allowed {
			g.s.stats.peerRefusals.Add(1)
			g.s.logLimited("peer:"+user, "TURN peer refused",
				"user", user, "peer", ap.String(), "method", method.String(), "client", from.String())
			return errorReply(m, method, stun.CodeForbidden, key), true
		}
		if method == stun.MethodChannelBind {
			if v, err := m.Get(stun.AttrChannelNumber); err == nil && len(v) == 4 {
				now := time.Now()
				g.mu.Lock()
				for id, b := range g.binds {
					if now.Sub(b.at) > pendingTimeout {
						delete(g.binds, id)
					}
				}
				g.binds[m.TransactionID] = pendingBind{client: from, num: binary.BigEndian.Uint16(v), peer: ap, at: now}
				g.mu.Unlock()
			}
		}
	}
	return nil, false
}

// codePeerAddrFamilyMismatch is RFC 8656's 443.
const codePeerAddrFamilyMismatch stun.ErrorCode = 443

func errorReply(m *stun.Message, method stun.Method, code stun.ErrorCode, key []byte) []byte {
	reason := map[stun.ErrorCode]string{
		stun.CodeAllocQuotaReached:    "Allocation Quota Reached",
		stun.CodeInsufficientCapacity: "Insufficient Capacity",
		stun.CodeForbidden:            "Forbidden",
		codePeerAddrFamilyMismatch:    "Peer Address Family Mismatch",
	}[code]
	res, err := stun.Build(
		&stun.Message{TransactionID: m.TransactionID},
		stun.NewType(method, stun.ClassErrorResponse),
		&stun.ErrorCodeAttribute{Code: code, Reason: []byte(reason)},
		stun.MessageIntegrity(key),
		stun.Fingerprint,
	)
	if err != nil {
		return nil
	}
	return res.Raw
}

// xorAddr decodes an XOR-PEER-ADDRESS value (RFC 8489 §14.2), returning
// IPv4-mapped IPv6 as the IPv4 address it is.
func xorAddr(v []byte, id [stun.TransactionIDSize]byte) (netip.AddrPort, bool) {
	if len(v) < 8 {
		return netip.AddrPort{}, false
	}
	port := binary.BigEndian.Uint16(v[2:4]) ^ uint16(stunMagicCookie>>16)
	var mask [16]byte
	binary.BigEndian.PutUint32(mask[0:4], stunMagicCookie)
	copy(mask[4:], id[:])
	switch {
	case v[1] == 0x01 && len(v) == 8:
		var a [4]byte
		for i := range a {
			a[i] = v[4+i] ^ mask[i]
		}
		return netip.AddrPortFrom(netip.AddrFrom4(a), port), true
	case v[1] == 0x02 && len(v) == 20:
		var a [16]byte
		for i := range a {
			a[i] = v[4+i] ^ mask[i]
		}
		return netip.AddrPortFrom(netip.AddrFrom16(a).Unmap(), port), true
	}
	return netip.AddrPort{}, false
}

// sent looks at a datagram pion sends to a client: an Allocate response
// settles the pending reservation of its request, a ChannelBind success
// installs the binding in the gate's copy.
func (g *gate) sent(b []byte) {
	t := stunType(b)
	switch t {
	case typeAllocateSuccess, typeAllocateError, typeChannelBindSuccess, typeChannelBindError:
	default:
		return
	}
	var id [stun.TransactionIDSize]byte
	copy(id[:], b[8:20])
	g.mu.Lock()
	defer g.mu.Unlock()
	if t == typeChannelBindSuccess || t == typeChannelBindError {
		p, ok := g.binds[id]
		delete(g.binds, id)
		if rc := g.allocs[p.client]; ok && rc != nil && t == typeChannelBindSuccess {
			rc.bind(p.num, p.peer, time.Now().Add(channelLifetime-time.Second))
		}
		return
	}
	p, ok := g.pending[id]
	if !ok {
		return
	}
	delete(g.pending, id)
	if t == typeAllocateError {
		g.s.quotas.release(p.user)
		return
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	var relayed stun.XORMappedAddress
	var rc *relayConn
	if m.Decode() == nil && relayed.GetFromAs(m, stun.AttrXORRelayedAddress) == nil {
		rc = g.s.relays.byPort(relayed.Port)
	}
	sink := &clientSink{udp: g.udp, addr: p.client, tcp: g.tcp, user: p.user}
	if rc == nil || !rc.attach(sink, func() { g.closed(p.client, p.user, rc) }) {
		g.s.quotas.release(p.user)
		return
	}
	g.allocs[p.client] = rc
	g.s.stats.allocations.Add(1)
	g.s.log.Debug("TURN allocation", "user", p.user, "client", p.client.String(), "relay", rc.port)
}

// closed runs when an allocation's relay socket closes.
func (g *gate) closed(client netip.AddrPort, user string, rc *relayConn) {
	g.s.quotas.release(user)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.allocs[client] == rc {
		delete(g.allocs, client)
	}
}

// closeAll ends the allocations made through this gate: a TCP client's
// allocations die with its connection (RFC 6062 §4.2 semantics, as coturn).
func (g *gate) closeAll() {
	g.mu.Lock()
	for id, p := range g.pending {
		delete(g.pending, id)
		g.s.quotas.release(p.user)
	}
	conns := make([]*relayConn, 0, len(g.allocs))
	for _, rc := range g.allocs {
		conns = append(conns, rc)
	}
	g.mu.Unlock()
	for _, rc := range conns {
		rc.Close()
	}
}

// gatePacketConn is the UDP listening socket as pion sees it. ChannelData
// on bound channels is forwarded before pion sees it, and everything else
// passes the gate and goes to pion one datagram per ReadFrom. Where there
// is a relay loop (Linux), the loop reads the socket and does the
// forwarding; elsewhere ReadFrom reads a batch at a time and does.
type gatePacketConn struct {
	*net.UDPConn
	g    *gate
	loop *relayLoop // nil: ReadFrom reads the socket

	closed    chan struct{}
	closeOnce sync.Once

	// Used only by pion's read loop (ReadFrom) when there is no relay loop.
	rx      *rxQueue
	touched []*relayConn // relays with datagrams queued for their peers
}

func newGatePacketConn(pc *net.UDPConn, g *gate) *gatePacketConn {
	return &gatePacketConn{UDPConn: pc, g: g, closed: make(chan struct{})}
}

// Close closes the socket and ends a ReadFrom waiting for the relay loop.
func (c *gatePacketConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.UDPConn.Close()
}

func (c *gatePacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	if c.loop != nil {
		return c.readFromLoop(p)
	}
	if c.rx == nil {
		q, err := newRxQueue(c.UDPConn, listenerBatch, min(len(p), maxDatagram), 0)
		if err != nil {
			return 0, nil, err
		}
		c.rx = q
	}
	for {
		k, err := c.rx.next(c.flushPeers)
		if err != nil {
			return 0, nil, err
		}
		pkt := c.rx.pkts[k]
		if pkt.n < 0 {
			continue
		}
		b := c.rx.bufs[k][:pkt.n]
		var ok bool
		if c.touched, ok = c.g.queueChannelData(b, pkt.from, c.touched); ok {
			continue
		}
		if !c.pass(b, pkt.from) {
			continue
		}
		c.flushPeers()
		return copy(p, b), net.UDPAddrFromAddrPort(pkt.from), nil
	}
}

// readFromLoop is ReadFrom for what the relay loop did not relay.
func (c *gatePacketConn) readFromLoop(p []byte) (int, net.Addr, error) {
	for {
		var pkt slowPacket
		select {
		case pkt = <-c.loop.toPion:
		case <-c.closed:
			return 0, nil, net.ErrClosed
		case <-c.loop.stopped:
			return 0, nil, net.ErrClosed
		}
		if !c.pass(pkt.data, pkt.from) {
			continue
		}
		return copy(p, pkt.data), net.UDPAddrFromAddrPort(pkt.from), nil
	}
}

// pass runs the gate on a datagram from a client: it sends the gate's
// reply, if any, and reports whether pion is to see the datagram.
func (c *gatePacketConn) pass(b []byte, from netip.AddrPort) bool {
	reply, drop := c.g.inspect(b, from)
	if reply != nil {
		c.UDPConn.WriteToUDPAddrPort(reply, from)
	}
	return !drop
}

// flushPeers sends what the last batch queued for peers.
func (c *gatePacketConn) flushPeers() {
	for i, rc := range c.touched {
		rc.flushPeer()
		c.touched[i] = nil
	}
	c.touched = c.touched[:0]
}

func (c *gatePacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.g.sent(p)
	return c.UDPConn.WriteTo(p, addr)
}

// gateListener hands pion TCP or TLS connections wrapped in a gate each.
type gateListener struct {
	net.Listener
	s *Server
}

func (l *gateListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		gc := &gateConn{Conn: c, g: newGate(l.s, nil, c), framer: pionturn.NewSTUNConn(c), remote: tcpAddrPort(c.RemoteAddr())}
		if !l.s.track(gc) {
			c.Close()
			continue
		}
		// A client gets firstFrameTimeout to finish the TLS handshake
		// and send its first request, so idle sockets cannot pile up.
		c.SetReadDeadline(time.Now().Add(firstFrameTimeout))
		return gc, nil
	}
}

const (
	firstFrameTimeout = 10 * time.Second
	// tcpIdleTimeout is the longest allocation lifetime pion grants: a
	// live client sends a Refresh at least that often.
	tcpIdleTimeout = time.Hour
	maxFrame       = 20 + 65535 + 4 // largest STUN message or padded ChannelData
)

// gateConn is one TCP or TLS client connection. Read returns one whole
// STUN message or ChannelData frame per call.
type gateConn struct {
	net.Conn
	g      *gate
	framer *pionturn.STUNConn
	remote netip.AddrPort
	buf    []byte
	armed  time.Time // when the idle deadline was last pushed back

	closeOnce sync.Once
}

func (c *gateConn) Read(p []byte) (int, error) {
	if c.buf == nil {
		c.buf = make([]byte, maxFrame)
	}
	for {
		n, _, err := c.framer.ReadFrom(c.buf)
		if err != nil {
			return 0, err
		}
		if now := time.Now(); now.Sub(c.armed) > time.Minute {
			c.armed = now
			c.Conn.SetReadDeadline(now.Add(tcpIdleTimeout))
		}
		frame := c.buf[:n]
		if isChannelData(frame) {
			if rc := c.g.relayFor(c.remote); rc != nil && rc.forward(frame) {
				continue
			}
		}
		reply, drop := c.g.inspect(frame, c.remote)
		if reply != nil {
			c.Conn.Write(reply)
		}
		if drop || n > len(p) {
			continue
		}
		return copy(p, frame), nil
	}
}

func (c *gateConn) Write(p []byte) (int, error) {
	c.g.sent(p)
	return c.Conn.Write(p)
}

func (c *gateConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.Conn.Close()
		c.g.closeAll()
		c.g.s.untrack(c)
	})
	return err
}

func tcpAddrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}
