package engine

import (
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	clock := time.Unix(1000, 0)
	l := NewRateLimiter()
	l.now = func() time.Time { return clock }
	step := func(d time.Duration) { clock = clock.Add(d) }
	steps := []struct {
		advance   time.Duration
		op, key   string
		period    time.Duration
		wantAllow bool
	}{
		{0, "crash", "default/web", time.Minute, true},
		{10 * time.Second, "crash", "default/web", time.Minute, false},
		{0, "crash", "default/api", time.Minute, true},                 // another key
		{0, "oom", "default/web", time.Minute, true},                   // another operation
		{49 * time.Second, "crash", "default/web", time.Minute, false}, // 59 s after the mark
		// A refusal does not move the window: 60 s after the first mark it fires again.
		{1 * time.Second, "crash", "default/web", time.Minute, true},
		{0, "crash", "default/web", 0, true}, // no period, no limit
	}
	for i, s := range steps {
		step(s.advance)
		if got := l.MarkAndTest(s.op, s.key, s.period); got != s.wantAllow {
			t.Fatalf("step %d (%s %s): got %v, want %v", i, s.op, s.key, got, s.wantAllow)
		}
	}
}
