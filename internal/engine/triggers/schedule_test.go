package triggers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func mustSchedule(t *testing.T, params map[string]any) Trigger {
	t.Helper()
	tr, err := Compile(context.Background(), "on_schedule", params)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestScheduleBadParams(t *testing.T) {
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{}, "exactly one of"},
		{map[string]any{"fixed_delay_repeat": map[string]any{"seconds_delay": 1}, "cron_schedule_repeat": map[string]any{"cron_expression": "* * * * *"}}, "exactly one of"},
		{map[string]any{"weekly": map[string]any{}}, `unknown form "weekly"`},
		{map[string]any{"fixed_delay_repeat": map[string]any{"repeat": 2}}, `missing required parameter "seconds_delay"`},
		{map[string]any{"fixed_delay_repeat": "x"}, "must be a mapping"},
		{map[string]any{"dynamic_delay_repeat": map[string]any{"delay_periods": []any{}}}, "at least one period"},
		{map[string]any{"cron_schedule_repeat": map[string]any{"cron_expression": "every day"}}, "five fields"},
	} {
		_, err := Compile(context.Background(), "on_schedule", tc.params)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.params, err, tc.want)
		}
	}
	if CheckScheduledPlaybook(1, 2) == nil || CheckScheduledPlaybook(1, 1) != nil {
		t.Error("CheckScheduledPlaybook: the rule is one trigger and one action")
	}
}

// recorder collects emitted events.
type recorder struct {
	mu   sync.Mutex
	got  []*Incoming
	when []time.Time
}

func (r *recorder) emit(in *Incoming) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, in)
	r.when = append(r.when, in.Received)
	return true
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// harness runs a Scheduler on a fake clock.
type harness struct {
	t      *testing.T
	clk    *clocktesting.FakeClock
	s      *Scheduler
	rec    *recorder
	cancel func()
	done   chan error
}

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

func startScheduler(t *testing.T, path string, floor time.Duration, clk *clocktesting.FakeClock, entries []ScheduleEntry) *harness {
	h := &harness{t: t, clk: clk, rec: &recorder{}, done: make(chan error, 1)}
	h.s = &Scheduler{StatePath: path, Floor: floor, Clock: clk}
	h.s.Update(entries)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.s.Run(ctx, h.rec.emit) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	if h.cancel != nil {
		h.cancel()
		<-h.done
		h.cancel = nil
	}
}

// waitIdle waits until Run sleeps on a timer with no job due (or has no job left).
func (h *harness) waitIdle() {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.s.mu.Lock()
		due := false
		for _, j := range h.s.jobs {
			due = due || !j.due.After(h.clk.Now())
		}
		n := len(h.s.jobs)
		h.s.mu.Unlock()
		if !due && (n == 0 || h.clk.HasWaiters()) {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatal("the scheduler never goes idle")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(2 * time.Millisecond)
}

// step advances the clock by d, stopping at each due time so timers fire in order.
func (h *harness) step(d time.Duration) {
	end := h.clk.Now().Add(d)
	for {
		h.waitIdle()
		next := end
		h.s.mu.Lock()
		for _, j := range h.s.jobs {
			if j.due.Before(next) {
				next = j.due
			}
		}
		h.s.mu.Unlock()
		if !next.After(h.clk.Now()) {
			return
		}
		h.clk.SetTime(next)
	}
}

func offsets(r *recorder) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for _, w := range r.when {
		out = append(out, w.Sub(t0))
	}
	return out
}

func TestSchedulerTiming(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params map[string]any
		floor  time.Duration
		run    time.Duration
		want   []time.Duration
	}{
		{"fixed: first run after the floor, then every delay, repeat times", map[string]any{"fixed_delay_repeat": map[string]any{"repeat": 3, "seconds_delay": 300}}, 120 * time.Second, 2000 * time.Second,
			[]time.Duration{120 * time.Second, 420 * time.Second, 720 * time.Second}},
		{"fixed: the floor lengthens short delays", map[string]any{"fixed_delay_repeat": map[string]any{"repeat": 2, "seconds_delay": 10}}, 120 * time.Second, 600 * time.Second,
			[]time.Duration{120 * time.Second, 240 * time.Second}},
		{"fixed with floor 0", map[string]any{"fixed_delay_repeat": map[string]any{"repeat": 3, "seconds_delay": 10}}, 0, 100 * time.Second,
			[]time.Duration{0, 10 * time.Second, 20 * time.Second}},
		{"dynamic: first period without the floor, then each period, last one ends it", map[string]any{"dynamic_delay_repeat": map[string]any{"delay_periods": []any{30, 200, 400}}}, 120 * time.Second, 2000 * time.Second,
			[]time.Duration{30 * time.Second, 230 * time.Second, 630 * time.Second}},
		{"cron: first run at the floor, then on the expression", map[string]any{"cron_schedule_repeat": map[string]any{"cron_expression": "*/5 * * * *"}}, 120 * time.Second, 900 * time.Second,
			[]time.Duration{120 * time.Second, 300 * time.Second, 600 * time.Second, 900 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(t0)
			h := startScheduler(t, "", tc.floor, clk, []ScheduleEntry{{Playbook: 4, ID: "pb", Trigger: mustSchedule(t, tc.params)}})
			h.step(tc.run)
			got := offsets(h.rec)
			if len(got) != len(tc.want) {
				t.Fatalf("runs at %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("runs at %v, want %v", got, tc.want)
				}
			}
			in := h.rec.got[0]
			if in.Playbook != 4 || in.Event == nil || in.Event.Class != ScheduledEvent || !in.Event.Yields("ExecutionBaseEvent") {
				t.Fatalf("event %+v", in)
			}
			if !mustSchedule(t, tc.params).Matches(in) {
				t.Fatal("on_schedule does not match its own event")
			}
		})
	}
}

func TestSchedulerStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "schedule.json")
	tr := mustSchedule(t, map[string]any{"fixed_delay_repeat": map[string]any{"repeat": 3, "seconds_delay": 60}})
	entries := []ScheduleEntry{{Playbook: 0, ID: "job-a", Trigger: tr}}
	clk := clocktesting.NewFakeClock(t0)
	h := startScheduler(t, path, 0, clk, entries)
	h.step(70 * time.Second) // runs at 0 and 60
	h.stop()
	if n := h.rec.count(); n != 2 {
		t.Fatalf("%d runs before the restart, want 2", n)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), `"exec_count": 2`) {
		t.Fatalf("state file %s (%v)", b, err)
	}

	// A restart 10 s later: the third run is due 60 s after the second, not again at 0.
	clk.Step(10 * time.Second)
	h2 := startScheduler(t, path, 0, clk, entries)
	h2.step(200 * time.Second)
	h2.stop()
	got := offsets(h2.rec)
	if len(got) != 1 || got[0] != 120*time.Second {
		t.Fatalf("after restart runs at %v, want one at 120s", got)
	}
	// Done: a third start runs nothing.
	h3 := startScheduler(t, path, 0, clk, entries)
	h3.step(300 * time.Second)
	if n := h3.rec.count(); n != 0 || len(h3.s.ScheduledIDs()) != 0 {
		t.Fatalf("a finished job ran %d more times", n)
	}
}

func TestSchedulerUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schedule.json")
	every := mustSchedule(t, map[string]any{"fixed_delay_repeat": map[string]any{"seconds_delay": 10}})
	clk := clocktesting.NewFakeClock(t0)
	h := startScheduler(t, path, 0, clk, []ScheduleEntry{{Playbook: 0, ID: "a", Trigger: every}})
	h.step(15 * time.Second)
	// Reload: a stays (now playbook 1) and keeps its timer, b is new.
	h.s.Update([]ScheduleEntry{{Playbook: 1, ID: "a", Trigger: every}, {Playbook: 0, ID: "b", Trigger: every}})
	h.step(9 * time.Second)
	h.rec.mu.Lock()
	var byPlaybook [2]int
	for _, in := range h.rec.got {
		byPlaybook[in.Playbook]++
	}
	h.rec.mu.Unlock()
	if byPlaybook[0] != 2+1 || byPlaybook[1] != 1 {
		t.Fatalf("runs per playbook %v: want a twice as playbook 0, then once as 1; b once as 0", byPlaybook)
	}
	// Reload without a: it stops and its state goes.
	h.s.Update([]ScheduleEntry{{Playbook: 0, ID: "b", Trigger: every}})
	if ids := h.s.ScheduledIDs(); len(ids) != 1 || ids[0] != "b" {
		t.Fatalf("scheduled %v", ids)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), `"a"`) {
		t.Fatalf("state of a removed playbook kept: %s", b)
	}
}

func TestSchedulerBadState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schedule.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Scheduler{StatePath: path, Clock: clocktesting.NewFakeClock(t0)}
	err := s.Run(context.Background(), func(*Incoming) bool { return true })
	if err == nil || !strings.Contains(err.Error(), "not valid JSON") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err %v", err)
	}
}
