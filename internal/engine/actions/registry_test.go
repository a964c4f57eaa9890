package actions

import (
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
		cat, ok := pbconfig.Actions[name]
		if !ok {
			t.Errorf("%s is missing from the validator's catalogue", name)
			continue
		}
		if cat.Event != a.Event {
			t.Errorf("%s: engine takes %s, catalogue says %s", name, a.Event, cat.Event)
		}
		if a.NewParams == nil {
			continue
		}
		for _, p := range engine.Params(a.NewParams()) {
			if _, ok := cat.Params[p.Name]; !ok {
				t.Errorf("%s: param %s is missing from the catalogue", name, p.Name)
			}
		}
	}
}
