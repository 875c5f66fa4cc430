package record

import (
	"calls/server/record/recordtest"

	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v3"
)

// vp8Packets packetizes the first n frames of the test stream into small
// packets, several per frame.
func vp8Packets(t *testing.T, n int) ([][]byte, [][]*packet) {
	frames := recordtest.IVFFrames(t, "testdata/screen.ivf")[:n]
	pack := rtp.NewPacketizer(300, 96, 1, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewFixedSequencer(65530), 90000)
	var pkts [][]*packet
	for _, f := range frames {
		var fp []*packet
		for _, r := range pack.Packetize(f, 6000) {
			p := &packet{seq: r.SequenceNumber, ts: r.Timestamp, marker: r.Marker}
			p.n = copy(p.data[:], r.Payload)
			fp = append(fp, p)
		}
		pkts = append(pkts, fp)
	}
	return frames, pkts
}

func TestAssemblerPutsFramesTogether(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reorder bool
		lose    int // the frame that loses a packet, or -1
	}{
		{"in order", false, -1},
		{"reordered and duplicated", true, -1},
		{"a packet lost", false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, pkts := vp8Packets(t, 8)
			var order []*packet
			for i, fp := range pkts {
				if i == tc.lose {
					fp = append(fp[:1:1], fp[2:]...)
				}
				order = append(order, fp...)
			}
			if tc.reorder {
				for i := 0; i+1 < len(order); i += 3 {
					order[i], order[i+1] = order[i+1], order[i]
				}
				dup := *order[5]
				order = append(order[:7:7], append([]*packet{&dup}, order[7:]...)...)
			}
			q := &queue{free: make(chan *packet, len(order)+1)}
			var a assembler
			a.reset(q)
			a.needKey = false // as after the first keyframe
			var got [][]byte
			now := time.Duration(0)
			take := func() {
				for {
					f := &frame{}
					if !a.pop(now, f, q) {
						return
					}
					got = append(got, f.data)
				}
			}
			for _, p := range order {
				a.push(p, q)
				take()
			}
			now += assembleWait
			take()

			want := frames
			if tc.lose >= 0 {
				want = append(frames[:tc.lose:tc.lose], frames[tc.lose+1:]...)
				if !a.needKey {
					t.Error("a frame was lost but no keyframe is needed")
				}
			}
			if len(got) != len(want) {
				t.Fatalf("got %d frames, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("frame %d differs from what was sent", i)
				}
			}
			if key, w, h := vp8Keyframe(got[0]); !key || w != 320 || h != 240 {
				t.Errorf("first frame: keyframe %v %dx%d, want a 320x240 keyframe", key, w, h)
			}
			if a.count != 0 || len(q.free) != len(order) {
				t.Errorf("%d packets held, %d of %d given back", a.count, len(q.free), len(order))
			}
		})
	}
}

func TestWriteRTPAllocatesNothing(t *testing.T) {
	t0 := time.Now()
	r := &Recorder{now: time.Now, t0: t0, aq: newQueue(1000), vq: newQueue(1000)}
	mic := opusTrack("alice", "mic")
	cam := videoTrackInfo("bob", "camera", webrtc.MimeTypeVP8)
	id := cam.ID
	r.wantCur.Store(&id)
	other := videoTrackInfo("carol", "camera", webrtc.MimeTypeVP8)
	pkt := &rtp.Packet{Header: rtp.Header{SequenceNumber: 1, Timestamp: 960}, Payload: make([]byte, 1000)}
	if n := testing.AllocsPerRun(200, func() {
		r.WriteRTP(mic, pkt)
		r.WriteRTP(cam, pkt)
		r.WriteRTP(other, pkt)
	}); n != 0 {
		t.Errorf("WriteRTP allocates %v times per call", n)
	}
	if len(r.aq.full) == 0 || len(r.vq.full) == 0 {
		t.Fatal("nothing queued")
	}
	if got := len(r.vq.full); got > 201 {
		t.Errorf("%d video packets queued: the camera not recorded should only send frame ends", got)
	}
}
