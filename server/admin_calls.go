package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"calls/server/sfu"
	"calls/store"
)

// Calls for admins: what runs now (with per-track traffic and loss), ending
// a call or stopping its recording, and the history of every room's calls.

// adminTrack is one published track with its rate since the last look.
type adminTrack struct {
	Source      string  `json:"source"`
	Kind        string  `json:"kind"`
	Codec       string  `json:"codec"`
	BitrateBPS  int64   `json:"bitrate_bps"`
	Packets     uint64  `json:"packets"`
	Bytes       uint64  `json:"bytes"`
	Lost        uint64  `json:"lost"`
	LossPct     float64 `json:"loss_pct"`
	Subscribers int     `json:"subscribers"`
}

type adminParticipant struct {
	ID       string       `json:"id"` // the participant (one device's session in the call)
	UserID   string       `json:"user_id"`
	Username string       `json:"username"`
	Muted    bool         `json:"muted"`
	JoinedAt time.Time    `json:"joined_at"`
	Tracks   []adminTrack `json:"tracks"`
}

type adminRecording struct {
	On        bool      `json:"on"`
	By        string    `json:"by"`
	StartedBy string    `json:"started_by"` // the same user id as by
	StartedAt time.Time `json:"started_at"`
}

// adminCall is one running call as GET /api/v1/admin/calls lists it.
type adminCall struct {
	CallID          string             `json:"call_id"`
	ID              string             `json:"id"` // = call_id (the older name)
	ChannelID       string             `json:"channel_id"`
	ChannelName     string             `json:"channel_name"`
	ChannelKind     string             `json:"channel_kind"`
	HostID          string             `json:"host_id"`
	Title           string             `json:"title"`
	PostID          string             `json:"post_id"`
	StartedAt       time.Time          `json:"started_at"`
	DurationSeconds int64              `json:"duration_s"`
	Recording       *adminRecording    `json:"recording"` // null when not recording
	Participants    []adminParticipant `json:"participants"`
	Hands           []string           `json:"hands"`
	ScreenSharer    string             `json:"screen_sharer,omitempty"`
	Tracks          []sfu.TrackStats   `json:"tracks"` // every track, flat (the older shape)
}

// trackRates remembers each track's byte count at the last look, so the
// admin's list shows the current bitrate rather than an average.
type trackRates struct {
	mu   sync.Mutex
	last map[string]rateSample // call id / participant id / source → sample
}

type rateSample struct {
	bytes uint64
	at    time.Time
}

// bitrate returns bits/s since the previous sample of key (or since
// start), and keeps this one. seen collects the keys of this round.
func (tr *trackRates) bitrate(key string, bytes uint64, start, now time.Time, seen map[string]bool) int64 {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.last == nil {
		tr.last = map[string]rateSample{}
	}
	seen[key] = true
	prev, ok := tr.last[key]
	if !ok || bytes < prev.bytes {
		prev = rateSample{at: start}
	}
	tr.last[key] = rateSample{bytes: bytes, at: now}
	secs := now.Sub(prev.at).Seconds()
	if secs < 0.2 { // too close to the last look to say
		return 0
	}
	return int64(float64(bytes-prev.bytes) * 8 / secs)
}

// forget drops samples of tracks that are gone.
func (tr *trackRates) forget(seen map[string]bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for k := range tr.last {
		if !seen[k] {
			delete(tr.last, k)
		}
	}
}

// adminCalls serves GET /api/v1/admin/calls: running calls with their
// participants and each one's tracks (bitrate, packets, loss).
func (s *Server) adminCalls(w http.ResponseWriter, r *http.Request, p *principal) {
	s.calls.mu.Lock()
	cls := make([]*call, 0, len(s.calls.byRoom))
	for _, c := range s.calls.byRoom {
		cls = append(cls, c)
	}
	s.calls.mu.Unlock()
	now := time.Now()
	seen := map[string]bool{}
	names := map[string]string{}
	out := []adminCall{}
	for _, c := range cls {
		v := c.view()
		stats := c.media.Stats()
		ch, err := s.store.ChannelByID(r.Context(), v.ChannelID)
		if err != nil {
			continue // the room went away with its call
		}
		ac := adminCall{CallID: v.ID, ID: v.ID, ChannelID: v.ChannelID, ChannelName: s.roomLabel(r.Context(), ch.ID, ch.Kind, displayOr(ch), names),
			ChannelKind: ch.Kind, HostID: v.HostID, Title: v.Title, PostID: v.PostID, StartedAt: v.StartedAt,
			DurationSeconds: int64(now.Sub(v.StartedAt).Seconds()), Hands: v.Hands, ScreenSharer: v.ScreenSharer,
			Participants: []adminParticipant{}, Tracks: stats}
		if v.Recording.On {
			ac.Recording = &adminRecording{On: true, By: v.Recording.By, StartedBy: v.Recording.By, StartedAt: *v.Recording.StartedAt}
		}
		for _, pv := range v.Participants {
			ap := adminParticipant{ID: pv.ID, UserID: pv.UserID, Muted: pv.Muted, JoinedAt: pv.JoinedAt, Tracks: []adminTrack{}}
			if u, err := s.store.UserByID(r.Context(), pv.UserID); err == nil {
				ap.Username = u.Username
			}
			for _, t := range stats {
				if t.PeerID != pv.ID {
					continue
				}
				at := adminTrack{Source: t.Source, Kind: t.Kind, Codec: t.Codec, Packets: t.Packets, Bytes: t.Bytes, Lost: t.Lost, Subscribers: t.Subscribers}
				at.BitrateBPS = s.trackRate.bitrate(v.ID+"/"+pv.ID+"/"+t.Source, t.Bytes, pv.JoinedAt, now, seen)
				if t.Packets+t.Lost > 0 {
					at.LossPct = float64(t.Lost) * 100 / float64(t.Packets+t.Lost)
				}
				ap.Tracks = append(ap.Tracks, at)
			}
			ac.Participants = append(ac.Participants, ap)
		}
		out = append(out, ac)
	}
	s.trackRate.forget(seen)
	slices.SortFunc(out, func(a, b adminCall) int { return a.StartedAt.Compare(b.StartedAt) })
	writeJSON(w, http.StatusOK, map[string]any{"calls": out})
}

func displayOr(ch *store.Channel) string {
	if ch.DisplayName != "" {
		return ch.DisplayName
	}
	return ch.Name
}

// roomLabel names a room for admins: its display name, or for a DM or
// group DM (which have none) its members' usernames.
func (s *Server) roomLabel(ctx context.Context, id, kind, name string, cache map[string]string) string {
	if name != "" || (kind != store.KindDM && kind != store.KindGroup) {
		return name
	}
	if l, ok := cache[id]; ok {
		return l
	}
	names, err := s.store.RoomMemberNames(ctx, id)
	if err != nil {
		return ""
	}
	l := strings.Join(names, ", ")
	cache[id] = l
	return l
}

// adminEndCall serves POST /api/v1/admin/calls/{channel_id}/end.
func (s *Server) adminEndCall(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("channel_id")
	cl := s.runningCall(id)
	if cl == nil {
		s.writeError(w, r, errorf(http.StatusNotFound, "no_call", "no call is running in this room"))
		return
	}
	if !s.endCall(r.Context(), id) {
		s.writeError(w, r, errorf(http.StatusNotFound, "no_call", "no call is running in this room"))
		return
	}
	s.audit(r.Context(), auditBy(p, auditCallEnd, id, nil, map[string]string{"call_id": cl.id}))
	s.log.Info("call ended by an admin", "call", cl.id, "channel", id, "by", p.User.Username)
	w.WriteHeader(http.StatusNoContent)
}

// adminStopRecording serves POST /api/v1/admin/calls/{channel_id}/recording/stop:
// the file is finished and posted in the call's thread as usual.
func (s *Server) adminStopRecording(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("channel_id")
	cl := s.runningCall(id)
	if cl == nil {
		s.writeError(w, r, errorf(http.StatusNotFound, "no_call", "no call is running in this room"))
		return
	}
	cl.mu.Lock()
	rec := cl.recording
	cl.mu.Unlock()
	if rec == nil {
		s.writeError(w, r, errorf(http.StatusConflict, "not_recording", "the call is not being recorded"))
		return
	}
	if err := s.setRecording(r.Context(), cl, p.User, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.audit(r.Context(), auditBy(p, auditRecordingStop, id, map[string]any{"started_by": rec.by, "started_at": rec.startedAt},
		map[string]string{"call_id": cl.id}))
	w.WriteHeader(http.StatusNoContent)
}

// removeUserFromCalls takes every participation of a user out of its call
// (a deactivated user leaves at once, on every device).
func (s *Server) removeUserFromCalls(ctx context.Context, userID, reason string) {
	s.calls.mu.Lock()
	var ms []*member
	for _, m := range s.calls.byClient {
		if m.userID == userID {
			ms = append(ms, m)
		}
	}
	s.calls.mu.Unlock()
	for _, m := range ms {
		s.removeParticipant(ctx, m, reason)
	}
}

// adminCallHistory serves GET /api/v1/admin/calls/history?room=&user=&from=&to=&limit=&offset=.
func (s *Server) adminCallHistory(w http.ResponseWriter, r *http.Request, p *principal) {
	limit, offset, err := pageParams(r, 50, 500)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := r.URL.Query()
	q := store.CallQuery{Room: strings.TrimSpace(v.Get("room")), User: strings.TrimSpace(v.Get("user")), Limit: limit, Offset: offset}
	if len(q.Room) > 64 || len(q.User) > 64 {
		s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_query", "room and user are at most 64 characters"))
		return
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if raw := v.Get(f.name); raw != "" {
			t, err := parseTimeParam(raw)
			if err != nil {
				s.writeError(w, r, errorf(http.StatusBadRequest, "bad_"+f.name, "%s must be an RFC 3339 time (2026-01-31T09:00:00Z) or a date (2026-01-31)", f.name))
				return
			}
			if f.name == "to" && len(raw) == len("2006-01-02") {
				t = t.Add(24*time.Hour - time.Millisecond) // a date "to" includes the whole day
			}
			*f.dst = t
		}
	}
	calls, total, err := s.store.SearchCalls(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	names := map[string]string{}
	for _, c := range calls {
		c.ChannelName = s.roomLabel(r.Context(), c.ChannelID, c.ChannelKind, c.ChannelName, names)
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": calls, "total": total})
}

func parseTimeParam(raw string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, raw); err == nil {
		return t.UTC(), nil
	}
	return time.Parse("2006-01-02", raw)
}
