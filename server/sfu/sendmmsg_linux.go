//go:build linux && (amd64 || arm64)

package sfu

import (
	"net"
	"os"
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

// ReadFrom reads one datagram with recvfrom(2) as a raw system call
// (MSG_DONTWAIT), waiting in the netpoller while none is queued. A raw call
// keeps the Go scheduler out of it: an ordinary one (net.UDPConn's) wakes
// the runtime's sysmon thread whenever it follows a moment with every P
// idle, which audio (a packet every few milliseconds) makes happen on
// nearly every packet, and sysmon then polls every 20 µs for a millisecond.
func (c *batchConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if c.raw == nil || len(b) == 0 {
		return c.PacketConn.ReadFrom(b)
	}
	var (
		n     int
		name  mmsg.Name
		errno syscall.Errno
	)
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			namelen := uint32(len(name))
			r1, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
				syscall.MSG_DONTWAIT, uintptr(unsafe.Pointer(&name[0])), uintptr(unsafe.Pointer(&namelen)))
			switch e {
			case syscall.EINTR, syscall.ECONNREFUSED:
				// An ICMP error for an earlier send is reported once and
				// is not this socket's failure: read on.
				continue
			case syscall.EAGAIN:
				return false // wait for the socket to be readable
			}
			n, errno = int(r1), e
			return true
		}
	})
	if err != nil {
		return 0, nil, err
	}
	if errno != 0 {
		return 0, nil, &net.OpError{Op: "read", Net: "udp", Source: c.LocalAddr(), Err: os.NewSyscallError("recvfrom", errno)}
	}
	addr := net.UDPAddrFromAddrPort(name.AddrPort())
	if scope := name.ScopeID(); scope != 0 {
		if ifi, err := net.InterfaceByIndex(int(scope)); err == nil {
			addr.Zone = ifi.Name
		}
	}
	return n, addr, nil
}
