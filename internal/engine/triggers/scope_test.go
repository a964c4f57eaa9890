package triggers

import (
	"context"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// TestScopeDiffersFromSinks pins where a trigger's scope departs from a sink's
// (sinks.TestScopeDiffersFromTriggers has the same scopes with the sink's outcomes):
// everything loads, unknown attributes and malformed label terms never hold,
// attributes checks paths in the object, and what the object lacks is absent.
func TestScopeDiffersFromSinks(t *testing.T) {
	upd := &Incoming{Event: &engine.Event{Kind: "Deployment", Operation: "update", Obj: obj(t, deploy), Old: obj(t, deployOld)}}
	node := &Incoming{Event: &engine.Event{Kind: "Node", Operation: "update",
		Obj: obj(t, "kind: Node\nmetadata: {name: n1}"), Old: obj(t, "kind: Node\nmetadata: {name: n1}")}}
	cases := []struct {
		name, scope string
		in          *Incoming
		want        bool
	}{
		{"unknown attribute loads and never holds", "{exclude: [{colour: red}]}", upd, true},
		{"unknown scope key ignored", "{inclde: [{name: x}], include: [{name: 'api-.*'}]}", upd, true},
		{"label term without = never holds", "{exclude: [{labels: app}]}", upd, true},
		{"label term bad regex never holds", "{include: [{labels: 'app=('}]}", upd, false},
		{"a bad label value fails alone", "{include: [{labels: [app, 'app=api']}]}", upd, true},
		{"attributes checks object paths", "{include: [{attributes: 'kind=Deployment'}]}", upd, true},
		{"namespace_labels is not an event attribute", "{include: [{namespace_labels: 'env=.*'}]}", upd, false},
		{"a missing namespace is absent, not None", "{include: [{namespace: None}]}", node, false},
		{"a missing namespace does not match .*", "{include: [{namespace: '.*'}]}", node, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := Compile(context.Background(), "on_kubernetes_any_resource_all_changes", params(t, "{scope: "+c.scope+"}"))
			if err != nil {
				t.Fatal(err)
			}
			if got := tr.Matches(c.in); got != c.want {
				t.Errorf("Matches = %v, want %v", got, c.want)
			}
		})
	}
}
