package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
)

func validateText(t *testing.T, name, text string) []Finding {
	t.Helper()
	f, err := Parse(name, []byte(text))
	if err != nil {
		var pe *ParseError
		if !asParseError(err, &pe) {
			t.Fatalf("%s: %v", name, err)
		}
		return []Finding{pe.Finding()}
	}
	return Validate(f)
}

func asParseError(err error, pe **ParseError) bool {
	p, ok := err.(*ParseError)
	if ok {
		*pe = p
	}
	return ok
}

// noisy keeps the errors and warnings (info is allowed in clean files).
func noisy(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity != SevInfo {
			out = append(out, f)
		}
	}
	return out
}

const sample = `sinksConfig:
- slack_sink:
    name: main_slack_sink
    api_key: x
    slack_channel: alerts
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
      previous: lots
  sinks: [main_slak_sink]
- triggers:
  - on_pod_crash_loop: {restart_reason: CrashLoopBackOff, restart_count: "5", colour: red}
  actions:
  - create_finding: {aggregation_key: k, extra: 1}
  - pod_bash_enricher: {}
- actions: []
`

func TestValidateFindings(t *testing.T) {
	got := validateText(t, "values.yaml", sample)
	want := []string{
		`values.yaml:12:7: warning: action resource_babysitter has no parameter "fields_to_monitor": the runner ignores it (it takes ignored_namespaces) (customPlaybooks[0].actions[0].resource_babysitter.fields_to_monitor)`,
		`values.yaml:15:5: error: unknown trigger "on_pod_updat": did you mean "on_pod_update"? (customPlaybooks[1].triggers[0])`,
		`values.yaml:17:5: warning: unknown action "my_custom_action": not one of Robusta's actions; fine if it comes from a playbook repository you load (--actions-from DIR checks it) (customPlaybooks[1].actions[0].my_custom_action)`,
		`values.yaml:18:9: warning: two playbooks are named "images" (the first is customPlaybooks[0]): disabledPlaybooks turns both off (customPlaybooks[2].name)`,
		`values.yaml:22:5: error: action resource_babysitter needs a KubernetesAnyChangeEvent, but trigger on_prometheus_alert gives a PrometheusKubernetesAlert: the runner refuses the playbook; triggers that fit: on_clusterrole_all_changes, on_clusterrole_create, on_clusterrole_delete, on_clusterrole_update, on_clusterrolebinding_all_changes, on_clusterrolebinding_create and 89 more (customPlaybooks[2].actions[0].resource_babysitter)`,
		`values.yaml:24:17: warning: action logs_enricher parameter previous must be true or false, not the string "lots" (customPlaybooks[2].actions[1].logs_enricher.previous)`,
		`values.yaml:25:11: warning: sink "main_slak_sink" is not defined in sinksConfig: the runner sends this playbook's findings nowhere: did you mean "main_slack_sink"? (customPlaybooks[2].sinks[0])`,
		`values.yaml:27:79: error: trigger on_pod_crash_loop has no parameter "colour": the runner refuses the configuration (it takes name_prefix, namespace_prefix, labels_selector, rate_limit, restart_reason, restart_count, scope) (customPlaybooks[3].triggers[0].on_pod_crash_loop.colour)`,
		`values.yaml:29:21: warning: action create_finding needs parameter title (here or in globalConfig) (customPlaybooks[3].actions[0].create_finding)`,
		`values.yaml:29:42: warning: action create_finding has no parameter "extra": the runner ignores it (it takes title, aggregation_key, description, severity) (customPlaybooks[3].actions[0].create_finding.extra)`,
		`values.yaml:30:24: warning: action pod_bash_enricher needs parameter bash_command (here or in globalConfig) (customPlaybooks[3].actions[1].pod_bash_enricher)`,
		`values.yaml:31:3: error: the playbook has no triggers: add a list such as triggers: [{on_pod_update: {}}] (customPlaybooks[4].triggers)`,
		`values.yaml:31:12: error: the playbook has no actions: add a list such as actions: [{create_finding: {title: ..., aggregation_key: ...}}] (customPlaybooks[4].actions)`,
	}
	var lines []string
	for _, g := range got {
		lines = append(lines, g.String())
	}
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
global_config: {cluster_name: c}
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
  - logs_enricher: {previous: "true"}
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

// knownCatalogueGaps are findings on valid configurations that come from the catalogue's
// data, not from the validator. Each entry must still occur: when the catalogue is fixed,
// the test says to remove it. (Empty since the generator learnt that OomKillParams'
// __init__ sets resource_type and that alert_handling_job's env items are Kubernetes
// EnvVars.)
var knownCatalogueGaps = []string{}

func withoutKnownGaps(t *testing.T, fs []Finding, seen map[string]bool) []Finding {
	var out []Finding
next:
	for _, f := range fs {
		for _, g := range knownCatalogueGaps {
			if strings.Contains(f.Message, g) {
				seen[g] = true
				continue next
			}
		}
		out = append(out, f)
	}
	return out
}

// Every built-in, priority and platform playbook of the real chart (the fixture is made
// by hack/validate-fixtures from its values.yaml) validates with no error and no warning.
func TestChartPlaybooksValidateClean(t *testing.T) {
	data, err := os.ReadFile("testdata/chart-playbooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("chart-playbooks.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	pbs := f.Playbooks(true)
	if len(pbs) < 40 {
		t.Fatalf("the fixture holds %d playbooks: regenerate it", len(pbs))
	}
	seen := map[string]bool{}
	for _, fd := range noisy(withoutKnownGaps(t, Validate(f), seen)) {
		t.Errorf("%s", fd)
	}
}

// Well-formed examples from Robusta's documentation validate with no error and no
// warning beyond the ones each is expected to give.
func TestDocsExamplesValidate(t *testing.T) {
	expected := map[string][]string{
		// Custom actions from the "develop actions" pages: unknown to the catalogue.
		"actions-develop-actions-my-first-custom-action-203.yaml": {RuleUnknownAction},
		"actions-develop-actions-writing-playbooks-44.yaml":       {RuleUnknownAction},
		// The KRR page still shows the deprecated args param.
		"configuration-resource-recommender-20.yaml": {RuleDeprecated},
		// This example leaves out create_finding's required aggregation_key: the runner
		// fails the action when it runs.
		"index-46.yaml": {RuleParamMissing},
	}
	files, _ := filepath.Glob("testdata/docs/*.yaml")
	if len(files) < 25 {
		t.Fatalf("only %d docs examples", len(files))
	}
	seen := map[string]bool{}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(filepath.Base(p), data)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		var rules []string
		for _, fd := range noisy(withoutKnownGaps(t, Validate(f), seen)) {
			rules = append(rules, fd.Rule)
			if !contains(expected[filepath.Base(p)], fd.Rule) {
				t.Errorf("%s", fd)
			}
		}
		for _, r := range expected[filepath.Base(p)] {
			if !contains(rules, r) {
				t.Errorf("%s: expected a %s finding, got %v", p, r, rules)
			}
		}
	}
	for _, g := range knownCatalogueGaps {
		if !seen[g] {
			t.Errorf("known catalogue gap %q no longer occurs: remove it from knownCatalogueGaps", g)
		}
	}
}

// sampleValue is a value of type t as YAML data.
func sampleValue(t catalogue.Type, enum []string, depth int) any {
	if len(enum) > 0 {
		return enum[0]
	}
	switch t.Kind {
	case catalogue.String, catalogue.Any, "":
		return "x"
	case catalogue.Int:
		return 1
	case catalogue.Float:
		return 1.5
	case catalogue.Bool:
		return true
	case catalogue.DateTime:
		return "2026-01-01T00:00:00Z"
	case catalogue.List:
		if t.Elem == nil {
			return []any{"x"}
		}
		return []any{sampleValue(*t.Elem, nil, depth+1)}
	case catalogue.Map:
		if t.Elem == nil {
			return map[string]any{"k": "x"}
		}
		return map[string]any{"k": sampleValue(*t.Elem, nil, depth+1)}
	case catalogue.Object:
		m, _ := catalogue.LookupModel(t.Model)
		return requiredParams(m, depth+1)
	case catalogue.Union:
		return sampleValue(t.Options[0], nil, depth+1)
	}
	return "x"
}

func requiredParams(m *catalogue.Model, depth int) map[string]any {
	out := map[string]any{}
	if m == nil || depth > 6 {
		return out
	}
	for _, p := range m.Params {
		if p.Required {
			out[p.Name] = sampleValue(p.Type, p.Enum, depth)
		}
	}
	return out
}

// minimalTrigger is a valid trigger item for key.
func minimalTrigger(tr *catalogue.Trigger) map[string]any {
	m, _ := catalogue.LookupModel(tr.Params)
	params := requiredParams(m, 0)
	if tr.Key == "on_schedule" {
		params = map[string]any{"fixed_delay_repeat": map[string]any{"seconds_delay": 60}}
	}
	return map[string]any{tr.Key: params}
}

func playbookDoc(trigger map[string]any, action string, params map[string]any) string {
	doc := map[string]any{
		"sinksConfig": []any{map[string]any{"robusta_sink": map[string]any{"name": "robusta_ui_sink", "token": "t"}}},
		"customPlaybooks": []any{map[string]any{
			"triggers": []any{trigger},
			"actions":  []any{map[string]any{action: params}},
		}},
	}
	b, _ := yaml.Marshal(doc)
	return string(b)
}

// Every trigger of the catalogue, with its required params and an action every event
// fits, validates clean.
func TestEveryTriggerMinimalPlaybook(t *testing.T) {
	all := catalogue.Triggers()
	if len(all) < 100 {
		t.Fatalf("the catalogue has %d triggers", len(all))
	}
	for i := range all {
		tr := &all[i]
		doc := playbookDoc(minimalTrigger(tr), "create_finding", map[string]any{"title": "t", "aggregation_key": "k"})
		if fs := noisy(validateText(t, tr.Key, doc)); len(fs) != 0 {
			t.Errorf("%s:\n%s%v", tr.Key, doc, fs)
		}
	}
}

// Every action of the catalogue, under a trigger whose event it takes and with its
// required params, validates clean (deprecated ones give only their deprecation); left
// without its required params it gets a param-missing finding; under a trigger whose
// event it does not take, an event-mismatch error.
func TestEveryActionMinimalPlaybook(t *testing.T) {
	all := catalogue.Actions()
	if len(all) < 155 {
		t.Fatalf("the catalogue has %d actions", len(all))
	}
	for i := range all {
		a := &all[i]
		fits := catalogue.TriggersFor(a.Event)
		if len(fits) == 0 {
			t.Errorf("%s: no trigger gives a %s", a.Name, a.Event)
			continue
		}
		tr, _ := catalogue.LookupTrigger(pick(fits))
		m, _ := catalogue.LookupModel(a.Params)
		params := requiredParams(m, 0)
		fs := noisy(validateText(t, a.Name, playbookDoc(minimalTrigger(tr), a.Name, params)))
		for _, f := range fs {
			if f.Rule == RuleDeprecated && a.Deprecated != "" {
				continue
			}
			t.Errorf("%s under %s: %s", a.Name, tr.Key, f)
		}
		if needsOwn(m) {
			got := validateText(t, a.Name, playbookDoc(minimalTrigger(tr), a.Name, map[string]any{}))
			if !hasRule(got, RuleParamMissing) {
				t.Errorf("%s without its required params: %v", a.Name, got)
			}
		}
		for _, other := range []string{"on_schedule", "on_helm_release_deploy", "on_prometheus_alert", "on_pod_create"} {
			if contains(fits, other) {
				continue
			}
			ot, _ := catalogue.LookupTrigger(other)
			got := validateText(t, a.Name, playbookDoc(minimalTrigger(ot), a.Name, params))
			if !hasRule(got, RuleEventMismatch) || !HasErrors(got) {
				t.Errorf("%s under %s: no event-mismatch error: %v", a.Name, other, got)
			}
			break
		}
	}
}

// needsOwn: the model has a required param the chart's globalConfig does not supply.
func needsOwn(m *catalogue.Model) bool {
	if m == nil {
		return false
	}
	for _, p := range m.Params {
		if p.Required && !contains(chartGlobals, p.Name) {
			return true
		}
	}
	return false
}

// pick prefers a trigger that the stock chart feeds, for a clean minimal playbook.
func pick(keys []string) string {
	for _, k := range []string{"on_pod_update", "on_deployment_update", "on_job_failure", "on_node_update", "on_prometheus_alert", "on_kubernetes_resource_operation", "on_event_create", "on_horizontalpodautoscaler_update", "on_persistentvolume_update", "on_daemonset_update", "on_schedule", "on_helm_release_deploy"} {
		if contains(keys, k) {
			return k
		}
	}
	return keys[0]
}

func hasRule(fs []Finding, rule string) bool {
	for _, f := range fs {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

// The validator's event compatibility is the runner's: for every trigger and every
// action event class, a mismatch error exactly when the trigger's event is not a
// subclass of the action's.
func TestEventCompatibilityMatrix(t *testing.T) {
	events := map[string]string{} // action event class -> an action taking it, without required params
	for _, a := range catalogue.Actions() {
		m, _ := catalogue.LookupModel(a.Params)
		if _, ok := events[a.Event]; !ok && len(requiredParams(m, 0)) == 0 && a.Deprecated == "" {
			events[a.Event] = a.Name
		}
	}
	classes := make([]string, 0, len(events))
	for ev := range events {
		classes = append(classes, ev)
	}
	sort.Strings(classes)
	for _, tr := range catalogue.Triggers() {
		tr := tr
		trig := minimalTrigger(&tr)
		for _, ev := range classes {
			got := validateText(t, tr.Key, playbookDoc(trig, events[ev], map[string]any{}))
			want := catalogue.IsSubclass(tr.Event, ev)
			if hasRule(got, RuleEventMismatch) == want {
				t.Errorf("%s (%s) with %s (%s): fits %v, findings %v", tr.Key, tr.Event, events[ev], ev, want, got)
			}
		}
	}
	// Spot checks that do not go through the catalogue's own rule.
	for _, c := range []struct {
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
		{"KubernetesAnyChangeEvent", "KubernetesResourceEvent", false},
		{"HelmReleasesEvent", "ExecutionBaseEvent", true},
	} {
		if catalogue.IsSubclass(c.produced, c.wanted) != c.fits {
			t.Errorf("Fits(%s, %s) != %v", c.produced, c.wanted, c.fits)
		}
	}
}

// What today passes as valid and must not, and what the runner rejects at load.
func TestMustNotPass(t *testing.T) {
	pb := func(trigger, action string) string {
		return "customPlaybooks:\n- triggers:\n  - " + trigger + "\n  actions:\n  - " + action + "\n"
	}
	cases := []struct {
		name, yaml string
		sev, rule  string
		msg        string // part of the message
	}{
		{"customPlaybooks a string", `customPlaybooks: "hello"`, SevError, RuleShape, `customPlaybooks must be a list of playbooks`},
		{"customPlaybooks a number", `customPlaybooks: 42`, SevError, RuleShape, `not the number 42`},
		{"duplicate keys", "customPlaybooks: []\ncustomPlaybooks: []\n", SevError, RuleDuplicateKey, `key "customPlaybooks" is written twice in this mapping (first at line 1)`},
		{"duplicate keys in a playbook", pb("on_pod_update: {}", "pod_events_enricher: {}") + "  actions: []\n", SevError, RuleDuplicateKey, `key "actions" is written twice`},
		{"unknown playbook key", pb("on_pod_update: {}", "pod_events_enricher: {}") + "  trigger: []\n", SevWarning, RuleUnknownKey, `a playbook has no key "trigger": the runner ignores it: did you mean "triggers"?`},
		{"sinks a string", pb("on_pod_update: {}", "pod_events_enricher: {}") + "  sinks: a-string\n", SevError, RuleShape, `sinks must be a list of sink names`},
		{"sinksConfig a string", `sinksConfig: "oops"`, SevError, RuleShape, `sinksConfig must be a list of sinks`},
		{"unknown sink type", "sinksConfig:\n- slak_sink: {name: s}\n", SevError, RuleSinkType, `unknown sink type "slak_sink": did you mean "slack_sink"?`},
		{"slack sink without api_key", "sinksConfig:\n- slack_sink: {name: s, slack_channel: c}\n", SevError, RuleParamMissing, `sink slack_sink needs parameter api_key`},
		{"duplicate sink names", "sinksConfig:\n- slack_sink: {name: s, slack_channel: c, api_key: k}\n- webhook_sink: {name: s, url: u}\n", SevError, RuleSinkDuplicate, `two sinks are named "s" (the first at line 2)`},
		{"error in a second document", pb("on_pod_update: {}", "pod_events_enricher: {}") + "---\ncustomPlaybooks:\n- triggers: [{on_pod_updat: {}}]\n  actions: [{pod_events_enricher: {}}]\n", SevError, RuleUnknownTrigger, `unknown trigger "on_pod_updat"`},
		{"a second document", "customPlaybooks: []\n---\nsinksConfig: []\n", SevWarning, RuleExtraDocument, `Helm reads only the first document`},
		{"syntax error in a second document", "customPlaybooks: []\n---\nsinksConfig: [\n", SevError, RuleSyntax, `did not find expected`},
		{"logs_enricher tial", pb("on_pod_update: {}", "logs_enricher: {tial: 10}"), SevWarning, RuleParamUnknown, `action logs_enricher has no parameter "tial": the runner ignores it`},
		{"empty file", "", SevWarning, RuleEmpty, `the file is empty`},
		{"comment-only file", "# nothing here\n", SevWarning, RuleEmpty, `the file is empty`},
		{"null", "null\n", SevWarning, RuleEmpty, `the file is empty`},
		{"old playbooks key", "playbooks: []\n", SevError, RuleUnknownKey, `rename it to customPlaybooks`},
		// What the runner refuses at load.
		{"two triggers in one item", pb("{on_pod_update: {}, on_pod_create: {}}", "pod_events_enricher: {}"), SevError, RuleTriggerCount, `this item holds 2 triggers (on_pod_update, on_pod_create)`},
		{"trigger without value", pb("on_pod_update:", "pod_events_enricher: {}"), SevError, RuleTriggerCount, `trigger on_pod_update has no value`},
		{"unknown trigger", pb("on_pod_updte: {}", "pod_events_enricher: {}"), SevError, RuleUnknownTrigger, `did you mean "on_pod_update"?`},
		{"unknown action", pb("on_pod_update: {}", "pod_event_enricher: {}"), SevWarning, RuleUnknownAction, `did you mean "pod_events_enricher"?`},
		{"event mismatch", pb("on_schedule: {fixed_delay_repeat: {seconds_delay: 60}}", "pod_events_enricher: {}"), SevError, RuleEventMismatch, `action pod_events_enricher needs a PodEvent, but trigger on_schedule gives a ScheduledExecutionEvent`},
		{"scheduled with two actions", pb("on_schedule: {fixed_delay_repeat: {seconds_delay: 60}}", "krr_scan: {}") + "  - popeye_scan: {}\n", SevError, RuleSchedule, `takes exactly one trigger and one action, this one has 1 and 2`},
		{"on_schedule without a form", pb("on_schedule: {}", "krr_scan: {}"), SevError, RuleSchedule, `on_schedule needs one of fixed_delay_repeat`},
		{"on_schedule with two forms", pb("on_schedule: {fixed_delay_repeat: {seconds_delay: 60}, cron_schedule_repeat: {cron_expression: '* * * * *'}}", "krr_scan: {}"), SevError, RuleSchedule, `on_schedule has 2 forms`},
		{"bad cron", pb("on_schedule: {cron_schedule_repeat: {cron_expression: '0 25 * * *'}}", "krr_scan: {}"), SevError, RuleCron, `hour field "25": 25 is out of range 0-23`},
		{"strict key", pb("on_pod_update: {name_prefx: web}", "pod_events_enricher: {}"), SevError, RuleParamUnknown, `trigger on_pod_update has no parameter "name_prefx": the runner refuses the configuration: did you mean "name_prefix"?`},
		{"helm unhealthy without rate_limit", pb("on_helm_release_unhealthy: {}", "helm_status_enricher: {}"), SevError, RuleParamMissing, `trigger on_helm_release_unhealthy needs parameter rate_limit`},
		{"change_filters on a custom pod trigger", pb("on_pod_crash_loop: {change_filters: {include: [spec]}}", "report_crash_loop: {}"), SevError, RuleChangeFilters, `trigger on_pod_crash_loop takes no change_filters`},
		{"trigger param type", pb("on_pod_crash_loop: {restart_count: many}", "report_crash_loop: {}"), SevError, RuleTriggerParam, `restart_count must be a whole number, not the string "many"`},
		{"labels_selector syntax", pb("on_pod_update: {labels_selector: 'app in (a,b)'}", "pod_events_enricher: {}"), SevError, RuleTriggerParam, `labels_selector part "app in (a" is not key=value`},
		{"action with params and no value", pb("on_pod_update: {}", "pod_events_enricher:"), SevError, RuleActionParams, `write pod_events_enricher: {}`},
		{"two actions in one item", pb("on_pod_update: {}", "{pod_events_enricher: {}, logs_enricher: {}}"), SevError, RuleShape, `this one has 2 keys (pod_events_enricher, logs_enricher)`},
		{"stop not a bool", pb("on_pod_update: {}", "pod_events_enricher: {}") + "  stop: maybe\n", SevError, RuleShape, `stop must be true or false`},
		// Run-time findings.
		{"param type", pb("on_pod_update: {}", "pod_events_enricher: {max_events: lots}"), SevWarning, RuleParamType, `action pod_events_enricher parameter max_events must be a whole number, not the string "lots"`},
		{"enum", pb("on_pod_update: {}", "related_pods: {output_format: yaml}"), SevWarning, RuleParamType, `must be one of table, json, not "yaml"`},
		{"env reference", pb("on_pod_update: {}", "pod_bash_enricher: {bash_command: '{{ env.CMD }}'}"), SevInfo, RuleEnvRef, `environment variable CMD`},
		{"deprecated action", pb("on_pod_update: {}", "restart_loop_reporter: {}"), SevWarning, RuleDeprecated, `action restart_loop_reporter is deprecated: use the on_pod_crash_loop trigger with report_crash_loop`},
		{"deprecated param", pb("on_schedule: {fixed_delay_repeat: {seconds_delay: 60}}", "krr_scan: {args: x}"), SevWarning, RuleDeprecated, `parameter args is deprecated: use krr_args instead`},
		{"sink not defined", "sinksConfig:\n- webhook_sink: {name: w, url: u}\n" + pb("on_pod_update: {}", "pod_events_enricher: {}") + "  sinks: [nowhere]\n", SevWarning, RuleSinkUndefined, `sink "nowhere" is not defined in sinksConfig`},
		{"helm trigger without robusta sink", "sinksConfig:\n- webhook_sink: {name: w, url: u}\n" + pb("on_helm_release_fail: {}", "helm_status_enricher: {}"), SevWarning, RuleHelmNoPlatform, `has no robusta_sink`},
		{"unwatched secret", pb("on_secret_create: {}", "create_finding: {title: t, aggregation_key: k}"), SevInfo, RuleUnwatchedKind, `set kubewatch.config.resource.secret: true`},
		{"unwatched pvc", pb("on_persistentvolumeclaim_update: {}", "create_finding: {title: t, aggregation_key: k}"), SevInfo, RuleUnwatchedKind, `no entry for PersistentVolumeClaim`},
		{"empty scope include", pb("on_pod_update: {scope: {include: []}}", "pod_events_enricher: {}"), SevError, RuleScope, `an empty scope include list`},
		{"empty scope", pb("on_pod_update: {scope: {}}", "pod_events_enricher: {}"), SevError, RuleScope, `scope needs include and/or exclude`},
		{"label term syntax", pb("on_pod_update: {scope: {include: [{labels: 'app'}]}}", "pod_events_enricher: {}"), SevWarning, RuleScope, `scope labels term "app" has no '='`},
		{"attribute term syntax", pb("on_pod_update: {scope: {include: [{attributes: 'status.phase'}]}}", "pod_events_enricher: {}"), SevWarning, RuleScope, `scope attributes term "status.phase" has no '='`},
		{"python-only regex", pb("on_pod_update: {scope: {include: [{name: '(?!kube-).*'}]}}", "pod_events_enricher: {}"), SevInfo, RuleRegex, `works in the runner, not in local mode`},
		{"bad regex", pb("on_pod_update: {scope: {exclude: [{namespace: 'kube-[sys'}]}}", "pod_events_enricher: {}"), SevWarning, RuleRegex, `is not valid`},
		{"scope attribute an alert lacks", pb("on_prometheus_alert: {scope: {include: [{name: x}]}}", "default_enricher: {}"), SevWarning, RuleScope, `scope attribute "name" never matches for on_prometheus_alert`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := validateText(t, "v.yaml", c.yaml)
			for _, f := range fs {
				if f.Severity == c.sev && f.Rule == c.rule && strings.Contains(f.Message, c.msg) {
					if f.Line == 0 {
						t.Errorf("no line: %s", f)
					}
					return
				}
			}
			t.Errorf("want %s %s %q, got:\n%s", c.sev, c.rule, c.msg, findingLines(fs))
		})
	}
}

func TestCheckCron(t *testing.T) {
	for _, ok := range []string{"0 12 * * 1", "*/5 * * * *", "0 0 1 jan-mar mon-fri", "0 9-17/2 * * MON,WED", "0 0 L * *", "0 0 * * 5#2", "@hourly", "0 0 * * * 30", "0 0 ? * *", "0 0 * * 7", "H * * * *"} {
		if err := CheckCron(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"":             "empty",
		"* * * *":      "4 fields",
		"60 * * * *":   "60 is out of range 0-59",
		"* * 0 * *":    "0 is out of range 1-31",
		"* * * 13 *":   "13 is out of range 1-12",
		"* * * foo *":  `"foo" is not a number or a name`,
		"*/0 * * * *":  "step",
		"5-1 * * * *":  "end before its start",
		"@fortnightly": "unknown macro",
		"1,,2 * * * *": "empty list item",
		"* * * * 0#9":  "1 to 5",
	} {
		err := CheckCron(bad)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"- a list", "key: [unclosed", "\t tab: x", "just a string"} {
		if _, err := Parse("x.yaml", []byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestFindingLocation(t *testing.T) {
	for _, c := range []struct {
		f    Finding
		want string
	}{
		{Finding{File: "a", Line: 3, Column: 5, Severity: SevError, Message: "m", Path: "p"}, "a:3:5: error: m (p)"},
		{Finding{File: "a", Line: 3, Severity: SevWarning, Message: "m"}, "a:3: warning: m"},
		{Finding{File: "a", Severity: SevInfo, Message: "m"}, "a: info: m"},
	} {
		if got := c.f.String(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}

func FuzzParseValidate(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("active_playbooks: [{triggers: [x], actions: [[1]]}]"))
	f.Add([]byte("customPlaybooks: {a: 1}\nsinksConfig: 3"))
	f.Add([]byte("b: &b {triggers: [x]}\ncustomPlaybooks: [{<<: [*b, {actions: []}], name: n}]\nx: *b"))
	f.Add([]byte("customPlaybooks: []\n---\nsinksConfig: [{slack_sink: {name: a}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.yaml", data)
		if err != nil {
			return
		}
		for _, fd := range Validate(file) {
			if fd.Rule == "" || fd.Severity == "" {
				t.Fatalf("finding without rule or severity: %s", fd)
			}
		}
		_ = file.Playbooks(true)
	})
}

// --actions-from: a local playbook repository's @action functions become known, with
// their event classes and params (bases from the repository and from the catalogue).
func TestLoadActionsFromRepository(t *testing.T) {
	k, err := LoadActions("testdata/repo/my_playbooks")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n, a := range k.Actions {
		names = append(names, n+":"+a.Event+":"+a.Params)
	}
	sort.Strings(names)
	want := "custom_graph:PrometheusKubernetesAlert:GraphParams free_form:ExecutionBaseEvent:FreeFormParams registered_later:PodEvent: report_restarts:PodEvent:RestartReportParams"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("actions %s\nwant %s", got, want)
	}
	m := k.Models["RestartReportParams"]
	var fields []string
	for _, p := range m.Params {
		fields = append(fields, fmt.Sprintf("%s:%s:%v", p.Name, p.Type.Kind, p.Required))
	}
	if got := strings.Join(fields, " "); got != "max_restarts:int:true mode:str:false labels:dict:false thresholds:list:false note:str:false" {
		t.Fatalf("fields %s", got)
	}
	if g := k.Models["GraphParams"]; g == nil || paramIndex(g, "prometheus_url") < 0 || paramIndex(g, "query") != len(g.Params)-1 {
		t.Fatalf("GraphParams does not inherit PrometheusParams: %+v", g)
	}

	doc := `customPlaybooks:
- triggers: [{on_pod_crash_loop: {}}]
  actions:
  - report_restarts: {max_restarts: many, mode: shouty, thresholds: [{limit: 2}], colour: red}
  - free_form: {whatever: 1}
  - registered_later: {}
  - report_restart: {}
- triggers: [{on_schedule: {fixed_delay_repeat: {seconds_delay: 60}}}]
  actions:
  - report_restarts: {max_restarts: 1}
`
	f, _ := Parse("v.yaml", []byte(doc))
	got := findingLines(ValidateWith(f, k))
	for _, w := range []string{
		`v.yaml:4:37: warning: action report_restarts parameter max_restarts must be a whole number, not the string "many"`,
		`v.yaml:4:49: warning: action report_restarts parameter mode must be one of loud, quiet, not "shouty"`,
		`v.yaml:4:70: warning: action report_restarts parameter thresholds item needs parameter name`,
		`v.yaml:4:83: warning: action report_restarts has no parameter "colour": the runner ignores it`,
		`v.yaml:7:5: warning: unknown action "report_restart": not one of Robusta's actions; fine if it comes from a playbook repository you load (--actions-from DIR checks it): did you mean "report_restarts"?`,
		`v.yaml:10:5: error: action report_restarts needs a PodEvent, but trigger on_schedule gives a ScheduledExecutionEvent`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %s\nin:\n%s", w, got)
		}
	}
	if strings.Contains(got, "free_form") || strings.Contains(got, "registered_later") {
		t.Errorf("free_form allows extra keys; registered_later takes none:\n%s", got)
	}
	// Without the repository the same actions are only unknown (warnings).
	if fs := Validate(f); HasErrors(fs) || !hasRule(fs, RuleUnknownAction) {
		t.Fatalf("%s", findingLines(fs))
	}
	if _, err := LoadActions("testdata/nowhere"); err == nil {
		t.Fatal("a missing folder is an error")
	}
}

// SARIF 2.1.0: the driver lists one rule per kind found, each result points at its
// rule, level and place.
func TestWriteSARIF(t *testing.T) {
	fs := validateText(t, "dir/v.yaml", "customPlaybooks:\n- triggers: [{on_pod_updat: {}}]\n  actions: [{logs_enricher: {tial: 1}}]\n- triggers: [{on_secret_create: {}}]\n  actions: [{create_finding: {title: t, aggregation_key: k}}]\n")
	var b strings.Builder
	if err := WriteSARIF(&b, fs, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name    string
					Version string
					Rules   []struct{ ID string }
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine, StartColumn int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(b.String()), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Version != "1.2.3" {
		t.Fatalf("%s", b.String())
	}
	run := log.Runs[0]
	var got []string
	for _, r := range run.Results {
		loc := r.Locations[0].PhysicalLocation
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s points at rule %d", r.RuleID, r.RuleIndex)
		}
		got = append(got, fmt.Sprintf("%s %s %s:%d:%d", r.RuleID, r.Level, loc.ArtifactLocation.URI, loc.Region.StartLine, loc.Region.StartColumn))
	}
	want := "unknown-trigger error dir/v.yaml:2:15 param-unknown warning dir/v.yaml:3:30 kind-not-watched note dir/v.yaml:4:15"
	if strings.Join(got, " ") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

// The streamed path gives exactly the whole-file path's findings, on every fixture and
// every case of the tables above.
func TestValidateBytesSameAsWholeFile(t *testing.T) {
	texts := map[string]string{"sample": sample}
	files, _ := filepath.Glob("testdata/*.yaml")
	docs, _ := filepath.Glob("testdata/docs/*.yaml")
	for _, p := range append(files, docs...) {
		b, _ := os.ReadFile(p)
		texts[p] = string(b)
	}
	for _, c := range streamCases {
		texts[c] = c
	}
	for _, p := range []string{"sample", "testdata/chart-playbooks.yaml", streamCases[0], streamCases[1], streamCases[5], streamCases[8], streamCases[9]} {
		if _, ok := streamValidate("f.yaml", []byte(texts[p]), nil); !ok {
			t.Errorf("%s: not streamed", short(p))
		}
	}
	for name, text := range texts {
		want := validateText(t, "f.yaml", text)
		got, err := ValidateBytes("f.yaml", []byte(text), nil)
		if err != nil {
			var pe *ParseError
			if !asParseError(err, &pe) {
				t.Fatal(err)
			}
			got = []Finding{pe.Finding()}
		}
		if findingLines(got) != findingLines(want) {
			t.Errorf("%s:\nstreamed:\n%s\nwhole file:\n%s", short(name), findingLines(got), findingLines(want))
		}
	}
}

var streamCases = []string{
	"customPlaybooks:\n- triggers: [{on_pod_update: {}}]\n  actions: [{logs_enricher: {tial: 1}}]\n- name: a\n  triggers:\n  - on_pod_updat: {}\n  actions:\n    - pod_events_enricher:\n        max_events: lots\n",
	"# head\nsinksConfig:\n  - slack_sink:\n      name: s\n      api_key: k\n      slack_channel: c\n\ncustomPlaybooks:\n  # first\n  - triggers:\n      - on_pod_update: {}\n    actions:\n      - pod_events_enricher: {}\n    sinks: [s, t]\n  - name: x\n    triggers: [{on_helm_release_fail: {}}]\n    actions: [{helm_status_enricher: {}}]\n",
	"customPlaybooks:\n- &a\n  triggers: [{on_pod_update: {}}]\n  actions: [{pod_events_enricher: {}}]\n- *a\n",
	"customPlaybooks:\n- triggers: [{on_pod_update: {}}]\n  actions: [{pod_events_enricher: {}}]\ncustomPlaybooks: []\n",
	"customPlaybooks:\n- triggers: [{on_pod_update: {}}]\n  actions: [{pod_events_enricher: {}}]\n- name: x\n  name: y\n  triggers: [{on_pod_update: {}}\n",
	"builtinPlaybooks:\n- name: a\n  triggers: [{on_pod_update: {}}]\n  actions: [{pod_events_enricher: {}}]\ncustomPlaybooks:\n- name: a\n  triggers: [{on_pod_update: {}}]\n  actions: [{pod_events_enricher: {}}]\nnamedCustomPlaybooks:\n  b:\n    triggers: [{on_pod_update: {}}]\n    actions: [{pod_events_enricher: {}}]\n",
	"customPlaybooks:\n- triggers:\n  - on_pod_update: {}\n  actions:\n  - create_finding:\n      title: |\n        multi\n        - line\n      aggregation_key: k\n",
	"customPlaybooks: []\n---\nsinksConfig: oops\n",
	"active_playbooks:\n- triggers: [{on_job_failure: {}}]\n  actions: [{job_info_enricher: {}}]\nsinks_config:\n- robusta_sink: {name: r, token: t}\n",
	"globalConfig:\n  cluster_name: c\n  prometheus_url: 3\ncustomPlaybooks:\n- triggers: [{on_prometheus_alert: {}}]\n  actions: [{graph_enricher: {}}]\nkubewatch:\n  config:\n    resource:\n      secret: true\n      pod: false\n",
}
