package actions

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// resource_babysitter's finding as the runner builds it from the trigger's filtered
// differences: the manifest name and operation as title, the changed fields (five at
// most) in the description, one diff row per difference.
func TestBabysitterFinding(t *testing.T) {
	dep := &unstructured.Unstructured{Object: map[string]any{"kind": "Deployment",
		"metadata": map[string]any{"name": "shop", "namespace": "prod"}}}
	diffs := func(n int) []engine.Diff {
		var out []engine.Diff
		for i := 0; i < n; i++ {
			out = append(out, engine.Diff{Path: fmt.Sprintf("Deployment.spec.template.spec.containers[%d].f%d", i, i), Old: "a", New: "b"})
		}
		return out
	}
	cases := []struct {
		name      string
		ev        engine.Event
		params    babysitterParams
		title     string
		desc      string
		rows      int
		noFinding bool
	}{
		{"update with filters", engine.Event{Kind: "Deployment", Operation: "update", Obj: dep, Old: dep, Triggered: true, Diffs: diffs(2)},
			babysitterParams{}, "deployment/prod/shop.yaml updated", "Deployment updated\n ● Attributes: f0, f1", 2, false},
		{"many fields", engine.Event{Kind: "Deployment", Operation: "update", Obj: dep, Old: dep, Triggered: true, Diffs: diffs(7)},
			babysitterParams{}, "deployment/prod/shop.yaml updated", "Deployment updated\n ● Attributes: f0, f1, f2, f3, f4 ... (and 2 more)", 7, false},
		{"no change_filters", engine.Event{Kind: "Deployment", Operation: "update", Obj: dep, Old: dep, Triggered: true},
			babysitterParams{}, "deployment/prod/shop.yaml updated", "Deployment updated", 0, false},
		{"delete", engine.Event{Kind: "Deployment", Operation: "delete", Obj: dep, Triggered: true},
			babysitterParams{}, "deployment/prod/shop.yaml deleted", "Deployment deleted", 0, false},
		{"ignored namespace", engine.Event{Kind: "Deployment", Operation: "update", Obj: dep, Old: dep, Triggered: true, Diffs: diffs(1)},
			babysitterParams{IgnoredNamespaces: []string{"prod"}}, "", "", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := c.ev
			r := &engine.Run{Event: &ev}
			r.Finding = engine.NewFinding(&ev, "default")
			if err := babysitter(context.Background(), r, &c.params); err != nil {
				t.Fatal(err)
			}
			if c.noFinding {
				if r.Finding.Title != "default" || len(r.Finding.Enrichments) != 0 || r.Finding.Type != "" {
					t.Fatalf("finding for an ignored namespace: %+v", r.Finding)
				}
				return
			}
			f := r.Finding
			if f.Title != c.title || f.Description != c.desc || f.AggregationKey != "ConfigurationChange/KubernetesResource/Change" {
				t.Fatalf("got %q / %q / %q", f.Title, f.Description, f.AggregationKey)
			}
			// babysitter.py:73 marks the finding as a configuration change.
			if f.Type != engine.TypeConfChange {
				t.Fatalf("type %q", f.Type)
			}
			if len(f.Enrichments) != 1 || f.Enrichments[0].Title != "Kubernetes Manifest Change" || len(f.Enrichments[0].Blocks[0].Rows) != c.rows {
				t.Fatalf("enrichments: %+v", f.Enrichments)
			}
			if c.rows > 0 && strings.Join(f.Enrichments[0].Blocks[0].Rows[0], "|") != "Deployment.spec.template.spec.containers[0].f0|a|b" {
				t.Fatalf("row: %v", f.Enrichments[0].Blocks[0].Rows[0])
			}
		})
	}
}
