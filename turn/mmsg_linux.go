//go:build linux && (amd64 || arm64)

package turn

import (
	"encoding/binary"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"unsafe"

	"calls/server/mmsg"
)

// udpBatch moves up to len(hdrs) datagrams per system call with
// recvmmsg(2) and sendmmsg(2): on loopback a sendto costs about 4 µs and
// the wakeup around each read costs more again, so a relay that reads and
// writes one packet per call spends most of its time in system call
// overhead (docs/TURN.md, Performance). A udpBatch is scratch space for
// one goroutine at a time.
type udpBatch struct {
	rc    syscall.RawConn
	inet6 bool // the socket is AF_INET6 (dual-stack listeners)
	hdrs  []mmsg.Hdr
	iovs  []syscall.Iovec
	names []mmsg.Name

	// Sending (send): whether the kernel segments UDP, one cmsg per
	// message, the number of frames in each message, and how many frames
	// to send one per message after a run the kernel refused.
	gso    bool
	ctrl   []byte
	segs   []int
	single int

	// The system calls as RawConn callbacks, made once: a closure built
	// per call would cost an allocation per batch.
	recvFn, sendFn, tryRecvFn func(fd uintptr) bool
	n                         int // messages to pass
	got                       int // messages done
	errno                     syscall.Errno
}

// newUDPBatch makes scratch space for c's socket; with c nil, for
// tryRecv on any socket.
func newUDPBatch(c *net.UDPConn, size int) (*udpBatch, error) {
	b := &udpBatch{
		hdrs:  make([]mmsg.Hdr, size),
		iovs:  make([]syscall.Iovec, size),
		names: make([]mmsg.Name, size),
		ctrl:  make([]byte, size*segmentCmsgLen),
		segs:  make([]int, size),
	}
	b.recvFn = func(fd uintptr) bool { return b.mmsg(mmsg.SysRecvmmsg, fd) }
	b.sendFn = func(fd uintptr) bool { return b.mmsg(mmsg.SysSendmmsg, fd) }
	b.tryRecvFn = func(fd uintptr) bool { b.mmsg(mmsg.SysRecvmmsg, fd); return true }
	if c == nil {
		return b, nil
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	b.rc = rc
	var sa syscall.Sockaddr
	var serr error
	if err := rc.Control(func(fd uintptr) {
		sa, serr = syscall.Getsockname(int(fd))
		b.gso = segmentationOffload(fd)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, serr
	}
	_, b.inet6 = sa.(*syscall.SockaddrInet6)
	return b, nil
}

// mmsg runs recvmmsg or sendmmsg on the first b.n headers; false asks the
// runtime to wait until the socket is ready. The socket is non-blocking,
// so the call is made raw: an ordinary system call wakes the runtime's
// sysmon thread whenever it follows a moment with every P idle (with one
// allocation, nearly every packet), and sysmon then polls every 20 µs.
func (b *udpBatch) mmsg(trap, fd uintptr) bool {
	r, _, errno := syscall.RawSyscall6(trap, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(b.n), 0, 0, 0)
	b.got, b.errno = int(r), errno
	return errno != syscall.EAGAIN
}

// recv blocks until at least one datagram arrives and fills pkts[i] for
// bufs[i]; a datagram longer than its buffer comes back with n = -1.
func (b *udpBatch) recv(bufs [][]byte, pkts []packet) (int, error) {
	return b.recvOn(b.rc, b.recvFn, bufs, pkts)
}

// tryRecv is recv on raw's socket that returns 0 when nothing is there.
func (b *udpBatch) tryRecv(raw syscall.RawConn, bufs [][]byte, pkts []packet) (int, error) {
	return b.recvOn(raw, b.tryRecvFn, bufs, pkts)
}

func (b *udpBatch) recvOn(raw syscall.RawConn, fn func(uintptr) bool, bufs [][]byte, pkts []packet) (int, error) {
	n := min(len(bufs), len(pkts), len(b.hdrs))
	for i := range n {
		b.iovs[i].Base = &bufs[i][0]
		b.iovs[i].SetLen(len(bufs[i]))
		b.hdrs[i] = mmsg.Hdr{}
		h := &b.hdrs[i].Msg
		h.Name = &b.names[i][0]
		h.Namelen = uint32(len(b.names[i]))
		h.Iov = &b.iovs[i]
		h.Iovlen = 1
	}
	b.n = n
	for {
		err := raw.Read(fn)
		runtime.KeepAlive(bufs)
		if err != nil {
			return 0, err
		}
		if b.errno == syscall.EINTR || b.errno == syscall.ECONNREFUSED {
			continue
		}
		if b.errno == syscall.EAGAIN {
			return 0, nil // tryRecv: nothing there
		}
		if b.errno != 0 {
			return 0, b.errno
		}
		got := b.got
		for i := range got {
			h := &b.hdrs[i]
			pkts[i] = packet{n: int(h.Len), from: b.names[i].AddrPort()}
			if h.Msg.Flags&syscall.MSG_TRUNC != 0 {
				pkts[i].n = -1
			}
		}
		return got, nil
	}
}

// send writes frames[i] to to[i]. A datagram the kernel refuses (no route)
// is skipped, as a lost packet would be.
//
// Where the kernel segments UDP itself (UDP_SEGMENT, Linux 4.18), a run of
// frames for one address, all of one size but the last (which may be
// shorter), goes as one message: the kernel builds and routes it once and
// cuts it into datagrams on the way out, as it does for QUIC servers. A
// relay meets such runs all the time: a video frame is packets of one size
// and a shorter last one, and a busy client's packets queue together.
// Receivers see ordinary datagrams.
func (b *udpBatch) send(frames [][]byte, to []netip.AddrPort) error {
	for len(frames) > 0 {
		b.n = b.build(frames, to)
		err := b.rc.Write(b.sendFn)
		runtime.KeepAlive(frames)
		if err != nil {
			return err
		}
		if b.errno == syscall.EINTR {
			continue
		}
		sent := b.got
		if b.errno != 0 || sent <= 0 {
			if b.segs[0] > 1 {
				// The kernel refused the run as one message (EIO: the
				// device cannot; EINVAL: over the path's MTU, or the
				// socket sends without checksums): send it one by one.
				if b.errno == syscall.EIO {
					b.gso = false
				}
				b.single = b.segs[0]
				continue
			}
			sent = 1 // the first datagram failed: drop it, go on
		}
		k := 0
		for _, n := range b.segs[:sent] {
			k += n
		}
		frames, to = frames[k:], to[k:]
	}
	return nil
}

// UDP segmentation offload (linux/udp.h).
const (
	udpSegment     = 103   // UDP_SEGMENT: the cmsg and socket option
	maxSegments    = 64    // UDP_MAX_SEGMENTS before Linux 6.9
	maxSegmentRun  = 65000 // bytes in one message, under the 64 KiB datagram limit
	segmentCmsgLen = syscall.SizeofCmsghdr + 8
)

// build fills the headers for sendmmsg with the first frames, a run of
// them per message where the kernel segments (see send), and returns the
// number of messages; b.segs[m] is the number of frames in message m.
func (b *udpBatch) build(frames [][]byte, to []netip.AddrPort) int {
	m, f := 0, 0
	for m < len(b.hdrs) && f < len(frames) && f < len(b.iovs) {
		start, size := f, len(frames[f])
		f++
		if b.single > 0 {
			b.single--
		} else if b.gso && size > 0 {
			total := size
			for f < len(frames) && f < len(b.iovs) && f-start < maxSegments && to[f] == to[start] {
				n := len(frames[f])
				if n == 0 || n > size || total+n > maxSegmentRun {
					break
				}
				total += n
				f++
				if n < size {
					break // a shorter frame ends the run
				}
			}
		}
		for i := start; i < f; i++ {
			if len(frames[i]) > 0 {
				b.iovs[i].Base = &frames[i][0]
			} else {
				b.iovs[i].Base = nil
			}
			b.iovs[i].SetLen(len(frames[i]))
		}
		b.hdrs[m] = mmsg.Hdr{}
		h := &b.hdrs[m].Msg
		h.Name = &b.names[m][0]
		h.Namelen = b.names[m].Put(to[start], b.inet6)
		h.Iov = &b.iovs[start]
		h.Iovlen = uint64(f - start)
		if f-start > 1 {
			c := b.ctrl[m*segmentCmsgLen : (m+1)*segmentCmsgLen]
			ch := (*syscall.Cmsghdr)(unsafe.Pointer(&c[0]))
			ch.Level = syscall.IPPROTO_UDP
			ch.Type = udpSegment
			ch.SetLen(syscall.CmsgLen(2))
			binary.NativeEndian.PutUint16(c[syscall.SizeofCmsghdr:], uint16(size))
			h.Control = &c[0]
			h.SetControllen(segmentCmsgLen)
		}
		b.segs[m] = f - start
		m++
	}
	return m
}

// segmentationOffload reports whether the kernel takes UDP_SEGMENT on fd.
func segmentationOffload(fd uintptr) bool {
	_, err := syscall.GetsockoptInt(int(fd), syscall.IPPROTO_UDP, udpSegment)
	return err == nil
}
