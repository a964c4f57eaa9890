package actions

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "cordon", Event: "NodeEvent", Mutating: true,
		Doc: "Mark the node unschedulable (server-side dry run unless --apply)", Do: func(ctx context.Context, r *engine.Run, _ any) error {
			return setUnschedulable(ctx, r, "cordon", "cordon", true)
		}})
	engine.Register(&engine.Action{Name: "uncordon", Event: "NodeEvent", Mutating: true,
		Doc: "Mark the node schedulable again (server-side dry run unless --apply)", Do: func(ctx context.Context, r *engine.Run, _ any) error {
			return setUnschedulable(ctx, r, "uncordon", "uncordon", false)
		}})
	engine.Register(&engine.Action{Name: "drain", Event: "NodeEvent", Mutating: true,
		Doc: "Cordon the node and evict its pods through the eviction API, which honours PodDisruptionBudgets; DaemonSet pods are skipped (server-side dry run unless --apply)", Do: drain})
}

// ignoredChanges are paths a write always changes; they say nothing about what the
// action did.
var ignoredChanges = []string{"apiVersion", "kind", "metadata.managedFields", "metadata.resourceVersion", "metadata.generation"}

// changesBlock is what a write changed: the diff between the object before and the
// server's answer (for a dry run, the object as it would be).
func changesBlock(before, after map[string]any) engine.Block {
	changes := map[string][2]string{}
	diff("", before, after, changes)
	var rows [][]string
	for path, c := range changes {
		if !matchesAny(path, ignoredChanges) {
			rows = append(rows, []string{path, c[0], c[1]})
		}
	}
	if len(rows) == 0 {
		return engine.Markdown("No field changes.")
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	return engine.Diffs(rows)
}

// toMap is a typed object as the unstructured map the API would send (without
// apiVersion and kind, which typed clients drop).
func toMap(obj any) map[string]any {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil
	}
	return m
}

// setUnschedulable is cordon and uncordon: the runner's checks of the node's current
// state, then a patch of spec.unschedulable.
// who is the action the user ran, for the dry-run note; "" when the caller notes it
// (drain, which cordons first).
func setUnschedulable(ctx context.Context, r *engine.Run, who, action string, cordon bool) error {
	node := r.Event.Obj
	name := node.GetName()
	cur, set, _ := unstructured.NestedBool(node.Object, "spec", "unschedulable")
	// The runner's uncordon says "already uncordoned" only for an explicit false,
	// which the API server never stores, so in practice it always patches.
	if cordon && cur || !cordon && set && !cur {
		r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("Node %s already %sed", name, action)))
		return nil
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	var dryRun []string
	switch {
	case who != "":
		dryRun, _ = mutation(r, who, "", who)
	case !r.Apply:
		dryRun = []string{metav1.DryRunAll}
	}
	patch := []byte(fmt.Sprintf(`{"spec":{"unschedulable":%v}}`, cordon))
	after, err := cs.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{DryRun: dryRun})
	if err != nil {
		return fmt.Errorf("failed to %s node %s: %w", action, name, r.KF.Explain(err, "patch", "nodes", ""))
	}
	text := fmt.Sprintf("Node %s %sed", name, action)
	if dryRun != nil {
		text = fmt.Sprintf("Dry run: node %s would be %sed (nothing changed)", name, action)
	}
	r.Finding.AddEnrichment("", engine.Markdown(text), changesBlock(node.Object, toMap(after)))
	return nil
}

func drain(ctx context.Context, r *engine.Run, _ any) error {
	// The note comes first: a node already cordoned is not patched, but its pods
	// are still evicted (or, in a dry run, not).
	dryRun, _ := mutation(r, "drain", "", "drain")
	if err := setUnschedulable(ctx, r, "", "cordon", true); err != nil {
		return err
	}
	name := r.Event.Obj.GetName()
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", name).String()})
	if err != nil {
		// As the runner: a drain that cannot see the node's pods gives the node back.
		if uerr := setUnschedulable(ctx, r, "", "uncordon", false); uerr != nil {
			err = fmt.Errorf("%w (and uncordoning failed: %v)", err, uerr)
		}
		return fmt.Errorf("failed to list the pods of node %s, so it was uncordoned: %w", name, r.KF.Explain(err, "list", "pods", ""))
	}
	var msg strings.Builder
	evicting, skipping, deleting, errs := 0, 0, 0, 0
	for _, pod := range pods.Items {
		if ownedByDaemonSet(&pod) {
			fmt.Fprintf(&msg, "Skipping %s/DaemonSet/%s\n", pod.Namespace, pod.Name)
			skipping++
			continue
		}
		ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
			DeleteOptions: &metav1.DeleteOptions{DryRun: dryRun}}
		if err := cs.PolicyV1().Evictions(pod.Namespace).Evict(ctx, ev); err != nil {
			// A PodDisruptionBudget that allows no disruption answers 429 here.
			fmt.Fprintf(&msg, "Error evicting %s/Pod/%s %v\n", pod.Namespace, pod.Name, err)
			errs++
			continue
		}
		verb := "Evicting"
		if len(pod.OwnerReferences) > 0 {
			evicting++
		} else {
			verb = "Deleting"
			deleting++
		}
		fmt.Fprintf(&msg, "%s %s/Pod/%s\n", verb, pod.Namespace, pod.Name)
	}
	summary := fmt.Sprintf("Drain node %s \nEvicting %d pod(s), deleting %d pod(s), skipping %d pod(s) and %d Error(s).", name, evicting, deleting, skipping, errs)
	if dryRun != nil {
		summary = "Dry run (nothing was evicted): " + summary
	}
	r.Finding.AddEnrichment("", engine.Markdown(summary),
		engine.File(fmt.Sprintf("Drain %s report.log", name), []byte(fmt.Sprintf("drain node %s \n\n%s", name, msg.String()))))
	return nil
}

func ownedByDaemonSet(p *corev1.Pod) bool {
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return true
		}
	}
	return false
}
