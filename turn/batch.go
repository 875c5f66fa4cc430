package turn

import (
	"net"
	"net/netip"
)

// packet is one received datagram: n bytes (-1: truncated) from an address.
type packet struct {
	n    int
	from netip.AddrPort
}

// rxQueue reads datagrams a batch at a time and hands them out one by
// one. Each buffer has headroom bytes before it, so that a ChannelData
// header can be written in front of a payload without copying it.
type rxQueue struct {
	b        *udpBatch
	raw      [][]byte // headroom + size + 3 (TCP padding)
	bufs     [][]byte // raw[i][headroom : headroom+size]
	pkts     []packet
	pos, cnt int
}

func newRxQueue(c *net.UDPConn, batch, size, headroom int) (*rxQueue, error) {
	b, err := newUDPBatch(c, batch)
	if err != nil {
		return nil, err
	}
	q := &rxQueue{b: b, raw: make([][]byte, batch), bufs: make([][]byte, batch), pkts: make([]packet, batch)}
	mem := make([]byte, batch*(headroom+size+3))
	for i := range q.raw {
		q.raw[i] = mem[: headroom+size+3 : headroom+size+3]
		mem = mem[headroom+size+3:]
		q.bufs[i] = q.raw[i][headroom : headroom+size]
	}
	return q, nil
}

// next returns the index of the next datagram, reading a new batch (after
// calling flush, since buffers are about to be reused) when none is left.
func (q *rxQueue) next(flush func()) (int, error) {
	for q.pos == q.cnt {
		flush()
		n, err := q.b.recv(q.bufs, q.pkts)
		if err != nil {
			return 0, err
		}
		q.pos, q.cnt = 0, n
	}
	q.pos++
	return q.pos - 1, nil
}

// txQueue collects datagrams for one socket and sends them with one
// system call per batch.
type txQueue struct {
	b      *udpBatch
	frames [][]byte
	to     []netip.AddrPort
}

func newTxQueue(c *net.UDPConn, batch int) (*txQueue, error) {
	b, err := newUDPBatch(c, batch)
	if err != nil {
		return nil, err
	}
	return &txQueue{b: b, frames: make([][]byte, 0, batch), to: make([]netip.AddrPort, 0, batch)}, nil
}

func (q *txQueue) add(frame []byte, to netip.AddrPort) {
	q.frames = append(q.frames, frame)
	q.to = append(q.to, to)
}

func (q *txQueue) flush() error {
	if len(q.frames) == 0 {
		return nil
	}
	err := q.b.send(q.frames, q.to)
	clear(q.frames) // drop references to the read buffers
	q.frames, q.to = q.frames[:0], q.to[:0]
	return err
}
