//go:build linux && (amd64 || arm64)

package sfu

import (
	"encoding/binary"
	"net"
	"runtime"
	"syscall"
	"unsafe"
)

// rawBatch is what sendmmsg(2) reads: one header, iovec and address per
// packet, kept with the batch so a flush allocates nothing.
type rawBatch struct {
	hdrs  [batchSize]mmsghdr
	iovs  [batchSize]syscall.Iovec
	names [batchSize]syscall.RawSockaddrInet6 // large enough for IPv4 too
}

type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
	_   [4]byte
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
		var namelen uint32
		if ip4 := ua.IP.To4(); ip4 != nil { // Linux takes these on dual-stack sockets too
			sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(name))
			sa.Family = syscall.AF_INET
			binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], uint16(ua.Port))
			copy(sa.Addr[:], ip4)
			namelen = syscall.SizeofSockaddrInet4
		} else if ip6 := ua.IP.To16(); ip6 != nil {
			name.Family = syscall.AF_INET6
			binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&name.Port))[:], uint16(ua.Port))
			name.Flowinfo, name.Scope_id = 0, 0
			copy(name.Addr[:], ip6)
			namelen = syscall.SizeofSockaddrInet6
		} else {
			break
		}
		buf := m.Buffers[0]
		r.iovs[i].Base = &buf[0]
		r.iovs[i].SetLen(len(buf))
		h := &r.hdrs[i].hdr
		h.Name, h.Namelen = (*byte)(unsafe.Pointer(name)), namelen
		h.Iov, h.Iovlen = &r.iovs[i], 1
		n++
	}
	sent := 0
	for sent < n {
		var r1 uintptr
		var errno syscall.Errno
		err := c.raw.Control(func(fd uintptr) {
			r1, _, errno = syscall.RawSyscall6(sysSendmmsg, fd, uintptr(unsafe.Pointer(&r.hdrs[sent])), uintptr(n-sent),
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
