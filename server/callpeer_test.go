package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v3"

	"calls/server/hub"
	"calls/server/record/recordtest"
	"calls/server/sfu"
)

// callPeer is a real call client for tests: a websocket for signaling and a
// pion PeerConnection that publishes generated Opus (and optionally VP8)
// RTP and counts what it receives, per sending participant.
type callPeer struct {
	t     testing.TB
	name  string
	ws    *websocket.Conn
	pc    *webrtc.PeerConnection
	pcMu  sync.Mutex
	pid   string
	ctx   context.Context
	stop  context.CancelFunc
	audio *webrtc.TrackLocalStaticRTP
	video *webrtc.TrackLocalStaticRTP

	events  chan hub.Frame
	joined  chan hub.Frame
	tcpOnly bool
	// relayOnly joins with iceTransportPolicy "relay" through the ICE
	// servers call_joined hands out (our TURN).
	relayOnly bool
	// udp, when set, is the one socket the peer's ICE uses (a UDP mux over
	// it), so a test can cut the peer's network or move it to a new port.
	udp *netSwitch

	mu       sync.Mutex
	received map[string]*inbound // by stream id ("<participant>_<source>")
	// serverCands are the server's ICE candidates as they came, trickled
	// or in its offers and answers ("candidate:… typ host").
	serverCands []string
	// connectedAt is when the peer's media connection (ICE and DTLS) first
	// came up.
	connectedAt time.Time
	// iceStarted is closed once the current PeerConnection's ICE checks
	// run (guarded by pcMu, like pc).
	iceStarted chan struct{}

	keyframeNow atomic.Bool
	audioSender *webrtc.RTPSender

	// tone, when set before publish, is what the microphone sends: real
	// Opus, instead of payloads that name the sender.
	tone *recordtest.Tone
	// screenMime, when set before join, adds a screen share in that codec:
	// for VP8 a real stream (the recorder's testdata/screen.ivf, 320x240),
	// for H.264 packets that look like IDR slices.
	screenMime string
	screen     *webrtc.TrackLocalStaticRTP
	screenKey  atomic.Bool
	// tabAudio, with screenMime, shares the tab's sound too (source
	// screen_audio): Opus payloads naming "<name>-tab".
	tabAudio    bool
	screenAudio *webrtc.TrackLocalStaticRTP
	// level, when set, is sent as the RFC 6464 audio level (0 loud … 127 silent).
	level atomic.Int32
	// dropEvery, when set, leaves out every Nth audio packet (its sequence
	// number is used all the same), as a lossy link on the way would.
	dropEvery int
}

// inbound is what arrived on one received track.
type inbound struct {
	kind          string
	packets       int
	firstAt       time.Time
	firstKeyframe bool
	first         []byte
	payloads      map[string]bool // audio payloads seen (their text)
	mime          string          // the codec it was negotiated with
	seqs          map[uint16]bool // video sequence numbers seen
}

func newCallPeer(t testing.TB, ts *testServer, name, token string) *callPeer {
	t.Helper()
	ws, err := ts.dialWS(token, "")
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	p := &callPeer{t: t, name: name, ws: ws, ctx: ctx, stop: cancel, events: make(chan hub.Frame, 1024),
		joined: make(chan hub.Frame, 1), received: map[string]*inbound{}}
	t.Cleanup(p.close)
	go p.readLoop()
	return p
}

func (p *callPeer) close() {
	p.stop()
	p.pcMu.Lock()
	if p.pc != nil {
		p.pc.Close()
	}
	p.pcMu.Unlock()
	p.ws.CloseNow()
}

func (p *callPeer) send(typ string, data any) {
	b, _ := json.Marshal(map[string]any{"type": typ, "data": data})
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	_ = p.ws.Write(ctx, websocket.MessageText, b)
}

func (p *callPeer) readLoop() {
	for {
		_, b, err := p.ws.Read(p.ctx)
		if err != nil {
			close(p.events)
			return
		}
		var f hub.Frame
		if json.Unmarshal(b, &f) != nil {
			continue
		}
		switch f.Type {
		case "call_signal":
			p.onSignal(f.Data)
		case "call_joined":
			p.joined <- f
		case "error":
			select {
			case p.joined <- f: // an answer to call_join
			default:
			}
			p.events <- f
		default:
			select {
			case p.events <- f:
			default:
			}
		}
	}
}

func (p *callPeer) onSignal(data []byte) {
	var sig sfu.Signal
	if err := json.Unmarshal(data, &sig); err != nil {
		p.t.Errorf("%s: bad signal %s", p.name, data)
		return
	}
	p.noteCandidates(sig)
	if sig.Type == "offer" {
		p.waitForICE()
	}
	p.pcMu.Lock()
	defer p.pcMu.Unlock()
	if p.ctx.Err() != nil {
		return // closing: its PeerConnection is closed or about to be
	}
	switch sig.Type {
	case "offer":
		if p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer { // polite: roll back
			_ = p.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		}
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sig.SDP}); err != nil {
			p.t.Errorf("%s: set offer: %v", p.name, err)
			return
		}
		ans, err := p.pc.CreateAnswer(nil)
		if err == nil {
			err = p.pc.SetLocalDescription(ans)
		}
		if err != nil {
			p.t.Errorf("%s: answer: %v", p.name, err)
			return
		}
		go p.send("call_signal", sfu.Signal{Type: "answer", SDP: ans.SDP})
	case "answer":
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.SDP}); err != nil {
			p.t.Errorf("%s: set answer: %v", p.name, err)
		}
	case "candidate":
		if sig.Candidate != nil {
			_ = p.pc.AddICECandidate(*sig.Candidate)
		}
	}
}

// waitForICE holds a server offer back until ICE checks have started.
// pion starts ICE in a goroutine after the first answer; an offer applied
// before that restarts gathering, which fails while gathering still runs
// ("attempting to gather candidates during gathering state"; a relay-only
// peer gathers for as long as its TURN allocation takes). Browsers have no
// such race, and the load test's peers wait the same way. An offer that
// collides with our own is rolled back at once (we are the polite side).
func (p *callPeer) waitForICE() {
	p.pcMu.Lock()
	started := p.iceStarted
	colliding := p.pc != nil && p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer
	p.pcMu.Unlock()
	if started == nil || colliding {
		return
	}
	select {
	case <-started:
	case <-p.ctx.Done():
	case <-time.After(10 * time.Second):
	}
}

// noteCandidates keeps the server's candidates from a signal.
func (p *callPeer) noteCandidates(sig sfu.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sig.Candidate != nil && sig.Candidate.Candidate != "" {
		p.serverCands = append(p.serverCands, sig.Candidate.Candidate)
	}
	for _, line := range strings.Split(sig.SDP, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(line), "a="); ok && strings.HasPrefix(c, "candidate:") {
			p.serverCands = append(p.serverCands, c)
		}
	}
}

// serverCandidates returns the server's ICE candidates seen so far.
func (p *callPeer) serverCandidates() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.serverCands...)
}

func (p *callPeer) api() *webrtc.API {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		p.t.Fatal(err)
	}
	// Browsers offer the audio level extension; so does this client.
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"}, webrtc.RTPCodecTypeAudio); err != nil {
		p.t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		p.t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(0)
	if p.udp != nil {
		se.SetICEUDPMux(webrtc.NewICEUDPMux(nil, p.udp))
	}
	if p.tcpOnly {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	} else {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// join joins the room's call, publishing audio (and video if asked), and
// returns the call_joined frame, or the error frame.
func (p *callPeer) join(channelID string, withAudio, withVideo bool) hub.Frame {
	p.t.Helper()
	conf := webrtc.Configuration{}
	var early *hub.Frame
	if p.relayOnly { // the TURN credentials come with call_joined
		p.send("call_join", map[string]string{"channel_id": channelID})
		f := <-p.joined
		early = &f
		var j struct {
			ICEServers []webrtc.ICEServer `json:"ice_servers"`
		}
		json.Unmarshal(f.Data, &j)
		conf.ICEServers, conf.ICETransportPolicy = j.ICEServers, webrtc.ICETransportPolicyRelay
	}
	pc, err := p.api().NewPeerConnection(conf)
	if err != nil {
		p.t.Fatal(err)
	}
	started := make(chan struct{})
	var startOnce sync.Once
	p.pcMu.Lock()
	p.pc, p.iceStarted = pc, started
	p.pcMu.Unlock()
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			init := c.ToJSON()
			go p.send("call_signal", sfu.Signal{Type: "candidate", Candidate: &init})
		}
	})
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st != webrtc.ICEConnectionStateNew {
			startOnce.Do(func() { close(started) })
		}
	})
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st != webrtc.PeerConnectionStateConnected {
			return
		}
		p.mu.Lock()
		if p.connectedAt.IsZero() {
			p.connectedAt = time.Now()
		}
		p.mu.Unlock()
	})
	if withAudio {
		p.audio, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic-"+p.name, "s-"+p.name)
		sender, err := pc.AddTrack(p.audio)
		if err != nil {
			p.t.Fatal(err)
		}
		p.audioSender = sender
	}
	if withVideo {
		p.video, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam-"+p.name, "s-"+p.name)
		sender, err := pc.AddTrack(p.video)
		if err != nil {
			p.t.Fatal(err)
		}
		go p.readPLI(sender, &p.keyframeNow)
	}
	if p.screenMime != "" {
		p.screen, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: p.screenMime, ClockRate: 90000}, "screen-"+p.name, "s-"+p.name)
		sender, err := pc.AddTrack(p.screen)
		if err != nil {
			p.t.Fatal(err)
		}
		go p.readPLI(sender, &p.screenKey)
		if p.tabAudio {
			p.screenAudio, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "screenaudio-"+p.name, "s-"+p.name)
			if _, err := pc.AddTrack(p.screenAudio); err != nil {
				p.t.Fatal(err)
			}
		}
	}
	// A listener still offers media sections to receive into, as browsers do.
	if !withAudio {
		pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	}
	if !withVideo {
		pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	}
	var f hub.Frame
	if early != nil {
		f = *early
	} else {
		p.send("call_join", map[string]string{"channel_id": channelID})
		select {
		case f = <-p.joined:
		case <-time.After(10 * time.Second):
			p.t.Fatalf("%s: no answer to call_join", p.name)
		}
	}
	if f.Type != "call_joined" {
		return f
	}
	var j struct {
		ParticipantID string `json:"participant_id"`
	}
	json.Unmarshal(f.Data, &j)
	p.pid = j.ParticipantID
	if withVideo {
		p.send("call_track", map[string]string{"track_id": "cam-" + p.name, "source": "camera"})
	}
	if p.screen != nil {
		p.send("call_track", map[string]string{"track_id": "screen-" + p.name, "source": "screen"})
		if p.screenAudio != nil {
			p.send("call_track", map[string]string{"track_id": "screenaudio-" + p.name, "source": "screen_audio"})
		}
		p.send("call_screen", map[string]bool{"on": true})
	}
	p.pcMu.Lock()
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	p.pcMu.Unlock()
	if err != nil {
		p.t.Fatal(err)
	}
	p.send("call_signal", sfu.Signal{Type: "offer", SDP: offer.SDP})
	return f
}

// restartICE offers an ICE restart, as a browser does when its network
// changes. The offer goes out before the new candidates do, and the answer
// waits until the offer is the local description.
func (p *callPeer) restartICE() {
	p.t.Helper()
	p.pcMu.Lock()
	defer p.pcMu.Unlock()
	offer, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		p.t.Fatalf("%s: ICE restart offer: %v", p.name, err)
	}
	p.send("call_signal", sfu.Signal{Type: "offer", SDP: offer.SDP})
	if err := p.pc.SetLocalDescription(offer); err != nil {
		p.t.Fatalf("%s: ICE restart: %v", p.name, err)
	}
}

// readPLI turns keyframe requests into a keyframe on the next frame.
func (p *callPeer) readPLI(s *webrtc.RTPSender, keyframeNow *atomic.Bool) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			if _, ok := pkt.(*rtcp.PictureLossIndication); ok {
				keyframeNow.Store(true)
			}
		}
	}
}

// publish sends Opus every 20 ms and VP8 every 33 ms until ctx ends. The
// audio payload names its sender and sequence, so receivers can check the
// bytes arrive as sent (or is p.tone). Only the first video frame is a
// keyframe; later ones are keyframes only when asked for (PLI). A screen
// share sends a frame every 60 ms, and its tab audio every 20 ms.
func (p *callPeer) publish(ctx context.Context) {
	screen := p.screenSource()
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var seq uint16
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			seq++
			if p.audio != nil {
				payload := append([]byte{0xfc}, []byte(p.name+":"+itoa(int(seq)))...) // TOC: CELT FB 20 ms
				if p.tone != nil {
					frame, err := p.tone.Next(false)
					if err != nil {
						p.t.Errorf("%s: opus: %v", p.name, err)
						return
					}
					payload = frame
				}
				h := rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: uint32(seq) * 960, Marker: seq == 1}
				if lv := p.level.Load(); lv > 0 {
					for _, e := range p.audioSender.GetParameters().HeaderExtensions {
						if e.URI == "urn:ietf:params:rtp-hdrext:ssrc-audio-level" {
							_ = h.SetExtension(uint8(e.ID), []byte{0x80 | byte(lv)})
						}
					}
				}
				if p.dropEvery == 0 || int(seq)%p.dropEvery != 0 {
					_ = p.audio.WriteRTP(&rtp.Packet{Header: h, Payload: payload})
				}
			}
			if p.video != nil && seq%2 == 0 {
				key := seq == 2 || p.keyframeNow.Swap(false)
				vp8 := byte(0x01) // P=1: interframe
				if key {
					vp8 = 0x00
				}
				payload := []byte{0x10, vp8, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}
				_ = p.video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq / 2,
					Timestamp: uint32(seq/2) * 3000, Marker: true}, Payload: payload})
			}
			if screen != nil && seq%3 == 0 {
				for _, pkt := range screen() {
					_ = p.screen.WriteRTP(pkt)
				}
			}
			if p.screenAudio != nil {
				payload := append([]byte{0xfc}, []byte(p.name+"-tab:"+itoa(int(seq)))...)
				_ = p.screenAudio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq,
					Timestamp: uint32(seq) * 960}, Payload: payload})
			}
		}
	}()
}

// screenSource returns what makes the screen share's next frame's packets,
// or nil when the peer shares no screen.
func (p *callPeer) screenSource() func() []*rtp.Packet {
	if p.screen == nil {
		return nil
	}
	const frameTicks = 90000 * 60 / 1000 // a frame every 60 ms
	if p.screenMime != webrtc.MimeTypeVP8 {
		var n uint32
		return func() []*rtp.Packet {
			n++
			payload := append([]byte{0x65}, bytes.Repeat([]byte{0x42}, 500)...) // an IDR slice
			return []*rtp.Packet{{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: uint16(n),
				Timestamp: n * frameTicks, Marker: true}, Payload: payload}}
		}
	}
	frames := recordtest.IVFFrames(p.t, "record/testdata/screen.ivf")
	pack := rtp.NewPacketizer(1200, 96, 1, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)
	i := 0
	return func() []*rtp.Packet {
		if p.screenKey.Swap(false) { // go back to the last keyframe, as an encoder sends a new one
			for i > 0 && !recordtest.VP8Keyframe(frames[i]) {
				i--
			}
		}
		pkts := pack.Packetize(frames[i], frameTicks)
		i = (i + 1) % len(frames)
		return pkts
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func (p *callPeer) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	key := tr.StreamID()
	p.mu.Lock()
	in := &inbound{kind: tr.Kind().String(), payloads: map[string]bool{}, mime: tr.Codec().MimeType, seqs: map[uint16]bool{}}
	p.received[key] = in
	p.mu.Unlock()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		p.mu.Lock()
		if in.packets == 0 {
			in.firstAt = time.Now()
			in.firstKeyframe = tr.Kind() == webrtc.RTPCodecTypeVideo && len(pkt.Payload) > 1 && pkt.Payload[1]&0x01 == 0
			in.first = append([]byte(nil), pkt.Payload...)
		}
		in.packets++
		if tr.Kind() == webrtc.RTPCodecTypeAudio && len(in.payloads) < 10000 {
			in.payloads[string(pkt.Payload[1:])] = true
		}
		if tr.Kind() == webrtc.RTPCodecTypeVideo && len(in.seqs) < 10000 {
			in.seqs[pkt.SequenceNumber] = true
		}
		p.mu.Unlock()
	}
}

// packetsFrom counts packets received from a participant's source.
func (p *callPeer) packetsFrom(pid, source string) (int, *inbound) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in := p.received[pid+"_"+source]
	if in == nil {
		return 0, nil
	}
	return in.packets, in
}

// heard is a condition for waitFor: p has received at least n packets on
// pid's track of source.
func (p *callPeer) heard(pid, source string, n int) func() bool {
	return func() bool { c, _ := p.packetsFrom(pid, source); return c >= n }
}

// checkPayloads fails the test for any audio payload received on pid's
// track of source that does not start with prefix (test peers' payloads
// name their sender), and if there is no such track.
func (p *callPeer) checkPayloads(t *testing.T, pid, source, prefix string) {
	t.Helper()
	_, in := p.packetsFrom(pid, source)
	if in == nil {
		t.Errorf("%s has no %s track from %s", p.name, source, pid)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for payload := range in.payloads {
		if !strings.HasPrefix(payload, prefix) {
			t.Errorf("%s got %q on the %s track of %s", p.name, payload, source, pid)
		}
	}
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// event waits for a frame of one of the types.
func (p *callPeer) event(types ...string) hub.Frame {
	p.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-p.events:
			if !ok {
				p.t.Fatalf("%s: websocket closed while waiting for %v", p.name, types)
			}
			for _, typ := range types {
				if f.Type == typ {
					return f
				}
			}
		case <-timeout:
			p.t.Fatalf("%s: no %v within 10 s", p.name, types)
		}
	}
}

// selectedLocalPort is the port of the server side of the peer's
// selected ICE pair, as the client sees it (the remote candidate).
func (p *callPeer) selectedRemote() (string, int, error) {
	p.pcMu.Lock()
	defer p.pcMu.Unlock()
	sctp := p.pc.SCTP()
	_ = sctp
	for _, tr := range p.pc.GetTransceivers() {
		if s := tr.Sender(); s != nil && s.Transport() != nil {
			pair, err := s.Transport().ICETransport().GetSelectedCandidatePair()
			if err != nil || pair == nil {
				continue
			}
			return strings.ToLower(pair.Remote.Protocol.String()), int(pair.Remote.Port), nil
		}
		if r := tr.Receiver(); r != nil && r.Transport() != nil {
			pair, err := r.Transport().ICETransport().GetSelectedCandidatePair()
			if err != nil || pair == nil {
				continue
			}
			return strings.ToLower(pair.Remote.Protocol.String()), int(pair.Remote.Port), nil
		}
	}
	return "", 0, errors.New("no selected pair")
}
