package triggers

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is on_schedule: fixed_delay_repeat, cron_schedule_repeat or
// dynamic_delay_repeat, tried in that order as pydantic tries the Union (a block
// with two of them is the first). A scheduled playbook is run by the scheduler, not
// matched against events: Matches is always false.
type Schedule struct {
	Kind    string // fixed_delay_repeat, cron_schedule_repeat, dynamic_delay_repeat
	Delay   time.Duration
	Repeat  int // -1: forever
	Cron    cron.Schedule
	Periods []time.Duration
}

func (s *Schedule) Key() string            { return "on_schedule" }
func (s *Schedule) Matches(*Incoming) bool { return false }

// Next is when a job that ran count times, last at last (zero: never), runs next,
// as the runner's scheduler computes it: never sooner than floor from now (the
// runner's INITIAL_SCHEDULE_DELAY_SEC, 120 s), except a new dynamic job's first run,
// which waits its first period. done says the job has run all its runs.
func (s *Schedule) Next(count int, last, now time.Time, floor time.Duration) (at time.Time, done bool) {
	var period time.Duration
	switch s.Kind {
	case "fixed_delay_repeat":
		if s.Repeat != -1 && count >= s.Repeat {
			return time.Time{}, true
		}
		if count == 0 {
			return now.Add(floor), false
		}
		period = s.Delay
	case "dynamic_delay_repeat":
		if count >= len(s.Periods) {
			return time.Time{}, true
		}
		if count == 0 {
			return now.Add(s.Periods[0]), false
		}
		period = s.Periods[count]
	case "cron_schedule_repeat":
		period = s.Cron.Next(now).Sub(now)
	}
	var lastUnix time.Time
	if !last.IsZero() {
		lastUnix = last
	} else {
		lastUnix = time.Unix(0, 0)
	}
	delay := lastUnix.Add(period).Sub(now)
	if delay < floor {
		delay = floor
	}
	return now.Add(delay), false
}

func compileSchedule(params map[string]any) (Trigger, error) {
	p := paramReader{key: "on_schedule", m: params}
	s := &Schedule{}
	if m, ok := params["fixed_delay_repeat"].(map[string]any); ok {
		sub := paramReader{key: "on_schedule.fixed_delay_repeat", m: m}
		s.Kind, s.Delay, s.Repeat = "fixed_delay_repeat", time.Duration(sub.int("seconds_delay", -1))*time.Second, sub.int("repeat", -1)
		if s.Delay < 0 {
			return nil, fmt.Errorf("trigger on_schedule: fixed_delay_repeat needs seconds_delay")
		}
		return s, sub.err
	}
	if m, ok := params["cron_schedule_repeat"].(map[string]any); ok {
		sub := paramReader{key: "on_schedule.cron_schedule_repeat", m: m}
		expr := sub.str("cron_expression")
		sched, err := cron.ParseStandard(expr)
		if err != nil {
			return nil, fmt.Errorf("trigger on_schedule: cron_expression %q: %v", expr, err)
		}
		s.Kind, s.Cron = "cron_schedule_repeat", sched
		return s, sub.err
	}
	if m, ok := params["dynamic_delay_repeat"].(map[string]any); ok {
		raw, _ := m["delay_periods"].([]any)
		if len(raw) == 0 {
			return nil, fmt.Errorf("trigger on_schedule: dynamic_delay_repeat needs delay_periods, a list of seconds")
		}
		s.Kind = "dynamic_delay_repeat"
		for _, v := range raw {
			sub := paramReader{key: "on_schedule.dynamic_delay_repeat", m: map[string]any{"delay_periods": v}}
			s.Periods = append(s.Periods, time.Duration(sub.int("delay_periods", 0))*time.Second)
			if sub.err != nil {
				return nil, sub.err
			}
		}
		return s, nil
	}
	return nil, fmt.Errorf("trigger on_schedule: give fixed_delay_repeat, cron_schedule_repeat or dynamic_delay_repeat%s", errSuffix(p.err))
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}
