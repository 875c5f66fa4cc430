package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"calls/server/filestore"
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
	id        string // its row in recordings
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
	var f struct {
		On bool `json:"on"`
	}
	m, bad := s.callFrame(c, data, &f, "call_record needs {on}")
	if bad != nil {
		return bad
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
	recID := store.NewID()
	path := recordingPath(s.cfg.DataDir, cl.id, recID)
	rec, err := record.New(record.Config{Path: path, RequestKeyframe: cl.media.RequestKeyframe, Logger: s.log.With("call", cl.id), Create: s.recordingFile})
	if err != nil {
		return err
	}
	r := &recording{id: recID, rec: rec, path: path, by: u.ID, startedAt: time.Now().UTC()}
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
	if err := s.store.RecordingStarted(ctx, &store.Recording{ID: r.id, CallID: cl.id, StartedBy: u.ID, StartedAt: r.startedAt}); err != nil {
		s.log.Error("record recording start", "call", cl.id, "err", err)
	}
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

// recordingPath is where a recording is written until it stops.
func recordingPath(dataDir, callID, recordingID string) string {
	return filepath.Join(dataDir, "files", "tmp", "recording-"+callID+"-"+recordingID+".webm")
}

// closeCrashedRecordings posts what recordings a crash cut short had
// written (the file plays up to its last flushed second) in their call's
// thread, and closes their rows. It also posts the recordings that stopped
// but could not be stored then (a full disk): their files are kept until
// they are posted.
func (s *Server) closeCrashedRecordings(ctx context.Context) error {
	open, err := s.store.OpenRecordings(ctx)
	if err != nil {
		return err
	}
	for _, rec := range open {
		r := &recording{id: rec.ID, path: recordingPath(s.cfg.DataDir, rec.CallID, rec.ID), by: rec.StartedBy, startedAt: rec.StartedAt}
		res := record.Result{Err: errors.New("the server stopped while recording")}
		fileID := ""
		c, err := s.store.CallByID(ctx, rec.CallID)
		if err == nil {
			if st, serr := os.Stat(r.path); serr == nil && st.Size() > 0 {
				res.Size = st.Size()
				fileID, err = s.postRecording(ctx, r, res, c.ChannelID, c.PostID)
			} else {
				err = errors.New("no file was left")
			}
		}
		problem := res.Err.Error()
		if err != nil {
			problem += ": " + err.Error()
		}
		s.recordingDone(ctx, r, fileID, res, problem)
		s.log.Warn("closed a recording cut short by a crash", "recording", rec.ID, "call", rec.CallID, "posted", fileID != "", "err", err)
	}
	// Recordings that stopped but could not be posted (the disk was full)
	// kept their file: try again. One that fails again keeps it for the
	// next start.
	keep := map[string]bool{}
	unposted, err := s.store.UnpostedRecordings(ctx)
	if err != nil {
		return err
	}
	for _, rec := range unposted {
		r := &recording{id: rec.ID, path: recordingPath(s.cfg.DataDir, rec.CallID, rec.ID), by: rec.StartedBy, startedAt: rec.StartedAt}
		if _, err := os.Stat(r.path); err != nil {
			continue // nothing left to post
		}
		res := record.Result{Duration: time.Duration(rec.DurationMS) * time.Millisecond, Size: rec.Size}
		c, err := s.store.CallByID(ctx, rec.CallID)
		fileID := ""
		if err == nil {
			fileID, err = s.postRecording(ctx, r, res, c.ChannelID, c.PostID)
		}
		if fileID != "" {
			problem := strings.TrimSuffix(rec.Error, "; posted at the next start") + "; posted at the next start"
			if perr := s.store.RecordingPosted(ctx, rec.ID, fileID, problem); perr != nil {
				s.log.Error("record recording posted", "recording", rec.ID, "err", perr)
			}
		}
		if err != nil {
			keep[filepath.Base(r.path)] = true
			s.log.Error("post a recording kept from before", "recording", rec.ID, "call", rec.CallID, "err", err)
			continue
		}
		s.log.Info("posted a recording kept from before", "recording", rec.ID, "call", rec.CallID)
	}
	// Any other recording file is an orphan once an hour old (a recording
	// in progress writes its file every few seconds).
	tmp := filepath.Join(s.cfg.DataDir, "files", "tmp")
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if keep[e.Name()] || !strings.HasPrefix(e.Name(), filestore.KeepPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Hour {
			os.Remove(filepath.Join(tmp, e.Name()))
		}
	}
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
			s.recordingAlert(cl, "problem", "Recording problem: "+problemText(err)+". What was recorded so far is kept.")
		}
	}
}

// problemText says what went wrong with a recording in the host's terms,
// without the server's file paths (the log and the recording's row keep
// the whole error).
func problemText(err error) string {
	if errors.Is(err, syscall.ENOSPC) {
		return "the server's disk is full"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
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
	problem := ""
	if res.Err != nil {
		problem = res.Err.Error()
	}
	if err != nil && res.Size == 0 {
		s.recordingAlert(cl, "problem", "The recording could not be saved: "+problemText(err))
		s.recordingDone(ctx, r, "", res, err.Error())
		return
	}
	fileID, err := s.postRecording(ctx, r, res, channelID, postID)
	if err != nil {
		s.log.Error("post recording", "call", cl.id, "err", err)
		s.recordingAlert(cl, "problem", "The recording could not be posted: "+problemText(err)+". It is kept and posted when the server next starts.")
		problem = err.Error()
	}
	s.recordingDone(ctx, r, fileID, res, problem)
	if res.Err != nil {
		s.recordingAlert(cl, "problem", "The recording was saved with a problem: "+problemText(res.Err))
	}
}

// recordingDone completes the recording's row.
func (s *Server) recordingDone(ctx context.Context, r *recording, fileID string, res record.Result, problem string) {
	if err := s.store.RecordingStopped(ctx, r.id, time.Now().UTC(), fileID, res.Duration, res.Size, problem); err != nil {
		s.log.Error("record recording stop", "recording", r.id, "err", err)
	}
}

// postRecording stores the file like an upload and posts it as a reply to
// the call message, visible to everyone in the room. If the file cannot be
// stored it stays where it is, and closeCrashedRecordings tries again at the
// next start.
func (s *Server) postRecording(ctx context.Context, r *recording, res record.Result, channelID, rootID string) (fileID string, err error) {
	ch, err := s.store.ChannelByID(ctx, channelID)
	if err != nil {
		return "", err
	}
	room := ch.DisplayName
	if room == "" {
		room = ch.Kind
	}
	name := fmt.Sprintf("Recording %s %s.webm", room, r.startedAt.Format("2006-01-02 15-04"))
	// Moved into the store, not copied: a recording stopped by a full disk
	// needs no more room to be posted.
	blob, err := s.files.Adopt(r.path, name)
	if err != nil {
		return "", err
	}
	defer func() {
		// Not posted: the file goes back where the next start looks for
		// recordings to post (see closeCrashedRecordings), and no file id
		// is returned, so that the recording's row says it is not posted.
		if err != nil {
			fileID = ""
			if uerr := s.files.Unadopt(blob, r.path); uerr != nil {
				s.log.Error("keep an unposted recording", "recording", r.id, "err", uerr)
			}
		}
	}()
	file := &store.File{SHA256: blob.SHA256, Name: name, Size: blob.Size, ContentType: "video/webm", UserID: r.by, ChannelID: channelID}
	if err := s.store.CreateFile(ctx, file); err != nil {
		return "", err
	}
	msg := fmt.Sprintf("Recording, %s, %.1f MB", res.Duration.Round(time.Second), float64(blob.Size)/1e6)
	if res.Duration == 0 {
		msg = fmt.Sprintf("Recording (cut short when the server stopped), %.1f MB", float64(blob.Size)/1e6)
	}
	u, err := s.store.UserByID(ctx, r.by)
	if err != nil {
		return file.ID, err
	}
	rm, err := s.room(ctx, u, channelID)
	if err != nil {
		return file.ID, err
	}
	props, _ := json.Marshal(map[string]any{"recording": true, "duration_s": int(res.Duration.Seconds())})
	// Posted even if the room was archived meanwhile: the call happened.
	rm.ArchivedAt = nil
	rm.member = true
	_, err = s.post(ctx, u, rm, store.NewPost{Type: "call_recording", Message: msg, RootID: rootID, FileIDs: []string{file.ID}, Props: props})
	return file.ID, err
}
