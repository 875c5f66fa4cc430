package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"calls/server/hub"
	"calls/server/sfu"
	"calls/store"
)

// Call events sent over the websocket (docs/PROTOCOL.md).
const (
	evCallStarted           = "call_started"
	evCallEnded             = "call_ended"
	evCallParticipantJoined = "call_participant_joined"
	evCallParticipantLeft   = "call_participant_left"
	evCallParticipantState  = "call_participant_state"
	evCallParticipantMuted  = "call_participant_muted"
	evCallSpeaking          = "call_speaking"
	evCallHostChanged       = "call_host_changed"
	// DefaultReconnectGrace is how long a participant whose connection
	// dropped is shown as reconnecting before being removed.
	DefaultReconnectGrace      = 10 * time.Second
	DefaultMaxCallParticipants = 200
)

// calls is the registry of running calls, one per room at most.
type calls struct {
	mu       sync.Mutex
	byRoom   map[string]*call        // channel id → call
	byClient map[*hub.Client]*member // websocket → its participation
	watched  map[*hub.Client]bool    // clients with a watchClient goroutine
}

// watchClient makes the websocket's closing (logout, deactivation, network)
// leave the call; one goroutine per client, however often it joins.
func (s *Server) watchClient(c *hub.Client) {
	s.calls.mu.Lock()
	if s.calls.watched[c] {
		s.calls.mu.Unlock()
		return
	}
	s.calls.watched[c] = true
	s.calls.mu.Unlock()
	go func() {
		<-c.Done()
		s.leaveCall(context.Background(), c)
		s.calls.mu.Lock()
		delete(s.calls.watched, c)
		s.calls.mu.Unlock()
	}()
}

// waitCallsLeft waits, up to max, until every closed websocket has left its
// call (see watchClient): on shutdown, after the hub has closed them all.
func (s *Server) waitCallsLeft(max time.Duration) {
	deadline := time.Now().Add(max)
	for {
		s.calls.mu.Lock()
		n := len(s.calls.watched)
		s.calls.mu.Unlock()
		if n == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// call is a running call.
type call struct {
	mu        sync.Mutex
	id        string
	channelID string
	hostID    string
	title     string
	postID    string
	startedAt time.Time
	media     *sfu.Room
	members   map[string]*member // participant id → member
	attendees []string           // user ids, in order of first join
	ended     bool

	// The call message is rewritten at most once per callPostInterval
	// however many people join or leave (a 200-person call would
	// otherwise rewrite and fan it out 200 times as it fills).
	postMu      sync.Mutex // serialises writes of the call message
	postPending bool       // a rewrite is scheduled (under mu)
	postWritten time.Time  // when the message was last rewritten (under mu)

	recording    *recording
	hands        []string // participant ids, in the order hands went up
	screenSharer string   // participant id of the one screen share
	reactions    []reaction
}

// member is one participant: one user on one device (websocket), or a
// WHIP/WHEP stream negotiated over HTTP (whip.go), which has no websocket.
type member struct {
	id       string
	userID   string
	client   *hub.Client // nil for a stream
	stream   *stream     // nil for a websocket participant
	call     *call
	peer     *sfu.Peer
	joinedAt time.Time
	muted    atomic.Bool

	mu        sync.Mutex
	speaking  bool
	loudSince time.Time
	quietAt   time.Time
	lostTimer *time.Timer
}

// participantView is a participant as clients see it.
type participantView struct {
	ID       string    `json:"id"`
	UserID   string    `json:"user_id"`
	Muted    bool      `json:"muted"`
	JoinedAt time.Time `json:"joined_at"`
	// Stream is "whip" (a publisher such as OBS) or "whep" (a viewer);
	// absent for people in the call.
	Stream string `json:"stream,omitempty"`
	// Speaking is set in a call's snapshot, so someone joining while
	// another talks on sees the ring without waiting for a pause.
	Speaking bool `json:"speaking,omitempty"`
}

// callView is GET /api/v1/channels/{id}/call.
type callView struct {
	ID           string            `json:"id"`
	ChannelID    string            `json:"channel_id"`
	HostID       string            `json:"host_id"`
	Title        string            `json:"title"`
	PostID       string            `json:"post_id"`
	StartedAt    time.Time         `json:"started_at"`
	Participants []participantView `json:"participants"`
	Hands        []string          `json:"hands"`
	Recording    recordingView     `json:"recording"`
	ScreenSharer string            `json:"screen_sharer,omitempty"`
	// Reactions still floating, so late joiners see them too.
	Reactions []reaction `json:"recent_reactions"`
}

func (c *call) view() callView {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := callView{ID: c.id, ChannelID: c.channelID, HostID: c.hostID, Title: c.title, PostID: c.postID,
		StartedAt: c.startedAt, Participants: []participantView{}, Hands: slices.Clone(c.hands),
		ScreenSharer: c.screenSharer, Reactions: slices.Clone(recentReactions(c.reactions)), Recording: c.recordingView()}
	if v.Hands == nil {
		v.Hands = []string{}
	}
	for _, m := range c.members {
		m.mu.Lock() // never held while taking c.mu: no lock-order cycle
		speaking := m.speaking
		m.mu.Unlock()
		v.Participants = append(v.Participants, participantView{ID: m.id, UserID: m.userID, Muted: m.muted.Load(),
			JoinedAt: m.joinedAt, Stream: m.stream.kindName(), Speaking: speaking})
	}
	slices.SortFunc(v.Participants, func(a, b participantView) int { return a.JoinedAt.Compare(b.JoinedAt) })
	return v
}

// callProps is what the call message carries: live while the call runs,
// then the conference log.
type callProps struct {
	CallID          string     `json:"call_id"`
	Title           string     `json:"title"`
	HostID          string     `json:"host_id"`
	StartedAt       time.Time  `json:"started_at"`
	Participants    []string   `json:"participants"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	Attendees       []string   `json:"attendees,omitempty"`
	DurationSeconds int64      `json:"duration_s,omitempty"`
}

func (c *call) props() callProps {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := callProps{CallID: c.id, Title: c.title, HostID: c.hostID, StartedAt: c.startedAt, Participants: []string{},
		Attendees: slices.Clone(c.attendees)}
	seen := map[string]bool{}
	ms := make([]*member, 0, len(c.members))
	for _, m := range c.members {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *member) int { return a.joinedAt.Compare(b.joinedAt) })
	for _, m := range ms {
		if !seen[m.userID] {
			seen[m.userID] = true
			p.Participants = append(p.Participants, m.userID)
		}
	}
	return p
}

// errCall* are the answers to call_join.
var (
	errCallFull = errorf(http.StatusConflict, "call_full", "the call is full")
)

// joinCall puts a websocket client into the room's call, starting one
// (with the client's user as host) when none runs.
func (s *Server) joinCall(ctx context.Context, c *hub.Client, u *store.User, channelID, title string) (*member, error) {
	return s.enterCall(ctx, u, channelID, title, &member{client: c})
}

// enterCall puts a participant into the room's call, starting one (with
// the user as host) when none runs and m may start one. m says how the
// participant is reached: its websocket client, or its stream.
func (s *Server) enterCall(ctx context.Context, u *store.User, channelID, title string, m *member) (*member, error) {
	c := m.client
	rm, err := s.room(ctx, u, channelID)
	if err != nil {
		return nil, err
	}
	if rm.Archived() {
		return nil, errArchived
	}
	if !s.callsAllowedIn(rm.Kind) {
		return nil, errorf(http.StatusForbidden, "calls_disabled", "calls are turned off for this kind of room; ask an admin")
	}
	if c != nil {
		s.leaveCall(ctx, c) // one call per device at a time
	}

	s.calls.mu.Lock()
	cl := s.calls.byRoom[rm.ID]
	starting := cl == nil
	if starting && !m.stream.mayStart() {
		s.calls.mu.Unlock()
		return nil, errNoCall
	}
	if starting {
		// Starting needs the right to post (the call message); joining a
		// running call needs only the right to read the room.
		if err := rm.canPost(); err != nil {
			s.calls.mu.Unlock()
			return nil, err
		}
		if len([]rune(title)) > 128 {
			title = string([]rune(title)[:128])
		}
		cl = &call{id: store.NewID(), channelID: rm.ID, hostID: u.ID, title: title, startedAt: time.Now().UTC(),
			members: map[string]*member{}}
		cl.media = s.sfu.Room(cl.id)
		s.calls.byRoom[rm.ID] = cl
	}
	cl.mu.Lock()
	if cl.ended {
		cl.mu.Unlock()
		s.calls.mu.Unlock()
		return nil, errorf(http.StatusConflict, "call_ended", "the call just ended; start a new one")
	}
	if len(cl.members) >= s.settingInt("max_call_participants") {
		cl.mu.Unlock()
		s.calls.mu.Unlock()
		s.metrics.callFull.Inc()
		return nil, errCallFull
	}
	m.id, m.userID, m.call, m.joinedAt = store.NewID(), u.ID, cl, time.Now().UTC()
	cl.members[m.id] = m
	if !slices.Contains(cl.attendees, u.ID) {
		cl.attendees = append(cl.attendees, u.ID)
	}
	cl.mu.Unlock()
	if c != nil {
		s.calls.byClient[c] = m
	}
	s.calls.mu.Unlock()

	if starting {
		if err := s.startCallRecord(ctx, u, rm, cl); err != nil {
			s.removeParticipant(ctx, m, "start failed")
			return nil, err
		}
	} else if r := s.ringFor(cl.id); r != nil && r.calleeID == u.ID {
		s.endRing(ctx, cl.id, ringAccepted, "")
	}
	cb := sfu.Callbacks{
		State: func(state string) { s.peerState(m, state) },
		Level: func(level uint8) { s.audioLevel(m, level) },
	}
	if c != nil {
		cb.Signal = func(sig sfu.Signal) { c.Send("call_signal", sig) }
	}
	opts := m.stream.peerOptions()
	opts.Publish = func(source string) bool { return s.mayPublish(m, source) }
	peer, err := cl.media.AddPeerWith(m.id, cb, opts)
	if err != nil {
		s.removeParticipant(ctx, m, "media failed")
		return nil, err
	}
	m.peer = peer
	if err := s.store.CallJoined(ctx, cl.id, m.id, u.ID, m.joinedAt); err != nil {
		s.log.Error("record call join", "call", cl.id, "err", err)
	}
	s.publishToRoom(ctx, rm.ID, evCallParticipantJoined, map[string]any{"call_id": cl.id, "channel_id": rm.ID,
		"participant": participantView{ID: m.id, UserID: u.ID, JoinedAt: m.joinedAt, Stream: m.stream.kindName()}})
	s.callPostChanged(cl)
	if c != nil {
		s.watchClient(c)
	}
	if starting {
		s.startRinging(ctx, rm, cl, u.ID)
	}
	return m, nil
}

// startCallRecord stores the new call and posts its message in the room.
func (s *Server) startCallRecord(ctx context.Context, u *store.User, rm *room, cl *call) error {
	rec := &store.Call{ID: cl.id, ChannelID: rm.ID, HostID: u.ID, Title: cl.title, StartedAt: cl.startedAt}
	if err := s.store.CreateCall(ctx, rec); err != nil {
		return err
	}
	props, _ := json.Marshal(cl.props())
	msg := "Call started"
	if cl.title != "" {
		msg = cl.title
	}
	p, err := s.post(ctx, u, rm, store.NewPost{Type: "call", Message: msg, Props: props})
	if err != nil {
		return err
	}
	cl.mu.Lock()
	cl.postID = p.ID
	cl.mu.Unlock()
	if err := s.store.SetCallPost(ctx, cl.id, p.ID); err != nil {
		return err
	}
	s.publishToRoom(ctx, rm.ID, evCallStarted, map[string]any{"call": cl.view()})
	s.log.Info("call started", "call", cl.id, "channel", rm.ID, "host", u.Username)
	return nil
}

// callPostInterval is the shortest time between two rewrites of a running
// call's message.
const callPostInterval = time.Second

// callPostChanged notes that the participants changed: the call message is
// rewritten now if it has not been for callPostInterval, or once at the end
// of the interval, carrying every change made meanwhile.
func (s *Server) callPostChanged(cl *call) {
	cl.mu.Lock()
	if cl.postPending || cl.ended {
		cl.mu.Unlock()
		return
	}
	cl.postPending = true
	wait := time.Until(cl.postWritten.Add(callPostInterval))
	cl.mu.Unlock()
	if wait <= 0 {
		s.updateCallPost(context.Background(), cl)
		return
	}
	time.AfterFunc(wait, func() { s.updateCallPost(context.Background(), cl) })
}

// updateCallPost rewrites the call message's props and tells the room. Once
// the call has ended only finishCall writes the message (its log).
func (s *Server) updateCallPost(ctx context.Context, cl *call) {
	cl.postMu.Lock()
	defer cl.postMu.Unlock()
	cl.mu.Lock()
	cl.postPending = false
	cl.postWritten = time.Now()
	postID, ended := cl.postID, cl.ended
	cl.mu.Unlock()
	if postID == "" || ended {
		return
	}
	props, _ := json.Marshal(cl.props())
	if err := s.store.UpdatePostProps(ctx, postID, props); err != nil {
		s.log.Error("update call post", "err", err)
		return
	}
	p, err := s.store.PostByID(ctx, postID)
	if err != nil {
		return
	}
	v, err := s.viewPost(ctx, p)
	if err != nil {
		return
	}
	s.publishToRoom(ctx, cl.channelID, evPostEdited, map[string]any{"post": v})
}

// leaveCall takes a websocket client out of its call, if any.
func (s *Server) leaveCall(ctx context.Context, c *hub.Client) {
	s.calls.mu.Lock()
	m := s.calls.byClient[c]
	s.calls.mu.Unlock()
	if m != nil {
		s.removeParticipant(ctx, m, "left")
	}
}

// removeParticipant ends one participation; the last one out ends the call.
func (s *Server) removeParticipant(ctx context.Context, m *member, reason string) {
	cl := m.call
	s.calls.mu.Lock()
	if s.calls.byClient[m.client] == m {
		delete(s.calls.byClient, m.client)
	}
	cl.mu.Lock()
	if _, ok := cl.members[m.id]; !ok {
		cl.mu.Unlock()
		s.calls.mu.Unlock()
		return
	}
	defer s.streamLeft(ctx, m) // once m is gone: its WHEP viewers follow
	delete(cl.members, m.id)
	if i := slices.Index(cl.hands, m.id); i >= 0 {
		cl.hands = slices.Delete(cl.hands, i, i+1)
	}
	if cl.screenSharer == m.id {
		cl.screenSharer = ""
	}
	empty := len(cl.members) == 0
	var newHost string
	if !empty && cl.hostID == m.userID && !cl.userPresent(m.userID) {
		newHost = cl.earliestMember().userID
		cl.hostID = newHost
	}
	if empty {
		cl.ended = true
		if s.calls.byRoom[cl.channelID] == cl {
			delete(s.calls.byRoom, cl.channelID)
		}
	}
	cl.mu.Unlock()
	s.calls.mu.Unlock()

	m.mu.Lock()
	if m.lostTimer != nil {
		m.lostTimer.Stop()
	}
	m.mu.Unlock()
	cl.media.RemovePeer(m.id)
	now := time.Now().UTC()
	if err := s.store.CallLeft(ctx, m.id, now); err != nil {
		s.log.Error("record call leave", "err", err)
	}
	s.publishToRoom(ctx, cl.channelID, evCallParticipantLeft, map[string]any{"call_id": cl.id, "channel_id": cl.channelID,
		"participant_id": m.id, "user_id": m.userID, "reason": reason})
	if newHost != "" {
		if err := s.store.SetCallHost(ctx, cl.id, newHost); err != nil {
			s.log.Error("record host change", "err", err)
		}
		s.publishToRoom(ctx, cl.channelID, evCallHostChanged, map[string]string{"call_id": cl.id, "channel_id": cl.channelID, "host_id": newHost})
	}
	if empty {
		s.endRing(ctx, cl.id, ringCancelled, "")
		s.finishCall(ctx, cl, now)
		return
	}
	s.callPostChanged(cl)
}

func (c *call) userPresent(userID string) bool {
	for _, m := range c.members {
		if m.userID == userID {
			return true
		}
	}
	return false
}

func (c *call) earliestMember() *member {
	var first *member
	for _, m := range c.members {
		if first == nil || m.joinedAt.Before(first.joinedAt) {
			first = m
		}
	}
	return first
}

// finishCall writes the log of an ended call into its message.
func (s *Server) finishCall(ctx context.Context, cl *call, at time.Time) {
	s.stopRecording(ctx, cl, "the call ended")
	cl.media.Close()
	if err := s.store.EndCall(ctx, cl.id, at); err != nil {
		s.log.Error("record call end", "err", err)
	}
	rec, err := s.store.CallByID(ctx, cl.id)
	if err != nil {
		s.log.Error("load ended call", "err", err)
		return
	}
	cl.postMu.Lock() // after any rewrite in flight; none follows (ended is set)
	defer cl.postMu.Unlock()
	cl.mu.Lock()
	postID := cl.postID
	cl.mu.Unlock()
	if postID != "" {
		props := cl.props()
		props.EndedAt, props.Attendees, props.DurationSeconds = rec.EndedAt, rec.Attendees, rec.DurationSeconds
		b, _ := json.Marshal(props)
		if err := s.store.UpdatePostProps(ctx, postID, b); err == nil {
			if p, err := s.store.PostByID(ctx, postID); err == nil {
				if v, err := s.viewPost(ctx, p); err == nil {
					s.publishToRoom(ctx, cl.channelID, evPostEdited, map[string]any{"post": v})
				}
			}
		}
	}
	s.publishToRoom(ctx, cl.channelID, evCallEnded, map[string]any{"call_id": cl.id, "channel_id": cl.channelID, "call": rec})
	s.log.Info("call ended", "call", cl.id, "duration_s", rec.DurationSeconds, "attendees", len(rec.Attendees))
}

// Why a call was ended for everyone, as call_ended_for_you tells each
// participant.
const (
	endedByHost     = "host"            // the host or an admin ended it
	endedRoomClosed = "room_closed"     // the room was archived or deleted
	endedNoAnswer   = "no_answer"       // a DM call nobody picked up
	endedShutdown   = "server_shutdown" // the server is stopping
)

// endCall ends a running call for everyone.
func (s *Server) endCall(ctx context.Context, channelID, reason string) bool {
	s.calls.mu.Lock()
	cl := s.calls.byRoom[channelID]
	s.calls.mu.Unlock()
	if cl == nil {
		return false
	}
	cl.mu.Lock()
	ms := make([]*member, 0, len(cl.members))
	for _, m := range cl.members {
		ms = append(ms, m)
	}
	cl.mu.Unlock()
	for _, m := range ms {
		m.send("call_ended_for_you", map[string]string{"call_id": cl.id, "reason": reason})
		s.removeParticipant(ctx, m, "ended")
	}
	return true
}

// endAllCalls ends every call (graceful shutdown; clients have already been
// told the server is going away).
func (s *Server) endAllCalls(ctx context.Context) {
	s.calls.mu.Lock()
	rooms := make([]string, 0, len(s.calls.byRoom))
	for id := range s.calls.byRoom {
		rooms = append(rooms, id)
	}
	s.calls.mu.Unlock()
	for _, id := range rooms {
		s.endCall(ctx, id, endedShutdown)
	}
}

// peerState follows a participant's ICE connection: shown as reconnecting
// when it drops, removed if it is not back within Config.ReconnectGrace.
func (s *Server) peerState(m *member, state string) {
	data := map[string]string{"call_id": m.call.id, "channel_id": m.call.channelID, "participant_id": m.id,
		"user_id": m.userID, "state": state}
	s.publishToRoom(context.Background(), m.call.channelID, evCallParticipantState, data)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lostTimer != nil {
		m.lostTimer.Stop()
		m.lostTimer = nil
	}
	switch state {
	case "reconnecting":
		m.lostTimer = time.AfterFunc(s.cfg.ReconnectGrace, func() { s.removeParticipant(context.Background(), m, "connection lost") })
	case "failed":
		go s.removeParticipant(context.Background(), m, "connection failed")
	}
}

// audioLevel turns RFC 6464 levels into speaking on/off events: loud
// (≤ 50, about -50 dBov) for 100 ms starts speaking, quiet for 700 ms ends
// it. Called for every audio packet: cheap, no allocation.
func (s *Server) audioLevel(m *member, level uint8) {
	now := time.Now()
	m.mu.Lock()
	loud := level <= 50 && !m.muted.Load()
	changed := false
	switch {
	case loud && !m.speaking:
		if m.loudSince.IsZero() {
			m.loudSince = now
		} else if now.Sub(m.loudSince) >= 100*time.Millisecond {
			m.speaking, changed = true, true
		}
	case loud:
		m.quietAt = time.Time{}
	case !loud && m.speaking:
		if m.quietAt.IsZero() {
			m.quietAt = now
		} else if now.Sub(m.quietAt) >= 700*time.Millisecond {
			m.speaking, changed = false, true
			m.quietAt = time.Time{}
		}
		m.loudSince = time.Time{}
	default:
		m.loudSince = time.Time{}
	}
	speaking := m.speaking
	m.mu.Unlock()
	if changed {
		s.publishToRoom(context.Background(), m.call.channelID, evCallSpeaking, map[string]any{"call_id": m.call.id,
			"participant_id": m.id, "user_id": m.userID, "speaking": speaking})
	}
}

// memberOf returns the client's participation, or an error frame.
func (s *Server) memberOf(c *hub.Client) *member {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	return s.calls.byClient[c]
}

// runningCall returns the call of a room, if one runs.
func (s *Server) runningCall(channelID string) *call {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	return s.calls.byRoom[channelID]
}

// getCall serves GET /api/v1/channels/{id}/call: the running call or 404.
func (s *Server) getCall(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cl := s.runningCall(rm.ID)
	if cl == nil {
		s.writeError(w, r, errorf(http.StatusNotFound, "no_call", "no call is running in this room"))
		return
	}
	writeJSON(w, http.StatusOK, cl.view())
}

// listCalls serves the room's conference log.
func (s *Server) listCalls(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			s.writeError(w, r, errorf(http.StatusBadRequest, "bad_limit", "limit must be 1-200"))
			return
		}
		limit = n
	}
	cs, more, err := s.store.ListCalls(r.Context(), rm.ID, r.URL.Query().Get("before"), limit)
	if errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_before", "before is not a call of this room"))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if cs == nil {
		cs = []*store.Call{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": cs, "has_more": more})
}

// closeCrashedCalls ends calls a crash left open, keeping their attendees,
// and turns their messages into logs.
func (s *Server) closeCrashedCalls(ctx context.Context) error {
	open, err := s.store.CloseOpenCalls(ctx)
	if err != nil {
		return err
	}
	if err := s.closeCrashedRecordings(ctx); err != nil {
		return err
	}
	for _, c := range open {
		if c.PostID == "" {
			continue
		}
		props, _ := json.Marshal(callProps{CallID: c.ID, Title: c.Title, HostID: c.HostID, StartedAt: c.StartedAt,
			Participants: []string{}, EndedAt: c.EndedAt, Attendees: c.Attendees, DurationSeconds: c.DurationSeconds})
		if err := s.store.UpdatePostProps(ctx, c.PostID, props); err != nil {
			return err
		}
		s.log.Warn("closed a call left open by a crash", "call", c.ID, "attendees", len(c.Attendees))
	}
	return nil
}

func (s *Server) callCounts() (calls, participants int) {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	for _, cl := range s.calls.byRoom { // streams have no websocket: count members
		cl.mu.Lock()
		participants += len(cl.members)
		cl.mu.Unlock()
	}
	return len(s.calls.byRoom), participants
}

func (s *Server) sfuTotals() (received, forwarded uint64) {
	if s.sfu == nil {
		return 0, 0
	}
	return s.sfu.Totals()
}
