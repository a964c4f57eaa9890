package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The ids below were computed by hand with the runner's rule (python3: md5 of
// ".".join(trigger.json()) + ".".join(func_hash + PlaybookAction.json()) +
// f"{sinks}" + str(stop), json.dumps defaults), the function hash standing in as the
// action's name, globalConfig merged into the params after cluster_name, the default
// sinks filled in, config_ab_testing's repeat rewritten.
func TestPlaybookIDFollowsTheRunner(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"scheduled, default sinks, global merged", `clusterName: dev
globalConfig:
  prometheus_url: http://p:9090
sinksConfig:
- file_sink: {name: out, file_name: /dev/null}
- file_sink: {name: quiet, file_name: /dev/null, default: false}
customPlaybooks:
- name: nightly
  triggers:
  - on_schedule:
      fixed_delay_repeat: {seconds_delay: 300, repeat: 3}
  actions:
  - create_finding:
      title: nightly check
      aggregation_key: nightly
`, "c7ff04f3e3ff0c6f18d5b247ca82773e"},
		{"config_ab_testing, repeat rewritten, own sinks, stop", `clusterName: dev
globalConfig: {prometheus_url: "http://p:9090"}
sinksConfig:
- file_sink: {name: out, file_name: /dev/null}
- file_sink: {name: "o'k", file_name: /dev/null}
customPlaybooks:
- triggers:
  - on_schedule: {fixed_delay_repeat: {seconds_delay: 60, repeat: 99}}
  actions:
  - config_ab_testing:
      name: web
      kind: Deployment
      grafana_dashboard_uid: ab
      grafana_api_key: gk
      configuration_sets:
      - {config_set_name: one, config_items: {spec.replicas: "2"}}
      - {config_set_name: two}
  sinks: [out, "o'k"]
  stop: true
`, "07a223c944828528f9d2904972ea0287"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := load(t, tc.yaml)
			if got := cfg.Playbooks[0].ID; got != tc.want {
				t.Errorf("id %s, want %s", got, tc.want)
			}
		})
	}
}

// The id is a function of the parsed definition: layout, comments, flow or block
// style, key order and the playbook's name leave it alone; a param, a default sink,
// globalConfig or stop change it, as they change the runner's.
func TestPlaybookIDStable(t *testing.T) {
	pb := func(y string) string {
		t.Helper()
		return load(t, y).Playbooks[0].ID
	}
	ref := pb(`sinksConfig:
- file_sink: {name: out, file_name: /dev/null}
customPlaybooks:
- triggers:
  - on_pod_create: {name_prefix: web, namespace_prefix: prod}
  actions:
  - create_finding: {title: t, aggregation_key: k}
`)
	for _, tc := range []struct {
		name, yaml string
		same       bool
	}{
		{"block style, comments, key order, a name", `# the same playbook
sinksConfig:
- file_sink:
    file_name: /dev/null
    name: out
customPlaybooks:
- name: renamed   # not part of the definition
  actions:
  - create_finding:
      aggregation_key: k   # key order
      title: t
  triggers:
  - on_pod_create:
      namespace_prefix: prod
      name_prefix: web
`, true},
		{"a default written out", `sinksConfig:
- file_sink: {name: out, file_name: /dev/null}
customPlaybooks:
- triggers:
  - on_pod_create: {name_prefix: web, namespace_prefix: prod, labels_selector: null}
  actions:
  - create_finding: {title: t, aggregation_key: k}
  stop: false
`, true},
		{"the default sink named", `sinksConfig:
- file_sink: {name: out, file_name: /dev/null}
customPlaybooks:
- triggers:
  - on_pod_create: {name_prefix: web, namespace_prefix: prod}
  actions:
  - create_finding: {title: t, aggregation_key: k}
  sinks: [out]
`, true},
		{"a param", `sinksConfig:
- file_sink: {name: out, file_name: /dev/null}
customPlaybooks:
- triggers:
  - on_pod_create: {name_prefix: web, namespace_prefix: prod}
  actions:
  - create_finding: {title: t2, aggregation_key: k}
`, false},
		{"another default sink", `sinksConfig:
- file_sink: {name: out2, file_name: /dev/null}
customPlaybooks:
- triggers:
  - on_pod_create: {name_prefix: web, namespace_prefix: prod}
  actions:
  - create_finding: {title: t, aggregation_key: k}
`, false},
		{"globalConfig", `globalConfig: {account_id: a}
sinksConfig:
- file_sink: {name: out, file_name: /dev/null}
customPlaybooks:
- triggers:
  - on_pod_create: {name_prefix: web, namespace_prefix: prod}
  actions:
  - create_finding: {title: t, aggregation_key: k}
`, false},
		{"stop", `sinksConfig:
- file_sink: {name: out, file_name: /dev/null}
customPlaybooks:
- triggers:
  - on_pod_create: {name_prefix: web, namespace_prefix: prod}
  actions:
  - create_finding: {title: t, aggregation_key: k}
  stop: true
`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pb(tc.yaml); (got == ref) != tc.same {
				t.Errorf("id %s, reference %s, want same=%v", got, ref, tc.same)
			}
		})
	}
}

// Python's float repr and json.dumps string escapes, which the id's input is written in.
func TestPyJSON(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{pyFloat(1), "1.0"},
		{pyFloat(0.5), "0.5"},
		{pyFloat(1e16), "1e+16"},
		{pyFloat(1e15), "1000000000000000.0"},
		{pyFloat(0.0001), "0.0001"},
		{pyFloat(0.00001), "1e-05"},
		{pyFloat(1.5e-7), "1.5e-07"},
		{float64(3), "3"},
		{"é\"\\\n\x01😀<", `"\u00e9\"\\\n\u0001\ud83d\ude00<"`},
		{map[string]any{"b": []any{true, nil}, "a": int64(1)}, `{"a": 1, "b": [true, null]}`},
	} {
		var b strings.Builder
		pyJSON(&b, tc.in)
		if b.String() != tc.want {
			t.Errorf("%#v: %s, want %s", tc.in, b.String(), tc.want)
		}
	}
	if got := pyListRepr([]string{"a", "o'k", `q"'`}); got != `['a', "o'k", 'q"\'']` {
		t.Errorf("list repr %s", got)
	}
}

// A state saved under the old id (a digest of the YAML as written) is moved to the
// runner's id on the first start: the restart goes on from its count.
func TestScheduleStateMigrates(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	cfg := load(t, fmt.Sprintf(abPlaybook, "fixed_delay_repeat: {seconds_delay: 0}"))
	pb := cfg.Playbooks[0]
	if pb.LegacyID == "" || pb.LegacyID == pb.ID {
		t.Fatalf("ids %q %q", pb.ID, pb.LegacyID)
	}
	if err := os.WriteFile(state, []byte(fmt.Sprintf(`{%q: {"exec_count": 2, "last_exec_time_sec": 1}}`, pb.LegacyID)), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []int
	done := make(chan struct{})
	s := &Scheduler{StatePath: state, Floor: time.Millisecond}
	s.Start(context.Background(), cfg, func(_ *Playbook, recurrence int) {
		mu.Lock()
		got = append(got, recurrence)
		mu.Unlock()
	}, func(f string, _ ...any) {
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
	if fmt.Sprint(got) != "[2]" {
		t.Errorf("recurrences %v, want [2]: two of three sets ran before the restart", got)
	}
	b, _ := os.ReadFile(state)
	var saved map[string]jobState
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	if _, old := saved[pb.LegacyID]; old || saved[pb.ID].Count != 3 {
		t.Errorf("state %s", b)
	}
}
