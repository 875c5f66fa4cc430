package record

import (
	"fmt"
	"time"

	"github.com/thesyncim/gopus"

	"calls/server/sfu"
)

const (
	sampleRate   = 48000
	channels     = 1                       // the mix is mono: voices, not a sound stage
	frameSamples = sampleRate / 50         // one 20 ms mixing slot
	maxFrame     = sampleRate * 120 / 1000 // the longest Opus packet
	// jitterSlots is how many packets a track holds, by sequence number:
	// 1.28 s of 20 ms packets, well past the playout delay.
	jitterSlots = 64
	// maxPLC is how many 20 ms frames of loss concealment a track gets
	// before it falls silent (the sender went quiet or left).
	maxPLC = 5
	// silentPacket: Opus packets this small (DTX, comfort noise) carry no
	// sound and are not decoded.
	silentPacket = 3
	// A track whose packets have decoded to silence (below quietPower, about
	// -90 dBFS: a muted microphone sends digital zeros) for quietFrames in a
	// row is quiet: from then on its packets no larger than those are taken
	// as silence without decoding, until a larger one comes.
	quietPower  = 1e-9
	quietFrames = 25
	// levelDecay smooths a track's loudness over about half a second, for
	// finding the active speaker.
	levelDecay = 0.96
)

type audioSlot struct {
	ok   bool
	seq  uint16
	pos  int64 // timeline position, in samples
	data []byte
}

// audioTrack is one participant's Opus track: a jitter buffer ordered by
// sequence number, a decoder, and the decoded audio not yet mixed. The mix
// asks it for each 20 ms slot in turn; it plays what it has for the slot,
// conceals what is missing (in-band FEC from the next packet, else the
// decoder's PLC, then silence) and drops what comes too late.
type audioTrack struct {
	info  sfu.TrackInfo
	dec   *gopus.Decoder
	clock rtpClock
	ring  [jitterSlots]audioSlot

	started bool
	next    uint16 // the sequence number to play next
	newest  uint16 // the highest sequence number received

	pcm     []float32 // decoded audio, starting at pcmPos
	pcmPos  int64
	tmp     []float32
	plcRun  int  // frames concealed in a row
	decoded bool // the decoder has decoded audio, which its PLC can extend
	skipped bool // the last packet was silence and was not decoded

	quietRun  int // packets in a row that decoded to silence
	quietSize int // the largest of them

	sound       bool    // the last slot carried decoded sound
	level       float64 // smoothed power of the track's audio
	lastArrival time.Duration

	late, lost, bad uint64 // packets: too late to play, never came, undecodable
}

func newAudioTrack(info sfu.TrackInfo) (*audioTrack, error) {
	dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(sampleRate, channels))
	if err != nil {
		return nil, fmt.Errorf("opus decoder: %w", err)
	}
	return &audioTrack{
		info:  info,
		dec:   dec,
		clock: rtpClock{rate: sampleRate},
		pcm:   make([]float32, 0, 2*maxFrame+frameSamples),
		tmp:   make([]float32, maxFrame),
	}, nil
}

// push stores a packet that arrived at the given time.
func (t *audioTrack) push(p *packet) {
	t.lastArrival = p.at
	pos, jumped := t.clock.place(p.ts, timelineUnits(p.at, sampleRate))
	if !t.started || jumped {
		t.restart(p.seq)
		if !t.started {
			t.started, t.pcmPos = true, pos
		}
	}
	d := int16(p.seq - t.next)
	if d < 0 {
		t.late++ // already played past it
		return
	}
	if int(d) >= jitterSlots {
		// Far ahead of playout: the track was paused (muted in the SFU)
		// while its sequence numbers ran on.
		t.restart(p.seq)
	}
	s := &t.ring[p.seq%jitterSlots]
	s.ok, s.seq, s.pos = true, p.seq, pos
	s.data = append(s.data[:0], p.payload()...)
	if int16(p.seq-t.newest) > 0 {
		t.newest = p.seq
	}
}

// restart empties the jitter buffer so that seq plays next.
func (t *audioTrack) restart(seq uint16) {
	for i := range t.ring {
		t.ring[i].ok = false
	}
	t.next, t.newest = seq, seq
}

// mixInto adds the track's audio for the slot starting at sample s to mix.
func (t *audioTrack) mixInto(s int64, mix []float32) {
	e := s + frameSamples
	if end := t.pcmPos + int64(len(t.pcm)); end <= s {
		t.pcm, t.pcmPos = t.pcm[:0], s
	}
	t.sound = false
	for end := t.pcmPos + int64(len(t.pcm)); end < e; end = t.pcmPos + int64(len(t.pcm)) {
		slot := &t.ring[t.next%jitterSlots]
		switch {
		case slot.ok && slot.seq == t.next && slot.pos > end:
			t.conceal(int(min(slot.pos, e) - end)) // a pause in the stream (DTX), or a shift of the clock
		case slot.ok && slot.seq == t.next:
			t.decode(slot.data, int(end-slot.pos))
			slot.ok = false
			t.next++
		case int16(t.newest-t.next) > 0:
			t.recover()
			t.lost++
			t.next++
		default:
			t.conceal(int(e - end)) // nothing has come: late, or silent
		}
	}

	var power float32
	from := int(s - t.pcmPos) // negative when the track starts inside the slot
	for i := max(0, -from); i < frameSamples; i++ {
		v := t.pcm[from+i]
		mix[i] += v
		power += v * v
	}
	if t.sound {
		t.level = levelDecay*t.level + (1-levelDecay)*float64(power)/frameSamples
	} else {
		t.level *= levelDecay
	}
	if done := int(e - t.pcmPos); done > 0 {
		n := copy(t.pcm, t.pcm[done:])
		t.pcm, t.pcmPos = t.pcm[:n], e
	}
}

// decode appends a packet's audio, less its first skip samples (which
// overlap audio already played).
func (t *audioTrack) decode(data []byte, skip int) {
	if len(data) <= silentPacket || (t.quietRun >= quietFrames && len(data) <= t.quietSize) {
		n := opusSamples(data)
		if skip >= n {
			t.late++
		}
		t.appendZeros(n - skip)
		t.plcRun = maxPLC // concealing after silence would replay old sound
		t.skipped = true
		return
	}
	if t.skipped {
		// The decoder's state is from before the silence: start clean, as
		// a decoder that had decoded the silence would be.
		t.dec.Reset()
		t.skipped = false
	}
	n, err := t.dec.Decode(data, t.tmp)
	if err != nil {
		t.bad++
		t.conceal(frameSamples)
		return
	}
	t.plcRun, t.decoded, t.sound = 0, true, true
	var power float32
	for _, v := range t.tmp[:n] {
		power += v * v
	}
	if power/float32(max(n, 1)) < quietPower {
		t.quietRun++
		t.quietSize = max(t.quietSize, len(data))
	} else {
		t.quietRun, t.quietSize = 0, 0
	}
	if skip < n {
		t.pcm = append(t.pcm, t.tmp[skip:n]...)
	} else {
		t.late++ // all of it was due before it came
	}
}

// recover stands in for a lost packet with the next one's in-band FEC
// (browsers send it), or with concealment.
func (t *audioTrack) recover() {
	next := &t.ring[(t.next+1)%jitterSlots]
	if t.decoded && t.plcRun < maxPLC && next.ok && next.seq == t.next+1 && len(next.data) > silentPacket {
		if n, err := t.dec.DecodeWithFEC(next.data, t.tmp[:frameSamples], true); err == nil && n > 0 {
			t.pcm = append(t.pcm, t.tmp[:n]...)
			t.plcRun++
			t.sound = true
			return
		}
	}
	t.conceal(frameSamples)
}

// conceal appends n samples for audio that is missing: the decoder's
// packet loss concealment for a few frames, then silence.
func (t *audioTrack) conceal(n int) {
	for n > 0 {
		if !t.decoded || t.plcRun >= maxPLC {
			t.appendZeros(n)
			return
		}
		k, err := t.dec.Decode(nil, t.tmp[:frameSamples])
		if err != nil || k <= 0 {
			t.appendZeros(n)
			return
		}
		k = min(k, n)
		t.pcm = append(t.pcm, t.tmp[:k]...)
		t.plcRun++
		t.sound = true
		n -= k
	}
}

func (t *audioTrack) appendZeros(n int) {
	if n <= 0 {
		return
	}
	l := len(t.pcm)
	if l+n > cap(t.pcm) {
		t.pcm = append(t.pcm, make([]float32, n)...)
		return
	}
	t.pcm = t.pcm[:l+n]
	clear(t.pcm[l:])
}

// opusSamples returns how many samples an Opus packet holds (RFC 6716 §3.1),
// or a frame's worth for a malformed one.
func opusSamples(data []byte) int {
	if len(data) == 0 {
		return frameSamples
	}
	per := gopus.ParseTOC(data[0]).FrameSize
	frames := 1
	switch data[0] & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(data) < 2 {
			return frameSamples
		}
		frames = int(data[1] & 0x3F)
	}
	if n := per * frames; n > 0 && n <= maxFrame {
		return n
	}
	return frameSamples
}
