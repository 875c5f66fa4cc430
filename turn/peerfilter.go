package turn

import (
	"net/netip"
)

// peerFilter decides which peers a TURN allocation may relay to. A TURN
// server is an open proxy for whoever holds credentials, so without it any
// logged-in user could reach the server's loopback services, the LAN behind
// it or the cloud metadata endpoint (the classic TURN SSRF, coturn
// CVE-2020-26262). The rules, in order:
//
//  1. an address inside an admin-allowed prefix (--turn-allow-peer) is allowed;
//  2. on one of this server's own IPs only the listed ports (the SFU's RTC
//     port) are allowed, every other port is refused, so a relayed client
//     reaches the SFU but not the SSH daemon or the TURN port itself;
//  3. anything else must be a public unicast address.
//
// IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it
// reaches, and 6to4 and NAT64 addresses by the IPv4 address they embed.
type peerFilter struct {
	allow  []netip.Prefix
	self   []netip.AddrPort // exact targets allowed on a self IP
	selfIP []netip.Addr     // IPs of this server: only self ports allowed
}

// newPeerFilter builds a filter. selfIPs are further addresses of this
// server (its relay address) on which no port is allowed unless listed in
// self.
func newPeerFilter(allow []netip.Prefix, self []netip.AddrPort, selfIPs ...netip.Addr) *peerFilter {
	f := &peerFilter{}
	for _, p := range allow {
		a := p.Addr()
		if a.Is4In6() {
			bits := p.Bits() - 96
			if bits < 0 {
				bits = 0
			}
			p = netip.PrefixFrom(a.Unmap(), bits)
		}
		f.allow = append(f.allow, netip.PrefixFrom(p.Addr().WithZone(""), p.Bits()).Masked())
	}
	for _, ap := range self {
		a := canonical(ap.Addr())
		f.self = append(f.self, netip.AddrPortFrom(a, ap.Port()))
		f.addSelfIP(a)
	}
	for _, a := range selfIPs {
		f.addSelfIP(canonical(a))
	}
	return f
}

func (f *peerFilter) addSelfIP(a netip.Addr) {
	if !a.IsValid() || a.IsUnspecified() {
		return
	}
	for _, b := range f.selfIP {
		if a == b {
			return
		}
	}
	f.selfIP = append(f.selfIP, a)
}

// canonical strips the zone and unmaps IPv4-mapped IPv6, so that every
// spelling of an address compares equal.
func canonical(a netip.Addr) netip.Addr {
	return a.WithZone("").Unmap()
}

// allowAddr reports whether packets may be relayed to ap (ChannelBind and
// every relayed datagram).
func (f *peerFilter) allowAddr(ap netip.AddrPort) bool {
	if ap.Port() == 0 {
		return false
	}
	a := canonical(ap.Addr())
	if !a.IsValid() {
		return false
	}
	if f.allowed(a) {
		return true
	}
	if f.isSelfIP(a) {
		for _, s := range f.self {
			if s.Addr() == a && s.Port() == ap.Port() {
				return true
			}
		}
		return false
	}
	return isPublic(a)
}

// allowIP reports whether a permission for ip may be installed
// (CreatePermission, whose port TURN ignores): true when at least one port
// on ip is allowed. Datagrams are still checked per port by allowAddr.
func (f *peerFilter) allowIP(ip netip.Addr) bool {
	a := canonical(ip)
	if !a.IsValid() {
		return false
	}
	if f.allowed(a) {
		return true
	}
	if f.isSelfIP(a) {
		for _, s := range f.self {
			if s.Addr() == a {
				return true
			}
		}
		return false
	}
	return isPublic(a)
}

func (f *peerFilter) allowed(a netip.Addr) bool {
	for _, p := range f.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (f *peerFilter) isSelfIP(a netip.Addr) bool {
	for _, b := range f.selfIP {
		if a == b {
			return true
		}
	}
	return false
}

// Special-purpose ranges (IANA IPv4 and IPv6 special-purpose address
// registries) that are never relay targets: not globally routable, this
// host or network, private, shared (CGNAT), documentation, benchmarking,
// multicast, reserved, and cloud-provider metadata services.
var (
	nonPublic4 = prefixes(
		"0.0.0.0/8",        // "this network"
		"10.0.0.0/8",       // RFC 1918
		"100.64.0.0/10",    // CGNAT (RFC 6598); Alibaba metadata 100.100.100.200
		"127.0.0.0/8",      // loopback
		"169.254.0.0/16",   // link-local; AWS/GCP/Azure/OCI metadata 169.254.169.254
		"172.16.0.0/12",    // RFC 1918
		"192.0.0.0/24",     // IETF protocol assignments; OCI 192.0.0.192
		"192.0.2.0/24",     // TEST-NET-1
		"192.88.99.0/24",   // 6to4 relay anycast (deprecated)
		"192.168.0.0/16",   // RFC 1918
		"198.18.0.0/15",    // benchmarking
		"198.51.100.0/24",  // TEST-NET-2
		"203.0.113.0/24",   // TEST-NET-3
		"224.0.0.0/4",      // multicast
		"240.0.0.0/4",      // reserved, 255.255.255.255 broadcast
		"168.63.129.16/32", // Azure host services (wireserver)
	)
	global6    = netip.MustParsePrefix("2000::/3")
	nonPublic6 = prefixes(
		"2001::/23",     // IETF protocol assignments: Teredo, benchmarking, ORCHID
		"2001:db8::/32", // documentation
		"3fff::/20",     // documentation (RFC 9637)
	)
	sixToFour = netip.MustParsePrefix("2002::/16")
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// isPublic reports whether a (canonical: unmapped, no zone) is a globally
// routable unicast address outside every special-purpose range.
func isPublic(a netip.Addr) bool {
	if a.Is4() {
		for _, p := range nonPublic4 {
			if p.Contains(a) {
				return false
			}
		}
		return true
	}
	if !a.Is6() {
		return false
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		// The well-known NAT64 prefix reaches the IPv4 address it embeds.
		return isPublic(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(a):
		return isPublic(netip.AddrFrom4([4]byte(b[2:6])))
	case !global6.Contains(a):
		// Everything outside 2000::/3: ::1, ::, IPv4-compatible, ULA
		// fc00::/7 (AWS metadata fd00:ec2::254), link-local fe80::/10,
		// site-local, multicast ff00::/8, discard 100::/64, local NAT64.
		return false
	}
	for _, p := range nonPublic6 {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
