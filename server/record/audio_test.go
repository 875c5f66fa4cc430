package record

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// playTrack feeds a track the packets of src as they arrive and mixes it
// slot by slot for d, the way the recorder does; it returns the power of
// each slot.
func playTrack(t *testing.T, src *tone, d time.Duration, jitter time.Duration) (*audioTrack, []float64) {
	t.Helper()
	track, err := newAudioTrack(src.info)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var pending []delivery
	var power []float64
	mix := make([]float32, frameSamples)
	var p packet
	for k := int64(0); time.Duration(k)*slotDur < d; k++ {
		// Slot k is mixed playoutDelay after its end.
		now := time.Duration(k+1)*slotDur + playoutDelay
		for _, dl := range src.until(now) {
			if jitter > 0 {
				dl.at += time.Duration(rng.Int64N(int64(jitter)))
			}
			pending = append(pending, dl)
		}
		slices.SortStableFunc(pending, func(a, b delivery) int { return int(a.at - b.at) })
		i := 0
		for ; i < len(pending) && pending[i].at < now; i++ {
			dl := pending[i]
			p.at, p.seq, p.ts = dl.at, dl.pkt.SequenceNumber, dl.pkt.Timestamp
			p.n = copy(p.data[:], dl.pkt.Payload)
			track.push(&p)
			// The playout delay and the jitter: 6 packets, and a few more
			// between corrections.
			if ahead := int16(track.newest - track.next); ahead > 12 {
				t.Fatalf("at %v the track holds %d packets: the clock is not followed", now, ahead)
			}
		}
		pending = pending[i:]
		clear(mix)
		track.mixInto(k*frameSamples, mix)
		var e float64
		for _, v := range mix {
			e += float64(v) * float64(v)
		}
		power = append(power, e/frameSamples)
	}
	return track, power
}

func TestAudioTrackFollowsADriftingSenderClock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		drift float64
	}{
		{"sender clock fast", -0.01}, // its packets come 1% too often
		{"sender clock slow", 0.01},
		{"same clock", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := newTone(t, opusTrack("alice", "mic"), 440, 0, time.Hour, false)
			src.drift = tc.drift
			const length = 20 * time.Second // 200 ms of drift, twice the playout delay
			track, power := playTrack(t, src, length, 20*time.Millisecond)
			// A sine of amplitude 0.3 has a power of 0.045; a slot with
			// less than half of it lost sound.
			quiet := 0
			for _, p := range power[10:] {
				if p < 0.02 {
					quiet++
				}
			}
			if quiet > len(power)/100 {
				t.Errorf("%d of %d slots without the tone", quiet, len(power))
			}
			if track.late > 10 {
				t.Errorf("%d packets came too late to play", track.late)
			}
			t.Logf("quiet slots %d, late %d, lost %d", quiet, track.late, track.lost)
		})
	}
}

func TestAudioTrackConcealsLossAndReorder(t *testing.T) {
	t.Parallel()
	src := newTone(t, opusTrack("alice", "mic"), 440, 0, time.Hour, true) // 3% lost, 7% reordered
	track, power := playTrack(t, src, 10*time.Second, 0)
	quiet := 0
	for _, p := range power[10:] {
		if p < 0.01 {
			quiet++
		}
	}
	if quiet > 0 {
		t.Errorf("%d slots silent: losses were not concealed", quiet)
	}
	if track.lost == 0 || track.late != 0 {
		t.Errorf("lost %d, late %d: want some lost, none late with jitter under the playout delay", track.lost, track.late)
	}
}

func TestOpusSamples(t *testing.T) {
	for _, tc := range []struct {
		packet []byte
		want   int
	}{
		{[]byte{0xF8, 0xFF, 0xFE}, 960},    // CELT FB 20 ms, one frame
		{[]byte{0xF9}, 1920},               // two frames
		{[]byte{0x1B, 0x02}, 2 * 2880},     // SILK NB 60 ms, code 3 with 2 frames
		{[]byte{0x1B, 0x3F}, frameSamples}, // 63 × 60 ms: malformed
		{nil, frameSamples},
	} {
		if got := opusSamples(tc.packet); got != tc.want {
			t.Errorf("opusSamples(% x) = %d, want %d", tc.packet, got, tc.want)
		}
	}
}
