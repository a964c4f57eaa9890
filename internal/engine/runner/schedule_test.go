package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine/triggers"
)

const abPlaybook = `customPlaybooks:
- name: ab
  triggers:
  - on_schedule:
      %s
  actions:
  - config_ab_testing:
      grafana_api_key: k
      grafana_dashboard_uid: d
      kind: Deployment
      name: web
      configuration_sets:
      - {config_set_name: a, config_items: {"spec.template.spec.containers[0].image": "nginx:1"}}
      - {config_set_name: b, config_items: {"spec.template.spec.containers[0].image": "nginx:2"}}
      - {config_set_name: c}
`

// At load, config_ab_testing's fixed_delay_repeat runs once per configuration set,
// whatever repeat says (the runner's pre_deploy_func); other schedules and actions
// keep theirs, and the loaded trigger itself is left as written.
func TestSchedulePreDeploy(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		repeat     int
		periods    int
	}{
		{"repeat replaced", fmt.Sprintf(abPlaybook, "fixed_delay_repeat: {seconds_delay: 60, repeat: 7}"), 3, 0},
		{"forever replaced", fmt.Sprintf(abPlaybook, "fixed_delay_repeat: {seconds_delay: 60}"), 3, 0},
		{"dynamic kept", fmt.Sprintf(abPlaybook, "dynamic_delay_repeat: {delay_periods: [60, 120]}"), 0, 2},
		{"other action kept", `customPlaybooks:
- triggers:
  - on_schedule: {fixed_delay_repeat: {seconds_delay: 60, repeat: 7}}
  actions:
  - create_finding: {title: t}
`, 7, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := load(t, tc.yaml)
			got := scheduled(cfg, t.Logf)
			if len(got) != 1 {
				t.Fatalf("scheduled %v", got)
			}
			for pb, s := range got {
				if s.Repeat != tc.repeat || len(s.Periods) != tc.periods {
					t.Errorf("schedule %+v, want repeat %d", s, tc.repeat)
				}
				written := pb.Triggers[0].(*triggers.Schedule)
				if tc.repeat == 3 && written.Repeat == 3 {
					t.Error("the loaded trigger was changed in place")
				}
			}
		})
	}
}

// Each run gets its recurrence, counted from 0 and kept in the state file: a
// restart goes on from the saved count, and the schedule ends after the last set.
func TestScheduleRecurrence(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	cfg := load(t, fmt.Sprintf(abPlaybook, "fixed_delay_repeat: {seconds_delay: 0, repeat: 10}"))
	id := cfg.Playbooks[0].ID
	// Run 0 happened before a restart.
	if err := os.WriteFile(state, []byte(fmt.Sprintf(`{%q: {"exec_count": 1, "last_exec_time_sec": 1}}`, id)), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []int
	done := make(chan struct{})
	s := &Scheduler{StatePath: state, Floor: 10 * time.Millisecond}
	s.Start(context.Background(), cfg, func(pb *Playbook, recurrence int) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, recurrence)
	}, func(f string, a ...any) {
		if strings.Contains(f, "its schedule is done") {
			close(done)
		}
	})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the schedule did not end")
	}
	s.Stop()
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != "[1 2]" {
		t.Errorf("recurrences %v, want [1 2] (run 0 was before the restart; three sets)", got)
	}
	b, _ := os.ReadFile(state)
	if !strings.Contains(string(b), `"exec_count": 3`) || !strings.Contains(string(b), `"done": true`) {
		t.Errorf("state %s", b)
	}
	if ev := scheduledEvent(2); ev.Class != "ScheduledExecutionEvent" || ev.Recurrence != 2 {
		t.Errorf("event %+v", ev)
	}
}

// Two identical scheduled playbooks have one id, and the runner schedules an id once.
func TestScheduleIdenticalPlaybooksOnce(t *testing.T) {
	cfg := load(t, `customPlaybooks:
- name: a
  triggers: [{on_schedule: {fixed_delay_repeat: {seconds_delay: 60}}}]
  actions: [{create_finding: {title: t}}]
- name: b
  triggers: [{on_schedule: {fixed_delay_repeat: {seconds_delay: 60}}}]
  actions: [{create_finding: {title: t}}]
- name: c
  triggers: [{on_schedule: {fixed_delay_repeat: {seconds_delay: 61}}}]
  actions: [{create_finding: {title: t}}]
`)
	var logs []string
	got := scheduled(cfg, func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) })
	var names []string
	for pb := range got {
		names = append(names, pb.Name)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "a,c" || len(logs) != 1 || !strings.Contains(logs[0], "playbook b") {
		t.Errorf("scheduled %v, logs %q", names, logs)
	}
}
