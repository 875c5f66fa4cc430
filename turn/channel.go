package turn

import (
	"encoding/binary"
	"net"
	"net/netip"
	"time"
)

// The channel data plane. pion handles every control request, but relaying
// a ChannelData frame through pion costs a map lookup, a formatted log
// argument and a fresh buffer per packet, and a system call per datagram
// each way. The gate therefore copies each channel binding pion grants
// into its allocation's relayConn, and then
//
//   - ChannelData from the client goes straight to the bound peer
//     (relayConn.forward, or queueForward when the UDP listener read a
//     batch), and
//   - datagrams from a bound peer go straight to the client as ChannelData
//     (the relay loop for UDP clients, relayloop_linux.go; elsewhere and
//     for TCP clients relayConn.ReadFrom, pion's read loop for the
//     allocation),
//
// reading and writing a batch per system call where the platform allows
// (mmsg_linux.go). pion still sees everything outside a channel: Send and
// Data indications, and ChannelData on a channel it has not bound.

// Batch sizes: the listener serves every UDP client, a relay one client.
const (
	listenerBatch = 64
	relayBatch    = 16
	maxDatagram   = 1600 // pion's inbound MTU: it drops anything longer
)

// channel is a channel binding: number ↔ peer until expires (UnixNano).
type channel struct {
	num     uint16
	peer    netip.AddrPort
	expires int64
}

// clientSink is the way back to the client that owns an allocation: the
// listening UDP socket, or the client's own TCP or TLS connection.
type clientSink struct {
	udp  *net.UDPConn
	addr netip.AddrPort
	tcp  net.Conn
	user string // the user id in the allocation's credentials
}

// bind records a channel binding pion has granted (or refreshed).
func (c *relayConn) bind(num uint16, peer netip.AddrPort, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().UnixNano()
	var next []channel
	if old := c.channels.Load(); old != nil {
		for _, ch := range *old {
			if ch.num != num && ch.peer != peer && ch.expires > now {
				next = append(next, ch)
			}
		}
	}
	next = append(next, channel{num: num, peer: peer, expires: expires.UnixNano()})
	c.channels.Store(&next)
}

func (c *relayConn) peerFor(num uint16, now int64) (netip.AddrPort, bool) {
	if chs := c.channels.Load(); chs != nil {
		for _, ch := range *chs {
			if ch.num == num && ch.expires > now {
				return ch.peer, true
			}
		}
	}
	return netip.AddrPort{}, false
}

func (c *relayConn) channelFor(peer netip.AddrPort, now int64) (uint16, bool) {
	if chs := c.channels.Load(); chs != nil {
		for _, ch := range *chs {
			if ch.peer == peer && ch.expires > now {
				return ch.num, true
			}
		}
	}
	return 0, false
}

// channelPayload returns a ChannelData frame's payload and bound peer.
func (c *relayConn) channelPayload(frame []byte) ([]byte, netip.AddrPort, bool) {
	if len(frame) < 4 {
		return nil, netip.AddrPort{}, false
	}
	num := binary.BigEndian.Uint16(frame[0:2])
	size := int(binary.BigEndian.Uint16(frame[2:4]))
	if 4+size > len(frame) {
		return nil, netip.AddrPort{}, false
	}
	peer, ok := c.peerFor(num, nowNano())
	return frame[4 : 4+size], peer, ok
}

// forward relays a ChannelData frame from the client now if its channel
// is bound, and reports whether it did (if not, pion answers it).
func (c *relayConn) forward(frame []byte) bool {
	payload, peer, ok := c.channelPayload(frame)
	if !ok {
		return false
	}
	if c.countOut(len(payload)) {
		c.UDPConn.WriteToUDPAddrPort(payload, peer)
	}
	return true
}

// queueForward is forward for a frame in the UDP listener's read batch:
// the payload waits in toPeer until flushPeer, which the listener calls
// before it reuses its buffers. It reports whether the relay's queue was
// empty before (the listener then remembers to flush it).
func (c *relayConn) queueForward(frame []byte) (ok, first bool) {
	payload, peer, ok := c.channelPayload(frame)
	if !ok {
		return false, false
	}
	if c.toPeer == nil {
		q, err := newTxQueue(c.UDPConn, listenerBatch)
		if err != nil {
			return c.forward(frame), false
		}
		c.toPeer = q
	}
	if !c.countOut(len(payload)) {
		return true, false
	}
	first = len(c.toPeer.frames) == 0
	c.toPeer.add(payload, peer)
	return true, first
}

func (c *relayConn) flushPeer() {
	c.toPeer.flush()
}

// ReadFrom is pion's read loop for this allocation. Datagrams from a peer
// bound to a channel go straight to the client as ChannelData; it returns
// the others (for pion's Data indications) that pass the filter and the
// bandwidth limit. For a UDP client's allocation the relay loop reads the
// socket instead (relayloop_linux.go) and ReadFrom waits for what it
// passes on.
func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	if c.loop != nil {
		// The relay loop reads the socket and sends what is for pion.
		select {
		case pkt := <-c.slow:
			return copy(p, pkt.data), net.UDPAddrFromAddrPort(pkt.from), nil
		case <-c.done:
			return 0, nil, net.ErrClosed
		}
	}
	if c.rx == nil {
		q, err := newRxQueue(c.UDPConn, relayBatch, min(len(p), maxDatagram), 4)
		if err != nil {
			return 0, nil, err
		}
		c.rx = q
	}
	for {
		k, err := c.rx.next(c.flushClient)
		if err != nil {
			return 0, nil, err
		}
		pkt := c.rx.pkts[k]
		if pkt.n < 0 {
			continue
		}
		if sink := c.client.Load(); sink != nil {
			if num, ok := c.channelFor(pkt.from, nowNano()); ok {
				if c.countIn(pkt.n) {
					c.queueToClient(sink, c.rx.raw[k], num, pkt.n)
				}
				continue
			}
		}
		c.flushClient()
		if !c.owner.filter.allowAddr(pkt.from) {
			c.owner.stats.peerPacketDrops.Add(1)
			continue
		}
		if !c.countIn(pkt.n) {
			continue
		}
		return copy(p, c.rx.bufs[k][:pkt.n]), net.UDPAddrFromAddrPort(pkt.from), nil
	}
}

// channelFrame writes a ChannelData header in front of the n-byte payload
// at raw[4:] and returns the frame (padded to 4 bytes for TCP, RFC 8656
// §12.5). raw has 3 spare bytes for the padding.
func channelFrame(raw []byte, num uint16, n int, tcp bool) []byte {
	binary.BigEndian.PutUint16(raw[0:2], num)
	binary.BigEndian.PutUint16(raw[2:4], uint16(n))
	size := 4 + n
	if tcp {
		for ; size%4 != 0; size++ {
			raw[size] = 0
		}
	}
	return raw[:size]
}

// queueToClient queues a frame for the client (see channelFrame).
func (c *relayConn) queueToClient(sink *clientSink, raw []byte, num uint16, n int) {
	frame := channelFrame(raw, num, n, sink.tcp != nil)
	if sink.tcp != nil {
		c.tcpOut = append(c.tcpOut, frame)
		return
	}
	if c.toClient == nil {
		q, err := newTxQueue(sink.udp, relayBatch)
		if err != nil {
			sink.udp.WriteToUDPAddrPort(frame, sink.addr)
			return
		}
		c.toClient = q
	}
	c.toClient.add(frame, sink.addr)
}

// toPion hands a datagram from outside any channel to pion's read loop
// (relay loop mode), if the filter lets it through; it is dropped when
// pion is behind, as a full socket buffer would drop it.
func (c *relayConn) toPion(data []byte, from netip.AddrPort) {
	if !c.owner.filter.allowAddr(from) {
		c.owner.stats.peerPacketDrops.Add(1)
		return
	}
	if !c.countIn(len(data)) {
		return
	}
	select {
	case c.slow <- slowPacket{data: append([]byte(nil), data...), from: from}:
	default:
	}
}

type slowPacket struct {
	data []byte
	from netip.AddrPort
}

func nowNano() int64 { return time.Now().UnixNano() }

func (c *relayConn) flushClient() {
	if c.toClient != nil {
		c.toClient.flush()
	}
	if len(c.tcpOut) > 0 {
		if sink := c.client.Load(); sink != nil && sink.tcp != nil {
			// One writev on a TCP connection; frame by frame over TLS.
			out := c.tcpOut
			out.WriteTo(sink.tcp)
		}
		clear(c.tcpOut[:cap(c.tcpOut)])
		c.tcpOut = c.tcpOut[:0]
	}
}
