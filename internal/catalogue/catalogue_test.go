package catalogue

import (
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The counts are the ones verified against the source at RobustaCommit: 154 @action
// functions plus logs_enricher (registered by a call), the 100 fields of Trigger, the 24
// SinkConfigBase wrappers (23 sink types; slack_sink_preview is a second key for slack),
// and ExecutionBaseEvent with its 46 subclasses. A change means upstream moved: review the
// regenerated data, then update the numbers.
func TestCounts(t *testing.T) {
	for _, tc := range []struct {
		what      string
		got, want int
	}{
		{"actions", len(Actions()), 155},
		{"triggers", len(Triggers()), 100},
		{"sinks", len(Sinks()), 24},
		{"event classes", len(events), 47},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d, want %d", tc.what, tc.got, tc.want)
		}
	}
}

func TestRobustaCommit(t *testing.T) {
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(RobustaCommit) {
		t.Errorf("RobustaCommit = %q, want a full commit hash", RobustaCommit)
	}
}

// The lookups are maps built from the slices: a duplicate would hide an entry, and the
// listing functions promise sorted output.
func TestNamesUniqueAndSorted(t *testing.T) {
	lists := map[string][]string{}
	for _, a := range actions {
		lists["actions"] = append(lists["actions"], a.Name)
	}
	for _, tr := range triggers {
		lists["triggers"] = append(lists["triggers"], tr.Key)
	}
	for _, s := range sinks {
		lists["sinks"] = append(lists["sinks"], s.Key)
	}
	for _, m := range models {
		lists["models"] = append(lists["models"], m.Name)
	}
	for _, e := range events {
		lists["events"] = append(lists["events"], e.Name)
	}
	for what, names := range lists {
		if !sort.StringsAreSorted(names) {
			t.Errorf("%s are not sorted", what)
		}
		seen := map[string]bool{}
		for _, n := range names {
			if n == "" {
				t.Errorf("%s: empty name", what)
			}
			if seen[n] {
				t.Errorf("%s: %s twice", what, n)
			}
			seen[n] = true
		}
	}
	for _, m := range models {
		seen := map[string]bool{}
		for _, p := range m.Params {
			if seen[p.Name] {
				t.Errorf("model %s: param %s twice", m.Name, p.Name)
			}
			seen[p.Name] = true
		}
	}
}

func checkType(t *testing.T, where string, ty Type) {
	t.Helper()
	switch ty.Kind {
	case String, Int, Float, Bool, DateTime, Any:
		if ty.Elem != nil || ty.Model != "" || ty.Options != nil {
			t.Errorf("%s: %s type with Elem, Model or Options", where, ty.Kind)
		}
	case List, Map:
		if ty.Elem == nil {
			t.Errorf("%s: %s without Elem", where, ty.Kind)
			return
		}
		checkType(t, where, *ty.Elem)
	case Object:
		if _, ok := LookupModel(ty.Model); !ok {
			t.Errorf("%s: model %q not in the catalogue", where, ty.Model)
		}
	case Union:
		if len(ty.Options) < 2 {
			t.Errorf("%s: union of %d options", where, len(ty.Options))
		}
		for _, o := range ty.Options {
			checkType(t, where, o)
		}
	default:
		t.Errorf("%s: unknown kind %q", where, ty.Kind)
	}
}

// Every reference resolves: params models of actions, triggers and sinks, nested object
// models, event classes and their bases.
func TestReferencesResolve(t *testing.T) {
	for _, a := range Actions() {
		if a.Params != "" {
			if _, ok := LookupModel(a.Params); !ok {
				t.Errorf("action %s: params model %q not in the catalogue", a.Name, a.Params)
			}
		}
		if !KnownEvent(a.Event) {
			t.Errorf("action %s: unknown event class %q", a.Name, a.Event)
		}
		if a.Source == "" {
			t.Errorf("action %s: no source", a.Name)
		}
	}
	for _, tr := range Triggers() {
		if _, ok := LookupModel(tr.Params); !ok {
			t.Errorf("trigger %s: params model %q not in the catalogue", tr.Key, tr.Params)
		}
		if !KnownEvent(tr.Event) {
			t.Errorf("trigger %s: unknown event class %q", tr.Key, tr.Event)
		}
	}
	for _, s := range Sinks() {
		m, ok := LookupModel(s.Params)
		if !ok {
			t.Errorf("sink %s: params model %q not in the catalogue", s.Key, s.Params)
			continue
		}
		// every sink carries the common sink params (SinkBaseParams; the source at
		// RobustaCommit has no send_resolved)
		for _, common := range []string{"name", "scope", "match", "default", "stop", "activity", "grouping"} {
			if !hasParam(m, common) {
				t.Errorf("sink %s: no common param %s", s.Key, common)
			}
		}
	}
	for _, m := range models {
		for _, p := range m.Params {
			checkType(t, m.Name+"."+p.Name, p.Type)
		}
	}
	for _, e := range events {
		for _, b := range e.Bases {
			if !KnownEvent(b) {
				t.Errorf("event %s: unknown base %q", e.Name, b)
			}
		}
	}
}

func hasParam(m *Model, name string) bool {
	for _, p := range m.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}

func param(t *testing.T, model, name string) Param {
	t.Helper()
	m, ok := LookupModel(model)
	if !ok {
		t.Fatalf("model %s not in the catalogue", model)
	}
	for _, p := range m.Params {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("model %s has no param %s", model, name)
	return Param{}
}

func paramNames(ps []Param) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// IsSubclass must answer as Python's issubclass over the source's classes, including the
// multiple inheritance of PrometheusKubernetesAlert and the XChangeEvent classes
// (ROBUSTA-CATALOGUE §3.2).
func TestIsSubclassMatrix(t *testing.T) {
	for _, tc := range []struct {
		sub, base string
		want      bool
	}{
		{"ExecutionBaseEvent", "ExecutionBaseEvent", true},
		{"PodEvent", "ExecutionBaseEvent", true},
		{"PodEvent", "KubernetesResourceEvent", true},
		{"PodChangeEvent", "PodEvent", true},
		{"PodChangeEvent", "KubernetesAnyChangeEvent", true},
		{"PodChangeEvent", "K8sBaseChangeEvent", true},
		{"PodChangeEvent", "KubernetesResourceEvent", true},
		{"PodChangeEvent", "NodeEvent", false},
		{"KubernetesAnyChangeEvent", "KubernetesResourceEvent", false},
		{"KubernetesAnyChangeEvent", "ExecutionBaseEvent", true},
		{"KubernetesResourceEvent", "KubernetesAnyChangeEvent", false},
		{"PrometheusKubernetesAlert", "PodEvent", true},
		{"PrometheusKubernetesAlert", "NodeEvent", true},
		{"PrometheusKubernetesAlert", "DeploymentEvent", true},
		{"PrometheusKubernetesAlert", "JobEvent", true},
		{"PrometheusKubernetesAlert", "DaemonSetEvent", true},
		{"PrometheusKubernetesAlert", "StatefulSetEvent", true},
		{"PrometheusKubernetesAlert", "HorizontalPodAutoscalerEvent", true},
		{"PrometheusKubernetesAlert", "KubernetesResourceEvent", true},
		{"PrometheusKubernetesAlert", "ExecutionBaseEvent", true},
		{"PrometheusKubernetesAlert", "KubernetesAnyChangeEvent", false},
		{"PrometheusKubernetesAlert", "PodChangeEvent", false},
		{"PrometheusKubernetesAlert", "PersistentVolumeEvent", false},
		{"PodEvent", "PrometheusKubernetesAlert", false},
		{"ScheduledExecutionEvent", "ExecutionBaseEvent", true},
		{"ScheduledExecutionEvent", "KubernetesResourceEvent", false},
		{"HelmReleasesEvent", "ExecutionBaseEvent", true},
		{"HelmReleasesEvent", "KubernetesAnyChangeEvent", false},
		{"EventChangeEvent", "EventEvent", true},
		{"HorizontalPodAutoscalerChangeEvent", "HorizontalPodAutoscalerEvent", true},
		{"PersistentVolumeClaimChangeEvent", "PersistentVolumeEvent", false},
		{"ExecutionBaseEvent", "PodEvent", false},
		{"NoSuchEvent", "ExecutionBaseEvent", false},
	} {
		if got := IsSubclass(tc.sub, tc.base); got != tc.want {
			t.Errorf("IsSubclass(%s, %s) = %v, want %v", tc.sub, tc.base, got, tc.want)
		}
	}
}

// The compatible-trigger counts of ROBUSTA-CATALOGUE §3.2.
func TestTriggersFor(t *testing.T) {
	for _, tc := range []struct {
		event string
		want  int
	}{
		{"ExecutionBaseEvent", 100},
		{"KubernetesAnyChangeEvent", 95}, // 84 generated K8s triggers + 11 custom
		{"KubernetesResourceEvent", 91},  // 80 per-kind + 10 custom + on_prometheus_alert
		{"PodEvent", 10},                 // on_pod_* + 5 custom pod triggers + on_prometheus_alert
		{"EventChangeEvent", 8},          // on_event_* + on_kubernetes_warning_event*
		{"HorizontalPodAutoscalerChangeEvent", 4},
		{"PrometheusKubernetesAlert", 1},
		{"ScheduledExecutionEvent", 1},
		{"HelmReleasesEvent", 3},
	} {
		if got := TriggersFor(tc.event); len(got) != tc.want {
			t.Errorf("TriggersFor(%s): %d triggers, want %d: %v", tc.event, len(got), tc.want, got)
		}
	}
	// status_enricher (KubernetesResourceEvent) does not fit the any-resource triggers
	for _, key := range TriggersFor("KubernetesResourceEvent") {
		if strings.HasPrefix(key, "on_kubernetes_any_resource_") || key == "on_kubernetes_resource_operation" {
			t.Errorf("TriggersFor(KubernetesResourceEvent) includes %s", key)
		}
	}
}

func TestActionSpotChecks(t *testing.T) {
	a, ok := LookupAction("logs_enricher")
	if !ok {
		t.Fatal("logs_enricher missing")
	}
	if a.Event != "PodEvent" || a.Params != "LogEnricherParams" || !strings.HasPrefix(a.Source, "src/robusta/core/playbooks/oom_killer_utils.py:") {
		t.Errorf("logs_enricher = %+v", *a)
	}
	wantLog := []string{"container_name", "warn_on_missing_label", "regex_replacer_patterns", "regex_replacement_style", "previous", "filter_regex"}
	if got := paramNames(a.ParamsOf()); !reflect.DeepEqual(got, wantLog) {
		t.Errorf("logs_enricher params %v, want %v", got, wantLog)
	}
	if !a.ManualRunnable || !reflect.DeepEqual(a.ManualParams, []string{"name", "namespace"}) {
		t.Errorf("logs_enricher manual run: %v %v", a.ManualRunnable, a.ManualParams)
	}
	rrp := param(t, "LogEnricherParams", "regex_replacer_patterns")
	if rrp.Required || rrp.Type.Kind != List || rrp.Type.Elem.Kind != Object || rrp.Type.Elem.Model != "NamedRegexPattern" {
		t.Errorf("regex_replacer_patterns = %+v", rrp)
	}
	if p := param(t, "NamedRegexPattern", "regex"); !p.Required || p.Type.Kind != String {
		t.Errorf("NamedRegexPattern.regex = %+v", p)
	}
	if p := param(t, "NamedRegexPattern", "name"); p.Required || p.Default != "'Redacted'" {
		t.Errorf("NamedRegexPattern.name = %+v", p)
	}
	if p := param(t, "LogEnricherParams", "regex_replacement_style"); !reflect.DeepEqual(p.Enum, []string{"SAME_LENGTH_ASTERISKS", "NAMED"}) {
		t.Errorf("regex_replacement_style enum %v", p.Enum)
	}

	rp, _ := LookupAction("related_pods")
	if rp.Event != "KubernetesResourceEvent" || !reflect.DeepEqual(rp.ManualParams, []string{"kind", "name"}) {
		t.Errorf("related_pods = %+v", *rp)
	}
	of := param(t, rp.Params, "output_format")
	if of.Default != "'table'" || of.Required || !reflect.DeepEqual(of.Enum, []string{"table", "json"}) {
		t.Errorf("related_pods.output_format = %+v", of)
	}

	cf, _ := LookupAction("create_finding")
	if p := param(t, cf.Params, "title"); !p.Required {
		t.Error("create_finding.title should be required")
	}
	if p := param(t, cf.Params, "severity"); p.Default != "'HIGH'" || len(p.Enum) != 5 {
		t.Errorf("create_finding.severity = %+v", p)
	}

	// manual runs: events without their own from_params cannot be built from params
	for _, name := range []string{"alert_graph_enricher", "resource_babysitter", "helm_status_enricher", "krr_scan"} {
		a, _ := LookupAction(name)
		wantRunnable := name == "krr_scan" // ExecutionBaseEvent has from_params
		if a.ManualRunnable != wantRunnable {
			t.Errorf("%s (%s): ManualRunnable = %v", name, a.Event, a.ManualRunnable)
		}
	}
	if a, _ := LookupAction("config_ab_testing"); a.ManualRunnable {
		t.Error("config_ab_testing (ScheduledExecutionEvent) should not be manually runnable")
	}

	// nested models and pydantic v1 rules
	if p := param(t, "AlertResourceGraphEnricherParams", "item_type"); !p.Required || !reflect.DeepEqual(p.Enum, []string{"Pod", "Node", "Container"}) {
		t.Errorf("alert_graph_enricher item_type = %+v", p)
	}
	if p := param(t, "ResourceGraphEnricherParams", "resource_type"); !p.Required || len(p.Enum) != 3 {
		t.Errorf("resource_type = %+v", p)
	}
	if p := param(t, "PrometheusParams", "prometheus_graphs_overrides"); p.Type.Elem == nil || p.Type.Elem.Model != "OverrideGraph" {
		t.Errorf("prometheus_graphs_overrides = %+v", p)
	}
	// job_actions.py imports hikaru's EnvVar (Kubernetes' EnvVar, valueFrom allowed), not
	// Robusta's own EnvVar{name, value}.
	if p := param(t, "JobParams", "env"); p.Type.Elem == nil || p.Type.Elem.Kind != Any || p.Required {
		t.Errorf("JobParams.env = %+v", p)
	}
	// OomKillParams' __init__ fixes resource_type to Memory: not the user's to give.
	if p := param(t, "OomKillParams", "resource_type"); p.Required {
		t.Errorf("OomKillParams.resource_type = %+v", p)
	}
	if p := param(t, "ABTestingParams", "configuration_sets"); !p.Required || p.Type.Elem.Model != "ConfigurationSet" {
		t.Errorf("configuration_sets = %+v", p)
	}
	if p := param(t, "ConfigurationSet", "config_items"); p.Type.Kind != Map || p.Type.Elem.Kind != String || p.Default != "{}" {
		t.Errorf("config_items = %+v", p)
	}
	if p := param(t, "WarningEventReportParams", "warning_event_groups"); p.Type.Elem.Model != "WarningEventGroupParams" {
		t.Errorf("warning_event_groups = %+v", p)
	}
	if p := param(t, "AddSilenceParams", "matchers"); p.Type.Elem.Model != "Matcher" || !p.Required {
		t.Errorf("matchers = %+v", p)
	}
	if p := param(t, "AddSilenceParams", "startsAt"); p.Type.Kind != DateTime {
		t.Errorf("startsAt = %+v", p)
	}
	if p := param(t, "PrometheusQueryParams", "duration"); p.Type.Kind != Union || len(p.Type.Options) != 2 {
		t.Errorf("prometheus_enricher duration = %+v", p)
	}
	if p := param(t, "TriggerWorkflowParams", "workflow_id"); p.Type.Kind != Union || p.Type.Options[0].Kind != String || p.Type.Options[1].Kind != List {
		t.Errorf("workflow_id = %+v", p)
	}
	if p := param(t, "StackTraceParams", "pid"); p.Required || p.Default != "None" || p.Type.Kind != Int {
		t.Errorf("pid (int = None) = %+v", p)
	}
	if p := param(t, "PopeyeParams", "timeout"); p.Python != "" || p.Type.Kind != Int || p.Default != "300" {
		t.Errorf("untyped popeye timeout = %+v", p)
	}
	if p := param(t, "HolmesChatParams", "stream"); p.Default != "False" || p.Required {
		t.Errorf("Field(default=False) = %+v", p)
	}
	if m, _ := LookupModel("HolmesChatParams"); !m.ExtraAllowed {
		t.Error("HolmesChatParams allows extra keys")
	}
	if m, _ := LookupModel("LogEnricherParams"); m.ExtraAllowed {
		t.Error("LogEnricherParams ignores extra keys")
	}

	// enum overlays reach the subclasses that inherit the field
	for _, mp := range [][2]string{
		{"JobPodEnricherParams", "regex_replacement_style"}, {"ForeignLogParams", "regex_replacement_style"},
		{"PodResourceGraphEnricherParams", "resource_type"}, {"OomKillParams", "resource_type"},
		{"OverrideGraph", "values_format"},
	} {
		if p := param(t, mp[0], mp[1]); len(p.Enum) < 2 {
			t.Errorf("%s.%s: enum %v", mp[0], mp[1], p.Enum)
		}
	}
	if p := param(t, "FindingOverrides", "severity"); !reflect.DeepEqual(p.Enum, []string{"DEBUG", "INFO", "LOW", "HIGH"}) {
		t.Errorf("customise_finding severity enum %v", p.Enum)
	}

	// deprecated params
	for _, mp := range [][2]string{{"KRRParams", "args"}, {"PopeyeParams", "args"}} {
		if p := param(t, mp[0], mp[1]); p.Deprecated == "" {
			t.Errorf("%s.%s should be deprecated", mp[0], mp[1])
		}
	}
}

// The hand-written notes are merged: every action has a class and, when it runs only in
// the runner, a reason.
func TestNotesMerged(t *testing.T) {
	deprecated := 0
	for _, a := range Actions() {
		switch a.Class {
		case ClassKubeAPI, ClassHelper, ClassService, ClassPlatform:
		default:
			t.Errorf("action %s: class %q", a.Name, a.Class)
		}
		if a.Summary == "" {
			t.Errorf("action %s: no summary", a.Name)
		}
		if !a.Local && a.Reason == "" {
			t.Errorf("action %s: runner-only without a reason", a.Name)
		}
		if a.Deprecated != "" {
			deprecated++
		}
	}
	if deprecated != 8 {
		t.Errorf("%d deprecated actions, want 8 (ROBUSTA-CATALOGUE §1)", deprecated)
	}
	for _, tr := range Triggers() {
		if tr.Summary == "" {
			t.Errorf("trigger %s: no summary", tr.Key)
		}
	}
	for _, s := range Sinks() {
		if s.Summary == "" {
			t.Errorf("sink %s: no summary", s.Key)
		}
	}
}

func TestTriggerSpotChecks(t *testing.T) {
	cl, ok := LookupTrigger("on_pod_crash_loop")
	if !ok {
		t.Fatal("on_pod_crash_loop missing")
	}
	if cl.Event != "PodChangeEvent" || !cl.Strict || cl.ChangeFilters || cl.Kind != "Pod" || cl.Operation != "update" {
		t.Errorf("on_pod_crash_loop = %+v", *cl)
	}
	if p := param(t, cl.Params, "restart_reason"); p.Required || p.Type.Kind != String || p.Default != "None" {
		t.Errorf("restart_reason = %+v", p)
	}
	if p := param(t, cl.Params, "restart_count"); p.Type.Kind != Int || p.Default != "2" {
		t.Errorf("restart_count = %+v", p)
	}
	if p := param(t, cl.Params, "rate_limit"); p.Default != "14400" {
		t.Errorf("crash loop rate_limit = %+v", p)
	}

	hu, _ := LookupTrigger("on_helm_release_unhealthy")
	if p := param(t, hu.Params, "rate_limit"); !p.Required || p.Type.Kind != Int {
		t.Errorf("on_helm_release_unhealthy rate_limit = %+v", p)
	}
	if got := paramNames(hu.ParamsOf()); !reflect.DeepEqual(got, []string{"rate_limit", "names", "namespace", "duration"}) {
		t.Errorf("on_helm_release_unhealthy params %v", got)
	}
	if hu.Event != "HelmReleasesEvent" || !hu.Strict {
		t.Errorf("on_helm_release_unhealthy = %+v", *hu)
	}
	for _, key := range []string{"on_helm_release_fail", "on_helm_release_deploy"} {
		tr, _ := LookupTrigger(key)
		if p := param(t, tr.Params, "rate_limit"); p.Required || p.Default != "sys.maxsize" {
			t.Errorf("%s rate_limit = %+v", key, p)
		}
	}

	sch, _ := LookupTrigger("on_schedule")
	if sch.Event != "ScheduledExecutionEvent" {
		t.Errorf("on_schedule event %s", sch.Event)
	}
	forms := map[string]string{
		"fixed_delay_repeat":   "FixedDelayRepeat",
		"cron_schedule_repeat": "CronScheduleRepeat",
		"dynamic_delay_repeat": "DynamicDelayRepeat",
	}
	if got := sch.ParamsOf(); len(got) != 3 {
		t.Errorf("on_schedule forms %v", paramNames(got))
	}
	for key, model := range forms {
		if p := param(t, sch.Params, key); p.Required || p.Type.Kind != Object || p.Type.Model != model {
			t.Errorf("on_schedule.%s = %+v", key, p)
		}
	}
	if p := param(t, "FixedDelayRepeat", "seconds_delay"); !p.Required {
		t.Error("seconds_delay should be required")
	}
	if p := param(t, "FixedDelayRepeat", "repeat"); p.Default != "-1" || p.Required {
		t.Errorf("repeat = %+v", p)
	}
	if p := param(t, "CronScheduleRepeat", "cron_expression"); !p.Required {
		t.Error("cron_expression should be required")
	}
	if p := param(t, "DynamicDelayRepeat", "delay_periods"); !p.Required || p.Type.Kind != List || p.Type.Elem.Kind != Int {
		t.Errorf("delay_periods = %+v", p)
	}

	pa, _ := LookupTrigger("on_prometheus_alert")
	if pa.Strict || pa.Event != "PrometheusKubernetesAlert" {
		t.Errorf("on_prometheus_alert = %+v", *pa)
	}
	if p := param(t, pa.Params, "status"); p.Default != "'firing'" || len(p.Enum) != 3 {
		t.Errorf("on_prometheus_alert status = %+v", p)
	}

	ro, _ := LookupTrigger("on_kubernetes_resource_operation")
	if !ro.ChangeFilters || ro.Kind != "Any" || ro.Event != "KubernetesAnyChangeEvent" {
		t.Errorf("on_kubernetes_resource_operation = %+v", *ro)
	}
	if p := param(t, ro.Params, "change_filters"); p.Default != "DEFAULT_CHANGE_FILTERS" || p.Type.Model != "K8sTriggerChangeFilters" {
		t.Errorf("on_kubernetes_resource_operation change_filters = %+v", p)
	}

	// every generated K8s trigger: strict, std params, change_filters
	std := []string{"name_prefix", "namespace_prefix", "labels_selector", "change_filters", "scope"}
	k8s := 0
	for _, tr := range Triggers() {
		if tr.Kind == "" {
			continue
		}
		if !tr.Strict {
			t.Errorf("%s: K8s triggers reject unknown keys", tr.Key)
		}
		if strings.HasPrefix(tr.Params, "KubernetesAny") || strings.HasSuffix(tr.Params, "ChangesTrigger") ||
			strings.HasSuffix(tr.Params, "CreateTrigger") && !strings.HasPrefix(tr.Params, "Warning") ||
			strings.HasSuffix(tr.Params, "UpdateTrigger") && !strings.HasPrefix(tr.Params, "Warning") ||
			strings.HasSuffix(tr.Params, "DeleteTrigger") && !strings.HasPrefix(tr.Params, "Warning") {
			k8s++
			if got := paramNames(tr.ParamsOf()); !reflect.DeepEqual(got, std) {
				t.Errorf("%s params %v, want %v", tr.Key, got, std)
			}
			if !tr.ChangeFilters {
				t.Errorf("%s: generated triggers accept change_filters", tr.Key)
			}
		}
	}
	if k8s != 84 {
		t.Errorf("%d generated K8s triggers, want 84", k8s)
	}
	// custom pod/job/event triggers do not take change_filters
	for _, key := range []string{"on_kubernetes_warning_event", "on_kubernetes_warning_event_create", "on_image_pull_backoff",
		"on_pod_crash_loop", "on_job_failure", "on_pod_oom_killed", "on_container_oom_killed", "on_pod_evicted"} {
		tr, _ := LookupTrigger(key)
		if tr.ChangeFilters || !tr.Strict {
			t.Errorf("%s: ChangeFilters %v Strict %v", key, tr.ChangeFilters, tr.Strict)
		}
	}
	if tr, _ := LookupTrigger("on_kubernetes_warning_event_delete"); tr.Operation != "delete" || tr.Kind != "Event" {
		t.Errorf("on_kubernetes_warning_event_delete = %+v", *tr)
	}
	if p := param(t, "PodOOMKilledTrigger", "exclude"); p.Type.Kind != List || p.Type.Elem.Model != "Exclude" {
		t.Errorf("on_pod_oom_killed exclude = %+v", p)
	}

	// chart feeding (helm/robusta/values.yaml kubewatch.config.resource)
	for _, tc := range []struct {
		key, resource string
		watched       bool
	}{
		{"on_pod_update", "pod", true},
		{"on_service_create", "services", true},
		{"on_horizontalpodautoscaler_update", "hpa", true},
		{"on_secret_update", "secret", false},
		{"on_persistentvolumeclaim_create", "", false},
		{"on_networkpolicy_delete", "", false},
		{"on_kubernetes_warning_event", "event", true},
	} {
		tr, _ := LookupTrigger(tc.key)
		if tr.ChartResource != tc.resource || tr.WatchedByDefault != tc.watched {
			t.Errorf("%s: ChartResource %q WatchedByDefault %v, want %q %v", tc.key, tr.ChartResource, tr.WatchedByDefault, tc.resource, tc.watched)
		}
	}
}

func TestSinkSpotChecks(t *testing.T) {
	s, ok := LookupSink("slack_sink")
	if !ok {
		t.Fatal("slack_sink missing")
	}
	if s.Type != "slack" || s.Params != "SlackSinkParams" {
		t.Errorf("slack_sink = %+v", *s)
	}
	var required []string
	for _, p := range s.ParamsOf() {
		if p.Required {
			required = append(required, p.Name)
		}
	}
	if want := []string{"name", "slack_channel", "api_key"}; !reflect.DeepEqual(required, want) {
		t.Errorf("slack_sink required %v, want %v", required, want)
	}
	for _, tc := range []struct{ key, typ string }{
		{"ms_teams_sink", "msteams"}, {"robusta_sink", "robusta"}, {"discord_sink", "discord"},
		{"webhook_sink", "webhook"}, {"file_sink", "file"}, {"telegram_sink", "telegram"},
		{"opsgenie_sink", "opsgenie"}, {"pagerduty_sink", "pagerduty"}, {"jira_sink", "jira"},
		{"mail_sink", "mail"}, {"mattermost_sink", "mattermost"}, {"google_chat_sink", "google_chat"},
	} {
		s, ok := LookupSink(tc.key)
		if !ok || s.Type != tc.typ {
			t.Errorf("sink %s: found %v type %q, want %q", tc.key, ok, s.Type, tc.typ)
		}
	}
	if p := param(t, "RobustaSinkParams", "token"); !p.Required {
		t.Error("robusta_sink token should be required")
	}
	if p := param(t, "SlackSinkParams", "stop"); p.Default != "False" {
		t.Errorf("stop = %+v", p)
	}
	if p := param(t, "SlackSinkParams", "scope"); p.Type.Model != "ScopeParams" || p.Required {
		t.Errorf("sink scope = %+v", p)
	}
}
