package actionargs

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
)

func mustAction(t *testing.T, name string) *catalogue.Action {
	t.Helper()
	a, err := Lookup(name)
	if err != nil {
		t.Fatalf("the catalogue lacks %s: %v", name, err)
	}
	return a
}

func TestLookupSuggests(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"node_bash_enricer", `unknown action "node_bash_enricer" (did you mean "node_bash_enricher"?)`},
		{"pod_events", `unknown action "pod_events" (did you mean "pod_events_enricher"?)`},
		{"zzzz_nothing_like_it", `unknown action "zzzz_nothing_like_it"`},
	} {
		_, err := Lookup(tc.name)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
		if p, ok := err.(*Problem); !ok || p.Kind != UnknownAction {
			t.Errorf("%s: %T %v", tc.name, err, err)
		}
	}
	// An extra name (the local engine's) is suggested too.
	if _, err := Lookup("my_local_actoin", "my_local_action"); err == nil || !strings.Contains(err.Error(), `"my_local_action"`) {
		t.Errorf("extra names: %v", err)
	}
}

// Every problem a manual trigger's command line can have, with the message that names
// the param; an empty want is a clean command line.
func TestCheck(t *testing.T) {
	num := func(s string) any { return json.Number(s) }
	for _, tc := range []struct {
		name   string
		action string
		params map[string]any
		kinds  []Kind
		want   string
	}{
		{"clean", "node_bash_enricher", map[string]any{"name": "n1", "bash_command": "ls"}, nil, ""},
		{"misspelled param", "node_bash_enricher", map[string]any{"name": "n1", "bash_comand": "ls"},
			[]Kind{UnknownParam, MissingParam}, `action node_bash_enricher has no parameter bash_comand (did you mean "bash_command"?)`},
		{"missing required", "node_bash_enricher", map[string]any{"name": "n1"},
			[]Kind{MissingParam}, "action node_bash_enricher needs parameter bash_command"},
		{"missing event param", "node_bash_enricher", map[string]any{"bash_command": "ls"},
			[]Kind{MissingEventParam}, "action node_bash_enricher runs on a NodeEvent: give name= (or --node NAME)"},
		{"pod needs name and namespace", "logs_enricher", map[string]any{},
			[]Kind{MissingEventParam}, "give name= and namespace= (or --pod NAMESPACE/NAME)"},
		{"event param not a string", "logs_enricher", map[string]any{"name": num("1"), "namespace": "d"},
			[]Kind{BadValue}, "parameter name of logs_enricher names the object"},
		{"int from a string", "pod_events_enricher", map[string]any{"name": "p", "namespace": "d", "max_events": "5"}, nil, ""},
		{"int from JSON", "pod_events_enricher", map[string]any{"name": "p", "namespace": "d", "max_events": num("5")}, nil, ""},
		{"int not a number", "pod_events_enricher", map[string]any{"name": "p", "namespace": "d", "max_events": "five"},
			[]Kind{BadValue}, `parameter max_events of pod_events_enricher: want a whole number, got "five"`},
		{"list given as a string", "pod_events_enricher", map[string]any{"name": "p", "namespace": "d", "included_types": "Warning"},
			[]Kind{BadValue}, `want a list, got the string "Warning" (write key:='["a", "b"]')`},
		{"list of strings", "pod_events_enricher", map[string]any{"name": "p", "namespace": "d", "included_types": []any{"Warning"}}, nil, ""},
		{"list item of the wrong type", "pod_events_enricher", map[string]any{"name": "p", "namespace": "d", "included_types": []any{[]any{}}},
			[]Kind{BadValue}, "item 0: want a string, got a list"},
		{"bool words", "logs_enricher", map[string]any{"name": "p", "namespace": "d", "previous": "yes"}, nil, ""},
		{"bool not a bool", "logs_enricher", map[string]any{"name": "p", "namespace": "d", "previous": "maybe"},
			[]Kind{BadValue}, `parameter previous of logs_enricher: want true or false, got "maybe"`},
		{"enum", "create_finding", map[string]any{"title": "t", "aggregation_key": "k", "severity": "CRITICAL"},
			[]Kind{BadValue}, `"CRITICAL" is not one of`},
		{"not manually runnable", "alert_handling_job", map[string]any{"image": "busybox"},
			[]Kind{NotManual}, "action alert_handling_job takes a PrometheusKubernetesAlert, which the runner cannot build from parameters"},
		// grafana_api_key is required by the model, but the chart always puts it into
		// globalConfig, which the runner merges under the params.
		{"required param from globalConfig", "report_rendering_task", map[string]any{"delays": []any{num("60")}, "reports_panel_urls": []any{"u"}}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := Check(mustAction(t, tc.action), tc.params, true)
			if tc.want == "" {
				if len(ps) != 0 {
					t.Fatalf("want no problem, got %v", ps)
				}
				return
			}
			if !strings.Contains(ps.Error(), tc.want) {
				t.Fatalf("got %q\nwant it to contain %q", ps.Error(), tc.want)
			}
			var kinds []Kind
			for _, p := range ps {
				kinds = append(kinds, p.Kind)
			}
			if len(kinds) != len(tc.kinds) {
				t.Fatalf("kinds %v, want %v (%v)", kinds, tc.kinds, ps)
			}
			for i := range kinds {
				if kinds[i] != tc.kinds[i] {
					t.Fatalf("kinds %v, want %v (%v)", kinds, tc.kinds, ps)
				}
			}
		})
	}
}

// Outside a manual trigger (local run's --pod), the event params are not required.
func TestCheckNotManual(t *testing.T) {
	if ps := Check(mustAction(t, "logs_enricher"), map[string]any{}, false); len(ps) != 0 {
		t.Fatal(ps)
	}
}

// A secret's value is never quoted back, whatever is wrong with it.
func TestSecretNotEchoed(t *testing.T) {
	a := mustAction(t, "argo_app_sync")
	const secret = "s3cr3t-token-value"
	ps := Check(a, map[string]any{"argo_url": "http://argo", "argo_app_name": "web", "argo_token": []any{secret}}, true)
	if len(ps) != 1 || ps[0].Param != "argo_token" || strings.Contains(ps.Error(), secret) || !strings.Contains(ps.Error(), "it is a secret") {
		t.Fatalf("%v", ps)
	}
	cmd, hidden := TriggerCommand("argo_app_sync", []string{"argo_url=http://argo", "argo_token=" + secret})
	if strings.Contains(cmd, secret) || len(hidden) != 1 || hidden[0] != "argo_token" || !strings.Contains(cmd, "argo_token="+Hidden) {
		t.Fatalf("%s %v", cmd, hidden)
	}
}

func TestTriggerCommandQuotes(t *testing.T) {
	cmd, _ := TriggerCommand("node_bash_enricher", []string{"name=n1", "bash_command=ls -l / && echo it's"}, "--sync")
	want := `robusta playbooks trigger node_bash_enricher name=n1 'bash_command=ls -l / && echo it'"'"'s' --sync`
	if cmd != want {
		t.Fatalf("got  %s\nwant %s", cmd, want)
	}
}

func TestCompleteArgs(t *testing.T) {
	names, dir := CompleteArgs(nil, "node_bash")
	if dir != cobra.ShellCompDirectiveNoFileComp || len(names) != 1 || !strings.HasPrefix(names[0], "node_bash_enricher\t") {
		t.Fatalf("%v %v", names, dir)
	}
	all, _ := CompleteArgs(nil, "")
	if len(all) != len(catalogue.Actions()) {
		t.Fatalf("%d names, the catalogue has %d actions", len(all), len(catalogue.Actions()))
	}
	keys, dir := CompleteArgs([]string{"node_bash_enricher", "name=n1"}, "")
	if dir&cobra.ShellCompDirectiveNoSpace == 0 {
		t.Fatalf("directive %v", dir)
	}
	got := map[string]bool{}
	for _, k := range keys {
		k, _, _ = strings.Cut(k, "\t")
		got[k] = true
	}
	if !got["bash_command="] || got["name="] {
		t.Fatalf("keys %v: want bash_command= and not name= (given)", keys)
	}
	keys, _ = CompleteArgs([]string{"logs_enricher"}, "na")
	if len(keys) != 2 || !strings.HasPrefix(keys[0], "name=") || !strings.HasPrefix(keys[1], "namespace=") {
		t.Fatalf("keys %v", keys)
	}
	vals, _ := CompleteArgs([]string{"logs_enricher"}, "previous=t")
	if len(vals) != 1 || vals[0] != "previous=true" {
		t.Fatalf("values %v", vals)
	}
}
