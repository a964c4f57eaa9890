package triggers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The store keeps a Pod typed and without managedFields; the event gets it back as
// unstructured with its kind, fields and labels; a kind client-go does not know stays
// unstructured.
func TestCompactStore(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "p", "namespace": "n", "resourceVersion": "7", "labels": map[string]any{"app": "a"},
			"managedFields": []any{map[string]any{"manager": "kubectl", "operation": "Update"}}},
		"spec":   map[string]any{"nodeName": "node-1", "containers": []any{map[string]any{"name": "c", "image": "busybox"}}},
		"status": map[string]any{"phase": "Running"}}}
	stored, err := compact(u)
	if err != nil {
		t.Fatal(err)
	}
	pod, ok := stored.(*corev1.Pod)
	if !ok || pod.Spec.NodeName != "node-1" || len(pod.ManagedFields) != 0 || resourceVersion(pod) != "7" {
		t.Fatalf("stored %T %+v", stored, stored)
	}
	back, ok := toUnstructured(stored)
	if !ok || back.GetKind() != "Pod" || back.GetAPIVersion() != "v1" || back.GetLabels()["app"] != "a" || back.GetManagedFields() != nil {
		t.Fatalf("event object %+v", back)
	}
	if phase, _, _ := unstructured.NestedString(back.Object, "status", "phase"); phase != "Running" {
		t.Fatalf("phase %q", phase)
	}
	cr := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w", "managedFields": []any{map[string]any{"manager": "m"}}}, "spec": map[string]any{"size": int64(3)}}}
	stored, _ = compact(cr)
	if w, ok := stored.(*unstructured.Unstructured); !ok || w.GetManagedFields() != nil || w.Object["spec"].(map[string]any)["size"] != int64(3) {
		t.Fatalf("custom resource %T %+v", stored, stored)
	}
}
