package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/utils/clock"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// ScheduledEvent is the event class of scheduled runs (an ExecutionBaseEvent).
const ScheduledEvent = "ScheduledExecutionEvent"

// DefaultScheduleFloor is the runner's shortest wait before any scheduled run
// (INITIAL_SCHEDULE_DELAY_SEC): it exists so that an old and a new runner overlapping
// during an upgrade do not both run a new job. A single local watch may lower it.
const DefaultScheduleFloor = 120 * time.Second

type scheduleKind int

const (
	fixedDelay scheduleKind = iota
	dynamicDelay
	cronSchedule
)

// scheduleTrigger is on_schedule with exactly one of its three forms.
type scheduleTrigger struct {
	kind    scheduleKind
	repeat  int           // fixed: runs in all, -1 forever
	delay   time.Duration // fixed: between runs
	periods []time.Duration
	expr    string
	cron    cron.Schedule
}

var scheduleForms = []string{"fixed_delay_repeat", "dynamic_delay_repeat", "cron_schedule_repeat"}

func compileSchedule(params map[string]any) (Trigger, error) {
	fail := func(format string, args ...any) (Trigger, error) {
		return nil, fmt.Errorf("trigger on_schedule: "+format, args...)
	}
	if len(params) != 1 {
		return fail("give exactly one of %v", scheduleForms)
	}
	t := &scheduleTrigger{}
	for key, v := range params {
		m, ok := v.(map[string]any)
		if !ok {
			return fail("%s must be a mapping", key)
		}
		switch key {
		case "fixed_delay_repeat":
			var p struct {
				Repeat int `param:"repeat" default:"-1"`
				Delay  int `param:"seconds_delay" required:"true"`
			}
			if err := engine.Decode(m, &p); err != nil {
				return fail("%s: %w", key, err)
			}
			if p.Delay < 0 {
				return fail("%s: seconds_delay must not be negative", key)
			}
			t.kind, t.repeat, t.delay = fixedDelay, p.Repeat, time.Duration(p.Delay)*time.Second
		case "dynamic_delay_repeat":
			var p struct {
				Periods []int `param:"delay_periods" required:"true"`
			}
			if err := engine.Decode(m, &p); err != nil {
				return fail("%s: %w", key, err)
			}
			if len(p.Periods) == 0 {
				// The runner would fail on its first run; refuse it at load instead.
				return fail("%s: delay_periods needs at least one period", key)
			}
			t.kind = dynamicDelay
			for _, s := range p.Periods {
				t.periods = append(t.periods, time.Duration(s)*time.Second)
			}
		case "cron_schedule_repeat":
			var p struct {
				Expr string `param:"cron_expression" required:"true"`
			}
			if err := engine.Decode(m, &p); err != nil {
				return fail("%s: %w", key, err)
			}
			s, err := cron.ParseStandard(p.Expr)
			if err != nil {
				return fail("%s: cron_expression %q: %v (want five fields: minute hour day month weekday)", key, p.Expr, err)
			}
			t.kind, t.expr, t.cron = cronSchedule, p.Expr, s
		default:
			return fail("unknown form %q: allowed are %v", key, scheduleForms)
		}
	}
	return t, nil
}

func (t *scheduleTrigger) Key() string { return "on_schedule" }

// Matches is true for scheduled events; the runner hands each one only to the
// playbook it names (Incoming.Playbook).
func (t *scheduleTrigger) Matches(in *Incoming) bool {
	return in != nil && in.Event != nil && in.Event.Class == ScheduledEvent && in.Helm == nil
}

// CheckScheduledPlaybook is the runner's rule for scheduled playbooks: one trigger
// (on_schedule) and one action, so a job is one action on a timer.
func CheckScheduledPlaybook(triggers, actions int) error {
	if triggers != 1 || actions != 1 {
		return fmt.Errorf("a playbook with on_schedule must have exactly one trigger and one action (it has %d triggers and %d actions): split it into one playbook per action", triggers, actions)
	}
	return nil
}

// ScheduleEntry is one scheduled playbook as the runner loaded it.
type ScheduleEntry struct {
	// Playbook is the playbook's index in the runner's loaded order.
	Playbook int
	// ID is stable for the playbook's content: a reload that keeps the playbook keeps
	// its job and state; a changed playbook is a new job.
	ID      string
	Trigger Trigger
}

// Job states, as the runner keeps them.
const (
	jobNew     = "new"
	jobRunning = "running"
	jobDone    = "done"
)

type jobState struct {
	ExecCount int    `json:"exec_count"`
	Status    string `json:"status"`
	// LastExec is the last run, in Unix seconds (the runner rounds to seconds).
	LastExec int64 `json:"last_exec_time_sec"`
}

type job struct {
	entry ScheduleEntry
	trig  *scheduleTrigger
	due   time.Time
}

// Scheduler is the Source of scheduled events: it runs each on_schedule playbook's
// timer with the runner's timing and keeps run counts in a JSON file, so a restart
// neither resets a repeat count nor reruns a finished job.
type Scheduler struct {
	// StatePath is the JSON file of job states; empty keeps them in memory only.
	StatePath string
	// Floor is the shortest wait before a run (see DefaultScheduleFloor).
	Floor time.Duration
	Clock clock.WithTicker
	// Logf, when set, gets one line per scheduling decision.
	Logf func(format string, args ...any)

	mu      sync.Mutex
	loaded  bool
	loadErr error
	states  map[string]*jobState
	jobs    map[string]*job
	changed chan struct{}
}

// NewScheduler returns a scheduler with the runner's floor and the real clock.
func NewScheduler(statePath string) *Scheduler {
	return &Scheduler{StatePath: statePath, Floor: DefaultScheduleFloor, Clock: clock.RealClock{}}
}

func (s *Scheduler) Name() string { return "scheduler" }

func (s *Scheduler) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// init loads the state file once; callers hold mu.
func (s *Scheduler) init() error {
	if s.loaded {
		return s.loadErr
	}
	s.loaded = true
	s.jobs = map[string]*job{}
	s.states = map[string]*jobState{}
	s.changed = make(chan struct{}, 1)
	if s.Clock == nil {
		s.Clock = clock.RealClock{}
	}
	if s.StatePath == "" {
		return nil
	}
	b, err := os.ReadFile(s.StatePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		s.loadErr = fmt.Errorf("reading the schedule state: %w", err)
		return s.loadErr
	}
	var file struct {
		Jobs map[string]*jobState `json:"jobs"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		s.loadErr = fmt.Errorf("the schedule state %s is not valid JSON (%v): fix or delete it (deleting restarts every repeat count)", s.StatePath, err)
		return s.loadErr
	}
	for id, st := range file.Jobs {
		if st != nil {
			s.states[id] = st
		}
	}
	return nil
}

// save writes the states atomically (a temporary file renamed over the old one), so
// a crash mid-write leaves the previous state; callers hold mu.
func (s *Scheduler) save() error {
	if s.StatePath == "" {
		return nil
	}
	b, err := json.MarshalIndent(map[string]any{"jobs": s.states}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.StatePath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving the schedule state: %w", err)
	}
	f, err := os.CreateTemp(dir, ".schedule-state-*")
	if err != nil {
		return fmt.Errorf("saving the schedule state: %w", err)
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("saving the schedule state: %w", err)
	}
	if err := os.Rename(f.Name(), s.StatePath); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("saving the schedule state: %w", err)
	}
	return nil
}

// Update replaces the scheduled playbooks after a (re)load, as the runner does: jobs
// of playbooks that are gone are dropped with their state; jobs already scheduled
// keep their timer; new ones start from their saved state, and a job that finished
// its repeats stays finished.
func (s *Scheduler) Update(entries []ScheduleEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.init(); err != nil {
		s.logf("schedule: %v", err)
		return
	}
	keep := map[string]bool{}
	for _, e := range entries {
		keep[e.ID] = true
	}
	for id := range s.jobs {
		if !keep[id] {
			s.logf("schedule: unscheduling %s, its playbook is gone", id)
			delete(s.jobs, id)
		}
	}
	for id := range s.states {
		if !keep[id] {
			delete(s.states, id)
		}
	}
	now := s.Clock.Now()
	for _, e := range entries {
		st, ok := e.Trigger.(*scheduleTrigger)
		if !ok {
			s.logf("schedule: playbook %d: %s is not on_schedule, skipped", e.Playbook, e.ID)
			continue
		}
		if j := s.jobs[e.ID]; j != nil {
			j.entry.Playbook = e.Playbook
			continue
		}
		state := s.states[e.ID]
		if state == nil {
			state = &jobState{Status: jobNew}
			s.states[e.ID] = state
		}
		if state.Status == jobDone {
			s.logf("schedule: %s already ran %d times and is done", e.ID, state.ExecCount)
			continue
		}
		j := &job{entry: e, trig: st}
		j.due = now.Add(s.nextDelay(st, state, now))
		s.jobs[e.ID] = j
		s.logf("schedule: %s (playbook %d) runs in %s", e.ID, e.Playbook, j.due.Sub(now).Round(time.Second))
	}
	if err := s.save(); err != nil {
		s.logf("schedule: %v", err)
	}
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// nextDelay is the runner's wait before a job's next run: the first run of a fixed
// delay job waits the floor and of a dynamic one its first period; later runs wait
// their period (or until the cron expression's next time) counted from the last run,
// and never less than the floor.
func (s *Scheduler) nextDelay(t *scheduleTrigger, st *jobState, now time.Time) time.Duration {
	if t.kind != cronSchedule && st.Status == jobNew {
		if t.kind == dynamicDelay {
			return t.periods[0]
		}
		return s.Floor
	}
	var next time.Duration
	switch t.kind {
	case dynamicDelay:
		next = t.periods[min(st.ExecCount, len(t.periods)-1)]
	case cronSchedule:
		next = t.cron.Next(now).Sub(now)
	default:
		next = t.delay
	}
	d := time.Unix(st.LastExec, 0).Add(next).Sub(now.Truncate(time.Second))
	return max(d, s.Floor)
}

func (t *scheduleTrigger) done(st *jobState) bool {
	switch t.kind {
	case dynamicDelay:
		return st.ExecCount >= len(t.periods)
	case cronSchedule:
		return false
	}
	return t.repeat != -1 && st.ExecCount >= t.repeat
}

// Run emits one event per due job until ctx ends. A run that the runner's queue drops
// still counts, as a run that fails does in the runner.
func (s *Scheduler) Run(ctx context.Context, emit func(*Incoming) bool) error {
	s.mu.Lock()
	err := s.init()
	changed := s.changed
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for {
		s.mu.Lock()
		var first *job
		for _, j := range s.jobs {
			if first == nil || j.due.Before(first.due) || (j.due.Equal(first.due) && j.entry.ID < first.entry.ID) {
				first = j
			}
		}
		now := s.Clock.Now()
		if first != nil && !first.due.After(now) {
			s.fire(first, now, emit)
			s.mu.Unlock()
			continue
		}
		s.mu.Unlock()
		var timerC <-chan time.Time
		var timer clock.Timer
		if first != nil {
			timer = s.Clock.NewTimer(first.due.Sub(now))
			timerC = timer.C()
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case <-changed:
		case <-timerC:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// fire emits j's event and moves it on; callers hold mu.
func (s *Scheduler) fire(j *job, now time.Time, emit func(*Incoming) bool) {
	st := s.states[j.entry.ID]
	if st.Status == jobNew {
		st.Status = jobRunning
	}
	st.LastExec = now.Round(time.Second).Unix()
	if !emit(&Incoming{Playbook: j.entry.Playbook, Event: &engine.Event{Class: ScheduledEvent}, Received: now}) {
		s.logf("schedule: run %d of %s dropped: the queue is full", st.ExecCount+1, j.entry.ID)
	}
	st.ExecCount++
	if j.trig.done(st) {
		st.Status = jobDone
		delete(s.jobs, j.entry.ID)
		s.logf("schedule: %s is done after %d runs", j.entry.ID, st.ExecCount)
	} else {
		j.due = now.Add(s.nextDelay(j.trig, st, now))
	}
	if err := s.save(); err != nil {
		s.logf("schedule: %v", err)
	}
}

// ScheduledIDs lists the scheduled jobs, for status output and tests.
func (s *Scheduler) ScheduledIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.jobs))
	for id := range s.jobs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
