package config

import (
	"strings"
	"testing"
)

const sample = `sinksConfig:
- slack_sink:
    name: main_slack_sink
    api_key: x
customPlaybooks:
- name: images
  triggers:
  - on_deployment_update: {name_prefix: web}
  actions:
  - resource_babysitter:
      fields_to_monitor: ["spec.replicas"]
  sinks: [main_slack_sink]
- triggers:
  - on_pod_updat: {}
  actions:
  - my_custom_action: {}
- name: images
  triggers:
  - on_prometheus_alert: {alert_name: HighCPU}
  actions:
  - resource_babysitter: {}
  - logs_enricher:
      tail: lots
  sinks: [main_slak_sink]
- triggers:
  - on_pod_crash_loop: {restart_reason: CrashLoopBackOff, restart_count: "5", colour: red}
  actions:
  - create_finding: {aggregation_key: k, extra: 1}
  - pod_bash_enricher: {}
- actions: []
`

func TestValidateFindings(t *testing.T) {
	f, err := Parse("values.yaml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	got := Validate(f)
	want := []string{
		`values.yaml:14: error: unknown trigger "on_pod_updat": did you mean "on_pod_update"? (customPlaybooks[1].triggers[0])`,
		`values.yaml:16: warning: unknown action "my_custom_action": fine if it comes from a playbook repository you load (customPlaybooks[1].actions[0])`,
		`values.yaml:17: error: two playbooks are named "images" (the first is customPlaybooks[0]): names must be unique (customPlaybooks[2].name)`,
		`values.yaml:21: error: action resource_babysitter needs a KubernetesAnyChangeEvent, but trigger on_prometheus_alert gives a PrometheusKubernetesAlert: it compares an old and a new object, so it needs a change trigger such as on_deployment_update (customPlaybooks[2].actions[0])`,
		`values.yaml:23: error: action logs_enricher parameter tail must be a whole number, got "lots" (customPlaybooks[2].actions[1].logs_enricher.tail)`,
		`values.yaml:24: error: sink "main_slak_sink" is not defined in sinksConfig: did you mean "main_slack_sink"? (customPlaybooks[2].sinks[0])`,
		`values.yaml:26: error: trigger on_pod_crash_loop has no parameter "colour": allowed are labels_selector, name_prefix, namespace_prefix, rate_limit, restart_count, restart_reason, scope, change_filters (customPlaybooks[3].triggers[0].on_pod_crash_loop.colour)`,
		`values.yaml:28: error: action create_finding has no parameter "extra": allowed are aggregation_key, description, severity, title (customPlaybooks[3].actions[0].create_finding.extra)`,
		`values.yaml:28: error: action create_finding needs parameter title (customPlaybooks[3].actions[0].create_finding)`,
		`values.yaml:29: error: action pod_bash_enricher needs parameter bash_command (customPlaybooks[3].actions[1].pod_bash_enricher)`,
		`values.yaml:30: error: the playbook has no triggers: add a list such as triggers: [{on_pod_update: {}}] (customPlaybooks[4].triggers)`,
		`values.yaml:30: error: the playbook has no actions: add a list such as actions: [{create_finding: {title: ...}}] (customPlaybooks[4].actions)`,
	}
	var lines []string
	for _, g := range got {
		lines = append(lines, g.String())
	}
	// allowed-parameter lists are sorted; fix the expectation's order once here.
	want[6] = `values.yaml:26: error: trigger on_pod_crash_loop has no parameter "colour": allowed are change_filters, labels_selector, name_prefix, namespace_prefix, rate_limit, restart_count, restart_reason, scope (customPlaybooks[3].triggers[0].on_pod_crash_loop.colour)`
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\n\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if !HasErrors(got) {
		t.Fatal("HasErrors")
	}
}

func TestValidateActivePlaybooksAndClean(t *testing.T) {
	f, err := Parse("active_playbooks.yaml", []byte(`playbook_repos: {}
sinks_config:
- robusta_sink: {name: robusta_ui_sink, token: t}
active_playbooks:
- triggers:
  - on_job_failure: {}
  actions:
  - create_finding: {title: "Job Failed", aggregation_key: job_failure}
  - job_info_enricher: {}
  sinks: [robusta_ui_sink]
- triggers:
  - on_pod_oom_killed: {rate_limit: 3600}
  actions:
  - logs_enricher: {tail: "100", previous: "true"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != FormatActive {
		t.Fatal(f.Format)
	}
	if got := Validate(f); len(got) != 0 {
		t.Fatalf("clean file has findings: %v", got)
	}
	if pbs := f.Playbooks(false); len(pbs) != 2 || pbs[0].Triggers[0] != "on_job_failure" || pbs[0].Sinks[0] != "robusta_ui_sink" {
		t.Fatalf("%+v", pbs)
	}
}

func TestFits(t *testing.T) {
	cases := []struct {
		produced, wanted string
		fits             bool
	}{
		{"PodChangeEvent", "PodEvent", true},
		{"PodChangeEvent", "KubernetesAnyChangeEvent", true},
		{"PrometheusKubernetesAlert", "PodEvent", true},
		{"PrometheusKubernetesAlert", "NodeEvent", true},
		{"PrometheusKubernetesAlert", "PodChangeEvent", false},
		{"PodEvent", "PodChangeEvent", false},
		{"PodEvent", "DeploymentEvent", false},
		{"JobEvent", "ExecutionBaseEvent", true},
		{"ScheduledExecutionEvent", "PodEvent", false},
	}
	for _, tc := range cases {
		if Fits(tc.produced, tc.wanted) != tc.fits {
			t.Errorf("Fits(%s, %s) != %v", tc.produced, tc.wanted, tc.fits)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"- a list", "key: [unclosed", "\t tab: x"} {
		if _, err := Parse("x.yaml", []byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseValidate(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("active_playbooks: [{triggers: [x], actions: [[1]]}]"))
	f.Add([]byte("customPlaybooks: {a: 1}\nsinksConfig: 3"))
	f.Add([]byte("b: &b {triggers: [x]}\ncustomPlaybooks: [{<<: [*b, {actions: []}], name: n}]\nx: *b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.yaml", data)
		if err != nil {
			return
		}
		_ = Validate(file)
		_ = file.Playbooks(true)
	})
}
