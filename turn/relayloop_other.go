//go:build !(linux && (amd64 || arm64))

package turn

import (
	"errors"
	"net"
)

// relayLoop is Linux-only (relayloop_linux.go); elsewhere pion's read
// loop per allocation reads its relay socket.
type relayLoop struct {
	toPion  chan slowPacket
	stopped chan struct{}
}

func newRelayLoop(*net.UDPConn, *gate) (*relayLoop, error) {
	return nil, errors.New("no relay loop on this platform")
}

func (l *relayLoop) add(*relayConn) error { return errors.New("no relay loop") }
func (l *relayLoop) remove(*relayConn)    {}
func (l *relayLoop) stop()                {}
