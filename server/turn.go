package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"calls/turn"
)

// TURNConfig configures the embedded STUN/TURN server (package turn).
type TURNConfig struct {
	Enabled        bool
	Port           int           // UDP and TCP; 0 picks free ports (tests)
	TLSPort        int           // TURN over TLS with the web certificate; 0 is off
	RelayMin       int           // relay port range
	RelayMax       int           //
	Secret         string        // "" = generated once into DATA/turn-secret
	TTL            time.Duration // credential lifetime [6h]
	AllowPeers     []netip.Prefix
	UserQuota      int
	TotalQuota     int   // all allocations; 0 = the size of the relay range
	BandwidthBytes int64 // per allocation per direction, bytes/s; 0 = unlimited
}

// turnSecret returns the configured secret or the one kept in the data
// dir, generating it on first use.
func turnSecret(dataDir, configured string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	path := filepath.Join(dataDir, "turn-secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return []byte(strings.TrimSpace(string(b))), nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := hex.EncodeToString(raw)
	if err := writeFileAtomic(path, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return []byte(secret), nil
}

// startTURN starts the TURN server next to the SFU; relayed clients may
// reach the SFU's own media port and nothing else internal.
func (s *Server) startTURN(rtc net.Addr) (*turn.Server, error) {
	tc := s.cfg.TURN
	secret, err := turnSecret(s.cfg.DataDir, tc.Secret)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(s.cfg.Listen)
	if s.cfg.Listener != nil {
		host, _, _ = net.SplitHostPort(s.cfg.Listener.Addr().String())
	}
	listen := net.JoinHostPort(host, fmt.Sprint(tc.Port))
	publicIPs := s.settingStrings("public_ips") // the setting as it stands at start
	cfg := turn.Config{
		Secret: secret, Realm: "calls",
		ListenUDP: listen, ListenTCP: listen,
		RelayPortMin: tc.RelayMin, RelayPortMax: tc.RelayMax,
		AllowPeers: tc.AllowPeers, SelfPeers: selfPeers(rtc, publicIPs),
		UserQuota: tc.UserQuota, TotalQuota: tc.TotalQuota, BandwidthPerAllocation: tc.BandwidthBytes,
		Logger: s.log.With("component", "turn"),
	}
	cfg.CredentialTTL = tc.TTL
	for _, p := range publicIPs { // relays are IPv4: the first IPv4 public address
		if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
			cfg.RelayIP = ip
			break
		}
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		cfg.RelayBindIP = ip
	}
	if tc.TLSPort > 0 && s.tls != nil {
		cfg.ListenTLS = net.JoinHostPort(host, fmt.Sprint(tc.TLSPort))
		cfg.TLSConfig = s.tls
	}
	srv, err := turn.Start(cfg)
	if err != nil {
		return nil, fmt.Errorf("--turn-port %d: %w", tc.Port, err)
	}
	a := srv.Addrs()
	s.log.Info("STUN/TURN", "udp", addrOrOff(a.UDP), "tcp", addrOrOff(a.TCP), "tls", addrOrOff(a.TLS),
		"relay_ports", fmt.Sprintf("%d-%d", tc.RelayMin, tc.RelayMax))
	return srv, nil
}

func addrOrOff(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
}

// selfPeers are the SFU's own media addresses: the bound one, or each
// interface address when bound to all, plus the advertised public IPs.
func selfPeers(rtc net.Addr, publicIPs []string) []netip.AddrPort {
	ua, ok := rtc.(*net.UDPAddr)
	if !ok {
		return nil
	}
	port := uint16(ua.Port)
	var out []netip.AddrPort
	add := func(ip net.IP) {
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, netip.AddrPortFrom(a.Unmap(), port))
		}
	}
	if ua.IP.IsUnspecified() {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok {
					add(ipn.IP)
				}
			}
		}
	} else {
		add(ua.IP)
	}
	for _, p := range publicIPs {
		add(net.ParseIP(p))
	}
	return out
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func (s *Server) turnStats() turn.Stats {
	if s.turn == nil {
		return turn.Stats{}
	}
	return s.turn.Stats()
}
