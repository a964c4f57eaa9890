package actions

import (
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/engine"
)

// batch2 are the actions of issue 14's second batch.
var batch2 = []string{
	"status_enricher", "daemonset_status_enricher", "deployment_status_enricher", "node_pods_capacity_enricher",
	"pod_evicted_enricher", "hpa_events_enricher", "enrich_pod_with_node_events", "event_resource_events",
	"fetch_resource_events", "fetch_resource_yaml", "list_pods", "list_resource_names", "fetch_crds", "fetch_cr_instances", "event_history", "helm_status_enricher",
}

// pyDefault turns the catalogue's Python literal into the form of a params tag:
// None is no default, False/True are lower case, a list of strings is comma-joined.
func pyDefault(lit string) string {
	switch lit {
	case "None":
		return ""
	case "False", "True":
		return strings.ToLower(lit)
	}
	if strings.HasPrefix(lit, "[") {
		var items []string
		for _, it := range strings.Split(strings.Trim(lit, "[]"), ",") {
			if it = strings.Trim(strings.TrimSpace(it), `'"`); it != "" {
				items = append(items, it)
			}
		}
		return strings.Join(items, ",")
	}
	return strings.Trim(lit, `'"`)
}

// Each action of the batch takes exactly the catalogue's params, in its order, with
// its required flags, defaults and enums, and runs on the catalogue's event class.
func TestBatch2MatchesCatalogue(t *testing.T) {
	for _, name := range batch2 {
		a, ok := engine.Lookup(name)
		if !ok {
			t.Errorf("%s is not registered", name)
			continue
		}
		c, ok := catalogue.LookupAction(name)
		if !ok {
			t.Errorf("%s is not in the catalogue", name)
			continue
		}
		if !c.Local || c.Reason != "" {
			t.Errorf("%s: the catalogue says it does not run locally (%q): update hack/catalogue/notes.yaml", name, c.Reason)
		}
		if a.Event != c.Event || a.Mutating != c.Mutating {
			t.Errorf("%s: event %s mutating %v, catalogue %s %v", name, a.Event, a.Mutating, c.Event, c.Mutating)
		}
		var got []engine.ParamDoc
		if a.NewParams != nil {
			got = engine.Params(a.NewParams())
		}
		want := c.ParamsOf()
		if len(got) != len(want) {
			t.Errorf("%s: params %v, catalogue %v", name, got, want)
			continue
		}
		for i, w := range want {
			g := got[i]
			if g.Name != w.Name || g.Required != w.Required || g.Default != pyDefault(w.Default) ||
				strings.Join(g.Enum, "|") != strings.Join(w.Enum, "|") {
				t.Errorf("%s param %d: %+v, catalogue %+v", name, i, g, w)
			}
		}
	}
}

// The array filter of fetch_cr_instances' fields, and plain dotted paths.
func TestPickField(t *testing.T) {
	obj := map[string]any{
		"spec": map[string]any{"size": int64(3), "containers": []any{
			map[string]any{"name": "side", "image": "b"}, map[string]any{"name": "main", "image": "a"}}},
		"status": map[string]any{"conditions": []any{
			map[string]any{"type": "Ready", "status": "True"}, map[string]any{"type": "Synced", "status": "False"}}},
	}
	for _, tc := range []struct {
		field string
		want  any
	}{
		{"spec.size", int64(3)},
		{".spec.size", int64(3)},
		{"spec.missing.deeper", nil},
		{"status.conditions[?(@.type == 'Synced')].status", "False"},
		{`spec.containers[?(@.name == "main")].image`, "a"},
		{"status.conditions[?(@.type == 'Gone')].status", nil},
		{"spec.size[?(@.type == 'x')]", nil},
	} {
		if got := pickField(obj, tc.field); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.field, got, tc.want)
		}
	}
	whole := pickField(obj, "status.conditions[?(@.type == 'Ready')]")
	if m, ok := whole.(map[string]any); !ok || m["status"] != "True" {
		t.Errorf("whole element: %v", whole)
	}
}
