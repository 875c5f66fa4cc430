// Package limiter is a keyed token-bucket rate limiter for logins, posts and
// other requests that a client may not make without bound.
package limiter

import (
	"math"
	"sync"
	"time"
)

// Limiter holds one token bucket per key (an IP, a user id). Buckets that
// have refilled completely are forgotten, so memory follows active keys only.
type Limiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter allowing burst requests at once and one more every
// per. now is the clock (nil: time.Now); tests pass a fake one.
func New(burst int, per time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: 1 / per.Seconds(), burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// Allow takes one token for key. When none is left it returns false and how
// long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, l.wait(b)
}

// Blocked reports, without taking a token, whether key has none left.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key)
	if b.tokens >= 1 {
		return false, 0
	}
	return true, l.wait(b)
}

func (l *Limiter) wait(b *bucket) time.Duration {
	secs := (1 - b.tokens) / l.rate
	return time.Duration(math.Ceil(secs)) * time.Second
}

func (l *Limiter) refill(key string) *bucket {
	t := l.now()
	if t.Sub(l.swept) > time.Minute {
		l.sweep(t)
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: t}
		l.buckets[key] = b
		return b
	}
	b.tokens = math.Min(l.burst, b.tokens+t.Sub(b.last).Seconds()*l.rate)
	b.last = t
	return b
}

func (l *Limiter) sweep(t time.Time) {
	l.swept = t
	for k, b := range l.buckets {
		if b.tokens+t.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}
