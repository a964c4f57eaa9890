package sinks

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// TestScopeDiffersFromTriggers pins where a sink's scope departs from a trigger's
// (triggers.TestScopeDiffersFromSinks has the same scopes with the trigger's
// outcomes): a strict load, the finding's attributes plus namespace_labels, and what
// a finding lacks read as "None" rather than absent.
func TestScopeDiffersFromTriggers(t *testing.T) {
	pod := &engine.Finding{Title: "t", Severity: engine.High,
		Subject: engine.Subject{Kind: "Pod", Name: "api-1", Namespace: "prod", Labels: map[string]string{"app": "api"}}}
	bare := &engine.Finding{Title: "t", Severity: engine.Info} // no subject: namespace, node are None
	nsLabels := func(ns string) map[string]string { return map[string]string{"env": ns + "uction"} }
	cases := []struct {
		name, scope string
		f           *engine.Finding
		err         string // a load error mentioning this
		want        bool
	}{
		{"unknown attribute refused", "{exclude: [{colour: red}]}", pod, `unknown attribute "colour"`, false},
		{"unknown scope key refused", "{inclde: [{name: x}], include: [{name: 'api-.*'}]}", pod, `unknown key "inclde"`, false},
		{"label term without = refused", "{exclude: [{labels: app}]}", pod, "key=regex", false},
		{"label term bad regex refused", "{exclude: [{labels: 'app=('}]}", pod, "bad regex", false},
		{"attributes is not a finding attribute", "{include: [{attributes: 'kind=Pod'}]}", pod, `unknown attribute "attributes"`, false},
		{"namespace_labels looked up", "{include: [{namespace_labels: 'env=prod.*'}]}", pod, "", true},
		{"a missing namespace is None", "{include: [{namespace: None}]}", bare, "", true},
		{"a missing namespace still matches .*", "{include: [{namespace: '.*'}]}", bare, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p map[string]any
			if err := yaml.Unmarshal([]byte("name: s\nscope: "+c.scope), &p); err != nil {
				t.Fatal(err)
			}
			r, err := ParseRoute(p)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want it to mention %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r.NamespaceLabels = nsLabels
			if got := r.Accepts(c.f); got != c.want {
				t.Errorf("Accepts = %v, want %v", got, c.want)
			}
		})
	}
}
