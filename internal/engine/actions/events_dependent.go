package actions

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// extendedEventsParams is the runner's ExtendedEventEnricherParams.
type extendedEventsParams struct {
	MaxEvents        int64    `param:"max_events" default:"8" doc:"most recent events to show"`
	IncludedTypes    []string `param:"included_types" default:"Warning,Normal" doc:"event types to keep (Warning, Normal)"`
	DependentPodMode bool     `param:"dependent_pod_mode" doc:"also (resource_events_enricher) or instead (deployment_events_enricher) show the events of the object's pods"`
	MaxPods          int64    `param:"max_pods" default:"1" doc:"how many of those pods, the first in the API's (name) order"`
}

// eventsKinds are the kinds the runner's resource_events_enricher accepts (its
// events_supported_types; the runner adds the kinds of its CUSTOM_CRD env, which a
// local run does not have).
var eventsKinds = []string{"Pod", "Deployment", "DaemonSet", "ReplicaSet", "StatefulSet", "Job", "Node", "DeploymentConfig", "Rollout"}

// pyHead is how many of n items Python's items[:k] keeps: a negative k counts from
// the end.
func pyHead(k int64, n int) int {
	if k < 0 {
		k += int64(n)
		if k < 0 {
			k = 0
		}
	}
	if k > int64(n) {
		return n
	}
	return int(k)
}

// typeKept is the runner's filter_event: the event's type is one of types, compared
// without case; nil keeps every type.
func typeKept(e *eventsv1.Event, types []string) bool {
	if types == nil {
		return true
	}
	for _, t := range types {
		if strings.EqualFold(t, e.Type) {
			return true
		}
	}
	return false
}

// keptEvents lists an object's events (events.k8s.io/v1, the API's order) of the
// given types.
func keptEvents(ctx context.Context, r *engine.Run, kind, name, namespace string, types []string) ([]eventsv1.Event, error) {
	evs, err := v1Events(ctx, r, kind, name, namespace)
	if err != nil {
		return nil, err
	}
	kept := evs[:0]
	for i := range evs {
		if typeKept(&evs[i], types) {
			kept = append(kept, evs[i])
		}
	}
	return kept, nil
}

// withDependentEvents is the runner's order of work in resource_events_enricher: the
// object's own events, then those of the first maxPods pods, one pod at a time while
// fewer than maxEvents are collected; the list is cut to maxEvents before it is
// sorted newest first, so the object's own events are kept over its pods'.
func withDependentEvents(own []eventsv1.Event, pods []corev1.Pod, maxPods, maxEvents int64,
	podEvents func(*corev1.Pod) ([]eventsv1.Event, error)) ([]eventsv1.Event, error) {
	evs := own
	pods = pods[:pyHead(maxPods, len(pods))]
	for i := range pods {
		if int64(len(evs)) >= maxEvents {
			break
		}
		more, err := podEvents(&pods[i])
		if err != nil {
			return nil, err
		}
		evs = append(evs, more...)
	}
	evs = evs[:pyHead(maxEvents, len(evs))]
	sort.SliceStable(evs, func(i, j int) bool { return v1EventTime(&evs[i]).After(v1EventTime(&evs[j])) })
	return evs, nil
}

// selectorOf is the label selector of a workload's pods, as the runner's
// build_selector_query reads spec.selector: a LabelSelector, or for kinds whose
// selector is a plain map (DeploymentConfig) that map. The runner reads a custom
// resource's LabelSelector (a Rollout's) as a plain map, which the API refuses; here
// it is read as the LabelSelector it is.
func selectorOf(obj *unstructured.Unstructured) (string, error) {
	raw, ok, _ := unstructured.NestedMap(obj.Object, "spec", "selector")
	if !ok {
		return "", fmt.Errorf("%s %s/%s has no spec.selector", obj.GetKind(), obj.GetNamespace(), obj.GetName())
	}
	_, hasLabels := raw["matchLabels"]
	_, hasExprs := raw["matchExpressions"]
	if !hasLabels && !hasExprs {
		set := labels.Set{}
		for k, v := range raw {
			set[k] = fmt.Sprint(v)
		}
		return set.AsSelector().String(), nil
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ls); err != nil {
		return "", fmt.Errorf("selector of %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil {
		return "", fmt.Errorf("selector of %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return sel.String(), nil
}

// jobSelector is the runner's get_job_selector: the job's controller-uid label, else
// its selector, else its job-name label; "" when it has none of them.
func jobSelector(obj *unstructured.Unstructured) (string, error) {
	l := obj.GetLabels()
	switch {
	case l["controller-uid"] != "":
		return "controller-uid=" + l["controller-uid"], nil
	case hasField(obj, "spec", "selector"):
		return selectorOf(obj)
	case l["job-name"] != "":
		return "job-name=" + l["job-name"], nil
	}
	return "", nil
}

func hasField(obj *unstructured.Unstructured, path ...string) bool {
	_, ok, _ := unstructured.NestedFieldNoCopy(obj.Object, path...)
	return ok
}

// selectedPods lists a namespace's pods by label and field selector, in the API's order.
func selectedPods(ctx context.Context, r *engine.Run, namespace, labelSel, fieldSel string) ([]corev1.Pod, error) {
	cs, err := r.KF.Clientset()
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: labelSel, FieldSelector: fieldSel})
	if err != nil {
		return nil, r.KF.Explain(err, "list", "pods", namespace)
	}
	return list.Items, nil
}

// dependentPods are the pods resource_events_enricher adds: a job's by its job
// selector, any other kind's by its spec.selector, in every phase.
func dependentPods(ctx context.Context, r *engine.Run) ([]corev1.Pod, error) {
	obj := r.Event.Obj
	pick := selectorOf
	if r.Event.Kind == "Job" {
		pick = jobSelector
	}
	sel, err := pick(obj)
	if err != nil {
		return nil, err
	}
	if sel == "" && r.Event.Kind == "Job" { // a job with no way to find its pods has none, for the runner too
		return nil, nil
	}
	return selectedPods(ctx, r, obj.GetNamespace(), sel, "")
}

// resourceEvents is the runner's resource_events_enricher.
func resourceEvents(ctx context.Context, r *engine.Run, p any) error {
	const action = "resource_events_enricher"
	params := p.(*extendedEventsParams)
	kind, obj := r.Event.Kind, r.Event.Obj
	if !contains(eventsKinds, kind) {
		return fmt.Errorf("%s supports %s, not %s (as in the runner): use fetch_resource_events for other kinds", action, strings.Join(eventsKinds, ", "), kind)
	}
	evs, err := keptEvents(ctx, r, kind, obj.GetName(), obj.GetNamespace(), params.IncludedTypes)
	if err != nil {
		return err
	}
	if params.DependentPodMode && kind != "Pod" && kind != "Node" {
		pods, err := dependentPods(ctx, r)
		if err != nil {
			return err
		}
		evs, err = withDependentEvents(evs, pods, params.MaxPods, params.MaxEvents, func(pod *corev1.Pod) ([]eventsv1.Event, error) {
			return keptEvents(ctx, r, "Pod", pod.Name, pod.Namespace, params.IncludedTypes)
		})
		if err != nil {
			return err
		}
	} else {
		// No pods: only the cut to max_events and the sort.
		evs, _ = withDependentEvents(evs, nil, 0, params.MaxEvents, nil)
	}
	if len(evs) == 0 {
		noteSkip(r, action, fmt.Sprintf("no events of %s %s (events.k8s.io/v1) are left", kind, objectRef(obj)))
		return nil
	}
	rows := make([][]string, len(evs))
	for i := range evs {
		e := &evs[i]
		rows[i] = []string{e.Reason, e.Type, v1EventTime(e).UTC().Format("2006-01-02 15:04:05"), e.Regarding.Kind, e.Regarding.Name, e.Note}
	}
	r.Finding.AddEnrichment("Resource Events", engine.Table(kind+" Events", []string{"reason", "type", "time", "kind", "name", "message"}, rows))
	return nil
}

func objectRef(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

// deploymentEvents is the runner's deployment_events_enricher: the deployment's own
// events, or in dependent_pod_mode one table for each of its first max_pods pods that
// are not Running.
func deploymentEvents(ctx context.Context, r *engine.Run, p any) error {
	const action = "deployment_events_enricher"
	params := p.(*extendedEventsParams)
	o := r.Event.Obj
	if !params.DependentPodMode {
		return addEvents(ctx, r, action, "Deployment Events", "Deployment Events", "Deployment", o.GetName(), o.GetNamespace(), params.IncludedTypes, params.MaxEvents)
	}
	sel, err := selectorOf(o)
	if err != nil {
		return err
	}
	pods, err := selectedPods(ctx, r, o.GetNamespace(), sel, "status.phase!=Running")
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		noteSkip(r, action, "deployment "+objectRef(o)+" has no pods that are not Running (dependent_pod_mode shows only those)")
		return nil
	}
	for _, pod := range pods[:pyHead(params.MaxPods, len(pods))] {
		if err := addEvents(ctx, r, action, "Deployment Events", "Pod events for "+pod.Name, "Pod", pod.Name, pod.Namespace, params.IncludedTypes, params.MaxEvents); err != nil {
			return err
		}
	}
	return nil
}
