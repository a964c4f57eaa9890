package triggers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// The informer's handler hands the worker pointers to the stored objects: the event
// (with its own unstructured copies) is built by Resolve, once; the log name needs
// no conversion; a relist with an unchanged resourceVersion emits nothing.
func TestHandlerDefersConversion(t *testing.T) {
	var got []*Incoming
	h := (&KubeSource{}).handler("Pod", func(in *Incoming) bool { got = append(got, in); return true })
	oldPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "n", ResourceVersion: "1"}}
	newPod := oldPod.DeepCopy()
	newPod.ResourceVersion = "2"
	newPod.Spec.NodeName = "node-1"
	h.OnUpdate(oldPod, newPod)
	h.OnUpdate(newPod, newPod)
	if len(got) != 1 {
		t.Fatalf("%d events, want 1 (the relist is not a change)", len(got))
	}
	in := got[0]
	if in.Event != nil || in.Name() != "Pod update n/p" {
		t.Fatalf("before Resolve: event %v, name %q", in.Event, in.Name())
	}
	if !in.Resolve() {
		t.Fatal("Resolve failed")
	}
	e := in.Event
	if e.Operation != "update" || e.Obj.GetName() != "p" || e.Old.GetResourceVersion() != "1" {
		t.Fatalf("event %+v", e)
	}
	if n, _, _ := unstructured.NestedString(e.Obj.Object, "spec", "nodeName"); n != "node-1" {
		t.Fatalf("nodeName %q", n)
	}
	// The event's copy is its own: changing it leaves the store's object.
	e.Obj.SetLabels(map[string]string{"x": "y"})
	if newPod.Labels != nil {
		t.Fatal("the event shares the stored object")
	}
	if !in.Resolve() || in.Event != e {
		t.Fatal("a second Resolve built the event again")
	}
	h.OnAdd(struct{}{}, false)
	if len(got) != 2 || got[1].Resolve() {
		t.Fatalf("an object that is not one resolved: %d events", len(got))
	}
}

// A typed informer's object comes from protobuf without apiVersion and kind: the
// transform sets them (the event's unstructured copy needs them) and drops
// managedFields.
func TestCompactTypedSetsKind(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "n", Labels: map[string]string{"app": "a"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	stored, err := compactTyped(corev1.SchemeGroupVersion.WithKind("Pod"))(pod)
	if err != nil {
		t.Fatal(err)
	}
	back, ok := toUnstructured(stored)
	if !ok || back.GetKind() != "Pod" || back.GetAPIVersion() != "v1" || back.GetManagedFields() != nil || back.GetLabels()["app"] != "a" {
		t.Fatalf("event object %+v", back)
	}
}
