package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// frame is one websocket message of the realtime protocol (PROTOCOL.md).
type frame struct {
	Type string          `json:"type"`
	Seq  uint64          `json:"seq,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// signal is the data of call_signal.
type signal struct {
	Type      string                   `json:"type"`
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
}

const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// newMediaAPI builds what every load participant shares: Opus and VP8
// with the audio-level extension, UDP ICE, and no interceptors: the load
// peers send no NACKs (so loss is measured raw, never repaired) and no
// reports, which keeps the load generator's cost per packet low.
func newMediaAPI(loopbackOnly bool) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	se := webrtc.SettingEngine{LoggerFactory: lf}
	// The zero value would mean "query only": a multicast socket per
	// PeerConnection, hundreds of them for nothing.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if loopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)), nil
}

// role is what a participant publishes.
type role struct{ mic, camera, screen bool }

// participant is one load peer: a websocket for signaling and a pion
// PeerConnection that publishes generated media and measures what it
// receives.
type participant struct {
	r    *runner
	acct *account
	call int // index into the fixture's calls
	role role

	ctx    context.Context // ends when the participant closes
	cancel context.CancelFunc
	ws     *websocket.Conn
	joined chan frame // call_joined or the error answering call_join

	pcMu sync.Mutex // serialises negotiation
	pc   *webrtc.PeerConnection

	connected  chan struct{} // closed once the PeerConnection connects
	failed     chan struct{} // closed if it fails
	connOnce   sync.Once
	iceStarted chan struct{} // closed once ICE checks run
	iceOnce    sync.Once

	mic, camera, screen *webrtc.TrackLocalStaticRTP
	micSender           *webrtc.RTPSender
	wantKey             [2]atomic.Bool // camera, screen: a PLI arrived

	sent, windowSent atomic.Uint64

	tracksMu sync.Mutex
	tracks   []*trackStats
	latency  histogram
}

// trackStats is what arrived on one received track.
type trackStats struct {
	received atomic.Uint64 // the whole run
	// while measuring: packets received, packets expected from the
	// sequence numbers (so lost = expected - received), and the RFC 3550
	// interarrival jitter computed from the send stamps.
	windowReceived, windowExpected atomic.Uint64
	jitterNs                       atomic.Int64
}

func (p *participant) name() string { return p.acct.name }

// join connects the websocket, joins the call, negotiates, and waits for
// the media connection.
func (p *participant) join(ctx context.Context) error {
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.joined = make(chan frame, 1)
	p.connected, p.failed, p.iceStarted = make(chan struct{}), make(chan struct{}), make(chan struct{})
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ws, err := p.r.dialWS(dctx, p.acct.token)
	if err != nil {
		return err
	}
	p.ws = ws
	go p.readLoop()

	pc, err := p.r.media.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("peer connection: %w", err)
	}
	p.pcMu.Lock()
	p.pc = pc
	p.pcMu.Unlock()
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			init := c.ToJSON()
			go p.send("call_signal", signal{Type: "candidate", Candidate: &init})
		}
	})
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s != webrtc.ICEConnectionStateNew {
			p.iceOnce.Do(func() { close(p.iceStarted) })
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			p.connOnce.Do(func() { close(p.connected) })
		case webrtc.PeerConnectionStateFailed:
			p.connOnce.Do(func() { close(p.failed) })
		}
	})
	pc.OnTrack(p.receive)
	var tracks []struct{ id, source string }
	addTrack := func(mime, id, source string, clock uint32, key int) (*webrtc.TrackLocalStaticRTP, *webrtc.RTPSender, error) {
		t, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: mime, ClockRate: clock}, id, "lt-"+p.name())
		if err != nil {
			return nil, nil, err
		}
		s, err := pc.AddTrack(t)
		if err != nil {
			return nil, nil, err
		}
		tracks = append(tracks, struct{ id, source string }{id, source})
		if key >= 0 {
			go p.readPLI(s, key)
		}
		return t, s, nil
	}
	if p.role.mic {
		if p.mic, p.micSender, err = addTrack(webrtc.MimeTypeOpus, "mic-"+p.name(), "mic", 48000, -1); err != nil {
			return fmt.Errorf("microphone track: %w", err)
		}
	}
	if p.role.camera {
		if p.camera, _, err = addTrack(webrtc.MimeTypeVP8, "cam-"+p.name(), "camera", 90000, 0); err != nil {
			return fmt.Errorf("camera track: %w", err)
		}
	}
	if p.role.screen {
		if p.screen, _, err = addTrack(webrtc.MimeTypeVP8, "screen-"+p.name(), "screen", 90000, 1); err != nil {
			return fmt.Errorf("screen track: %w", err)
		}
	}
	// Someone who publishes nothing of a kind still offers to receive it,
	// as browsers do.
	if !p.role.mic {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	if !p.role.camera && !p.role.screen {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}

	asked := time.Now()
	if err := p.send("call_join", map[string]string{"channel_id": p.r.fx.calls[p.call]}); err != nil {
		return err
	}
	select {
	case f := <-p.joined:
		if f.Type != "call_joined" {
			return fmt.Errorf("call_join refused: %s", f.Data)
		}
		p.r.joinAnswer.add(time.Since(asked))
	case <-p.ctx.Done():
		return errors.New("websocket closed before call_joined")
	case <-dctx.Done():
		return errors.New("no answer to call_join within 15 s")
	}
	for _, t := range tracks {
		if err := p.send("call_track", map[string]string{"track_id": t.id, "source": t.source}); err != nil {
			return err
		}
	}
	if err := p.offer(); err != nil {
		return err
	}
	wait := time.NewTimer(30 * time.Second)
	defer wait.Stop()
	select {
	case <-p.connected:
		p.r.joinConnect.add(time.Since(asked))
		return nil
	case <-p.failed:
		return errors.New("media connection failed (ICE or DTLS)")
	case <-p.ctx.Done():
		return errors.New("websocket closed while connecting")
	case <-wait.C:
		return errors.New("media not connected within 30 s")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *participant) offer() error {
	p.pcMu.Lock()
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	p.pcMu.Unlock()
	if err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	return p.send("call_signal", signal{Type: "offer", SDP: offer.SDP})
}

// send writes one frame; coder/websocket allows concurrent writers.
func (p *participant) send(typ string, data any) error {
	return sendFrame(p.ctx, p.ws, typ, data)
}

func sendFrame(ctx context.Context, ws *websocket.Conn, typ string, data any) error {
	b, err := json.Marshal(map[string]any{"type": typ, "data": data})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("send %s: %w", typ, err)
	}
	return nil
}

// readLoop reads every frame (a client that stops reading is dropped by
// the server), answers the server's offers, and ends the participant when
// the websocket closes.
func (p *participant) readLoop() {
	defer p.cancel()
	for {
		_, b, err := p.ws.Read(p.ctx)
		if err != nil {
			return
		}
		// Most frames are room events (joins, call post updates) that grow
		// with the call: decode only the few a participant acts on.
		switch frameType(b) {
		case "call_joined", "error", "call_signal":
		default:
			continue
		}
		var f frame
		if json.Unmarshal(b, &f) != nil {
			continue
		}
		switch f.Type {
		case "call_joined", "error":
			select {
			case p.joined <- f:
			default:
			}
		case "call_signal":
			p.onSignal(f.Data)
		}
	}
}

// frameType reads the type of a frame the server encoded, which always
// starts {"type":"…"; anything else gives "".
func frameType(b []byte) string {
	const prefix = `{"type":"`
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return ""
	}
	b = b[len(prefix):]
	if i := bytes.IndexByte(b, '"'); i > 0 && i < 64 {
		return string(b[:i])
	}
	return ""
}

// onSignal is the polite side of perfect negotiation: a server offer
// during our own rolls ours back; we offer again after answering.
func (p *participant) onSignal(data []byte) {
	var s signal
	if json.Unmarshal(data, &s) != nil {
		return
	}
	p.pcMu.Lock()
	switch s.Type {
	case "offer":
		// pion starts ICE in a goroutine after the first answer; an offer
		// applied before that sees the remote ICE credentials as changed
		// and restarts ICE, which the server does not expect. Browsers
		// have no such race: wait for the checks to start.
		p.pcMu.Unlock()
		select {
		case <-p.iceStarted:
		case <-p.ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
		p.pcMu.Lock()
		rolledBack := false
		if p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
			_ = p.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
			rolledBack = true
		}
		err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: s.SDP})
		var ans webrtc.SessionDescription
		if err == nil {
			ans, err = p.pc.CreateAnswer(nil)
		}
		if err == nil {
			err = p.pc.SetLocalDescription(ans)
		}
		p.pcMu.Unlock()
		if err != nil {
			p.r.note(fmt.Sprintf("%s: answer the server's offer: %v", p.name(), err))
			return
		}
		_ = p.send("call_signal", signal{Type: "answer", SDP: ans.SDP})
		if rolledBack {
			_ = p.offer()
		}
	case "answer":
		err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: s.SDP})
		p.pcMu.Unlock()
		if err != nil {
			p.r.note(fmt.Sprintf("%s: the server's answer: %v", p.name(), err))
		}
	case "candidate":
		if s.Candidate != nil {
			_ = p.pc.AddICECandidate(*s.Candidate)
		}
		p.pcMu.Unlock()
	default:
		p.pcMu.Unlock()
	}
}

// readPLI turns the server's keyframe requests into a keyframe next frame.
func (p *participant) readPLI(s *webrtc.RTPSender, which int) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.wantKey[which].Store(true)
			}
		}
	}
}

// publish runs the participant's media until ctx ends: Opus-shaped audio
// every 20 ms, camera video at 30 frames/s, screen at 5 frames/s. Each
// stream starts at a random phase, as real clients do, so the server sees
// a steady flow rather than every packet of a tick at once.
func (p *participant) publish(ctx context.Context, cfg *Config) {
	if p.mic != nil {
		go p.publishAudio(ctx)
	}
	if p.camera != nil {
		go p.publishVideo(ctx, p.camera, 0, 30, cfg.VideoBitrate)
	}
	if p.screen != nil {
		go p.publishVideo(ctx, p.screen, 1, 5, cfg.ScreenBitrate)
	}
}

// atPhase waits a random part of one interval, then ticks every interval.
func atPhase(ctx context.Context, every time.Duration) *time.Ticker {
	select {
	case <-ctx.Done():
	case <-time.After(rand.N(every)):
	}
	return time.NewTicker(every)
}

func (p *participant) publishAudio(ctx context.Context) {
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	buf := make([]byte, 128)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	// The negotiated id of the audio-level extension: a loud level on
	// every packet makes the server's speaking detection work as for a
	// real speaker.
	var levelID uint8
	for _, e := range p.micSender.GetParameters().HeaderExtensions {
		if e.URI == audioLevelURI {
			levelID = uint8(e.ID)
		}
	}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(rng.Uint32()),
		Timestamp: rng.Uint32(), Marker: true}}
	level := []byte{30}
	tick := atPhase(ctx, 20*time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if levelID != 0 {
			pkt.Header.Extension, pkt.Header.ExtensionProfile = true, 0xBEDE
			pkt.Header.Extensions = pkt.Header.Extensions[:0]
			_ = pkt.Header.SetExtension(levelID, level)
		}
		pkt.Payload = opusPayload(buf, rng, p.r.now())
		if err := p.mic.WriteRTP(&pkt); err == nil {
			p.countSent(1)
		}
		pkt.SequenceNumber++
		pkt.Timestamp += 960
		pkt.Marker = false
	}
}

// publishVideo sends VP8-shaped frames of bitrate/fps bytes; the first
// frame and any frame after a PLI is a keyframe, three times the size.
func (p *participant) publishVideo(ctx context.Context, t *webrtc.TrackLocalStaticRTP, which, fps, bitrate int) {
	size := bitrate / 8 / fps
	buf := vp8Buffer(3 * size)
	var payloads [][]byte
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32()}}
	first := true
	tick := atPhase(ctx, time.Second/time.Duration(fps))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		key := p.wantKey[which].Swap(false) || first
		first = false
		n := size
		if key {
			n = 3 * size
		}
		payloads = vp8Frame(buf, payloads, n, key, p.r.now())
		sent := 0
		for i, pl := range payloads {
			pkt.Marker = i == len(payloads)-1
			pkt.Payload = pl
			if err := t.WriteRTP(&pkt); err == nil {
				sent++
			}
			pkt.SequenceNumber++
		}
		p.countSent(sent)
		pkt.Timestamp += uint32(90000 / fps)
	}
}

func (p *participant) countSent(n int) {
	p.sent.Add(uint64(n))
	if p.r.measuring.Load() {
		p.windowSent.Add(uint64(n))
	}
}

// receive reads one forwarded track: counts packets, and while the run
// measures, loss (from sequence numbers), latency and jitter (from the
// send stamps in the payloads).
func (p *participant) receive(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	ts := &trackStats{}
	p.tracksMu.Lock()
	p.tracks = append(p.tracks, ts)
	p.tracksMu.Unlock()
	buf := make([]byte, 1500)
	var (
		started          bool
		lastSeq          uint16
		ext, highest     int64 // sequence numbers extended across wrap-around
		inWindow         bool
		lastAt, lastSent int64
		jitter           float64
	)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		now := p.r.now()
		seq, payload, ok := rtpPayload(buf[:n])
		if !ok {
			continue
		}
		ts.received.Add(1)
		if !started {
			started, ext = true, 1<<20+int64(seq)
		} else {
			ext += int64(int16(seq - lastSeq))
		}
		lastSeq = seq
		if !p.r.measuring.Load() {
			inWindow = false
			continue
		}
		if !inWindow {
			inWindow, highest = true, ext
			ts.windowExpected.Add(1)
		} else if ext > highest {
			ts.windowExpected.Add(uint64(ext - highest))
			highest = ext
		}
		ts.windowReceived.Add(1)
		sentAt, stamped := readStamp(payload)
		if !stamped {
			continue
		}
		p.latency.add(time.Duration(now - sentAt))
		if lastAt != 0 {
			d := float64((now - lastAt) - (sentAt - lastSent))
			if d < 0 {
				d = -d
			}
			jitter += (d - jitter) / 16
			ts.jitterNs.Store(int64(jitter))
		}
		lastAt, lastSent = now, sentAt
	}
}

// close leaves the call and frees the connection.
func (p *participant) close() {
	if p.ws != nil {
		_ = p.send("call_leave", nil)
	}
	p.pcMu.Lock()
	pc := p.pc
	p.pcMu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
	if p.cancel != nil {
		p.cancel()
	}
	if p.ws != nil {
		_ = p.ws.CloseNow()
	}
}
