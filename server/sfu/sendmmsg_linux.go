//go:build linux && (amd64 || arm64)

package sfu

import (
	"net"
	"runtime"
	"syscall"
	"unsafe"

	"calls/server/mmsg"
)

// rawBatch is what sendmmsg(2) reads: one header, iovec and address per
// packet, kept with the batch so a flush allocates nothing.
type rawBatch struct {
	hdrs  [batchSize]mmsg.Hdr
	iovs  [batchSize]syscall.Iovec
	names [batchSize]mmsg.Name
}

// sendRaw sends the batch with sendmmsg(2) as a raw system call: the
// socket is non-blocking and a UDP send does not block, so the Go
// scheduler need not hand the P to another thread meanwhile (with an
// ordinary system call it does for any call longer than ~20 µs, and a
// batch takes longer: that hand-off cost as much as the batching saved).
// It returns how many packets left; the caller sends the rest the
// ordinary way (a full socket buffer, an address it cannot marshal).
func (c *batchConn) sendRaw(b *batch) int {
	if c.raw == nil {
		return 0
	}
	r := &b.raw
	n := 0
	for i := range b.msgs {
		m := &b.msgs[i]
		ua, ok := m.Addr.(*net.UDPAddr)
		if !ok || ua.Zone != "" {
			break
		}
		name := &r.names[i]
		namelen := name.Put(ua.AddrPort(), false) // IPv4 as AF_INET: Linux takes it on dual-stack sockets too
		if namelen == 0 {
			break
		}
		buf := m.Buffers[0]
		r.iovs[i].Base = &buf[0]
		r.iovs[i].SetLen(len(buf))
		h := &r.hdrs[i].Msg
		h.Name, h.Namelen = &name[0], namelen
		h.Iov, h.Iovlen = &r.iovs[i], 1
		n++
	}
	sent := 0
	for sent < n {
		var r1 uintptr
		var errno syscall.Errno
		err := c.raw.Control(func(fd uintptr) {
			r1, _, errno = syscall.RawSyscall6(mmsg.SysSendmmsg, fd, uintptr(unsafe.Pointer(&r.hdrs[sent])), uintptr(n-sent),
				syscall.MSG_DONTWAIT, 0, 0)
		})
		switch {
		case err != nil || errno == syscall.EAGAIN || errno == syscall.EINTR:
			runtime.KeepAlive(b)
			return sent // closed socket or full buffer: the slow path decides
		case errno != 0:
			sent++ // sendmmsg fails only on its first packet: that one is lost
		default:
			sent += int(r1)
		}
	}
	runtime.KeepAlive(b)
	return sent
}
