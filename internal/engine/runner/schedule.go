package runner

import (
	"context"
	"encoding/json"

	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/triggers"
	"github.com/robusta-dev/robusta-go/internal/fileio"
)

// jobState is what the runner keeps per scheduled playbook (in its scheduled-jobs
// ConfigMap; here in a file), so a restart does not reset repeat counts.
type jobState struct {
	Count    int   `json:"exec_count"`
	LastExec int64 `json:"last_exec_time_sec"`
	Done     bool  `json:"done,omitempty"`
}

// Scheduler runs the on_schedule playbooks of a config.
type Scheduler struct {
	// StatePath is the JSON file of job states; empty keeps them in memory.
	StatePath string
	// Floor is the shortest wait between runs (the runner's 120 s).
	Floor time.Duration

	mu     sync.Mutex
	state  map[string]*jobState
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// fixedDelayRepeater is a params type that sets the repeat count of its playbook's
// fixed_delay_repeat when the config loads, as the runner's pre_deploy_func does
// (config_ab_testing: one run per configuration set).
type fixedDelayRepeater interface{ FixedDelayRepeat() int }

// scheduled lists the config's scheduled playbooks. Load has already refused what the
// runner refuses (an on_schedule playbook with more than one trigger or action,
// pre-deploy params it cannot build); the skips below only guard a Config built
// another way.
func scheduled(cfg *Config, logf func(string, ...any)) map[*Playbook]*triggers.Schedule {
	out := map[*Playbook]*triggers.Schedule{}
	ids := map[string]bool{}
	for _, pb := range cfg.Playbooks {
		if ids[pb.ID] {
			// The runner schedules a playbook id once: a second identical playbook
			// is the same job.
			logf("playbook %s: the same definition as an earlier scheduled playbook, so the same schedule (as in the runner)", pb.label())
			continue
		}
		for _, t := range pb.Triggers {
			s, ok := t.(*triggers.Schedule)
			if !ok {
				continue
			}
			if len(pb.Triggers) != 1 || len(pb.Steps) != 1 {
				logf("! playbook %s: a scheduled playbook has exactly one trigger and one action; it is not scheduled", pb.label())
				break
			}
			s, err := preDeploy(s, pb.Steps[0])
			if err != nil {
				logf("! playbook %s: %v; it is not scheduled", pb.label(), err)
				break
			}
			out[pb] = s
			ids[pb.ID] = true
		}
	}
	return out
}

// preDeploy is the schedule a playbook runs on after its action's pre-deploy rewrite:
// a copy with the repeat count the params set, or s itself. The runner builds such
// params when it loads the config, so bad ones fail there, before any run.
func preDeploy(s *triggers.Schedule, step engine.Step) (*triggers.Schedule, error) {
	if s.Kind != "fixed_delay_repeat" || step.Action.NewParams == nil {
		return s, nil
	}
	params := step.Action.NewParams()
	r, ok := params.(fixedDelayRepeater)
	if !ok {
		return s, nil
	}
	if err := engine.Decode(step.Params, params); err != nil {
		return nil, &engine.ParamsError{Action: step.Action.Name, Err: err}
	}
	out := *s
	out.Repeat = r.FixedDelayRepeat()
	return &out, nil
}

func (s *Scheduler) load() {
	s.state = map[string]*jobState{}
	if s.StatePath == "" {
		return
	}
	b, err := fileio.ReadFile(s.StatePath, fileio.MaxInput)
	if err == nil {
		_ = json.Unmarshal(b, &s.state)
	}
}

// save writes the states atomically (a temporary file renamed over the old one).
func (s *Scheduler) save() error {
	if s.StatePath == "" {
		return nil
	}
	b, _ := json.MarshalIndent(s.state, "", "  ")
	if err := os.MkdirAll(filepath.Dir(s.StatePath), 0o700); err != nil {
		return err
	}
	tmp := s.StatePath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.StatePath)
}

// Start (re)schedules the config's scheduled playbooks; fire queues one run, given
// its recurrence: how many runs came before it (0 for the first), as the runner's
// ScheduledExecutionEvent counts them.
func (s *Scheduler) Start(ctx context.Context, cfg *Config, fire func(pb *Playbook, count int), logf func(string, ...any)) {
	s.Stop()
	s.mu.Lock()
	if s.state == nil {
		s.load()
	}
	s.mu.Unlock()
	ctx, s.cancel = context.WithCancel(ctx)
	for pb, sched := range scheduled(cfg, logf) {
		s.wg.Add(1)
		go func(pb *Playbook, sched *triggers.Schedule) {
			defer s.wg.Done()
			s.loop(ctx, pb, sched, fire, logf)
		}(pb, sched)
	}
}

// Stop ends the timers of the running schedule.
func (s *Scheduler) Stop() {
	if s.cancel != nil {
		s.cancel()
		s.wg.Wait()
	}
}

func (s *Scheduler) loop(ctx context.Context, pb *Playbook, sched *triggers.Schedule, fire func(*Playbook, int), logf func(string, ...any)) {
	for {
		s.mu.Lock()
		st := s.state[pb.ID]
		if st == nil && pb.LegacyID != "" && s.state[pb.LegacyID] != nil {
			// A state saved under the id of earlier versions (a digest of the YAML
			// as written) moves to the runner's id, once.
			st = s.state[pb.LegacyID]
			delete(s.state, pb.LegacyID)
			s.state[pb.ID] = st
			if err := s.save(); err != nil {
				logf("! schedule state not saved to %s: %v", s.StatePath, err)
			}
		}
		if st == nil {
			st = &jobState{}
			s.state[pb.ID] = st
		}
		var last time.Time
		if st.LastExec > 0 {
			last = time.Unix(st.LastExec, 0)
		}
		at, done := sched.Next(st.Count, last, time.Now(), s.Floor)
		if done && !st.Done {
			st.Done = true
			_ = s.save()
		}
		s.mu.Unlock()
		if done {
			logf("playbook %s: its schedule is done", pb.label())
			return
		}
		timer := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		s.mu.Lock()
		// The runner hands the run its exec_count before counting it.
		recurrence := st.Count
		st.Count++
		st.LastExec = time.Now().Unix()
		if err := s.save(); err != nil {
			logf("! schedule state not saved to %s: %v", s.StatePath, err)
		}
		s.mu.Unlock()
		fire(pb, recurrence)
	}
}

// scheduledEvent is the event a scheduled playbook's run runs on.
func scheduledEvent(recurrence int) *engine.Event {
	return &engine.Event{Class: "ScheduledExecutionEvent", Recurrence: recurrence}
}
