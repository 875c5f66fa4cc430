package limiter

import (
	"testing"
	"time"
)

func TestBurstThenRefill(t *testing.T) {
	clock := time.Unix(1000, 0)
	l := New(3, 10*time.Second, func() time.Time { return clock })
	for i := range 3 {
		if ok, _ := l.Allow("ip"); !ok {
			t.Fatalf("request %d refused inside the burst", i)
		}
	}
	ok, wait := l.Allow("ip")
	if ok || wait != 10*time.Second {
		t.Fatalf("4th request: ok=%v wait=%v, want refused for 10s", ok, wait)
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("another key was limited")
	}
	if blocked, _ := l.Blocked("ip"); !blocked {
		t.Fatal("Blocked = false on an empty bucket")
	}
	clock = clock.Add(10 * time.Second)
	if ok, _ := l.Allow("ip"); !ok {
		t.Fatal("not refilled after 10s")
	}
	clock = clock.Add(time.Hour)
	l.Allow("x") // triggers a sweep
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets kept after sweep, want 1", len(l.buckets))
	}
}
