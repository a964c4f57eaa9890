package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// abBadParams is a config_ab_testing playbook without its kind: the runner builds its
// params while loading (the pre-deploy rewrite) and refuses the whole config.
const abBadParams = `- name: ab
  triggers:
  - on_schedule: {fixed_delay_repeat: {seconds_delay: 60}}
  actions:
  - config_ab_testing:
      name: web
      grafana_api_key: gk
      grafana_dashboard_uid: ab
      configuration_sets: [{config_set_name: one}]
`

// TestLocalWatchRefusesAsTheRunner: a config the runner refuses at load (a
// config_ab_testing playbook with bad params, an action it does not have, an
// {{ env.NAME }} param whose variable is not set) stops the
// watch at start with one line naming the playbook, the action and the param; other
// actions' bad params are the runner's run-time errors and do not stop it.
func TestLocalWatchRefusesAsTheRunner(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	dir := t.TempDir()
	for _, tc := range []struct {
		name, playbooks string
		want            []string
	}{
		{"config_ab_testing without kind", abBadParams, []string{"config_ab_testing", "kind", "customPlaybooks[0]"}},
		{"unknown action", `- name: typo
  triggers: [{on_pod_create: {}}]
  actions: [{create_findng: {title: t}}]
`, []string{"playbook 1 (typo)", "action create_findng not found"}},
		{"unset environment variable", `- name: env
  triggers: [{on_pod_create: {}}]
  actions: [{create_finding: {title: "{{ env.H38_E2E_UNSET }}"}}]
`, []string{"playbook 1 (env)", "create_finding", "param title", "H38_E2E_UNSET"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			writeText(t, values, "customPlaybooks:\n"+tc.playbooks)
			r := run(t, env, "local", "watch", "-f", values, "--schedule-state", filepath.Join(dir, "state.json"))
			if r.code == 0 {
				t.Fatalf("a config the runner refuses ran:\n%s", r)
			}
			var errLines []string
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				if strings.HasPrefix(l, "Error:") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 || strings.Contains(r.stderr, "goroutine ") {
				t.Fatalf("want one error line:\n%s", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(errLines[0], w) {
					t.Errorf("error %q does not name %q", errLines[0], w)
				}
			}
		})
	}
}

// TestLocalWatchReloadKeepsConfig: a reload (POST /api/playbooks/reload, after the
// file gained a config_ab_testing playbook with bad params) is refused with the reason,
// and the running scheduled playbook keeps firing.
func TestLocalWatchReloadKeepsConfig(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	dir := t.TempDir()
	sink := filepath.Join(dir, "findings.jsonl")
	values := filepath.Join(dir, "values.yaml")
	good := `sinksConfig:
- file_sink: {name: out, file_name: ` + sink + `}
customPlaybooks:
- name: tick
  triggers: [{on_schedule: {fixed_delay_repeat: {seconds_delay: 1}}}]
  actions: [{create_finding: {title: tick, aggregation_key: tick}}]
`
	writeText(t, values, good)
	w := startWatch(t, env, "-f", values, "--listen", "127.0.0.1:0", "--schedule-floor", "0", "--schedule-state", filepath.Join(dir, "state.json"))
	addr, token := watchAPI(t, w)
	waitFindings(t, sink, 1)
	writeText(t, values, good+abBadParams)
	out := reloadWatch(t, addr, token)
	if strings.Contains(out, `"success":true`) || !strings.Contains(out, "config_ab_testing") {
		t.Fatalf("reload of a refused config: %s", out)
	}
	w.waitLog(t, "reload refused, the running config stays")
	before := len(sinkFindings(t, sink))
	got := waitFindings(t, sink, before+2)
	for _, f := range got {
		if f.Title != "tick" {
			t.Errorf("finding %q", f.Title)
		}
	}
	if _, e := w.output(); !strings.Contains(e, "kind") {
		t.Errorf("the refusal does not name the param:\n%s", e)
	}
	if code := w.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestLocalWatchScheduleStateSurvivesReformatting: a finished schedule stays finished
// after a restart with the same playbook written differently (block style, comments,
// key order, a name, defaults written out): its id is the runner's, taken from the
// definition as the runner holds it after loading.
func TestLocalWatchScheduleStateSurvivesReformatting(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	dir := t.TempDir()
	sink := filepath.Join(dir, "findings.jsonl")
	state := filepath.Join(dir, "state.json")
	values := filepath.Join(dir, "values.yaml")
	writeText(t, values, `sinksConfig:
- file_sink: {name: out, file_name: `+sink+`}
customPlaybooks:
- triggers: [{on_schedule: {fixed_delay_repeat: {seconds_delay: 1, repeat: 2}}}]
  actions: [{create_finding: {title: twice, aggregation_key: twice}}]
`)
	w := startWatch(t, env, "-f", values, "--schedule-floor", "0", "--schedule-state", state)
	w.waitLog(t, "its schedule is done")
	if code := w.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if n := len(waitFindings(t, sink, 2)); n != 2 {
		t.Fatalf("%d findings, want 2", n)
	}
	writeText(t, values, `# the same playbook, written another way
sinksConfig:
- file_sink:
    file_name: `+sink+`
    name: out
customPlaybooks:
- name: twice        # names are not part of the id
  actions:
  - create_finding:
      aggregation_key: twice
      title: twice
  triggers:
  - on_schedule:
      fixed_delay_repeat:
        repeat: 2
        seconds_delay: 1
  sinks: [out]       # the default sink, which the runner fills in anyway
  stop: false        # the default
`)
	w = startWatch(t, env, "-f", values, "--schedule-floor", "0", "--schedule-state", state)
	w.waitLog(t, "its schedule is done")
	time.Sleep(2 * time.Second)
	if code := w.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if n := len(sinkFindings(t, sink)); n != 2 {
		t.Errorf("%d findings after the restart, want still 2 (the schedule was done)", n)
	}
}
