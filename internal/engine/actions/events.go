package actions

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "pod_events_enricher", Event: "PodEvent",
		Doc:       "Attach the Kubernetes events of the pod as a table",
		NewParams: func() any { return &eventsParams{} }, Do: objectEvents})
	engine.Register(&engine.Action{Name: "resource_events_enricher", Event: "KubernetesResourceEvent",
		Doc:       "Attach the Kubernetes events of a workload, pod, job or node, with dependent_pod_mode also those of its first max_pods pods",
		NewParams: func() any { return &extendedEventsParams{} }, Do: resourceEvents})
	engine.Register(&engine.Action{Name: "deployment_events_enricher", Event: "DeploymentEvent",
		Doc:       "Attach the events of the deployment, or with dependent_pod_mode those of its first max_pods pods that are not Running",
		NewParams: func() any { return &extendedEventsParams{} }, Do: deploymentEvents})
	engine.Register(&engine.Action{Name: "job_events_enricher", Event: "JobEvent",
		Doc:       "Attach the events of the job and of its pods",
		NewParams: func() any { return &eventsParams{} }, Do: jobEvents})
}

// eventsParams is Robusta's EventEnricherParams.
type eventsParams struct {
	MaxEvents     int64    `param:"max_events" default:"8" doc:"most recent events to show"`
	IncludedTypes []string `param:"included_types" default:"Warning,Normal" doc:"event types to keep (Warning, Normal)"`
}

// listEvents returns the events whose involved object is kind/namespace/name, newest
// first, filtered by type.
func listEvents(ctx context.Context, r *engine.Run, kind, namespace, name string, types []string) ([]corev1.Event, error) {
	cs, err := r.KF.Clientset()
	if err != nil {
		return nil, err
	}
	sel := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name}
	if namespace != "" {
		sel["involvedObject.namespace"] = namespace
	}
	list, err := cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: sel.AsSelector().String()})
	if err != nil {
		return nil, r.KF.Explain(err, "list", "events", namespace)
	}
	var out []corev1.Event
	for _, e := range list.Items {
		if len(types) == 0 || contains(types, e.Type) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return eventTime(out[i]).After(eventTime(out[j]).Time) })
	return out, nil
}

// eventsBlock is the events as a table (at most max rows), or a line saying there
// are none.
func eventsBlock(evs []corev1.Event, max int64, what string) engine.Block {
	if len(evs) == 0 {
		return engine.Markdown("No events for " + what + ".")
	}
	var rows [][]string
	for _, e := range evs {
		if max > 0 && int64(len(rows)) >= max {
			break
		}
		rows = append(rows, []string{e.Type, e.Reason, eventTime(e).UTC().Format("2006-01-02 15:04:05"), e.Message})
	}
	b := engine.Table("events", []string{"type", "reason", "time", "message"}, rows)
	b.Truncated = len(evs) - len(rows)
	return b
}

// objectEvents is pod_events_enricher and resource_events_enricher: the events of the
// event's own object.
func objectEvents(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*eventsParams)
	o := r.Event.Obj
	evs, err := listEvents(ctx, r, r.Event.Kind, o.GetNamespace(), o.GetName(), params.IncludedTypes)
	if err != nil {
		return err
	}
	r.Finding.AddEnrichment(r.Event.Kind+" events", eventsBlock(evs, params.MaxEvents, "this "+strings.ToLower(r.Event.Kind)))
	return nil
}

func jobEvents(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*eventsParams)
	o := r.Event.Obj
	evs, err := listEvents(ctx, r, "Job", o.GetNamespace(), o.GetName(), params.IncludedTypes)
	if err != nil {
		return err
	}
	r.Finding.AddEnrichment("Job events", eventsBlock(evs, params.MaxEvents, "this job"))
	pods, err := ownedPods(ctx, r)
	if err != nil {
		return err
	}
	return podsEvents(ctx, r, pods, params)
}

// podsEvents adds one events table per pod.
func podsEvents(ctx context.Context, r *engine.Run, pods []corev1.Pod, params *eventsParams) error {
	for _, pod := range pods {
		evs, err := listEvents(ctx, r, "Pod", pod.Namespace, pod.Name, params.IncludedTypes)
		if err != nil {
			return err
		}
		r.Finding.AddEnrichment(fmt.Sprintf("Events of pod %s", pod.Name), eventsBlock(evs, params.MaxEvents, "this pod"))
	}
	return nil
}

func eventTime(e corev1.Event) metav1.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp
	case !e.EventTime.IsZero():
		return metav1.Time{Time: e.EventTime.Time}
	}
	return e.CreationTimestamp
}
