package actions

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func TestSetAttrPath(t *testing.T) {
	obj := func() map[string]any {
		var m map[string]any
		_ = json.Unmarshal([]byte(`{"metadata":{"name":"web","labels":{"app":"web"}},
			"spec":{"replicas":1,"template":{"spec":{"containers":[
				{"name":"a","image":"nginx:1.26","resources":{"requests":{"cpu":"100m"}},"args":["x","y"]},
				{"name":"b","image":"busybox"}]}}}}`), &m)
		return m
	}
	for _, tc := range []struct {
		key, value string
		want       string // JSON of the changed part, read back at get
		get        func(m map[string]any) any
		err        string
	}{
		{key: "spec.template.spec.containers[0].image", value: "nginx:1.27",
			get:  func(m map[string]any) any { return containers(m)[0].(map[string]any)["image"] },
			want: `"nginx:1.27"`},
		{key: "spec.template.spec.containers[1].image", value: "busybox:2",
			get:  func(m map[string]any) any { return containers(m)[1].(map[string]any)["image"] },
			want: `"busybox:2"`},
		// A missing last field is added to its object, as the runner sets a dict key.
		{key: "spec.template.spec.containers[0].resources.requests.memory", value: "128Mi",
			get:  func(m map[string]any) any { return containers(m)[0].(map[string]any)["resources"] },
			want: `{"requests":{"cpu":"100m","memory":"128Mi"}}`},
		{key: "metadata.labels.tier", value: "b",
			get:  func(m map[string]any) any { return m["metadata"].(map[string]any)["labels"] },
			want: `{"app":"web","tier":"b"}`},
		// A list item (a trailing [1] splits into an empty last part, which the runner
		// cannot set either, so the runner's spelling is args.1), and Python's negative index.
		{key: "spec.template.spec.containers[0].args.1", value: "z",
			get:  func(m map[string]any) any { return containers(m)[0].(map[string]any)["args"] },
			want: `["x","z"]`},
		{key: "spec.template.spec.containers[-1].image", value: "busybox:3",
			get:  func(m map[string]any) any { return containers(m)[1].(map[string]any)["image"] },
			want: `"busybox:3"`},
		// The value stays a string, as the runner's Dict[str, str] sends it.
		{key: "spec.replicas", value: "3",
			get:  func(m map[string]any) any { return m["spec"].(map[string]any)["replicas"] },
			want: `"3"`},
		{key: "spec.template.spec.containers[0].resources.limits.cpu", value: "1", err: "the object has no spec.template.spec.containers.0.resources.limits"},
		{key: "spec.template.spec.containers[2].image", value: "x", err: "index 2 is out of range (the list has 2 items)"},
		{key: "spec.template.spec.containers[a].image", value: "x", err: `"a" is not a list index`},
		{key: "spec.replicas.x", value: "x", err: "spec.replicas is a value (1)"},
		{key: "spec.template.spec.containers[0]", value: "x", err: "is not a field path"},
		{key: "spec..replicas", value: "x", err: "is not a field path"},
		{key: "spec.template.spec.containers[0].args[1]", value: "x", err: "is not a field path"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			m := obj()
			err := setAttrPath(m, tc.key, tc.value)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(tc.get(m))
			if string(b) != tc.want {
				t.Errorf("got %s, want %s", b, tc.want)
			}
		})
	}
}

func containers(m map[string]any) []any {
	return m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
}

func TestSplitAttrPath(t *testing.T) {
	for key, want := range map[string]string{
		"spec.template.spec.containers[0].resources.requests.cpu": "spec template spec containers 0 resources requests cpu",
		"a[0][1].b": "a 0 1 b",
		"image":     "image",
	} {
		got, err := splitAttrPath(key)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("%s: %q %v, want %s", key, got, err, want)
		}
	}
}

func TestABTestingText(t *testing.T) {
	items := map[string]string{"spec.template.spec.containers[0].image": "nginx:1.27", "metadata.labels.tier": "b"}
	got := abTestingText("canary", []string{"metadata.labels.tier", "spec.template.spec.containers[0].image"}, items)
	want := "configuration:<pre>canary</pre><hr class='solid'><pre>metadata.labels.tier : b<br>spec.template.spec.containers[0].image : nginx:1.27<br></pre>"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The params are the runner's ABTestingParams: nested sets decoded with their own
// checks, and the repeat the runner's pre_deploy_func sets is one run per set.
func TestABTestingParams(t *testing.T) {
	a, ok := engine.Lookup("config_ab_testing")
	if !ok || !a.Mutating || a.Event != "ScheduledExecutionEvent" {
		t.Fatalf("registration: %+v", a)
	}
	raw := map[string]any{"grafana_api_key": "k", "grafana_dashboard_uid": "d", "kind": "Deployment", "name": "web",
		"configuration_sets": []any{
			map[string]any{"config_set_name": "a", "config_items": map[string]any{"spec.replicas": 2.0}},
			map[string]any{"config_set_name": "b"},
		}}
	p := a.NewParams().(*abTestingParams)
	if err := engine.Decode(raw, p); err != nil {
		t.Fatal(err)
	}
	if p.APIVersion != "v1" || p.Namespace != "default" || len(p.ConfigurationSets) != 2 || p.ConfigurationSets[0].Items["spec.replicas"] != "2" || p.FixedDelayRepeat() != 2 {
		t.Errorf("decoded %+v", p)
	}
	raw["configuration_sets"] = []any{map[string]any{"config_items": map[string]any{}}}
	if err := engine.Decode(raw, a.NewParams()); err == nil || !strings.Contains(err.Error(), `"config_set_name"`) {
		t.Errorf("a set without its name: %v", err)
	}
}

// Mistakes found before the cluster is asked are params errors naming the fix; the
// recurrence picks the set, and one past the last is refused, as the runner fails it.
func TestABTestingEarlyErrors(t *testing.T) {
	sets := []configurationSet{{Name: "a"}, {Name: "b"}}
	base := abTestingParams{grafanaConn: grafanaConn{GrafanaAPIKey: "k", GrafanaDashboardUID: "d"}, APIVersion: "v1", Kind: "Deployment", Name: "web", Namespace: "default"}
	for _, tc := range []struct {
		name       string
		recurrence int
		edit       func(p *abTestingParams)
		want       string
	}{
		{"no sets", 0, func(p *abTestingParams) { p.ConfigurationSets = nil }, "configuration_sets is empty"},
		{"past the last", 2, nil, "no configuration set for recurrence 2: there are 2, for recurrences 0 to 1"},
		{"negative", -1, nil, "no configuration set for recurrence -1"},
		{"no dashboard", 0, func(p *abTestingParams) { p.GrafanaDashboardUID = " " }, "grafana_dashboard_uid is empty"},
		{"bad path", 1, func(p *abTestingParams) {
			p.ConfigurationSets = []configurationSet{{Name: "a"}, {Name: "b", Items: map[string]string{"a..b": "x"}}}
		},
			`config_items: "a..b" is not a field path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			p.ConfigurationSets = sets
			if tc.edit != nil {
				tc.edit(&p)
			}
			r := &engine.Run{Event: &engine.Event{Class: "ScheduledExecutionEvent", Recurrence: tc.recurrence}, Finding: &engine.Finding{}}
			err := configABTesting(context.Background(), r, &p)
			var pe *engine.ParamsError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a params error with %q", err, tc.want)
			}
		})
	}
}
