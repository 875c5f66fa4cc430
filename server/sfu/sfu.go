// Package sfu is the selective forwarding unit of calls: one pion
// PeerConnection per participant, every published track forwarded to every
// other participant of the same room, all ICE traffic on one UDP port (and
// ICE-TCP through the web port). It knows nothing of HTTP, SQL or users:
// the server drives it with ids and signaling messages.
package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v3"

	"calls/server/pionlog"
)

// Config is what New needs.
type Config struct {
	// UDP is the one socket all calls' ICE/DTLS/SRTP traffic uses.
	UDP net.PacketConn
	// TCP, when set, receives ICE-TCP connections (RFC 4571 framing) that
	// the web listener recognised; nil disables ICE-TCP.
	TCP net.Listener
	// PublicIPs are advertised instead of the host's own addresses (a
	// server behind 1:1 NAT). Empty: the host's interface addresses.
	PublicIPs []string
	// Loopback offers 127.0.0.1 candidates too (tests, single-host setups).
	Loopback bool
	Logger   *slog.Logger
}

// SFU holds the media engine shared by every room.
type SFU struct {
	api    atomic.Pointer[webrtc.API] // replaced when the public IPs change
	media  *webrtc.MediaEngine
	ir     *interceptor.Registry
	se     webrtc.SettingEngine // without NAT 1:1 addresses
	log    *slog.Logger
	out    *batchConn // nil when the socket is not a *net.UDPConn
	udpMux interface{ Close() error }
	tcpMux interface{ Close() error }

	mu    sync.Mutex
	rooms map[string]*Room

	// Totals of tracks that have ended; live tracks count on their own.
	donePackets, doneSent atomic.Uint64
}

// Totals are packets received from publishers and packets sent to
// subscribers since start.
func (s *SFU) Totals() (received, forwarded uint64) {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	received, forwarded = s.donePackets.Load(), s.doneSent.Load()
	for _, r := range rooms {
		r.mu.Lock()
		for _, t := range r.tracks {
			received += t.packets.Load()
			forwarded += t.sent.Load()
		}
		r.mu.Unlock()
	}
	return received, forwarded
}

// audioLevelURI is the RTP header extension carrying each packet's voice
// level (RFC 6464); it drives speaking indicators without decoding audio.
const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// New builds the media engine: Opus, VP8 and H.264, NACK/RTCP/TWCC
// interceptors, and the single-port ICE muxes.
func New(cfg Config) (*SFU, error) {
	if cfg.UDP == nil {
		return nil, errors.New("sfu: no UDP socket")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m, ir, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	lf := pionlog.Factory{Log: cfg.Logger, ErrorsAsWarnings: true}
	se := webrtc.SettingEngine{LoggerFactory: lf}
	s := &SFU{log: cfg.Logger, rooms: map[string]*Room{}}
	udp := cfg.UDP
	if uc, ok := cfg.UDP.(*net.UDPConn); ok {
		s.out = newBatchConn(uc)
		udp = s.out
	}
	udpMux := webrtc.NewICEUDPMux(lf.NewLogger("ice-udp"), udp)
	se.SetICEUDPMux(udpMux)
	s.udpMux = udpMux
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if cfg.TCP != nil {
		tcpMux := webrtc.NewICETCPMux(lf.NewLogger("ice-tcp"), cfg.TCP, 8)
		se.SetICETCPMux(tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
		s.tcpMux = tcpMux
	}
	se.SetNetworkTypes(networks)
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	// No mDNS: candidates name real addresses, and nothing is multicast.
	// (The zero value would mean "query only": a multicast socket and a
	// goroutine per PeerConnection.)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetLite(false)
	s.media, s.ir, s.se = m, ir, se
	s.SetPublicIPs(cfg.PublicIPs)
	return s, nil
}

// SetPublicIPs changes the addresses advertised instead of the host's
// (empty: the host's own). Peers created from now on use them; running
// ones keep the candidates they have.
func (s *SFU) SetPublicIPs(ips []string) {
	se := s.se
	if len(ips) > 0 {
		se.SetNAT1To1IPs(ips, webrtc.ICECandidateTypeHost)
	}
	s.api.Store(webrtc.NewAPI(webrtc.WithMediaEngine(s.media), webrtc.WithInterceptorRegistry(s.ir), webrtc.WithSettingEngine(se)))
}

// newMediaEngine returns the codecs and the interceptors (NACK, RTCP
// reports, TWCC) every peer connection is built with.
func newMediaEngine() (*webrtc.MediaEngine, *interceptor.Registry, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m); err != nil {
		return nil, nil, err
	}
	ir := &interceptor.Registry{}
	if err := registerInterceptors(m, ir); err != nil {
		return nil, nil, fmt.Errorf("sfu: interceptors: %w", err)
	}
	return m, ir, nil
}

// nackHistory is how many packets each subscriber's NACK responder keeps
// to retransmit from. pion's default, 1024, holds a copy of up to 1.5 MB
// per video subscription: a screen share to 200 people held 300 MB. 256
// packets are 1.4 s of a 1.6 Mbit/s screen share and 4 s of a camera,
// several round trips more than a retransmission can still be useful for.
const nackHistory = 256

// registerInterceptors is webrtc.RegisterDefaultInterceptors (NACK, RTCP
// reports, transport-wide congestion control feedback) with a shorter
// NACK history.
func registerInterceptors(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	generator, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return err
	}
	responder, err := nack.NewResponderInterceptor(nack.ResponderSize(nackHistory))
	if err != nil {
		return err
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(responder)
	ir.Add(generator)
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return err
	}
	return webrtc.ConfigureTWCCSender(m, ir)
}

func registerCodecs(m *webrtc.MediaEngine) error {
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "transport-cc"}, {Type: "ccm", Parameter: "fir"},
		{Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	codecs := []struct {
		params webrtc.RTPCodecParameters
		kind   webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus,
			ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8,
			ClockRate: 90000, RTCPFeedback: fb}, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264,
			ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			RTCPFeedback: fb}, PayloadType: 102}, webrtc.RTPCodecTypeVideo},
	}
	for _, c := range codecs {
		if err := m.RegisterCodec(c.params, c.kind); err != nil {
			return fmt.Errorf("sfu: codec %s: %w", c.params.MimeType, err)
		}
	}
	return m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio)
}

// Room returns the media room with this id, creating it on first use.
func (s *SFU) Room(id string) *Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[id]
	if r == nil {
		r = &Room{id: id, sfu: s, peers: map[string]*Peer{}}
		s.rooms[id] = r
	}
	return r
}

func (s *SFU) dropRoom(r *Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.id] == r {
		delete(s.rooms, r.id)
	}
}

// Close ends every room and releases the ports.
func (s *SFU) Close() error {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		r.Close()
	}
	err := s.udpMux.Close()
	if s.tcpMux != nil {
		err = errors.Join(err, s.tcpMux.Close())
	}
	return err
}

func sameCodec(a, b webrtc.RTPCodecCapability) bool {
	if !strings.EqualFold(a.MimeType, b.MimeType) || a.ClockRate != b.ClockRate {
		return false
	}
	if strings.EqualFold(a.MimeType, webrtc.MimeTypeH264) {
		return fmtpValue(a.SDPFmtpLine, "packetization-mode") == fmtpValue(b.SDPFmtpLine, "packetization-mode") &&
			strings.EqualFold(fmtpValue(a.SDPFmtpLine, "profile-level-id"), fmtpValue(b.SDPFmtpLine, "profile-level-id"))
	}
	return true
}

func fmtpValue(line, key string) string {
	for _, kv := range strings.Split(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}
