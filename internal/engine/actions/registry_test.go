package actions

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

// builtIns is what this package must register, written down independently of the
// registrations: each action's event class as Robusta declares it, whether it changes
// the cluster or runs commands in pods, and its required params.
var builtIns = map[string]struct {
	event            string
	mutating, execs  bool
	required         []string
	producingTrigger string // a trigger whose event the action accepts
}{
	"create_finding":                      {event: "ExecutionBaseEvent", required: []string{"title"}, producingTrigger: "on_manual_trigger"},
	"logs_enricher":                       {event: "PodEvent", producingTrigger: "on_pod_update"},
	"pod_events_enricher":                 {event: "PodEvent", producingTrigger: "on_pod_crash_loop"},
	"deployment_events_enricher":          {event: "DeploymentEvent", producingTrigger: "on_deployment_update"},
	"job_events_enricher":                 {event: "JobEvent", producingTrigger: "on_job_failure"},
	"resource_events_enricher":            {event: "KubernetesResourceEvent", producingTrigger: "on_deployment_update"},
	"pod_bash_enricher":                   {event: "PodEvent", execs: true, required: []string{"bash_command"}, producingTrigger: "on_pod_update"},
	"pod_ps":                              {event: "PodEvent", execs: true, producingTrigger: "on_pod_oom_killed"},
	"related_pods":                        {event: "KubernetesResourceEvent", producingTrigger: "on_pod_update"},
	"job_info_enricher":                   {event: "JobEvent", producingTrigger: "on_job_failure"},
	"job_pod_enricher":                    {event: "JobEvent", producingTrigger: "on_job_update"},
	"node_status_enricher":                {event: "NodeEvent", producingTrigger: "on_node_update"},
	"node_running_pods_enricher":          {event: "NodeEvent", producingTrigger: "on_node_update"},
	"node_allocatable_resources_enricher": {event: "NodeEvent", producingTrigger: "on_node_create"},
	"get_resource_yaml":                   {event: "KubernetesResourceEvent", producingTrigger: "on_pod_update"},
	"pod_issue_investigator":              {event: "PodEvent", producingTrigger: "on_pod_crash_loop"},
	"report_crash_loop":                   {event: "PodEvent", producingTrigger: "on_pod_crash_loop"},
	"image_pull_backoff_reporter":         {event: "PodEvent", producingTrigger: "on_image_pull_backoff"},
	"resource_babysitter":                 {event: "KubernetesAnyChangeEvent", producingTrigger: "on_deployment_update"},
	"delete_pod":                          {event: "PodEvent", mutating: true, producingTrigger: "on_pod_update"},
	"rollout_restart":                     {event: "DeploymentEvent", mutating: true, producingTrigger: "on_deployment_update"},
	"template_enricher":                   {event: "KubernetesResourceEvent", producingTrigger: "on_pod_update"},
	"button_enricher":                     {event: "KubernetesResourceEvent", required: []string{"button_text", "button_url"}, producingTrigger: "on_deployment_update"},
	"alert_explanation_enricher":          {event: "PrometheusKubernetesAlert", producingTrigger: "on_prometheus_alert"},
	"alert_definition_enricher":           {event: "PrometheusKubernetesAlert", producingTrigger: "on_prometheus_alert"},
	"echo":                                {event: "ExecutionBaseEvent", required: []string{"message"}, producingTrigger: "on_manual_trigger"},
	"external_video_enricher":             {event: "ExecutionBaseEvent", required: []string{"url"}, producingTrigger: "on_manual_trigger"},
	"report_image_changes":                {event: "KubernetesAnyChangeEvent", producingTrigger: "on_deployment_update"},
	"cordon":                              {event: "NodeEvent", mutating: true, producingTrigger: "on_node_update"},
	"uncordon":                            {event: "NodeEvent", mutating: true, producingTrigger: "on_node_update"},
	"drain":                               {event: "NodeEvent", mutating: true, producingTrigger: "on_node_update"},
	"delete_job":                          {event: "JobEvent", mutating: true, producingTrigger: "on_job_failure"},
	"scale_hpa_callback":                  {event: "HorizontalPodAutoscalerEvent", mutating: true, required: []string{"max_replicas"}, producingTrigger: "on_hpa_update"},
	"restart_named_rollout":               {event: "ExecutionBaseEvent", mutating: true, required: []string{"name", "namespace"}, producingTrigger: "on_manual_trigger"},
	"status_enricher":                     {event: "KubernetesResourceEvent", producingTrigger: "on_deployment_update"},
	"daemonset_status_enricher":           {event: "DaemonSetEvent", producingTrigger: "on_daemonset_update"},
	"deployment_status_enricher":          {event: "DeploymentEvent", producingTrigger: "on_deployment_update"},
	"node_pods_capacity_enricher":         {event: "NodeEvent", producingTrigger: "on_node_update"},
	"pod_evicted_enricher":                {event: "PodEvent", producingTrigger: "on_pod_evicted"},
	"hpa_events_enricher":                 {event: "PrometheusKubernetesAlert", producingTrigger: "on_prometheus_alert"},
	"enrich_pod_with_node_events":         {event: "PodEvent", producingTrigger: "on_pod_update"},
	"event_resource_events":               {event: "EventChangeEvent", producingTrigger: "on_event_create"},
	"fetch_resource_events":               {event: "ExecutionBaseEvent", required: []string{"kind", "name"}, producingTrigger: "on_manual_trigger"},
	"fetch_resource_yaml":                 {event: "ExecutionBaseEvent", required: []string{"kind", "name"}, producingTrigger: "on_manual_trigger"},
	"list_pods":                           {event: "ExecutionBaseEvent", required: []string{"name"}, producingTrigger: "on_manual_trigger"},
	"list_resource_names":                 {event: "ExecutionBaseEvent", required: []string{"kind"}, producingTrigger: "on_manual_trigger"},
	"fetch_crds":                          {event: "ExecutionBaseEvent", producingTrigger: "on_manual_trigger"},
	"event_history":                       {event: "ExecutionBaseEvent", producingTrigger: "on_manual_trigger"},
	"helm_status_enricher":                {event: "HelmReleasesEvent"}, // the validator has no on_helm_release_* triggers yet
	"event_report":                        {event: "EventChangeEvent", producingTrigger: "on_event_create"},
	"create_event_finding":                {event: "EventChangeEvent", required: []string{"aggregation_key"}, producingTrigger: "on_event_create"},
	"warning_events_report":               {event: "EventChangeEvent", required: []string{"warning_event_groups"}, producingTrigger: "on_event_create"},
	"node_health_watcher":                 {event: "NodeChangeEvent", producingTrigger: "on_node_update"},
	"alert_on_hpa_reached_limit":          {event: "HorizontalPodAutoscalerChangeEvent", producingTrigger: "on_hpa_update"},
	"fetch_cr_instances":                  {event: "ExecutionBaseEvent", required: []string{"kind"}, producingTrigger: "on_manual_trigger"},
}

// The registry holds exactly the built-in actions, each as declared above.
func TestBuiltInActions(t *testing.T) {
	var want []string
	for name := range builtIns {
		want = append(want, name)
	}
	sort.Strings(want)
	if got := engine.Names(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("registered:\n%v\nwant:\n%v", got, want)
	}
	for name, exp := range builtIns {
		a, _ := engine.Lookup(name)
		if a.Event != exp.event || a.Mutating != exp.mutating || a.RunsCommands != exp.execs {
			t.Errorf("%s: event %s mutating %v runs commands %v; want %s %v %v", name, a.Event, a.Mutating, a.RunsCommands, exp.event, exp.mutating, exp.execs)
		}
		var required []string
		if a.NewParams != nil {
			for _, p := range engine.Params(a.NewParams()) {
				if p.Required {
					required = append(required, p.Name)
				}
			}
		}
		if strings.Join(required, ",") != strings.Join(exp.required, ",") {
			t.Errorf("%s: required params %v, want %v", name, required, exp.required)
		}
		if a.Doc == "" {
			t.Errorf("%s has no doc", name)
		}
	}
}

// The config validator knows each built-in action by behaviour: a playbook using it
// under a trigger whose event it takes (with its required params) is clean; under a
// scheduled trigger (no object) an object action is an error; without a required
// param it is an error.
func TestValidatorKnowsBuiltInActions(t *testing.T) {
	errorsOf := func(trigger, action string, params map[string]string) []string {
		t.Helper()
		var ps []string
		for k, v := range params {
			ps = append(ps, k+": "+v)
		}
		sort.Strings(ps)
		doc := fmt.Sprintf("customPlaybooks:\n- triggers:\n  - %s: {}\n  actions:\n  - %s: {%s}\n", trigger, action, strings.Join(ps, ", "))
		f, err := pbconfig.Parse("values.yaml", []byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		var out []string
		for _, fd := range pbconfig.Validate(f) {
			out = append(out, fd.Severity+": "+fd.Message)
		}
		return out
	}
	for name, exp := range builtIns {
		if exp.producingTrigger == "" {
			continue
		}
		params := map[string]string{}
		for _, p := range exp.required {
			params[p] = "3" // a valid string and a valid number
		}
		if a, ok := engine.Lookup(name); ok && a.NewParams != nil {
			for _, p := range engine.Params(a.NewParams()) {
				if p.Required && strings.HasPrefix(p.Type, "list") {
					params[p.Name] = "[]" // a valid list
				}
			}
		}
		if got := errorsOf(exp.producingTrigger, name, params); len(got) != 0 {
			t.Errorf("%s under %s: %v", name, exp.producingTrigger, got)
		}
		if exp.event != "ExecutionBaseEvent" {
			got := strings.Join(errorsOf("on_schedule", name, params), "\n")
			if !strings.Contains(got, "error: action "+name+" needs a "+exp.event) {
				t.Errorf("%s under on_schedule: %q", name, got)
			}
		}
		for _, p := range exp.required {
			got := strings.Join(errorsOf(exp.producingTrigger, name, nil), "\n")
			if !strings.Contains(got, "error: action "+name+" needs parameter "+p) {
				t.Errorf("%s without %s: %q", name, p, got)
			}
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
  - job_pod_enricher: {included_types: [Warning]}
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
