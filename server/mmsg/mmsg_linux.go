//go:build linux && (amd64 || arm64)

package mmsg

import (
	"encoding/binary"
	"net/netip"
	"syscall"
)

// Hdr is struct mmsghdr: one message and, after the call, its length.
type Hdr struct {
	Msg syscall.Msghdr
	Len uint32
	_   [4]byte
}

// Name is room for a socket address, IPv4 or IPv6.
type Name [syscall.SizeofSockaddrInet6]byte

// Put encodes ap and returns its length for Msghdr.Namelen. On an
// AF_INET6 socket (inet6) every address goes as IPv6, IPv4 ones mapped;
// otherwise IPv4 goes as AF_INET and IPv6 as AF_INET6. It returns 0 for an
// address with a zone or an invalid one: the caller sends that one the
// ordinary way, or drops it.
func (n *Name) Put(ap netip.AddrPort, inet6 bool) uint32 {
	*n = Name{}
	a := ap.Addr()
	if !a.IsValid() || a.Zone() != "" {
		return 0
	}
	binary.BigEndian.PutUint16(n[2:4], ap.Port())
	if a4 := a.Unmap(); !inet6 && a4.Is4() {
		binary.NativeEndian.PutUint16(n[0:2], syscall.AF_INET)
		b := a4.As4()
		copy(n[4:8], b[:])
		return syscall.SizeofSockaddrInet4
	}
	binary.NativeEndian.PutUint16(n[0:2], syscall.AF_INET6)
	b := a.As16()
	copy(n[8:24], b[:])
	return syscall.SizeofSockaddrInet6
}

// AddrPort decodes the address the kernel wrote (recvmmsg).
func (n *Name) AddrPort() netip.AddrPort {
	port := binary.BigEndian.Uint16(n[2:4])
	switch binary.NativeEndian.Uint16(n[0:2]) {
	case syscall.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(n[4:8])), port)
	case syscall.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(n[8:24])), port)
	}
	return netip.AddrPort{}
}

// ScopeID is an IPv6 address's sin6_scope_id (the interface of a
// link-local address), 0 for IPv4 and global addresses.
func (n *Name) ScopeID() uint32 {
	if binary.NativeEndian.Uint16(n[0:2]) != syscall.AF_INET6 {
		return 0
	}
	return binary.NativeEndian.Uint32(n[24:28])
}
