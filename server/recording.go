package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"calls/server/hub"
	"calls/server/record"
	"calls/store"
)

// Recording is done inside the server: the SFU's tap feeds a recorder that
// mixes the voices and muxes the shared screen (or active speaker) into
// WebM. The host (or an admin) starts and stops it; it stops by itself at
// --recording-max, with a reminder --recording-reminder before, and when
// the call ends. The file is posted in the call's thread.

const (
	evCallRecording      = "call_recording"       // room members: on/off
	evCallRecordingAlert = "call_recording_alert" // the host: reminder or failure
	// DefaultRecordingMax and DefaultRecordingReminder are the flags' defaults.
	DefaultRecordingMax      = 60 * time.Minute
	DefaultRecordingReminder = 10 * time.Minute
)

// recording is a call's running recording.
type recording struct {
	rec       *record.Recorder
	path      string
	by        string // user id who started it
	startedAt time.Time
	stops     []func() bool // limit, reminder and health timers
	done      bool
}

type recordingView struct {
	On        bool       `json:"on"`
	By        string     `json:"by,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
}

func (c *call) recordingView() recordingView {
	if c.recording == nil {
		return recordingView{}
	}
	t := c.recording.startedAt
	return recordingView{On: true, By: c.recording.by, StartedAt: &t}
}

func (s *Server) handleCallRecord(ctx context.Context, c *hub.Client, data json.RawMessage) *hub.Frame {
	m := s.memberOf(c)
	if m == nil {
		return frameError("not_in_call", "join a call first")
	}
	var f struct {
		On bool `json:"on"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return frameError("bad_frame", "call_record needs {on}")
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if err != nil {
		return frameError("internal", "try again")
	}
	if err := s.setRecording(ctx, m.call, u, f.On); err != nil {
		if ae, ok := err.(*apiError); ok {
			return frameError(ae.Code, ae.Message)
		}
		s.log.Error("recording", "err", err)
		return frameError("recording_failed", "the recording could not be changed: "+err.Error())
	}
	return nil
}

// setRecording starts or stops a call's recording for its host or an admin.
func (s *Server) setRecording(ctx context.Context, cl *call, u *store.User, on bool) error {
	cl.mu.Lock()
	isHost := cl.hostID == u.ID || u.Role == store.RoleAdmin
	running := cl.recording != nil
	cl.mu.Unlock()
	if !isHost {
		return errorf(403, "not_host", "only the host can record the call")
	}
	if !on {
		if !running {
			return nil
		}
		s.stopRecording(ctx, cl, "stopped by "+u.Username)
		return nil
	}
	if running {
		return errorf(409, "already_recording", "the call is already being recorded")
	}
	if !s.settingBool("recording_allowed") {
		return errorf(403, "recording_disabled", "recording is turned off in this workspace")
	}
	if s.settingString("recording_by") == "admins" && u.Role != store.RoleAdmin {
		return errorf(403, "recording_admins_only", "only admins may record calls in this workspace")
	}
	dir := filepath.Join(s.cfg.DataDir, "files", "tmp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, "recording-"+cl.id+"-"+store.NewID()+".webm")
	rec, err := record.New(record.Config{Path: path, RequestKeyframe: cl.media.RequestKeyframe, Logger: s.log.With("call", cl.id)})
	if err != nil {
		return err
	}
	r := &recording{rec: rec, path: path, by: u.ID, startedAt: time.Now().UTC()}
	max, reminder := s.settingDuration("recording_max"), s.settingDuration("recording_reminder")
	cl.mu.Lock()
	if cl.recording != nil || cl.ended {
		cl.mu.Unlock()
		rec.Stop()
		os.Remove(path)
		return errorf(409, "already_recording", "the call is already being recorded")
	}
	cl.recording = r
	cl.mu.Unlock()
	cl.media.SetTap(rec)
	r.stops = append(r.stops, s.clock.AfterFunc(max, func() { s.stopRecording(context.Background(), cl, "reached the limit") }))
	if reminder > 0 && reminder < max {
		r.stops = append(r.stops, s.clock.AfterFunc(max-reminder, func() {
			s.recordingAlert(cl, "reminder", fmt.Sprintf("The recording stops in %s (the limit is %s); you can start a new one right after.",
				reminder.Round(time.Second), max.Round(time.Second)))
		}))
	}
	go s.watchRecording(cl, r)
	s.publishToRoom(ctx, cl.channelID, evCallRecording, map[string]any{"call_id": cl.id, "channel_id": cl.channelID,
		"recording": cl.recordingView()})
	s.log.Info("recording started", "call", cl.id, "by", u.Username)
	return nil
}

// watchRecording tells the host at once if the recorder hits a problem
// (a full disk, an unsupported codec); what was recorded is kept.
func (s *Server) watchRecording(cl *call, r *recording) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	var told error
	for range t.C {
		cl.mu.Lock()
		done := cl.recording != r
		cl.mu.Unlock()
		if done {
			return
		}
		if err := r.rec.Err(); err != nil && (told == nil || err.Error() != told.Error()) {
			told = err
			s.recordingAlert(cl, "problem", "Recording problem: "+err.Error()+". What was recorded so far is kept.")
		}
	}
}

func (s *Server) recordingAlert(cl *call, kind, text string) {
	cl.mu.Lock()
	host := cl.hostID
	cl.mu.Unlock()
	s.publish(evCallRecordingAlert, map[string]string{"call_id": cl.id, "kind": kind, "text": text}, []string{host})
}

// stopRecording finishes the file and posts it in the call's thread.
func (s *Server) stopRecording(ctx context.Context, cl *call, why string) {
	cl.mu.Lock()
	r := cl.recording
	if r == nil || r.done {
		cl.mu.Unlock()
		return
	}
	r.done = true
	cl.recording = nil
	postID, channelID := cl.postID, cl.channelID
	cl.mu.Unlock()
	for _, stop := range r.stops {
		stop()
	}
	cl.media.SetTap(nil)
	res, err := r.rec.Stop()
	s.publishToRoom(ctx, channelID, evCallRecording, map[string]any{"call_id": cl.id, "channel_id": channelID,
		"recording": recordingView{}, "reason": why})
	if err != nil && res.Size == 0 {
		s.recordingAlert(cl, "problem", "The recording could not be saved: "+err.Error())
		return
	}
	if err := s.postRecording(ctx, r, res, channelID, postID); err != nil {
		s.log.Error("post recording", "call", cl.id, "err", err)
		s.recordingAlert(cl, "problem", "The recording could not be posted: "+err.Error())
	}
	if res.Err != nil {
		s.recordingAlert(cl, "problem", "The recording was saved with a problem: "+res.Err.Error())
	}
}

// postRecording stores the file like an upload and posts it as a reply to
// the call message, visible to everyone in the room.
func (s *Server) postRecording(ctx context.Context, r *recording, res record.Result, channelID, rootID string) error {
	f, err := os.Open(r.path)
	if err != nil {
		return err
	}
	ch, err := s.store.ChannelByID(ctx, channelID)
	if err != nil {
		f.Close()
		return err
	}
	room := ch.DisplayName
	if room == "" {
		room = ch.Kind
	}
	name := fmt.Sprintf("Recording %s %s.webm", room, r.startedAt.Format("2006-01-02 15-04"))
	blob, err := s.files.Put(f, name, math.MaxInt64)
	f.Close()
	if err != nil {
		return err
	}
	os.Remove(r.path)
	file := &store.File{SHA256: blob.SHA256, Name: name, Size: blob.Size, ContentType: "video/webm", UserID: r.by, ChannelID: channelID}
	if err := s.store.CreateFile(ctx, file); err != nil {
		return err
	}
	msg := fmt.Sprintf("Recording, %s, %.1f MB", res.Duration.Round(time.Second), float64(blob.Size)/1e6)
	u, err := s.store.UserByID(ctx, r.by)
	if err != nil {
		return err
	}
	rm, err := s.room(ctx, u, channelID)
	if err != nil {
		return err
	}
	props, _ := json.Marshal(map[string]any{"recording": true, "duration_s": int(res.Duration.Seconds())})
	// Posted even if the room was archived meanwhile: the call happened.
	rm.ArchivedAt = nil
	rm.member = true
	_, err = s.post(ctx, u, rm, store.NewPost{Type: "call_recording", Message: msg, RootID: rootID, FileIDs: []string{file.ID}, Props: props})
	return err
}
