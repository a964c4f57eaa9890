package actions

import (
	"fmt"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

// The actions the issue asks for, all registered, each with an event class that is in
// Robusta's hierarchy and parameters the validator's catalogue knows.
func TestBuiltInActions(t *testing.T) {
	want := []string{"create_finding", "logs_enricher", "pod_events_enricher", "deployment_events_enricher",
		"job_events_enricher", "resource_events_enricher", "pod_bash_enricher", "pod_ps", "related_pods",
		"job_info_enricher", "job_pod_enricher", "node_status_enricher", "node_running_pods_enricher",
		"node_allocatable_resources_enricher", "get_resource_yaml", "pod_issue_investigator", "report_crash_loop",
		"image_pull_backoff_reporter", "resource_babysitter", "delete_pod", "rollout_restart"}
	for _, name := range want {
		a, ok := engine.Lookup(name)
		if !ok {
			t.Errorf("%s is not registered", name)
			continue
		}
		if !pbconfig.Fits(a.Event, "ExecutionBaseEvent") {
			t.Errorf("%s takes %s, which is not in the event hierarchy", name, a.Event)
		}
		if _, ok := pbconfig.Actions[name]; !ok {
			t.Errorf("%s is missing from the validator's catalogue", name)
		}
	}
}

// The validator checks playbooks against the engine's own action definitions: their
// enums and required params, with line numbers; params Robusta has beyond the
// engine's stay allowed.
func TestValidatorUsesEngineDefinitions(t *testing.T) {
	f, err := pbconfig.Parse("values.yaml", []byte(`customPlaybooks:
- triggers:
  - on_pod_crash_loop: {}
  actions:
  - create_finding: {title: crash, severity: CRITICAL}
  - job_pod_enricher: {events_type: Warning}
  - logs_enricher: {warn_on_missing_label: true, tail: "20"}
  - pod_bash_enricher: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fd := range pbconfig.Validate(f) {
		got = append(got, fmt.Sprintf("%d %s: %s", fd.Line, fd.Severity, fd.Message))
	}
	want := []string{
		"5 error: action create_finding parameter severity must be one of HIGH, MEDIUM, LOW, INFO, DEBUG, got \"CRITICAL\"",
		"6 error: action job_pod_enricher needs a JobEvent, but trigger on_pod_crash_loop gives a PodEvent",
		"8 error: action pod_bash_enricher needs parameter bash_command",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
