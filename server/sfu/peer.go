package sfu

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

// Signal is one signaling message between a client and its peer.
type Signal struct {
	Type      string                   `json:"type"` // "offer", "answer" or "candidate"
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
}

// ErrBadSignal is a malformed or out-of-place signaling message.
var ErrBadSignal = errors.New("bad signaling message")

// Peer is one participant's PeerConnection.
//
// Negotiation follows the "perfect negotiation" pattern with the server as
// the impolite side: the client (polite) may offer at any time, e.g. when
// it starts sharing its screen; the server offers when tracks of others
// come or go. If both offer at once, the server ignores the client's offer
// and the client rolls its own back, answers, and offers again. All of it
// goes through negotiate/HandleSignal under one mutex per peer, so exactly
// one negotiation is in flight per peer.
type Peer struct {
	id    string
	room  *Room
	pc    *webrtc.PeerConnection
	cb    Callbacks
	fixed bool // negotiated once over HTTP (PeerOptions.Fixed)
	// mayPublish is PeerOptions.Publish; nil forwards every track.
	mayPublish func(source string) bool

	mu         sync.Mutex
	offerOut   bool // our offer awaits the client's answer
	pending    bool // another negotiation is needed after this one
	remoteSet  bool
	candidates []webrtc.ICECandidateInit // arrived before the remote description
	sources    map[string]string         // client track id → source
	senders    map[*forwardTrack]*webrtc.RTPSender
	published  []*forwardTrack
	closed     bool

	// Our own candidates are gathered from SetLocalDescription on, in
	// pion's goroutine, possibly before the description itself has been
	// signaled; a client cannot add a candidate before it has that
	// description, so until then they wait here (see holdCandidates).
	candMu  sync.Mutex
	holding bool
	heldOut []webrtc.ICECandidateInit

	lastPLI sync.Map // *forwardTrack → time.Time
}

func newPeer(r *Room, id string, cb Callbacks, fixed bool) (*Peer, error) {
	pc, err := r.sfu.api.Load().NewPeerConnection(webrtc.Configuration{
		SDPSemantics: webrtc.SDPSemanticsUnifiedPlan,
		BundlePolicy: webrtc.BundlePolicyMaxBundle,
	})
	if err != nil {
		return nil, fmt.Errorf("peer %s: %w", id, err)
	}
	p := &Peer{id: id, room: r, pc: pc, cb: cb, fixed: fixed, sources: map[string]string{}, senders: map[*forwardTrack]*webrtc.RTPSender{}}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		p.candMu.Lock()
		if p.holding {
			p.heldOut = append(p.heldOut, init)
			p.candMu.Unlock()
			return
		}
		p.candMu.Unlock()
		p.signal(Signal{Type: "candidate", Candidate: &init})
	})
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		switch s {
		case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
			p.state("connected")
		case webrtc.ICEConnectionStateDisconnected:
			p.state("reconnecting")
		case webrtc.ICEConnectionStateFailed:
			p.state("failed")
		}
	})
	pc.OnTrack(p.onTrack)
	return p, nil
}

// holdCandidates keeps our candidates back until releaseCandidates: called
// before SetLocalDescription, released once that description is signaled
// (or failed), so a client never gets a candidate ahead of its SDP.
func (p *Peer) holdCandidates() {
	p.candMu.Lock()
	p.holding = true
	p.candMu.Unlock()
}

func (p *Peer) releaseCandidates() {
	p.candMu.Lock()
	held := p.heldOut
	p.heldOut = nil
	p.holding = false
	p.candMu.Unlock()
	for i := range held {
		p.signal(Signal{Type: "candidate", Candidate: &held[i]})
	}
}

// ID is the participant id the peer was added with.
func (p *Peer) ID() string { return p.id }

func (p *Peer) signal(s Signal) {
	if p.cb.Signal != nil {
		p.cb.Signal(s)
	}
}

func (p *Peer) state(s string) {
	if p.cb.State != nil {
		p.cb.State(s)
	}
}

// SetTrackSource tells which source (mic, camera, screen, screen_audio)
// a track id of the client's offer carries. Sent before the offer; tracks
// not named default to mic for audio and camera for video.
func (p *Peer) SetTrackSource(trackID, source string) error {
	switch source {
	case SourceMic, SourceCamera, SourceScreen, SourceScreenAudio:
	default:
		return fmt.Errorf("%w: unknown source %q", ErrBadSignal, source)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.sources) > 16 {
		return fmt.Errorf("%w: too many tracks", ErrBadSignal)
	}
	p.sources[trackID] = source
	return nil
}

// HandleSignal applies a message from the client.
func (p *Peer) HandleSignal(s Signal) error {
	switch s.Type {
	case "offer":
		return p.handleOffer(s.SDP)
	case "answer":
		return p.handleAnswer(s.SDP)
	case "candidate":
		if s.Candidate == nil {
			return fmt.Errorf("%w: candidate missing", ErrBadSignal)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.remoteSet {
			if len(p.candidates) < 64 {
				p.candidates = append(p.candidates, *s.Candidate)
			}
			return nil
		}
		if err := p.pc.AddICECandidate(*s.Candidate); err != nil {
			return fmt.Errorf("%w: candidate: %v", ErrBadSignal, err)
		}
		return nil
	}
	return fmt.Errorf("%w: type %q", ErrBadSignal, s.Type)
}

func (p *Peer) handleOffer(sdp string) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	if p.offerOut {
		// Glare: we are impolite and keep our offer; the client rolls back.
		p.mu.Unlock()
		return nil
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("%w: offer: %v", ErrBadSignal, err)
	}
	p.flushCandidates()
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		p.holdCandidates()
		err = p.pc.SetLocalDescription(answer)
	}
	if err != nil {
		p.mu.Unlock()
		p.releaseCandidates()
		return fmt.Errorf("answer: %w", err)
	}
	p.signal(Signal{Type: "answer", SDP: answer.SDP})
	p.releaseCandidates()
	again := p.pending
	p.pending = false
	p.mu.Unlock()
	if again {
		p.negotiate()
	}
	return nil
}

func (p *Peer) handleAnswer(sdp string) error {
	p.mu.Lock()
	if !p.offerOut {
		p.mu.Unlock()
		return fmt.Errorf("%w: answer without an offer", ErrBadSignal)
	}
	err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
	p.offerOut = false
	if err == nil {
		p.flushCandidates()
	}
	again := p.pending
	p.pending = false
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w: answer: %v", ErrBadSignal, err)
	}
	if again {
		p.negotiate()
	}
	return nil
}

// flushCandidates adds candidates that came before the remote description.
func (p *Peer) flushCandidates() {
	p.remoteSet = true
	for _, c := range p.candidates {
		_ = p.pc.AddICECandidate(c)
	}
	p.candidates = nil
}

// negotiate sends an offer now, or marks one as needed once the exchange
// in flight is done.
func (p *Peer) negotiate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.fixed { // a fixed peer's client takes no offers
		return
	}
	// Before the client's first offer there is nothing to renegotiate: our
	// answer to it will already carry what was added.
	if p.offerOut || !p.remoteSet || p.pc.SignalingState() != webrtc.SignalingStateStable {
		p.pending = true
		return
	}
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		p.holdCandidates()
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		p.releaseCandidates()
		p.room.sfu.log.Warn("renegotiation failed", "peer", p.id, "err", err)
		return
	}
	p.offerOut = true
	p.signal(Signal{Type: "offer", SDP: offer.SDP})
	p.releaseCandidates()
}

// onTrack publishes a track the client sends.
func (p *Peer) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	p.mu.Lock()
	source, ok := p.sources[remote.ID()]
	if !ok {
		source = SourceMic
		if remote.Kind() == webrtc.RTPCodecTypeVideo {
			source = SourceCamera
		}
	}
	p.mu.Unlock()
	if p.mayPublish != nil && !p.mayPublish(source) {
		p.room.sfu.log.Debug("track not forwarded: its source is not allowed", "peer", p.id, "source", source)
		buf := make([]byte, 1500)
		for {
			if _, _, err := remote.Read(buf); err != nil {
				return
			}
		}
	}
	p.mu.Lock()
	for _, t := range p.published {
		if t.source == source { // a replaced track of the same source
			source = source + "_" + remote.ID()
		}
	}
	t := newForwardTrack(p, remote, source)
	p.published = append(p.published, t)
	p.mu.Unlock()

	go func() { // RTCP from the publisher feeds the interceptors (NACK, reports)
		buf := make([]byte, 1500)
		for {
			if _, _, err := recv.Read(buf); err != nil {
				return
			}
		}
	}()
	var onLevel func(uint8)
	if remote.Kind() == webrtc.RTPCodecTypeAudio && source == SourceMic {
		onLevel = p.cb.Level
	}
	p.room.publish(t)
	t.forward(onLevel)
	// The publisher stopped the track (e.g. ended a screen share and
	// renegotiated): take it away from everyone, so no dead m-lines stay.
	p.unpublish(t)
}

func (p *Peer) unpublish(t *forwardTrack) {
	p.mu.Lock()
	p.published = slices.DeleteFunc(p.published, func(x *forwardTrack) bool { return x == t })
	closed := p.closed
	p.mu.Unlock()
	if !closed { // a leaving peer's tracks go with RemovePeer
		p.room.unpublish(t)
	}
}

func (p *Peer) audioLevelID(remote *webrtc.TrackRemote) uint8 {
	if remote.Kind() != webrtc.RTPCodecTypeAudio {
		return 0
	}
	for _, r := range p.pc.GetReceivers() {
		if tr := r.Track(); tr != nil && tr.SSRC() == remote.SSRC() {
			for _, e := range r.GetParameters().HeaderExtensions {
				if e.URI == audioLevelURI {
					return uint8(e.ID)
				}
			}
		}
	}
	return 0
}

// subscribe adds another participant's track to this peer.
func (p *Peer) subscribe(t *forwardTrack) {
	p.mu.Lock()
	if p.closed || p.senders[t] != nil {
		p.mu.Unlock()
		return
	}
	sender, err := p.pc.AddTrack(t)
	if err != nil {
		p.mu.Unlock()
		p.room.sfu.log.Warn("subscribe failed", "peer", p.id, "track", t.id, "err", err)
		return
	}
	p.senders[t] = sender
	p.mu.Unlock()
	go p.readSenderRTCP(t, sender)
	p.negotiate()
}

// readSenderRTCP passes a subscriber's keyframe requests to the publisher.
func (p *Peer) readSenderRTCP(t *forwardTrack, s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		if wantsKeyframe(pkts) {
			t.publisher.requestKeyframe(t)
		}
	}
}

// wantsKeyframe reports whether RTCP a subscriber sent (one compound packet,
// as pion's rtcp.Unmarshal returns it) asks for a keyframe: a PLI or a FIR.
// One request however many the compound holds; requestKeyframe throttles
// the rest.
func wantsKeyframe(pkts []rtcp.Packet) bool {
	for _, pkt := range pkts {
		switch pkt.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			return true
		}
	}
	return false
}

// requestKeyframe asks this (publishing) peer for a keyframe of t, at most
// every 300 ms per track: many subscribers asking at once cost one PLI.
func (p *Peer) requestKeyframe(t *forwardTrack) {
	now := time.Now()
	if last, ok := p.lastPLI.Load(t); ok && now.Sub(last.(time.Time)) < 300*time.Millisecond {
		return
	}
	p.lastPLI.Store(t, now)
	_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.remote.SSRC())}})
}

// unsubscribe removes tracks whose publisher left.
func (p *Peer) unsubscribe(ts []*forwardTrack) {
	if len(ts) == 0 {
		return
	}
	p.mu.Lock()
	changed := false
	for _, t := range ts {
		if s := p.senders[t]; s != nil {
			_ = p.pc.RemoveTrack(s)
			delete(p.senders, t)
			changed = true
		}
	}
	p.mu.Unlock()
	if changed {
		p.negotiate()
	}
}

func (p *Peer) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	_ = p.pc.Close()
}

// Close leaves the room.
func (p *Peer) Close() { p.room.RemovePeer(p.id) }

// PauseSource stops (or resumes) forwarding the peer's tracks of a source
// ("mic", "screen", …): a host mute is enforced here, whatever the
// participant's client does.
func (p *Peer) PauseSource(source string, paused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.published {
		// "screen" covers screen_audio too, and a re-published source is
		// named "<source>_<track id>".
		if t.source == source || strings.HasPrefix(t.source, source+"_") {
			t.paused.Store(paused)
		}
	}
}
