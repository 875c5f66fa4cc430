package record

import (
	"math"
	"time"
)

const (
	// driftWindow is how long arrivals are watched before the mapping of a
	// track's RTP clock onto the recording is corrected.
	driftWindow = 2 * time.Second
	// driftLimit is how far the earliest arrival of a window may be from
	// where its timestamp puts it before the mapping moves.
	driftLimit = 30 * time.Millisecond
	// jumpLimit is a distance no jitter explains: the sender restarted its
	// clock, or the track was paused; the track is placed anew at once.
	jumpLimit = time.Second
	// minWindowPackets keeps a nearly empty window from moving anything.
	minWindowPackets = 10
)

// rtpClock maps one track's RTP timestamps onto the recording's timeline,
// in the track's clock units (48 kHz for Opus, 90 kHz for video).
//
// A track's first packet is placed where it arrived; after that its RTP
// timestamps decide, since they carry the sender's timing through jitter,
// reordering and silence. The sender's clock is not the recorder's,
// though: every driftWindow the earliest arrival of the window is compared
// with where its timestamp put it, and when even the fastest packets were
// more than driftLimit late (or early) the mapping moves by that much. A
// drift of 100 ppm moves it about every five minutes.
type rtpClock struct {
	rate    int64
	started bool
	lastTS  uint32
	ext     int64 // lastTS extended past wraps, from 0 at the first packet
	off     int64 // timeline position = extended timestamp + off

	winEnd   int64 // arrival at which the window closes
	winMin   int64 // smallest arrival - position seen in the window
	winCount int
}

// units converts a duration into the clock's units.
func (c *rtpClock) units(d time.Duration) int64 {
	return int64(d/time.Microsecond) * c.rate / 1e6
}

// place returns where a packet with timestamp ts that arrived at arr (on
// the timeline, in the clock's units) belongs, and whether the track was
// placed anew.
func (c *rtpClock) place(ts uint32, arr int64) (pos int64, jumped bool) {
	if !c.started {
		c.started, c.lastTS, c.ext, c.off = true, ts, 0, arr
		c.resetWindow(arr)
		return arr, false
	}
	e := c.ext + int64(int32(ts-c.lastTS))
	if e > c.ext {
		c.ext, c.lastTS = e, ts
	}
	skew := arr - (e + c.off)
	if lim := c.units(jumpLimit); skew > lim || skew < -lim {
		c.off += skew
		c.resetWindow(arr)
		return e + c.off, true
	}
	c.winMin = min(c.winMin, skew)
	c.winCount++
	if arr >= c.winEnd {
		if lim := c.units(driftLimit); c.winCount >= minWindowPackets && (c.winMin > lim || c.winMin < -lim) {
			c.off += c.winMin
		}
		c.resetWindow(arr)
	}
	return e + c.off, false
}

func (c *rtpClock) resetWindow(arr int64) {
	c.winEnd = arr + c.units(driftWindow)
	c.winMin = math.MaxInt64
	c.winCount = 0
}

// timelineUnits converts a time on the recording's timeline into rate units.
func timelineUnits(t time.Duration, rate int64) int64 {
	return int64(t/time.Microsecond) * rate / 1e6
}
