package record

import (
	"fmt"
	"time"
)

const (
	// videoAlive: a video track with no frame for this long has stopped
	// (a static shared screen still sends one now and then).
	videoAlive = 3 * time.Second
	// keyframeRetry spaces out keyframe requests to one track.
	keyframeRetry = time.Second
	// keyframeEvery asks the recorded source for a keyframe this often,
	// so that the file can be seeked into: screen shares otherwise send
	// one only when asked.
	keyframeEvery = 10 * time.Second
	// speakerHold is how long someone must be the loudest before the
	// camera goes to them.
	speakerHold = time.Second
	// speakerFloor is the smoothed power (about -50 dBFS) below which a
	// microphone is not speaking.
	speakerFloor = 1e-5
	// trackIdle: a track with no packet for this long is forgotten.
	trackIdle = 30 * time.Second
)

// updateSpeaker follows who is speaking: the participant with the loudest
// microphone, once they have been the loudest for speakerHold.
func (r *Recorder) updateSpeaker(now time.Duration) {
	var loud *audioTrack
	for _, t := range r.audioList {
		if t.info.Source != "screen_audio" && t.level > speakerFloor && (loud == nil || t.level > loud.level) {
			loud = t
		}
	}
	if loud == nil || loud.info.ParticipantID == r.speaker {
		r.candidate = ""
		return
	}
	who := loud.info.ParticipantID
	switch {
	case r.speaker == "":
		r.speaker, r.candidate = who, ""
	case who != r.candidate:
		r.candidate, r.candidateSince = who, now
	case now-r.candidateSince >= speakerHold:
		r.speaker, r.candidate = who, ""
	}
}

// wantedVideo picks what the recording should show: a screen share (the
// one shown already, else the newest), else the active speaker's camera,
// else the camera shown already, else the first camera; nil for none.
func (r *Recorder) wantedVideo(now time.Duration) *videoTrack {
	var screen, speaker, shown, first *videoTrack
	for _, v := range r.videoList {
		if !v.alive(now) {
			continue
		}
		switch v.info.Source {
		case "screen":
			if !r.usable(v) {
				continue
			}
			switch {
			case screen == nil, v == r.cur:
				screen = v
			case screen == r.cur:
			case v == r.pend:
				screen = v
			case screen == r.pend:
			case v.firstSeen > screen.firstSeen:
				screen = v
			}
		case "camera":
			if v.info.ParticipantID == r.speaker {
				speaker = v
			}
			if v == r.cur || v == r.pend {
				shown = v
			}
			// The first camera, preferring one that can be recorded.
			if first == nil || (v.vp8 && !first.vp8) || (v.vp8 == first.vp8 && v.firstSeen < first.firstSeen) {
				first = v
			}
		}
	}
	for _, v := range [...]*videoTrack{screen, speaker, shown, first} {
		if v != nil && r.usable(v) {
			return v
		}
	}
	return nil
}

// usable reports whether a track's codec can go into the file, telling the
// host once per track when it cannot.
func (r *Recorder) usable(v *videoTrack) bool {
	if v.vp8 {
		return true
	}
	if !v.reported {
		v.reported = true
		r.problem(fmt.Errorf("%w: %s of participant %s is %s; recording without it", ErrUnsupportedCodec,
			v.info.Source, v.info.ParticipantID, v.info.Codec.MimeType))
	}
	return false
}

// chooseVideo moves the recording towards the wanted source. A new source
// is put together from its next keyframe, which is asked for; until it
// comes the current one goes on.
func (r *Recorder) chooseVideo(now time.Duration) {
	r.updateSpeaker(now)
	want := r.wantedVideo(now)
	switch {
	case want == r.cur:
		if r.pend != nil {
			r.pend.asm.reset(r.vq)
			r.pend = nil
			r.publishWanted()
		}
	case want == nil:
		if r.cur != nil {
			r.log.Debug("recording: video stopped", "track", r.cur.info.ID)
			r.cur.asm.reset(r.vq)
			r.cur = nil
		}
		if r.pend != nil {
			r.pend.asm.reset(r.vq)
			r.pend = nil
		}
		r.publishWanted()
	case want != r.pend:
		if r.pend != nil {
			r.pend.asm.reset(r.vq)
		}
		r.pend = want
		want.asm.reset(r.vq)
		r.publishWanted()
		r.log.Debug("recording: switching video", "track", want.info.ID)
		r.askKeyframe(want, now, true)
	default:
		r.askKeyframe(want, now, false) // still waiting for it
	}
	if c := r.cur; c != nil && (c.asm.needKey || now-c.lastKey >= keyframeEvery) {
		r.askKeyframe(c, now, false)
	}
}

func (r *Recorder) askKeyframe(v *videoTrack, now time.Duration, force bool) {
	if !force && now-v.keyAsked < keyframeRetry {
		return
	}
	v.keyAsked = now
	if r.cfg.RequestKeyframe != nil {
		r.cfg.RequestKeyframe(v.info.ParticipantID, v.info.Source)
	}
}

// publishWanted tells WriteRTP which video tracks to pass on in full.
func (r *Recorder) publishWanted() {
	if r.cur != nil {
		r.wantCur.Store(&r.cur.info.ID)
	} else {
		r.wantCur.Store(nil)
	}
	if r.pend != nil {
		r.wantPend.Store(&r.pend.info.ID)
	} else {
		r.wantPend.Store(nil)
	}
}

// wanted reports whether a video track's packets are all needed.
func (r *Recorder) wanted(id string) bool {
	if p := r.wantCur.Load(); p != nil && *p == id {
		return true
	}
	p := r.wantPend.Load()
	return p != nil && *p == id
}

// gotFrame takes a frame put together from track v.
func (r *Recorder) gotFrame(v *videoTrack, f *frame, now time.Duration) {
	if v == r.pend {
		if !f.key {
			f.free()
			return
		}
		if r.cur != nil {
			r.cur.asm.reset(r.vq)
		}
		r.cur, r.pend = v, nil
		r.publishWanted()
		r.log.Debug("recording: video switched", "track", v.info.ID)
	}
	if v != r.cur {
		f.free()
		return
	}
	switch {
	case f.key:
		v.asm.needKey = false
		v.lastKey = now
	case v.asm.needKey:
		f.free()
		r.askKeyframe(v, now, false)
		return
	}
	f.ms = max(v.ms(f.ts), 0)
	if !r.frames.push(f) {
		f.free() // the audio is far behind; start again from a keyframe
		v.asm.needKey = true
	}
}

// assemble takes the frames v has complete.
func (r *Recorder) assemble(v *videoTrack, now time.Duration) {
	for {
		f := r.framePool.get()
		if !v.asm.pop(now, f, r.vq) {
			r.framePool.put(f)
			return
		}
		r.gotFrame(v, f, now)
	}
}

// writeVideoUpTo writes the queued frames that belong before ms.
func (r *Recorder) writeVideoUpTo(ms int64) {
	for f := r.frames.peek(); f != nil && f.ms < ms; f = r.frames.peek() {
		r.mux.writeVideo(r.frames.pop())
	}
}

// forget drops tracks that have been gone for a while.
func (r *Recorder) forget(now time.Duration) {
	for i := 0; i < len(r.audioList); i++ {
		if t := r.audioList[i]; now-t.lastArrival > trackIdle {
			delete(r.audio, t.info.ID)
			r.audioList = append(r.audioList[:i], r.audioList[i+1:]...)
			i--
		}
	}
	for i := 0; i < len(r.videoList); i++ {
		if v := r.videoList[i]; now-v.lastSeen > trackIdle && v != r.cur && v != r.pend {
			v.asm.reset(r.vq)
			delete(r.video, v.info.ID)
			r.videoList = append(r.videoList[:i], r.videoList[i+1:]...)
			i--
		}
	}
}
