//go:build !(linux && (amd64 || arm64))

package turn

import (
	"errors"
	"net"
	"net/netip"
)

// udpBatch moves one datagram per system call where recvmmsg(2) and
// sendmmsg(2) are not wired up (see mmsg_linux.go).
type udpBatch struct{ c *net.UDPConn }

func newUDPBatch(c *net.UDPConn, size int) (*udpBatch, error) { return &udpBatch{c}, nil }

func (b *udpBatch) recv(bufs [][]byte, pkts []packet) (int, error) {
	n, from, err := b.c.ReadFromUDPAddrPort(bufs[0])
	if err != nil {
		return 0, err
	}
	pkts[0] = packet{n: n, from: from}
	return 1, nil
}

func (b *udpBatch) send(frames [][]byte, to []netip.AddrPort) error {
	for i, f := range frames {
		if _, err := b.c.WriteToUDPAddrPort(f, to[i]); errors.Is(err, net.ErrClosed) {
			return err
		}
	}
	return nil
}
