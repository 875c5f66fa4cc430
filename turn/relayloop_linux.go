//go:build linux && (amd64 || arm64)

package turn

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// relayLoop is the UDP data plane's one event loop: one goroutine, over one
// level-triggered epoll set, reads the listening socket and the relay
// sockets of UDP clients' allocations, as coturn's single thread does,
// instead of a goroutine per socket. Media fans out from the SFU to every
// subscriber at once, so relay sockets become readable together: one
// epoll_wait finds them all, each is read with one recvmmsg, and every
// frame for every UDP client leaves through the listening socket in one
// sendmmsg. Go's netpoller would wake a goroutine per socket instead, each
// making a read, a write and a read that finds nothing more, which costs
// about half again as much CPU per relayed packet at 100 packets/s per
// allocation. With the listening socket in the same set, a packet's round
// trip through the relay wakes one goroutine, not two.
//
// What is not ChannelData on a bound channel goes to pion: from the
// listening socket through toPion (gatePacketConn.ReadFrom, which runs the
// gate), from a relay socket through the allocation's slow channel
// (relayConn.ReadFrom).
type relayLoop struct {
	ep       *os.File        // the epoll set, itself waited on by Go's netpoller
	epRaw    syscall.RawConn // ep's descriptor, safe against Close
	tx       *txQueue        // to UDP clients, through the listening socket
	recv     *udpBatch
	raw      [][]byte // loopBuffers receive buffers with 4 bytes of headroom
	bufs     [][]byte
	pkts     []packet
	used     int
	events   []syscall.EpollEvent
	nevents  int
	waitFn   func(fd uintptr) bool
	stopped  chan struct{}
	stopOnce sync.Once

	// The listening socket.
	g       *gate
	lisRaw  syscall.RawConn
	lisRecv *udpBatch
	lisBufs [][]byte
	lisPkts []packet
	touched []*relayConn    // relays with datagrams queued for their peers
	toPion  chan slowPacket // everything from clients the loop does not relay

	mu     sync.Mutex
	conns  map[int32]*relayConn
	nextID int32
}

const (
	loopBuffers = 256
	// listenerID is the listening socket's id in the epoll set
	// (allocations count from 1).
	listenerID = 0
	// pionQueue bounds what waits for pion's read loop: STUN requests and
	// unbound ChannelData. Beyond it datagrams are dropped, as a full
	// socket buffer would drop them.
	pionQueue = 512
)

// newRelayLoop starts the loop on the listening socket, whose control
// traffic passes the gate g on its way to pion.
func newRelayLoop(listener *net.UDPConn, g *gate) (*relayLoop, error) {
	tx, err := newTxQueue(listener, listenerBatch)
	if err != nil {
		return nil, err
	}
	recv, err := newUDPBatch(nil, relayBatch)
	if err != nil {
		return nil, err
	}
	lisRecv, err := newUDPBatch(nil, listenerBatch)
	if err != nil {
		return nil, err
	}
	lisRaw, err := listener.SyscallConn()
	if err != nil {
		return nil, err
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so that the runtime polls the epoll descriptor like a
	// socket: the loop parks as a goroutine, never in a blocking syscall.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	ep := os.NewFile(uintptr(epfd), "relay-epoll")
	epRaw, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		return nil, err
	}
	l := &relayLoop{
		ep: ep, epRaw: epRaw, tx: tx, recv: recv,
		raw: make([][]byte, loopBuffers), bufs: make([][]byte, loopBuffers), pkts: make([]packet, relayBatch),
		events:  make([]syscall.EpollEvent, 128),
		stopped: make(chan struct{}),
		conns:   make(map[int32]*relayConn),
		g:       g, lisRaw: lisRaw, lisRecv: lisRecv,
		lisBufs: make([][]byte, listenerBatch), lisPkts: make([]packet, listenerBatch),
		toPion: make(chan slowPacket, pionQueue),
	}
	l.waitFn = func(fd uintptr) bool {
		// A raw epoll_pwait with a zero timeout: it never blocks, and a
		// raw call keeps sysmon asleep (see udpBatch.mmsg).
		r, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), 0, 0, 0)
		n := int(r)
		if errno != 0 {
			n = 0
		}
		l.nevents = n
		return n > 0 || (errno != 0 && errno != syscall.EINTR)
	}
	const size = 4 + maxDatagram + 3
	mem := make([]byte, loopBuffers*size)
	for i := range l.raw {
		l.raw[i] = mem[i*size : (i+1)*size : (i+1)*size]
		l.bufs[i] = l.raw[i][4 : 4+maxDatagram]
	}
	lisMem := make([]byte, listenerBatch*maxDatagram)
	for i := range l.lisBufs {
		l.lisBufs[i] = lisMem[i*maxDatagram : (i+1)*maxDatagram : (i+1)*maxDatagram]
	}
	var cerr error
	if err := l.ctl(lisRaw, func(epfd, fd int) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: listenerID}
		cerr = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
	}); err != nil || cerr != nil {
		ep.Close()
		return nil, errors.Join(err, cerr)
	}
	go l.run()
	return l, nil
}

// add puts an allocation's relay socket into the epoll set.
func (l *relayLoop) add(c *relayConn) error {
	raw, err := c.UDPConn.SyscallConn()
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nextID++
	if l.nextID < 0 {
		l.nextID = 1
	}
	id := l.nextID
	var cerr error
	err = l.ctl(raw, func(epfd, fd int) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: id}
		cerr = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	c.raw = raw
	c.loopID = id
	l.conns[id] = c
	return nil
}

// remove takes a relay socket out of the epoll set before it closes, so
// that the loop never reads a reused descriptor.
func (l *relayLoop) remove(c *relayConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c.loopID)
	l.ctl(c.raw, func(epfd, fd int) {
		syscall.EpollCtl(epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	})
}

// ctl runs f with the epoll and socket descriptors held open (neither
// can be closed and its number reused meanwhile).
func (l *relayLoop) ctl(sock syscall.RawConn, f func(epfd, fd int)) error {
	var err error
	if cerr := l.epRaw.Control(func(epfd uintptr) {
		err = sock.Control(func(fd uintptr) { f(int(epfd), int(fd)) })
	}); cerr != nil {
		return cerr
	}
	return err
}

func (l *relayLoop) stop() {
	l.stopOnce.Do(func() {
		l.ep.Close()
		<-l.stopped
	})
}

func (l *relayLoop) run() {
	defer close(l.stopped)
	for {
		if err := l.epRaw.Read(l.waitFn); err != nil {
			return // stopped
		}
		for _, ev := range l.events[:l.nevents] {
			if ev.Fd == listenerID {
				l.drainListener()
				continue
			}
			l.mu.Lock()
			c := l.conns[ev.Fd]
			l.mu.Unlock()
			if c != nil {
				l.drain(c)
			}
		}
		l.flush()
	}
}

// drain reads what one relay socket holds, a few batches at most so that
// one busy allocation cannot starve the others (epoll is level-triggered:
// the rest is read on the next round).
func (l *relayLoop) drain(c *relayConn) {
	for range 4 {
		if l.used+relayBatch > len(l.bufs) {
			l.flush()
		}
		got, err := l.recv.tryRecv(c.raw, l.bufs[l.used:l.used+relayBatch], l.pkts)
		if err != nil || got == 0 {
			return
		}
		for i, pkt := range l.pkts[:got] {
			k := l.used + i
			if pkt.n < 0 {
				continue
			}
			if sink := c.client.Load(); sink != nil && sink.tcp == nil {
				if num, ok := c.channelFor(pkt.from, nowNano()); ok {
					if c.countIn(pkt.n) {
						l.tx.add(channelFrame(l.raw[k], num, pkt.n, false), sink.addr)
					}
					continue
				}
			}
			c.toPion(l.bufs[k][:pkt.n], pkt.from)
		}
		l.used += got
		if got < relayBatch {
			return
		}
	}
}

// drainListener reads what clients sent, a few batches at most (as
// drain). ChannelData on a bound channel is queued for its peer; the rest
// waits for pion.
func (l *relayLoop) drainListener() {
	for range 4 {
		got, err := l.lisRecv.tryRecv(l.lisRaw, l.lisBufs, l.lisPkts)
		if err != nil || got == 0 {
			return // nothing more, or the socket closed (it has left the set)
		}
		var ok bool
		for i, pkt := range l.lisPkts[:got] {
			if pkt.n < 0 {
				continue
			}
			b := l.lisBufs[i][:pkt.n]
			if l.touched, ok = l.g.queueChannelData(b, pkt.from, l.touched); ok {
				continue
			}
			select {
			case l.toPion <- slowPacket{data: append([]byte(nil), b...), from: pkt.from}:
			default:
			}
		}
		// The next batch reuses the buffers the queued payloads are in.
		l.flushPeers()
		if got < listenerBatch {
			return
		}
	}
}

func (l *relayLoop) flushPeers() {
	for i, rc := range l.touched {
		rc.flushPeer()
		l.touched[i] = nil
	}
	l.touched = l.touched[:0]
}

func (l *relayLoop) flush() {
	l.flushPeers()
	l.tx.flush()
	l.used = 0
}
