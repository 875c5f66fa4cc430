package loadtest

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts durations in microseconds: exact below 64 µs, then 32
// buckets per doubling (about 3 % wide) up to more than a day. Adding is
// one atomic increment, so every receiving goroutine of a participant can
// share one without a lock.
type histogram struct {
	counts [histBuckets]atomic.Uint64
}

const (
	histSub     = 32 // buckets per doubling
	histExact   = 2 * histSub
	histBuckets = histExact + 32*histSub
)

func histIndex(us uint64) int {
	if us < histExact {
		return int(us)
	}
	shift := bits.Len64(us) - 6 // leaves the top 6 bits: 32..63
	i := histExact + (shift-1)*histSub + int(us>>shift) - histSub
	return min(i, histBuckets-1)
}

// histValue is the middle of bucket i, in microseconds.
func histValue(i int) float64 {
	if i < histExact {
		return float64(i)
	}
	shift := (i-histExact)/histSub + 1
	m := uint64((i-histExact)%histSub + histSub)
	lo := m << shift
	return float64(lo) + float64(uint64(1)<<shift)/2
}

func (h *histogram) add(d time.Duration) {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	h.counts[histIndex(uint64(us))].Add(1)
}

// merge adds h's counts into dst (a plain array, for reporting).
func (h *histogram) merge(dst *[histBuckets]uint64) {
	for i := range h.counts {
		dst[i] += h.counts[i].Load()
	}
}

// Percentiles are latencies in milliseconds.
type Percentiles struct {
	Samples uint64  `json:"samples"`
	P50     float64 `json:"p50_ms"`
	P95     float64 `json:"p95_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
}

func percentiles(c *[histBuckets]uint64) Percentiles {
	var total uint64
	last := 0
	for i, n := range c {
		total += n
		if n > 0 {
			last = i
		}
	}
	p := Percentiles{Samples: total}
	if total == 0 {
		return p
	}
	at := func(q float64) float64 {
		rank := uint64(q*float64(total-1)) + 1
		var seen uint64
		for i, n := range c {
			seen += n
			if seen >= rank {
				return histValue(i) / 1000
			}
		}
		return histValue(last) / 1000
	}
	p.P50, p.P95, p.P99, p.Max = at(0.50), at(0.95), at(0.99), histValue(last)/1000
	return p
}
