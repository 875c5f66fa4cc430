//go:build linux && (amd64 || arm64)

package mmsg

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"unsafe"
)

func TestNameRoundTrip(t *testing.T) {
	for _, c := range []struct {
		in    string
		inet6 bool
		size  uint32
		out   string
	}{
		{"127.0.0.1:5000", false, syscall.SizeofSockaddrInet4, "127.0.0.1:5000"},
		{"[::ffff:10.1.2.3]:9", false, syscall.SizeofSockaddrInet4, "10.1.2.3:9"},
		{"127.0.0.1:5000", true, syscall.SizeofSockaddrInet6, "[::ffff:127.0.0.1]:5000"},
		{"[2001:db8::1]:443", false, syscall.SizeofSockaddrInet6, "[2001:db8::1]:443"},
		{"[fe80::1%eth0]:1", true, 0, ""},
	} {
		var n Name
		if got := n.Put(netip.MustParseAddrPort(c.in), c.inet6); got != c.size {
			t.Errorf("Put(%s, %v) = %d, want %d", c.in, c.inet6, got, c.size)
			continue
		}
		if c.size == 0 {
			continue
		}
		if got := n.AddrPort().String(); got != c.out {
			t.Errorf("%s decodes as %s, want %s", c.in, got, c.out)
		}
	}
}

// A real sendmmsg of two datagrams to a loopback socket, built from these
// pieces, arrives whole.
func TestSendmmsgLoopback(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	to := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	msgs := [][]byte{[]byte("first"), []byte("second")}
	var hdrs [2]Hdr
	var iovs [2]syscall.Iovec
	var names [2]Name
	for i, m := range msgs {
		iovs[i].Base = &m[0]
		iovs[i].SetLen(len(m))
		hdrs[i].Msg.Name = &names[i][0]
		hdrs[i].Msg.Namelen = names[i].Put(to, false)
		hdrs[i].Msg.Iov, hdrs[i].Msg.Iovlen = &iovs[i], 1
	}
	rc, _ := tx.SyscallConn()
	var sent uintptr
	var errno syscall.Errno
	rc.Write(func(fd uintptr) bool {
		sent, _, errno = syscall.Syscall6(SysSendmmsg, fd, uintptr(unsafe.Pointer(&hdrs[0])), 2, 0, 0, 0)
		return errno != syscall.EAGAIN
	})
	if errno != 0 || sent != 2 {
		t.Fatalf("sendmmsg: %d sent, %v", sent, errno)
	}
	buf := make([]byte, 64)
	for _, want := range msgs {
		n, _, err := rx.ReadFromUDP(buf)
		if err != nil || string(buf[:n]) != string(want) {
			t.Fatalf("got %q %v, want %q", buf[:n], err, want)
		}
	}
}
