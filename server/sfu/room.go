package sfu

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// Tap receives every packet a room forwards, e.g. a recorder. It is called
// on the forwarding goroutine of each track: it must not block, and must
// copy what it keeps (the packet's buffers are reused).
type Tap interface {
	WriteRTP(track TrackInfo, pkt *rtp.Packet)
}

// TrackInfo names a published track for a Tap.
type TrackInfo struct {
	ID            string // unique in the room: "<participant id>_<source>"
	ParticipantID string
	Source        string
	Codec         webrtc.RTPCodecCapability
}

type tapHolder struct{ t Tap }

// SetTap starts (or, with nil, stops) sending the room's packets to t.
func (r *Room) SetTap(t Tap) {
	if t == nil {
		r.tap.Store(nil)
		return
	}
	r.tap.Store(&tapHolder{t: t})
}

// RequestKeyframe asks a participant for a keyframe of one of their video
// sources (a recorder switching to it needs one).
func (r *Room) RequestKeyframe(participantID, source string) {
	p := r.Peer(participantID)
	if p == nil {
		return
	}
	p.mu.Lock()
	var ts []*forwardTrack
	for _, t := range p.published {
		if t.source == source && t.video {
			ts = append(ts, t)
		}
	}
	p.mu.Unlock()
	for _, t := range ts {
		p.requestKeyframe(t)
	}
}

// Tracks lists what is published in the room now.
func (r *Room) Tracks() []TrackInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]TrackInfo, 0, len(r.tracks))
	for _, t := range r.tracks {
		out = append(out, t.info())
	}
	return out
}

// Room is the media of one call: its peers and what they publish.
type Room struct {
	id  string
	sfu *SFU
	tap atomic.Pointer[tapHolder]

	mu     sync.Mutex
	peers  map[string]*Peer
	tracks []*forwardTrack
	closed bool
}

// Callbacks connect a peer to the signaling channel and the call state.
// They are called from pion's goroutines; they must not block for long.
type Callbacks struct {
	// Signal sends a signaling message to the participant's client.
	Signal func(Signal)
	// State reports the connection: "connected", "reconnecting", "failed".
	State func(state string)
	// Level reports the RFC 6464 audio level of the peer's microphone
	// (0 loudest … 127 silence), about 50 times a second.
	Level func(level uint8)
}

// PeerOptions shape a peer negotiated once over HTTP (WHIP, WHEP) instead
// of over a signaling channel. The zero value is an ordinary participant.
type PeerOptions struct {
	// Fixed: the session is negotiated from the client's one offer
	// (Peer.Answer) and the server never offers: no renegotiation, so
	// tracks published later are not added to it.
	Fixed bool
	// Receive picks, among the tracks published when the peer is added,
	// those it receives. Nil: all of them (a fixed peer: none).
	Receive func(TrackInfo) bool
	// Publish says whether a track the client sends, by its source
	// (mic, camera, screen, screen_audio), is forwarded to the room, asked
	// when the track arrives. Nil: every one. A refused track is read and
	// dropped, so the client's sending does not back up.
	Publish func(source string) bool
}

// AddPeer creates the PeerConnection of a new participant. The client
// then sends its offer (see Peer.HandleSignal); everything already
// published in the room is added for it to receive.
func (r *Room) AddPeer(id string, cb Callbacks) (*Peer, error) {
	return r.AddPeerWith(id, cb, PeerOptions{})
}

// AddPeerWith is AddPeer for a peer shaped by opts.
func (r *Room) AddPeerWith(id string, cb Callbacks, opts PeerOptions) (*Peer, error) {
	p, err := newPeer(r, id, cb, opts.Fixed)
	if err != nil {
		return nil, err
	}
	p.mayPublish = opts.Publish
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		p.pc.Close()
		return nil, fmt.Errorf("room %s is closed", r.id)
	}
	r.peers[id] = p
	existing := append([]*forwardTrack(nil), r.tracks...)
	r.mu.Unlock()
	for _, t := range existing {
		if opts.Receive != nil && !opts.Receive(t.info()) || opts.Receive == nil && opts.Fixed {
			continue
		}
		p.subscribe(t)
	}
	return p, nil
}

// Peer returns a peer by id.
func (r *Room) Peer(id string) *Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peers[id]
}

// publish makes a new track of pub available to everyone else.
func (r *Room) publish(t *forwardTrack) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.tracks = append(r.tracks, t)
	others := make([]*Peer, 0, len(r.peers))
	for _, p := range r.peers {
		if p != t.publisher && !p.fixed { // a fixed peer's session never grows
			others = append(others, p)
		}
	}
	r.mu.Unlock()
	for _, p := range others {
		p.subscribe(t)
	}
}

// unpublish removes one ended track from the room and its subscribers.
func (r *Room) unpublish(t *forwardTrack) {
	r.mu.Lock()
	i := slices.Index(r.tracks, t)
	if i < 0 {
		r.mu.Unlock()
		return
	}
	r.tracks = slices.Delete(r.tracks, i, i+1)
	others := make([]*Peer, 0, len(r.peers))
	for _, p := range r.peers {
		if p != t.publisher {
			others = append(others, p)
		}
	}
	r.mu.Unlock()
	t.retire()
	for _, p := range others {
		p.unsubscribe([]*forwardTrack{t})
	}
}

// RemovePeer closes a participant's connection and takes their tracks
// away from everyone else (who renegotiate).
func (r *Room) RemovePeer(id string) {
	r.mu.Lock()
	p := r.peers[id]
	delete(r.peers, id)
	var gone []*forwardTrack
	kept := r.tracks[:0]
	for _, t := range r.tracks {
		if t.publisher.id == id {
			gone = append(gone, t)
		} else {
			kept = append(kept, t)
		}
	}
	r.tracks = kept
	for _, t := range gone {
		t.retire()
	}
	others := make([]*Peer, 0, len(r.peers))
	for _, o := range r.peers {
		others = append(others, o)
	}
	empty := len(r.peers) == 0
	r.mu.Unlock()
	if p != nil {
		p.close()
	}
	for _, o := range others {
		o.unsubscribe(gone)
	}
	if empty {
		r.sfu.dropRoom(r)
	}
}

// Close ends the room for everyone.
func (r *Room) Close() {
	r.mu.Lock()
	r.closed = true
	peers := make([]*Peer, 0, len(r.peers))
	for _, p := range r.peers {
		peers = append(peers, p)
	}
	r.peers = map[string]*Peer{}
	for _, t := range r.tracks {
		t.retire()
	}
	r.tracks = nil
	r.mu.Unlock()
	for _, p := range peers {
		p.close()
	}
	r.sfu.dropRoom(r)
}

// TrackStats is what one published track has carried.
type TrackStats struct {
	PeerID  string `json:"participant_id"`
	Source  string `json:"source"`
	Kind    string `json:"kind"`
	Codec   string `json:"codec"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	Lost    uint64 `json:"lost"`
	// Subscribers is how many peers receive the track.
	Subscribers int `json:"subscribers"`
}

// Stats lists the room's published tracks with their counters.
func (r *Room) Stats() []TrackStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]TrackStats, 0, len(r.tracks))
	for _, t := range r.tracks {
		out = append(out, TrackStats{PeerID: t.publisher.id, Source: t.source, Kind: t.kind.String(), Codec: t.codec.MimeType,
			Packets: t.packets.Load(), Bytes: t.bytes.Load(), Lost: t.lost.Load(), Subscribers: len(*t.bindings.Load())})
	}
	return out
}
