package record

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// loop is a track's packets for loopLength, sent again and again with
// sequence numbers and timestamps running on, as the SFU would forward
// them.
type loop struct {
	d       []delivery
	seqStep uint16
	tsStep  uint32
	hdr     []rtp.Header // the first round's headers
}

const loopLength = 10 * time.Second

func newLoop(s source) *loop {
	l := &loop{d: s.until(loopLength)}
	for _, d := range l.d {
		l.hdr = append(l.hdr, d.pkt.Header)
	}
	last := l.d[len(l.d)-1].pkt.Header
	first := l.d[0].pkt.Header
	l.seqStep = last.SequenceNumber - first.SequenceNumber + 1
	l.tsStep = uint32(uint64(loopLength) * uint64(l.d[0].track.Codec.ClockRate) / uint64(time.Second))
	return l
}

// padded makes a VP8 source's frames size bytes long (the recorder does
// not decode VP8, so the padding only stands for a larger picture).
func padded(s *screen, size int) *screen {
	for i, f := range s.frames {
		if len(f) < size {
			s.frames[i] = append(slices.Clone(f), make([]byte, size-len(f))...)
		}
	}
	return s
}

// BenchmarkRecord8People2Speakers records an 8-person call: two people
// talk (a tone each), six are muted (their browsers send Opus silence),
// one shares a screen (VP8, 1.5 Mbit/s at 15 fps) and everyone has a
// camera on (VP8, 500 kbit/s at 15 fps). One op is one second of call.
//
// It reports the wall and CPU time per 20 ms mix step, the process's CPU
// per recorded second as a share of one core (the tap's copies in WriteRTP
// included) and its inverse, the recordings one core keeps up with in real
// time, how much faster than real time it runs, the heap the
// recording holds and the process's RSS growth.
func BenchmarkRecord8People2Speakers(b *testing.B) {
	loops := callLoops(b)
	dir := b.TempDir()
	runtime.GC()
	rssBefore := rss()

	r, clock, t0 := start(b, filepath.Join(dir, "bench.webm"), nil)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	wall0 := time.Now()

	steps := int64(b.N) * int64(time.Second/slotDur)
	play(r, clock, t0, loops, steps)

	wall := time.Since(wall0)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	rssGrowth := rss() - rssBefore
	live := heapAlloc()
	res, err := r.Stop()
	if err != nil || res.Err != nil || res.Dropped > 0 {
		b.Fatalf("stop: %v, recording: %v, dropped %d", err, res.Err, res.Dropped)
	}
	r = nil
	held := live - heapAlloc() // what the recording held, now let go

	recorded := time.Duration(b.N) * time.Second
	b.ReportMetric(float64(wall.Nanoseconds())/float64(steps), "ns/step")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(steps), "cpu-ns/step")
	b.ReportMetric(100*cpu.Seconds()/recorded.Seconds(), "%core")
	// How many such recordings one core keeps up with in real time: the
	// seconds recorded per second of CPU.
	b.ReportMetric(recorded.Seconds()/cpu.Seconds(), "recordings/core")
	b.ReportMetric(recorded.Seconds()/wall.Seconds(), "x-realtime")
	b.ReportMetric(float64(held)/(1<<20), "MB-heap")
	b.ReportMetric(float64(rssGrowth)/(1<<20), "MB-rss")
	if b.N > 1 {
		b.Logf("%v recorded into %d bytes (%.0f kbit/s)", recorded, res.Size, float64(res.Size)*8/recorded.Seconds()/1000)
	}
}

// concurrentRecordings is how many calls BenchmarkRecord8People2SpeakersConcurrent
// records at once.
const concurrentRecordings = 32

// BenchmarkRecord8People2SpeakersConcurrent records concurrentRecordings
// such calls at once, each on its own goroutine, as a server recording that
// many calls would. Run with -cpu 1, recordings/core is how many one core
// keeps up with in real time when they share it (their garbage collection
// and caches included), from the process's CPU per second recorded, and
// recordings-kept-up how many it did keep up with, from the wall clock (less
// on a machine others share). MB-heap-each is the live heap per recording,
// the test's copy of the call's packets included. One op is one second of
// every call.
func BenchmarkRecord8People2SpeakersConcurrent(b *testing.B) {
	base := callLoops(b)
	dir := b.TempDir()
	type rec struct {
		r     *Recorder
		clock *fakeClock
		t0    time.Time
		loops []*loop
	}
	heap0 := heapAlloc()
	recs := make([]rec, concurrentRecordings)
	for i := range recs {
		r, clock, t0 := start(b, filepath.Join(dir, "bench"+strconv.Itoa(i)+".webm"), nil)
		loops := make([]*loop, len(base))
		for j, l := range base {
			loops[j] = l.clone()
		}
		recs[i] = rec{r, clock, t0, loops}
	}
	runtime.GC()
	b.ResetTimer()
	cpu0 := cpuTime()
	wall0 := time.Now()
	steps := int64(b.N) * int64(time.Second/slotDur)
	var wg sync.WaitGroup
	for _, rc := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			play(rc.r, rc.clock, rc.t0, rc.loops, steps)
		}()
	}
	wg.Wait()
	wall := time.Since(wall0)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	held := heapAlloc() - heap0 // the recordings, and their copies of the call's packets
	for _, rc := range recs {
		res, err := rc.r.Stop()
		if err != nil || res.Err != nil || res.Dropped > 0 {
			b.Fatalf("stop: %v, recording: %v, dropped %d", err, res.Err, res.Dropped)
		}
	}
	recorded := time.Duration(b.N) * time.Second * concurrentRecordings
	b.ReportMetric(100*cpu.Seconds()/recorded.Seconds(), "%core-each")
	b.ReportMetric(recorded.Seconds()/cpu.Seconds(), "recordings/core")
	b.ReportMetric(recorded.Seconds()/wall.Seconds(), "recordings-kept-up")
	b.ReportMetric(float64(held)/concurrentRecordings/(1<<20), "MB-heap-each")
}

// callLoops is the tracks of the 8-person call: two tones, six silent
// microphones, eight cameras and a screen share.
func callLoops(b *testing.B) []*loop {
	people := []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"}
	var loops []*loop
	for i, p := range people {
		freq := 0.0
		switch i {
		case 0:
			freq = 440
		case 1:
			freq = 660
		}
		loops = append(loops, newLoop(newTone(b, opusTrack(p, "mic"), freq, 0, time.Hour, false)))
		loops = append(loops, newLoop(padded(newScreen(b, videoTrackInfo(p, "camera", webrtc.MimeTypeVP8), 0, time.Hour), 500_000/8/15)))
	}
	return append(loops, newLoop(padded(newScreen(b, videoTrackInfo("p3", "screen", webrtc.MimeTypeVP8), 0, time.Hour), 1_500_000/8/15)))
}

// clone copies a loop for another recording: its own packets (whose
// headers play rewrites), sharing the payloads, which nothing writes.
func (l *loop) clone() *loop {
	c := *l
	c.d = slices.Clone(l.d)
	for i := range c.d {
		p := *c.d[i].pkt
		c.d[i].pkt = &p
	}
	return &c
}

// play feeds the loops into r for steps mix steps, stepping it every 20 ms
// of its fake clock.
func play(r *Recorder, clock *fakeClock, t0 time.Time, loops []*loop, steps int64) {
	idx := make([]int, len(loops))
	round := make([]int, len(loops))
	for k := int64(0); k < steps; k++ {
		end := time.Duration(k+1) * slotDur
		for i, l := range loops {
			for {
				d := &l.d[idx[i]]
				at := d.at + time.Duration(round[i])*loopLength
				if at >= end {
					break
				}
				h := l.hdr[idx[i]]
				d.pkt.Header.SequenceNumber = h.SequenceNumber + uint16(round[i])*l.seqStep
				d.pkt.Header.Timestamp = h.Timestamp + uint32(round[i])*l.tsStep
				clock.set(t0.Add(at))
				r.WriteRTP(d.track, d.pkt)
				if idx[i]++; idx[i] == len(l.d) {
					idx[i] = 0
					round[i]++
				}
			}
		}
		clock.set(t0.Add(end))
		r.sync()
	}
}

// heapAlloc is the live heap after a collection.
func heapAlloc() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// cpuTime is the CPU the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss is the process's resident memory, from /proc (0 elsewhere).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
