package actions

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

func init() {
	engine.Register(&engine.Action{Name: "hpa_events_enricher", Event: engine.AlertEvent,
		Doc:       "Attach the events of the HorizontalPodAutoscaler an alert names",
		NewParams: func() any { return &eventsParams{} }, Do: hpaEvents})
	engine.Register(&engine.Action{Name: "enrich_pod_with_node_events", Event: "PodEvent",
		Doc:       "Attach the events of the node the pod runs on",
		NewParams: func() any { return &eventsParams{} }, Do: podNodeEvents})
	engine.Register(&engine.Action{Name: "event_resource_events", Event: "EventChangeEvent",
		Doc: "Given a Kubernetes event, attach all the events of the object it is about", Do: eventResourceEvents})
	engine.Register(&engine.Action{Name: "fetch_resource_events", Event: "ExecutionBaseEvent",
		Doc:       "Attach the events of the object named by kind, name and namespace",
		NewParams: func() any { return &resourceParams{} }, Do: fetchResourceEvents})
}

// resourceParams is Robusta's ResourceParams: an object named without an event.
type resourceParams struct {
	Kind      string `param:"kind" required:"true" doc:"the object's kind (Pod, Deployment, a custom resource's kind, ...)"`
	Name      string `param:"name" required:"true" doc:"the object's name"`
	Namespace string `param:"namespace" doc:"its namespace (default: the kubeconfig's)"`
}

// v1Events lists, from events.k8s.io/v1 across all namespaces, the events whose
// regarding object matches kind and the non-empty name and namespace, as the runner
// asks for them; it pages so a busy object does not come back in one response.
func v1Events(ctx context.Context, r *engine.Run, kind, name, namespace string) ([]eventsv1.Event, error) {
	sel := "regarding.kind=" + kind
	if name != "" {
		sel += ",regarding.name=" + name
	}
	if namespace != "" {
		sel += ",regarding.namespace=" + namespace
	}
	var out []eventsv1.Event
	err := sweepEvents(ctx, r, sel, func(e *eventsv1.Event) { out = append(out, *e) })
	return out, err
}

// v1EventTime is the time the runner sorts and shows an event by: the last
// (deprecated) timestamp, else the event time, else the first timestamp, else when
// the object was created.
func v1EventTime(e *eventsv1.Event) time.Time {
	switch {
	case !e.DeprecatedLastTimestamp.IsZero():
		return e.DeprecatedLastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.DeprecatedFirstTimestamp.IsZero():
		return e.DeprecatedFirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// resourceEventsTable is the runner's events table of one object: reason, type, time
// and note, newest first, at most max rows (0: all), only the given types (nil: all;
// compared without case, as the runner does).
// It returns false when no event is left, and then the runner adds nothing.
func resourceEventsTable(ctx context.Context, r *engine.Run, table, kind, name, namespace string, types []string, max int64) (engine.Block, bool, error) {
	evs, err := v1Events(ctx, r, kind, name, namespace)
	if err != nil {
		return engine.Block{}, false, err
	}
	kept := evs[:0]
	for i := range evs {
		if typeKept(&evs[i], types) {
			kept = append(kept, evs[i])
		}
	}
	if len(kept) == 0 {
		return engine.Block{}, false, nil
	}
	sort.SliceStable(kept, func(i, j int) bool { return v1EventTime(&kept[i]).After(v1EventTime(&kept[j])) })
	total := len(kept)
	if max > 0 && int64(len(kept)) > max {
		kept = kept[:max]
	}
	rows := make([][]string, len(kept))
	for i := range kept {
		e := &kept[i]
		rows[i] = []string{e.Reason, e.Type, v1EventTime(e).UTC().Format("2006-01-02 15:04:05"), e.Note}
	}
	b := engine.Table(table, []string{"reason", "type", "time", "message"}, rows)
	b.Truncated = total - len(kept)
	return b, true, nil
}

// addEvents adds the table under title, or notes that there was none to add.
func addEvents(ctx context.Context, r *engine.Run, action, title, table, kind, name, namespace string, types []string, max int64) error {
	b, ok, err := resourceEventsTable(ctx, r, table, kind, name, namespace, types, max)
	if err != nil {
		return err
	}
	if !ok {
		what := kind + " " + name
		if namespace != "" {
			what = kind + " " + namespace + "/" + name
		}
		r.Notes = append(r.Notes, fmt.Sprintf("%s: no events of %s (events.k8s.io/v1), so it added nothing", action, what))
		return nil
	}
	r.Finding.AddEnrichment(title, b)
	return nil
}

func hpaEvents(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*eventsParams)
	if r.Event.Kind != "HorizontalPodAutoscaler" || r.Event.Obj == nil {
		r.Notes = append(r.Notes, "hpa_events_enricher: the alert names no HorizontalPodAutoscaler (label horizontalpodautoscaler), so it added nothing")
		return nil
	}
	o := r.Event.Obj
	return addEvents(ctx, r, "hpa_events_enricher", "HPA Events", "HPA events", "HorizontalPodAutoscaler", o.GetName(), o.GetNamespace(), params.IncludedTypes, params.MaxEvents)
}

func podNodeEvents(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*eventsParams)
	pod := r.Event.Pod()
	if pod.Spec.NodeName == "" {
		r.Notes = append(r.Notes, fmt.Sprintf("enrich_pod_with_node_events: pod %s/%s is on no node yet, so it added nothing", pod.Namespace, pod.Name))
		return nil
	}
	return addEvents(ctx, r, "enrich_pod_with_node_events", "Node Events", "Node Events", "Node", pod.Spec.NodeName, "", params.IncludedTypes, params.MaxEvents)
}

// regarding is the object an Event is about, read from an events.k8s.io/v1 Event
// (regarding) or a core/v1 one (involvedObject), since --kind event may give either.
func regarding(obj *unstructured.Unstructured) (kind, name, namespace string) {
	for _, field := range []string{"regarding", "involvedObject"} {
		m, ok, _ := unstructured.NestedStringMap(obj.Object, field)
		if ok && m["kind"] != "" {
			return m["kind"], m["name"], m["namespace"]
		}
	}
	return "", "", ""
}

func eventResourceEvents(ctx context.Context, r *engine.Run, _ any) error {
	kind, name, ns := regarding(r.Event.Obj)
	if kind == "" {
		return fmt.Errorf("event %s/%s names no object (no regarding or involvedObject kind)", r.Event.Obj.GetNamespace(), r.Event.Obj.GetName())
	}
	return addEvents(ctx, r, "event_resource_events", "Related Events", "Related Events", kind, name, ns, nil, 0)
}

// resolveKindParam resolves a kind param (deploy, pods, Deployment, a custom
// resource's kind) through discovery, as kubectl does; a kind the server lacks is the
// user's mistake in the params.
func resolveKindParam(r *engine.Run, action, kind string) (*kube.Resource, error) {
	res, err := r.KF.ResolveKind(kind)
	var unknown *kube.UnknownKindError
	if errors.As(err, &unknown) {
		return nil, &engine.ParamsError{Action: action, Err: fmt.Errorf("parameter \"kind\": %w", err)}
	}
	return res, err
}

func fetchResourceEvents(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*resourceParams)
	r.Finding.Title = fmt.Sprintf("Events for %s/%s", params.Kind, params.Name)
	r.Finding.AggregationKey = "fetch_resource_events"
	// Only the kind is normalised: without a namespace the runner matches the name in
	// every namespace.
	res, err := resolveKindParam(r, "fetch_resource_events", params.Kind)
	if err != nil {
		return err
	}
	return addEvents(ctx, r, "fetch_resource_events", "Resource Events", "Resource Events", res.Kind, params.Name, params.Namespace, nil, 0)
}
