package turn

import (
	"sync"
	"time"

	"github.com/pion/stun"
)

// quotas counts allocations per user and in all. A slot is reserved when
// an Allocate request is let through to pion and released when the
// request fails or the allocation's relay socket closes, so concurrent
// requests can never overshoot a quota.
type quotas struct {
	userMax, totalMax int

	mu      sync.Mutex
	perUser map[string]int
	total   int
}

func newQuotas(userMax, totalMax int) *quotas {
	return &quotas{userMax: userMax, totalMax: totalMax, perUser: make(map[string]int)}
}

// reserve takes a slot for user, or returns the STUN error code to refuse
// the Allocate with: 508 Insufficient Capacity when the server is full,
// 486 Allocation Quota Reached when this user is.
func (q *quotas) reserve(user string) (ok bool, code stun.ErrorCode) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.total >= q.totalMax {
		return false, stun.CodeInsufficientCapacity
	}
	if q.perUser[user] >= q.userMax {
		return false, stun.CodeAllocQuotaReached
	}
	q.perUser[user]++
	q.total++
	return true, 0
}

func (q *quotas) release(user string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n := q.perUser[user]; n > 1 {
		q.perUser[user] = n - 1
	} else {
		delete(q.perUser, user)
	}
	q.total--
}

func (q *quotas) inUse() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.total
}

// logLimiter lets one log line per key through per interval, so a client
// hammering a quota or a forbidden peer cannot flood the log.
type logLimiter struct {
	every time.Duration

	mu   sync.Mutex
	last map[string]time.Time
}

func (l *logLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = make(map[string]time.Time)
	}
	if t, ok := l.last[key]; ok && now.Sub(t) < l.every {
		return false
	}
	if len(l.last) >= 4096 {
		for k, t := range l.last {
			if now.Sub(t) >= l.every {
				delete(l.last, k)
			}
		}
	}
	l.last[key] = now
	return true
}
