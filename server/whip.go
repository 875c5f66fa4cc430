package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"

	"calls/server/hub"
	"calls/server/sfu"
	"calls/store"
)

// WHIP (RFC 9725) and WHEP: call participants that have no websocket.
// A WHIP client such as OBS Studio publishes into a room's call; a WHEP
// client plays one participant's audio and video. Each is one HTTP POST
// of an SDP offer answered with a complete SDP answer (all of the
// server's ICE candidates in it), a PATCH for trickle ICE or an ICE
// restart, and a DELETE to leave. The peer is never renegotiated: a WHIP
// publisher only sends, and a WHEP viewer receives the tracks its
// participant published when it was created (to get a track published
// later, the client POSTs again).
//
// Apart from signaling, a stream is a participant like any other: the
// same permissions to join, listed in the call (marked "stream"), counted
// in the call message and the conference log, and removed the same ways
// (ICE failure, the call ending, the room archived or deleted, its user
// deactivated or its token revoked).

const (
	streamWHIP = "whip"
	streamWHEP = "whep"

	mimeSDP     = "application/sdp"
	mimeSDPFrag = "application/trickle-ice-sdpfrag"
	// maxSDPBody caps an offer or fragment; a browser's offer with every
	// codec is about 10 KB.
	maxSDPBody = 64 << 10
	// maxSDPSections caps the media sections (transceivers) of one offer.
	maxSDPSections = 16
	// streamConnectTimeout: a stream whose client has not connected by
	// then (it never used the answer) is removed.
	streamConnectTimeout = 30 * time.Second
	// streamNegotiateTimeout bounds applying an offer and gathering the
	// server's ICE candidates.
	streamNegotiateTimeout = 10 * time.Second
)

var (
	errNoCall      = errorf(http.StatusNotFound, "no_call", "no call is running in this room")
	errNoStream    = errorf(http.StatusNotFound, "no_stream", "no such WHIP/WHEP session: it has ended or was never made")
	errStreamGone  = errorf(http.StatusGone, "archived", "this room is archived: its call can no longer be joined")
	errSDPType     = errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the SDP offer as the body with Content-Type: application/sdp")
	errSDPFragType = errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the ICE fragment as the body with Content-Type: application/trickle-ice-sdpfrag")
)

// stream is what makes a member a WHIP publisher or a WHEP viewer.
type stream struct {
	kind        string
	target      string   // WHEP: the participant played
	tracks      []string // WHEP: the track ids it receives
	sessionHash string   // the token it was made with: it ends with it

	done     chan struct{} // closed when the participant leaves
	doneOnce sync.Once

	mu          sync.Mutex // serialises PATCHes
	etag        string     // names the current ICE session
	remoteUfrag string     // the client's current ice-ufrag
}

func newStream(kind, sessionHash string) *stream {
	return &stream{kind: kind, sessionHash: sessionHash, done: make(chan struct{}), etag: newETag()}
}

func newETag() string { return `"` + store.NewID() + `"` }

// kindName is "whip", "whep", or "" for a websocket participant.
func (st *stream) kindName() string {
	if st == nil {
		return ""
	}
	return st.kind
}

// mayStart: a WHIP publisher (like a person) starts a call when none
// runs; a WHEP viewer has nothing to watch then.
func (st *stream) mayStart() bool { return st == nil || st.kind == streamWHIP }

// peerOptions: streams are negotiated once; a publisher receives nothing,
// a viewer only the tracks chosen when it was made.
func (st *stream) peerOptions() sfu.PeerOptions {
	switch {
	case st == nil:
		return sfu.PeerOptions{}
	case st.kind == streamWHEP:
		return sfu.PeerOptions{Fixed: true, Receive: func(t sfu.TrackInfo) bool { return slices.Contains(st.tracks, t.ID) }}
	}
	return sfu.PeerOptions{Fixed: true}
}

func (st *stream) stop() { st.doneOnce.Do(func() { close(st.done) }) }

// send sends a frame to the participant's websocket; a stream has none,
// and what it would be told (muted, removed, call ended) happens to its
// media anyway.
func (m *member) send(typ string, data any) {
	if m.client != nil {
		m.client.Send(typ, data)
	}
}

// member returns a participant of the call by id.
func (c *call) member(id string) *member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[id]
}

// sdpOffer is a checked offer: its text and how many audio and video
// sections can carry media the way the endpoint needs.
type sdpOffer struct {
	sdp          string
	ufrag        string
	audio, video int
}

// readOffer reads and checks the SDP offer of a WHIP (the client sends) or
// WHEP (the client receives) POST, before anything joins anything.
func readOffer(w http.ResponseWriter, r *http.Request, kind string) (*sdpOffer, error) {
	body, err := readSDPBody(w, r, mimeSDP, errSDPType)
	if err != nil {
		return nil, err
	}
	parsed, err := (&webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: body}).Unmarshal()
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "bad_sdp", "the body is not a valid SDP offer: %v", err)
	}
	if len(parsed.MediaDescriptions) > maxSDPSections {
		return nil, errorf(http.StatusBadRequest, "bad_sdp", "the offer has %d media sections; at most %d", len(parsed.MediaDescriptions), maxSDPSections)
	}
	o := &sdpOffer{sdp: body}
	o.ufrag, _ = parsed.Attribute("ice-ufrag")
	sessionDir := "sendrecv"
	for _, d := range []string{"sendonly", "recvonly", "sendrecv", "inactive"} {
		if _, ok := parsed.Attribute(d); ok {
			sessionDir = d
		}
	}
	for _, md := range parsed.MediaDescriptions {
		dir := sessionDir
		for _, d := range []string{"sendonly", "recvonly", "sendrecv", "inactive"} {
			if _, ok := md.Attribute(d); ok {
				dir = d
			}
		}
		if o.ufrag == "" {
			o.ufrag, _ = md.Attribute("ice-ufrag")
		}
		usable := dir == "sendrecv" || kind == streamWHIP && dir == "sendonly" || kind == streamWHEP && dir == "recvonly"
		if md.MediaName.Port.Value == 0 || !usable {
			continue
		}
		switch md.MediaName.Media {
		case "audio":
			o.audio++
		case "video":
			o.video++
		}
	}
	if o.audio+o.video == 0 {
		if kind == streamWHIP {
			return nil, errorf(http.StatusBadRequest, "bad_sdp", "the offer sends no audio or video: a WHIP offer needs an audio or video section that is sendonly or sendrecv")
		}
		return nil, errorf(http.StatusBadRequest, "bad_sdp", "the offer receives no audio or video: a WHEP offer needs an audio or video section that is recvonly or sendrecv")
	}
	if o.ufrag == "" {
		return nil, errorf(http.StatusBadRequest, "bad_sdp", "the offer has no a=ice-ufrag")
	}
	return o, nil
}

// readSDPBody reads a body of the given media type, capped.
func readSDPBody(w http.ResponseWriter, r *http.Request, want string, wrongType error) (string, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != want {
		return "", wrongType
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSDPBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", errorf(http.StatusRequestEntityTooLarge, "body_too_large", "request body is over %d bytes", maxSDPBody)
		}
		return "", errorf(http.StatusBadRequest, "bad_body", "could not read the request body")
	}
	return string(b), nil
}

// allowStreamJoin applies the call-join rate limit to streams too.
func (s *Server) allowStreamJoin(userID string) error {
	if ok, wait := s.joinLimit.Allow(userID); !ok {
		s.metrics.rateLimited.WithLabelValues("call_join").Inc()
		return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many call joins; wait a few seconds", RetryAfter: wait}
	}
	return nil
}

// streamJoinError: an archived room's call is gone for good (410), where
// the websocket says "archived" with a 403 like every other refusal.
func streamJoinError(err error) error {
	if err == errArchived {
		return errStreamGone
	}
	return err
}

// whipPublish serves POST /api/v1/channels/{id}/call/whip.
func (s *Server) whipPublish(w http.ResponseWriter, r *http.Request, p *principal) {
	offer, err := readOffer(w, r, streamWHIP)
	if err == nil {
		err = s.allowStreamJoin(p.User.ID)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st := newStream(streamWHIP, p.SessionHash)
	st.remoteUfrag = offer.ufrag
	m, err := s.enterCall(r.Context(), p.User, r.PathValue("id"), "", &member{stream: st})
	if err != nil {
		s.writeError(w, r, streamJoinError(err))
		return
	}
	s.answerStream(w, r, p, m, offer, "/api/v1/channels/"+m.call.channelID+"/call/whip/"+m.id)
}

// whepPlay serves POST /api/v1/channels/{id}/call/whep/{participant}.
func (s *Server) whepPlay(w http.ResponseWriter, r *http.Request, p *principal) {
	offer, err := readOffer(w, r, streamWHEP)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if rm.Archived() {
		s.writeError(w, r, errStreamGone)
		return
	}
	cl := s.runningCall(rm.ID)
	if cl == nil {
		s.writeError(w, r, errNoCall)
		return
	}
	target := cl.member(r.PathValue("participant"))
	if target == nil {
		s.writeError(w, r, errorf(http.StatusNotFound, "no_participant", "that participant is not in this room's call"))
		return
	}
	tracks := pickTracks(cl.media.Tracks(), target.id, offer.audio, offer.video)
	if len(tracks) == 0 {
		s.writeError(w, r, errorf(http.StatusConflict, "nothing_to_play", "that participant sends no audio or video (of the kinds your offer receives) yet; try again once they do"))
		return
	}
	if err := s.allowStreamJoin(p.User.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	st := newStream(streamWHEP, p.SessionHash)
	st.target, st.tracks, st.remoteUfrag = target.id, tracks, offer.ufrag
	m, err := s.enterCall(r.Context(), p.User, rm.ID, "", &member{stream: st})
	if err != nil {
		s.writeError(w, r, streamJoinError(err))
		return
	}
	if m.call != cl { // the call ended and another began meanwhile
		s.removeParticipant(context.Background(), m, "the participant played left")
		s.writeError(w, r, errorf(http.StatusNotFound, "no_participant", "that participant is not in this room's call"))
		return
	}
	s.answerStream(w, r, p, m, offer, "/api/v1/channels/"+rm.ID+"/call/whep/"+target.id+"/"+m.id)
}

// pickTracks chooses what a WHEP viewer of participant pid receives: as
// many audio and video tracks as the offer has sections for, the
// microphone and camera before the screen.
func pickTracks(all []sfu.TrackInfo, pid string, audio, video int) []string {
	rank := map[string]int{sfu.SourceMic: 0, sfu.SourceCamera: 0, sfu.SourceScreen: 1, sfu.SourceScreenAudio: 1}
	var mine []sfu.TrackInfo
	for _, t := range all {
		if t.ParticipantID == pid {
			mine = append(mine, t)
		}
	}
	slices.SortStableFunc(mine, func(a, b sfu.TrackInfo) int {
		ra, ok := rank[a.Source]
		if !ok {
			ra = 2
		}
		rb, ok := rank[b.Source]
		if !ok {
			rb = 2
		}
		return ra - rb
	})
	var ids []string
	for _, t := range mine {
		isAudio := strings.HasPrefix(strings.ToLower(t.Codec.MimeType), "audio/")
		switch {
		case isAudio && audio > 0:
			audio--
		case !isAudio && video > 0:
			video--
		default:
			continue
		}
		ids = append(ids, t.ID)
	}
	return ids
}

// answerStream applies a new stream's offer and answers 201 with the SDP
// answer and the session's URL; a failure takes the stream out again.
func (s *Server) answerStream(w http.ResponseWriter, r *http.Request, p *principal, m *member, offer *sdpOffer, location string) {
	ctx, cancel := context.WithTimeout(r.Context(), streamNegotiateTimeout)
	defer cancel()
	answer, err := m.peer.Answer(ctx, offer.sdp)
	if err != nil {
		s.removeParticipant(context.Background(), m, "negotiation failed")
		if errors.Is(err, sfu.ErrBadSignal) {
			s.writeError(w, r, errorf(http.StatusBadRequest, "bad_sdp", "the offer could not be applied: %v", err))
			return
		}
		s.writeError(w, r, fmt.Errorf("answer %s offer: %w", m.stream.kind, err))
		return
	}
	go s.watchStream(m)
	h := w.Header()
	h.Set("Content-Type", mimeSDP)
	h.Set("Cache-Control", "no-store")
	h.Set("Location", location)
	h.Set("ETag", m.stream.etag)
	h.Set("Accept-Patch", mimeSDPFrag)
	s.iceServerLinks(h, r, p.User.ID)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
	s.log.Info("stream joined the call", "kind", m.stream.kind, "call", m.call.id, "participant", m.id, "user", p.User.Username)
}

// linkQuote escapes a Link parameter's quoted string (an admin's ICE
// credentials may hold any character).
var linkQuote = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// iceServerLinks names the STUN/TURN servers in Link headers (RFC 9725
// §4.6), for clients behind restrictive NATs: the ones an admin set
// (ice_servers, --ice-servers), else ours with fresh credentials.
func (s *Server) iceServerLinks(h http.Header, r *http.Request, userID string) {
	servers := s.configuredICEServers()
	if len(servers) == 0 && s.turn != nil {
		host := hostOnly(r.Host)
		if s.cfg.Domain != "" {
			host = s.cfg.Domain
		}
		servers = s.turn.ICEServers(host, userID)
	}
	for _, srv := range servers {
		for _, u := range srv.URLs {
			v := "<" + u + `>; rel="ice-server"`
			if srv.Username != "" {
				v += fmt.Sprintf(`; username="%s"; credential="%s"; credential-type="password"`,
					linkQuote.Replace(srv.Username), linkQuote.Replace(srv.Credential))
			}
			h.Add("Link", v)
		}
	}
}

// watchStream ends a stream whose client never connects, or whose token
// stops being valid (logged out, expired, user deactivated by the CLI):
// the checks a websocket gets at each ping.
func (s *Server) watchStream(m *member) {
	connect := time.NewTimer(streamConnectTimeout)
	defer connect.Stop()
	tick := time.NewTicker(hub.PingInterval)
	defer tick.Stop()
	valid := s.sessionValid(m.stream.sessionHash)
	for {
		select {
		case <-m.stream.done:
			return
		case <-connect.C:
			if m.peer.Connecting() {
				s.removeParticipant(context.Background(), m, "never connected")
				return
			}
		case <-tick.C:
			if err := valid(context.Background()); err != nil {
				s.removeParticipant(context.Background(), m, err.Error())
				return
			}
		}
	}
}

// streamLeft runs whenever a participant leaves: a stream's watcher stops,
// and WHEP viewers of whoever left have nothing more to play and leave too.
func (s *Server) streamLeft(ctx context.Context, m *member) {
	if m.stream != nil {
		m.stream.stop()
	}
	cl := m.call
	cl.mu.Lock()
	var viewers []*member
	for _, o := range cl.members {
		if o.stream != nil && o.stream.kind == streamWHEP && o.stream.target == m.id {
			viewers = append(viewers, o)
		}
	}
	cl.mu.Unlock()
	for _, v := range viewers {
		s.removeParticipant(ctx, v, "the participant played left")
	}
}

// endStreams removes every stream that matches, in every call.
func (s *Server) endStreams(ctx context.Context, match func(*member) bool, reason string) {
	s.calls.mu.Lock()
	cls := make([]*call, 0, len(s.calls.byRoom))
	for _, cl := range s.calls.byRoom {
		cls = append(cls, cl)
	}
	s.calls.mu.Unlock()
	var ms []*member
	for _, cl := range cls {
		cl.mu.Lock()
		for _, m := range cl.members {
			if m.stream != nil && match(m) {
				ms = append(ms, m)
			}
		}
		cl.mu.Unlock()
	}
	for _, m := range ms {
		s.removeParticipant(ctx, m, reason)
	}
}

// streamUnmute lifts a host mute of a stream: a stream has nobody to ask,
// so the host's "ask to unmute" does it.
func (s *Server) streamUnmute(ctx context.Context, m *member) {
	m.muted.Store(false)
	if m.peer != nil {
		m.peer.PauseSource(sfu.SourceMic, false)
	}
	s.publishToRoom(ctx, m.call.channelID, evCallParticipantMuted, map[string]any{"call_id": m.call.id,
		"participant_id": m.id, "user_id": m.userID, "muted": false, "by_host": true})
}

// streamOf finds the caller's own stream named by a session URL.
func (s *Server) streamOf(r *http.Request, p *principal, kind string) (*member, error) {
	cl := s.runningCall(r.PathValue("id"))
	if cl == nil {
		return nil, errNoStream
	}
	m := cl.member(r.PathValue("session"))
	if m == nil || m.stream == nil || m.stream.kind != kind || m.userID != p.User.ID ||
		kind == streamWHEP && m.stream.target != r.PathValue("participant") {
		return nil, errNoStream
	}
	return m, nil
}

// deleteStream serves DELETE on a session URL: the stream leaves the call.
func (s *Server) deleteStream(kind string) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		m, err := s.streamOf(r, p, kind)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.removeParticipant(r.Context(), m, "left")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	}
}

// patchStream serves PATCH on a session URL (RFC 9725 §4.3): trickled ICE
// candidates (If-Match: the ETag, or none) answered 204, or an ICE restart
// (If-Match: *, new ice-ufrag and ice-pwd) answered 200 with the server's
// new credentials and candidates and a new ETag. An If-Match naming an
// earlier ICE session is 412.
func (s *Server) patchStream(kind string) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		m, err := s.streamOf(r, p, kind)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		body, err := readSDPBody(w, r, mimeSDPFrag, errSDPFragType)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		frag, err := parseSDPFrag(body)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		st := m.stream
		st.mu.Lock()
		defer st.mu.Unlock()
		ifMatch := strings.TrimSpace(r.Header.Get("If-Match"))
		if ifMatch == "*" {
			s.restartStreamICE(w, r, m, frag)
			return
		}
		if ifMatch != "" && ifMatch != st.etag {
			s.writeError(w, r, errorf(http.StatusPreconditionFailed, "stale_etag", "If-Match names an earlier ICE session; use the current ETag, or If-Match: * to restart ICE"))
			return
		}
		if frag.ufrag != "" && frag.ufrag != st.remoteUfrag {
			s.writeError(w, r, errorf(http.StatusPreconditionFailed, "ice_restart_needs_if_match", "the fragment has new ICE credentials: an ICE restart must be sent with If-Match: *"))
			return
		}
		for _, c := range frag.candidates {
			if err := m.peer.HandleSignal(sfu.Signal{Type: "candidate", Candidate: &webrtc.ICECandidateInit{Candidate: c}}); err != nil {
				s.writeError(w, r, errorf(http.StatusBadRequest, "bad_sdpfrag", "a candidate could not be used: %v", err))
				return
			}
		}
		w.Header().Set("ETag", st.etag)
		w.WriteHeader(http.StatusNoContent)
	}
}

// restartStreamICE carries out an ICE restart PATCH; st.mu is held.
func (s *Server) restartStreamICE(w http.ResponseWriter, r *http.Request, m *member, frag *sdpFrag) {
	if frag.ufrag == "" || frag.pwd == "" {
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_sdpfrag", "an ICE restart needs a=ice-ufrag and a=ice-pwd"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), streamNegotiateTimeout)
	defer cancel()
	answer, err := m.peer.RestartICE(ctx, frag.ufrag, frag.pwd, frag.candidates)
	if err != nil {
		if errors.Is(err, sfu.ErrBadSignal) {
			s.writeError(w, r, errorf(http.StatusBadRequest, "bad_sdpfrag", "the ICE restart could not be applied: %v", err))
			return
		}
		s.writeError(w, r, fmt.Errorf("restart ICE of %s: %w", m.id, err))
		return
	}
	st := m.stream
	st.etag, st.remoteUfrag = newETag(), frag.ufrag
	w.Header().Set("Content-Type", mimeSDPFrag)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("ETag", st.etag)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, answerFrag(answer))
}

// sdpFrag is what a client's trickle-ice-sdpfrag carries (RFC 8840).
type sdpFrag struct {
	ufrag, pwd string
	candidates []string // "candidate:…"
}

func parseSDPFrag(body string) (*sdpFrag, error) {
	f := &sdpFrag{}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=candidate:"):
			if len(f.candidates) >= 64 {
				return nil, errorf(http.StatusBadRequest, "bad_sdpfrag", "more than 64 candidates in one fragment")
			}
			f.candidates = append(f.candidates, strings.TrimPrefix(line, "a="))
		}
	}
	if f.ufrag == "" && f.pwd == "" && len(f.candidates) == 0 {
		return nil, errorf(http.StatusBadRequest, "bad_sdpfrag", "the fragment has no a=candidate, a=ice-ufrag or a=ice-pwd line")
	}
	return f, nil
}

// answerFrag is the server's side of an ICE restart as an SDP fragment:
// its new credentials and candidates, on the first (bundled) media section.
func answerFrag(answer string) string {
	var ufrag, pwd, mline, mid string
	var cands []string
	sections := 0
	for _, line := range strings.Split(answer, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "m="):
			sections++
			if sections == 1 {
				mline = line
			}
		case sections > 1:
		case strings.HasPrefix(line, "a=ice-ufrag:") && ufrag == "":
			ufrag = line
		case strings.HasPrefix(line, "a=ice-pwd:") && pwd == "":
			pwd = line
		case strings.HasPrefix(line, "a=mid:") && sections == 1:
			mid = line
		case strings.HasPrefix(line, "a=candidate:") && sections == 1:
			cands = append(cands, line)
		}
	}
	var b strings.Builder
	for _, l := range append([]string{ufrag, pwd, mline, mid}, cands...) {
		if l != "" {
			b.WriteString(l + "\r\n")
		}
	}
	b.WriteString("a=end-of-candidates\r\n")
	return b.String()
}
