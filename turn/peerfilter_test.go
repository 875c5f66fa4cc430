package turn

import (
	"net/netip"
	"testing"
)

func TestPeerFilter(t *testing.T) {
	f := newPeerFilter(
		[]netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("fd12:3456::/32")},
		[]netip.AddrPort{netip.MustParseAddrPort("192.168.1.10:8443"), netip.MustParseAddrPort("198.51.100.7:8443")},
		netip.MustParseAddr("198.51.100.8"), // the relay address
	)
	cases := []struct {
		peer string
		want bool
	}{
		// Public unicast.
		{"8.8.8.8:53", true},
		{"1.1.1.1:3478", true},
		{"[2001:4860:4860::8888]:443", true},
		{"[2a00:1450:4001:80b::200e]:3478", true},
		{"[::ffff:8.8.8.8]:53", true},
		// Unspecified and "this network".
		{"0.0.0.0:80", false},
		{"0.1.2.3:80", false},
		{"[::]:80", false},
		{"[::ffff:0.0.0.0]:80", false},
		// Loopback, every spelling.
		{"127.0.0.1:22", false},
		{"127.255.255.254:22", false},
		{"[::1]:22", false},
		{"[::ffff:127.0.0.1]:22", false},
		{"[::127.0.0.1]:22", false}, // IPv4-compatible (deprecated)
		{"[64:ff9b::7f00:1]:22", false},
		{"[2002:7f00:1::1]:22", false}, // 6to4 of 127.0.0.1
		// Link-local and cloud metadata.
		{"169.254.1.1:80", false},
		{"169.254.169.254:80", false},
		{"[::ffff:169.254.169.254]:80", false},
		{"[64:ff9b::a9fe:a9fe]:80", false},
		{"[fe80::1]:80", false},
		{"[fe80::1%eth0]:80", false},
		{"[fd00:ec2::254]:80", false},
		{"100.100.100.200:80", false},
		{"168.63.129.16:80", false},
		{"192.0.0.192:80", false},
		// RFC 1918, CGNAT, ULA.
		{"10.0.0.1:80", false},
		{"172.16.0.1:80", false},
		{"172.31.255.255:80", false},
		{"192.168.0.1:80", false},
		{"[::ffff:10.0.0.1]:80", false},
		{"[::ffff:a00:1]:80", false},
		{"100.64.0.1:80", false},
		{"100.127.255.255:80", false},
		{"[fc00::1]:80", false},
		{"[fd01::1]:80", false},
		// Next to the private ranges: public.
		{"172.32.0.1:80", true},
		{"100.128.0.1:80", true},
		{"11.0.0.1:80", true},
		// Multicast, broadcast, reserved, documentation, benchmarking.
		{"224.0.0.1:5353", false},
		{"239.255.255.250:1900", false},
		{"[ff02::1]:5353", false},
		{"255.255.255.255:80", false},
		{"240.0.0.1:80", false},
		{"192.0.2.1:80", false},
		{"203.0.113.5:80", false},
		{"198.18.0.1:80", false},
		{"[2001:db8::1]:80", false},
		{"[3fff::1]:80", false},
		{"[2001::1]:80", false}, // Teredo
		{"[100::1]:80", false},
		// NAT64 and 6to4 of a public address reach it.
		{"[64:ff9b::808:808]:53", true},
		{"[2002:808:808::1]:53", true},
		// The SFU's own RTC port is allowed, other ports on its IPs are not.
		{"192.168.1.10:8443", true},
		{"[::ffff:192.168.1.10]:8443", true},
		{"192.168.1.10:22", false},
		{"192.168.1.10:3478", false},
		{"198.51.100.7:8443", true},
		{"198.51.100.7:8444", false},
		{"198.51.100.8:49160", false}, // the relay address: no loops
		// Admin-allowed prefixes.
		{"10.20.3.4:5432", true},
		{"[::ffff:10.20.3.4]:5432", true},
		{"10.21.0.1:5432", false},
		{"[fd12:3456::9]:80", true},
		{"[fd12:3457::9]:80", false},
		// Port zero is never a target.
		{"8.8.8.8:0", false},
	}
	for _, c := range cases {
		ap := netip.MustParseAddrPort(c.peer)
		if got := f.allowAddr(ap); got != c.want {
			t.Errorf("allowAddr(%s) = %v, want %v", c.peer, got, c.want)
		}
	}

	// CreatePermission is per IP: the SFU's IP gets one (its RTC port is
	// reachable), datagrams to its other ports are still dropped above.
	ips := []struct {
		ip   string
		want bool
	}{
		{"192.168.1.10", true},
		{"::ffff:192.168.1.10", true},
		{"192.168.1.11", false},
		{"198.51.100.8", false},
		{"8.8.8.8", true},
		{"127.0.0.1", false},
		{"::ffff:127.0.0.1", false},
		{"10.20.0.1", true},
	}
	for _, c := range ips {
		if got := f.allowIP(netip.MustParseAddr(c.ip)); got != c.want {
			t.Errorf("allowIP(%s) = %v, want %v", c.ip, got, c.want)
		}
	}
}

// FuzzPeerFilter checks that whatever the filter lets through is either a
// public unicast address by the standard library's own predicates or one
// the configuration names.
func FuzzPeerFilter(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::ffff:127.0.0.1", "::1", "fe80::1", "169.254.169.254",
		"10.1.2.3", "8.8.8.8", "2002:a00:1::", "64:ff9b::a00:1", "fd00:ec2::254", "100.64.1.1", "::"} {
		a := netip.MustParseAddr(s).As16()
		f.Add(a[:], uint16(80))
	}
	allow := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("fd00:1::/32")}
	self := []netip.AddrPort{netip.MustParseAddrPort("192.168.0.5:8443"), netip.MustParseAddrPort("[fd00:2::5]:8443")}
	filter := newPeerFilter(allow, self)
	f.Fuzz(func(t *testing.T, b []byte, port uint16) {
		var a16 [16]byte
		copy(a16[:], b)
		for _, a := range []netip.Addr{netip.AddrFrom16(a16), netip.AddrFrom16(a16).Unmap()} {
			ap := netip.AddrPortFrom(a, port)
			if !filter.allowAddr(ap) {
				continue
			}
			if !filter.allowIP(a) {
				t.Fatalf("%s: allowAddr but not allowIP", ap)
			}
			u := a.Unmap()
			explicit := false
			for _, p := range allow {
				explicit = explicit || p.Contains(u)
			}
			for _, s := range self {
				explicit = explicit || s == netip.AddrPortFrom(u, port)
			}
			if explicit {
				continue
			}
			if !stdlibPublic(u) {
				t.Fatalf("%s allowed but not public", ap)
			}
			// NAT64 and 6to4 reach the IPv4 address they embed.
			b := u.As16()
			if netip.MustParsePrefix("64:ff9b::/96").Contains(u) && !stdlibPublic(netip.AddrFrom4([4]byte(b[12:]))) {
				t.Fatalf("%s allowed: NAT64 of a non-public address", ap)
			}
			if netip.MustParsePrefix("2002::/16").Contains(u) && !stdlibPublic(netip.AddrFrom4([4]byte(b[2:6]))) {
				t.Fatalf("%s allowed: 6to4 of a non-public address", ap)
			}
		}
	})
}

// stdlibPublic is an independent statement of "public" from net/netip's
// predicates plus the shared and metadata ranges it does not know.
func stdlibPublic(a netip.Addr) bool {
	if a.Is4In6() || !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsUnspecified() ||
		a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range []string{"100.64.0.0/10", "0.0.0.0/8", "::/96", "168.63.129.16/32"} {
		if netip.MustParsePrefix(p).Contains(a) {
			return false
		}
	}
	return true
}
