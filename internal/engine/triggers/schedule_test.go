package triggers

import (
	"context"
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	floor := 120 * time.Second
	compile := func(y string) *Schedule {
		t.Helper()
		tr, err := Compile(context.Background(), "on_schedule", params(t, y))
		if err != nil {
			t.Fatal(err)
		}
		return tr.(*Schedule)
	}
	fixed := compile("{fixed_delay_repeat: {seconds_delay: 600, repeat: 2}}")
	dyn := compile("{dynamic_delay_repeat: {delay_periods: [30, 3600]}}")
	cronS := compile("{cron_schedule_repeat: {cron_expression: '0 12 * * *'}}")
	both := compile("{fixed_delay_repeat: {seconds_delay: 5}, cron_schedule_repeat: {cron_expression: '* * * * *'}}")
	cases := []struct {
		name  string
		s     *Schedule
		count int
		last  time.Time
		want  time.Duration // after now; -1: done
	}{
		{"fixed, new: the floor", fixed, 0, time.Time{}, floor},
		{"fixed, ran 1 s ago: its period", fixed, 1, now.Add(-time.Second), 599 * time.Second},
		{"fixed, period over long ago: the floor", fixed, 1, now.Add(-time.Hour), floor},
		{"fixed, repeat reached", fixed, 2, now, -1},
		{"dynamic, new: its first period, no floor", dyn, 0, time.Time{}, 30 * time.Second},
		{"dynamic, second period", dyn, 1, now, time.Hour},
		{"dynamic, all periods run", dyn, 2, now, -1},
		{"cron, never run: the floor, not the cron time", cronS, 0, time.Time{}, floor},
		{"cron, ran just now: the next noon", cronS, 1, now, 2 * time.Hour},
		{"fixed and cron given: fixed wins, repeat forever", both, 100, now, floor},
	}
	for _, c := range cases {
		at, done := c.s.Next(c.count, c.last, now, floor)
		if c.want == -1 {
			if !done {
				t.Errorf("%s: not done", c.name)
			}
			continue
		}
		if done || at.Sub(now) != c.want {
			t.Errorf("%s: in %v (done %v), want %v", c.name, at.Sub(now), done, c.want)
		}
	}
	if _, err := Compile(context.Background(), "on_schedule", params(t, "{cron_schedule_repeat: {cron_expression: 'every day'}}")); err == nil {
		t.Error("a bad cron expression compiled")
	}
}
