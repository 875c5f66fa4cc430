package sfu

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v3"
)

// Negotiation of fixed peers (PeerOptions.Fixed): WHIP and WHEP clients
// send one offer over HTTP and take the answer from the response, with no
// channel for the server's ICE candidates to trickle through. So the
// answer waits until every local candidate is gathered and carries them
// all (on the single-port muxes that is a few milliseconds).

// ErrPeerClosed is returned for a peer that has left.
var ErrPeerClosed = errors.New("peer closed")

// Answer applies the client's offer and returns the complete answer.
func (p *Peer) Answer(ctx context.Context, offer string) (string, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return "", ErrPeerClosed
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		p.mu.Unlock()
		return "", fmt.Errorf("%w: offer: %v", ErrBadSignal, err)
	}
	p.flushCandidates()
	return p.answerLocked(ctx)
}

// answerLocked answers the remote offer just set and waits for ICE
// gathering; p.mu is held on entry and released.
func (p *Peer) answerLocked(ctx context.Context) (string, error) {
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		p.mu.Unlock()
		return "", fmt.Errorf("answer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(answer); err != nil {
		p.mu.Unlock()
		return "", fmt.Errorf("answer: %w", err)
	}
	p.mu.Unlock()
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("gather ICE candidates: %w", ctx.Err())
	}
	if d := p.pc.LocalDescription(); d != nil {
		return d.SDP, nil
	}
	return "", ErrPeerClosed
}

// RestartICE restarts ICE with the client's new credentials and
// candidates (WHIP/WHEP send these alone, in an SDP fragment, and keep
// everything else as first negotiated) and returns the new complete
// answer, whose credentials and candidates are the server's new ones.
func (p *Peer) RestartICE(ctx context.Context, ufrag, pwd string, candidates []string) (string, error) {
	if !iceToken(ufrag, 4) || !iceToken(pwd, 22) {
		return "", fmt.Errorf("%w: ice-ufrag must be 4-256 and ice-pwd 22-256 characters of A-Z a-z 0-9 + /", ErrBadSignal)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return "", ErrPeerClosed
	}
	prev := p.pc.RemoteDescription()
	if prev == nil || p.pc.SignalingState() != webrtc.SignalingStateStable {
		p.mu.Unlock()
		return "", fmt.Errorf("%w: nothing negotiated to restart", ErrBadSignal)
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(prev.SDP, "\n") {
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			line = "a=ice-ufrag:" + ufrag + "\r\n"
		case strings.HasPrefix(line, "a=ice-pwd:"):
			line = "a=ice-pwd:" + pwd + "\r\n"
		case strings.HasPrefix(line, "a=candidate:"), strings.HasPrefix(line, "a=end-of-candidates"):
			continue // the old network path: replaced by the new candidates
		}
		b.WriteString(line)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: b.String()}); err != nil {
		p.mu.Unlock()
		return "", fmt.Errorf("%w: ICE restart: %v", ErrBadSignal, err)
	}
	for _, c := range candidates {
		if err := p.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c}); err != nil {
			p.mu.Unlock()
			return "", fmt.Errorf("%w: candidate: %v", ErrBadSignal, err)
		}
	}
	return p.answerLocked(ctx)
}

// iceToken checks an ice-ufrag or ice-pwd (RFC 8839: ice-char, at least
// min and at most 256 of them).
func iceToken(s string, min int) bool {
	if len(s) < min || len(s) > 256 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// Connecting reports whether ICE has not yet connected for the first time
// (a fixed peer whose client never showed up is given up on).
func (p *Peer) Connecting() bool {
	switch p.pc.ICEConnectionState() {
	case webrtc.ICEConnectionStateNew, webrtc.ICEConnectionStateChecking:
		return true
	}
	return false
}
