package runner

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/engine"
)

// The runner's load rules for a playbook it cannot use: the params of an action with a
// pre-deploy rewrite (config_ab_testing) are built at load, for every trigger, and a
// failure refuses the whole config; an action missing from its registry refuses it
// too; other actions' params are built only when they run, so the config loads.
func TestLoadRefusesAsTheRunner(t *testing.T) {
	abNoKind := strings.Replace(fmt.Sprintf(abPlaybook, "fixed_delay_repeat: {seconds_delay: 60}"), "      kind: Deployment\n", "", 1)
	abDynamicBadSets := strings.Replace(fmt.Sprintf(abPlaybook, "dynamic_delay_repeat: {delay_periods: [60]}"),
		"      - {config_set_name: c}\n", "      - {config_items: {a: b}}\n", 1)
	abRepeatBadType := strings.Replace(fmt.Sprintf(abPlaybook, "fixed_delay_repeat: {seconds_delay: 60}"), "name: web", "name: [web]", 1)
	for _, tc := range []struct {
		name, yaml string
		// want are parts of the one-line error; empty: the config loads.
		want    []string
		skipped string
	}{
		{"ab missing kind", abNoKind, []string{"customPlaybooks[0]", "config_ab_testing", "kind"}, ""},
		{"ab set without its name, dynamic schedule", abDynamicBadSets, []string{"customPlaybooks[0]", "config_ab_testing", "config_set_name"}, ""},
		{"ab param of the wrong type", abRepeatBadType, []string{"config_ab_testing", "name"}, ""},
		{"unknown action", `customPlaybooks:
- triggers: [{on_pod_create: {}}]
  actions: [{create_finding: {title: t}}]
- name: typo
  triggers: [{on_pod_create: {}}]
  actions: [{create_findng: {title: t}}]
`, []string{"playbook 2 (typo)", "action create_findng not found"}, ""},
		{"unknown action with playbookRepos", `playbookRepos:
  mine: {url: "git@github.com:me/playbooks.git"}
customPlaybooks:
- triggers: [{on_pod_create: {}}]
  actions: [{my_action: {}}]
`, nil, "my_action is not one of Robusta's actions; it may come from playbookRepos"},
		{"unknown trigger", `customPlaybooks:
- triggers: [{on_pod_creat: {}}]
  actions: [{create_finding: {title: t}}]
`, []string{`unknown trigger "on_pod_creat"`, "customPlaybooks[0]"}, ""},
		{"other action's bad params load", `customPlaybooks:
- triggers: [{on_pod_create: {}}]
  actions: [{create_finding: {title: [1, 2]}}, {create_finding: {}}]
`, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(context.Background(), []File{{Name: "values.yaml", Data: []byte(tc.yaml)}}, Options{})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				if tc.skipped == "" && (len(cfg.Playbooks) != 1 || len(cfg.Skipped) != 0) {
					t.Errorf("playbooks %d, skipped %q", len(cfg.Playbooks), cfg.Skipped)
				}
				if tc.skipped != "" && (len(cfg.Skipped) != 1 || !strings.Contains(cfg.Skipped[0], tc.skipped)) {
					t.Errorf("skipped %q, want %q", cfg.Skipped, tc.skipped)
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded %d playbook(s), skipped %q; want the config refused", len(cfg.Playbooks), cfg.Skipped)
			}
			msg := err.Error()
			t.Log(msg)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not name %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

// Behind the validator, the load builds the pre-deploy params with the engine's own
// decoder, globalConfig merged in as the runner merges it.
func TestCompileBuildsPreDeployParams(t *testing.T) {
	def := func(params map[string]any) map[string]any {
		return map[string]any{"name": "ab",
			"triggers": []any{map[string]any{"on_schedule": map[string]any{"fixed_delay_repeat": map[string]any{"seconds_delay": 60}}}},
			"actions":  []any{map[string]any{"config_ab_testing": params}}}
	}
	params := map[string]any{"name": "web", "grafana_api_key": "k", "grafana_dashboard_uid": "d",
		"configuration_sets": []any{map[string]any{"config_set_name": "a"}}}
	_, _, err := compilePlaybook(context.Background(), 0, def(params), nil, false)
	if err == nil || !strings.Contains(err.Error(), "playbook 1 (ab): action config_ab_testing") || !strings.Contains(err.Error(), `"kind"`) {
		t.Errorf("without kind: %v", err)
	}
	if _, _, err := compilePlaybook(context.Background(), 0, def(params), map[string]any{"kind": "Deployment"}, false); err != nil {
		t.Errorf("kind from globalConfig: %v", err)
	}
}

// Every local action but the pre-deploy one keeps the runner's rule for bad params:
// the config loads (the params fail when the action runs); config_ab_testing's refuse
// it. Each action is given a mapping of wrong-typed values for all its params, under
// a trigger whose event it takes.
func TestLoadBadParamsEveryAction(t *testing.T) {
	for _, name := range engine.Names() {
		def, ok := catalogue.LookupAction(name)
		if !ok || def.Params == "" {
			continue
		}
		model, ok := catalogue.LookupModel(def.Params)
		if !ok || len(model.Params) == 0 {
			continue
		}
		trigger := ""
		for _, tr := range catalogue.Triggers() {
			if tr.Event != "" && catalogue.IsSubclass(tr.Event, def.Event) && !tr.Strict && tr.Key != "on_schedule" {
				trigger = "{" + tr.Key + ": {}}"
				break
			}
		}
		if def.Event == "ScheduledExecutionEvent" {
			trigger = "{on_schedule: {fixed_delay_repeat: {seconds_delay: 60}}}"
		}
		if trigger == "" {
			continue
		}
		var params []string
		for _, p := range model.Params {
			params = append(params, p.Name+": {bad: [1]}")
		}
		y := fmt.Sprintf("customPlaybooks:\n- triggers: [%s]\n  actions: [{%s: {%s}}]\n", trigger, name, strings.Join(params, ", "))
		t.Run(name, func(t *testing.T) {
			_, err := Load(context.Background(), []File{{Name: "values.yaml", Data: []byte(y)}}, Options{})
			refused := err != nil
			if want := name == "config_ab_testing"; refused != want {
				t.Errorf("refused %v (%v), want %v:\n%s", refused, err, want, y)
			}
		})
	}
}

// {{ env.NAME }} in an action's params is resolved at load as the runner does: the
// whole string becomes the value, in mappings only (lists keep the text); an unset
// variable refuses the config.
func TestLoadResolvesEnvRefs(t *testing.T) {
	const y = `customPlaybooks:
- name: env
  triggers: [{on_pod_create: {}}]
  actions:
  - create_finding: {title: "{{ env.H38_TITLE }}", aggregation_key: "x-{{env.H38_TITLE}}-y", description: "{{ env.H38_UNSET_FOR_LISTS }}"}
`
	t.Setenv("H38_TITLE", "from env")
	t.Setenv("H38_UNSET_FOR_LISTS", "d")
	cfg := load(t, y)
	p := cfg.Playbooks[0].Steps[0].Params
	if p["title"] != "from env" || p["aggregation_key"] != "from env" || p["description"] != "d" {
		t.Errorf("params %v", p)
	}
	id := cfg.Playbooks[0].ID
	t.Setenv("H38_TITLE", "other")
	if load(t, y).Playbooks[0].ID == id {
		t.Error("the id does not follow the resolved value, as the runner's does")
	}

	cfg = load(t, `customPlaybooks:
- triggers: [{on_pod_create: {}}]
  actions:
  - pod_events_enricher: {}
  - create_finding: {title: t, aggregation_key: k, labels: ["{{ env.H38_NOT_SET }}"]}
`)
	if l, _ := cfg.Playbooks[0].Steps[1].Params["labels"].([]any); len(l) != 1 || l[0] != "{{ env.H38_NOT_SET }}" {
		t.Errorf("a list item was resolved: %v", cfg.Playbooks[0].Steps[1].Params)
	}

	_, err := Load(context.Background(), []File{{Name: "values.yaml", Data: []byte(strings.ReplaceAll(y, "H38_UNSET_FOR_LISTS", "H38_NOT_SET"))}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "playbook 1 (env): action create_finding: param description reads the environment variable H38_NOT_SET, which is not set") {
		t.Errorf("unset variable: %v", err)
	}
}
