package engine

import (
	"sync"
	"time"
)

// RateLimiter is Robusta's rate limiter: MarkAndTest(operation, key, period) allows an
// operation on a key at most once per period. A refused call does not move the window,
// so a steady stream of events fires once per period, not never. Triggers (rate_limit)
// and actions share one limiter per engine.
type RateLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
	now  func() time.Time
}

// NewRateLimiter returns an empty limiter on the wall clock.
func NewRateLimiter() *RateLimiter {
	return &RateLimiter{last: map[string]time.Time{}, now: time.Now}
}

// MarkAndTest reports whether operation may run for key now; when it may, now is
// recorded as its last run. A period of zero or less always allows.
func (l *RateLimiter) MarkAndTest(operation, key string, period time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	id := operation + "_" + key
	if last, ok := l.last[id]; ok && period > 0 && now.Sub(last) < period {
		return false
	}
	l.last[id] = now
	l.prune(now)
	return true
}

// prune drops marks older than a day once the map grows, so a long watch over many
// short-lived pods does not grow without bound. No Robusta rate limit is near a day.
func (l *RateLimiter) prune(now time.Time) {
	if len(l.last) < 10000 {
		return
	}
	for k, t := range l.last {
		if now.Sub(t) > 24*time.Hour {
			delete(l.last, k)
		}
	}
}
