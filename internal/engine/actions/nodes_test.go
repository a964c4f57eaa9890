package actions

import (
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// The change shown for a write leaves out what every write changes.
func TestChangesBlock(t *testing.T) {
	before := map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{"name": "n", "resourceVersion": "1",
		"managedFields": []any{"a"}}, "spec": map[string]any{"podCIDR": "10.0.0.0/24"}}
	after := map[string]any{"metadata": map[string]any{"name": "n", "resourceVersion": "2", "generation": int64(2),
		"managedFields": []any{"a", "b"}}, "spec": map[string]any{"podCIDR": "10.0.0.0/24", "unschedulable": true, "taints": []any{"x"}}}
	b := changesBlock(before, after)
	if b.Type != engine.BlockDiffs || len(b.Rows) != 2 || b.Rows[0][0] != "spec.taints" || b.Rows[1][0] != "spec.unschedulable" ||
		b.Rows[1][1] != "(none)" || b.Rows[1][2] != "true" {
		t.Fatalf("%+v", b)
	}
	if b := changesBlock(before, before); b.Type != engine.BlockMarkdown || b.Text != "No field changes." {
		t.Fatalf("%+v", b)
	}
}
