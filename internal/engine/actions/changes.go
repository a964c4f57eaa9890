package actions

import (
	"context"
	"fmt"
	"math"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "event_report", Event: "EventChangeEvent",
		Doc: "Make a finding of a Kubernetes event: its reason, type and note, about the object it regards", Do: eventReport})
	engine.Register(&engine.Action{Name: "create_event_finding", Event: "EventChangeEvent",
		Doc:       "Make a finding of a Kubernetes event, with your aggregation key",
		NewParams: func() any { return &eventFindingParams{} }, Do: createEventFinding})
	engine.Register(&engine.Action{Name: "warning_events_report", Event: "EventChangeEvent",
		Doc:       "Make a finding of a Kubernetes event; events whose reason a group matches get the group's aggregation key and description",
		NewParams: func() any { return &warningEventReportParams{} }, Do: warningEventsReport})
	engine.Register(&engine.Action{Name: "node_health_watcher", Event: "NodeChangeEvent",
		Doc: "Report a node whose Ready condition went from true to not true, with what changed and its conditions", Do: nodeHealthWatcher})
	engine.Register(&engine.Action{Name: "alert_on_hpa_reached_limit", Event: "HorizontalPodAutoscalerChangeEvent",
		Doc:       "Report an autoscaler whose replica count changed and now wants its maximum, offering to raise the maximum",
		NewParams: func() any { return &hpaLimitParams{} }, Do: hpaReachedLimit})
}

// kubeEvent is what the runner reads from an events.k8s.io/v1 Event, taken from
// either API version (--kind event gives a core/v1 one: message for note).
type kubeEvent struct {
	reason, typ, note     string
	kind, name, namespace string
}

func readKubeEvent(obj *unstructured.Unstructured) (kubeEvent, error) {
	var e kubeEvent
	e.kind, e.name, e.namespace = regarding(obj)
	if e.kind == "" {
		return e, fmt.Errorf("event %s/%s names no object (no regarding or involvedObject kind)", obj.GetNamespace(), obj.GetName())
	}
	e.reason, _, _ = unstructured.NestedString(obj.Object, "reason")
	e.typ, _, _ = unstructured.NestedString(obj.Object, "type")
	if n, ok, _ := unstructured.NestedString(obj.Object, "note"); ok {
		e.note = n
	} else {
		e.note, _, _ = unstructured.NestedString(obj.Object, "message")
	}
	return e, nil
}

// eventFinding fills the finding as the runner's build_event_finding does: the
// subject is the regarded object (its node is itself only when it is a Node), and a
// Normal event is INFO, any other DEBUG.
func eventFinding(r *engine.Run, e kubeEvent, key, description string) {
	f := r.Finding
	f.Title = fmt.Sprintf("%s %s for %s %s/%s", e.reason, e.typ, e.kind, pyStrOrNone(e.namespace), e.name)
	f.Description = description
	f.Source = "kubernetes_api_server"
	f.Severity = engine.Debug
	if e.typ == "Normal" {
		f.Severity = engine.Info
	}
	f.AggregationKey = key
	f.Subject = engine.Subject{Kind: strings.ToLower(e.kind), Name: e.name, Namespace: e.namespace}
	if e.kind == "Node" {
		f.Subject.Node = e.name
	}
	f.SetFingerprint()
}

func eventReport(_ context.Context, r *engine.Run, _ any) error {
	e, err := readKubeEvent(r.Event.Obj)
	if err != nil {
		return err
	}
	eventFinding(r, e, "Kubernetes"+e.typ+"Event", e.note)
	return nil
}

type eventFindingParams struct {
	AggregationKey string `param:"aggregation_key" required:"true" doc:"the finding's aggregation key"`
}

func createEventFinding(_ context.Context, r *engine.Run, p any) error {
	e, err := readKubeEvent(r.Event.Obj)
	if err != nil {
		return err
	}
	eventFinding(r, e, p.(*eventFindingParams).AggregationKey, e.note)
	return nil
}

// warningEventGroup is Robusta's WarningEventGroupParams.
type warningEventGroup struct {
	Matchers       []string `param:"matchers" required:"true" doc:"event reasons this group takes"`
	AggregationKey string   `param:"aggregation_key" required:"true" doc:"aggregation key of the group's findings"`
	Description    string   `param:"description" doc:"finding description; $name, $kind, $namespace are the regarded object's"`
}

type warningEventReportParams struct {
	Groups []warningEventGroup `param:"warning_event_groups" required:"true" doc:"groups of event reasons (matchers, aggregation_key, description), first match wins"`
}

func warningEventsReport(_ context.Context, r *engine.Run, p any) error {
	e, err := readKubeEvent(r.Event.Obj)
	if err != nil {
		return err
	}
	key, description := "Kubernetes"+e.typ+"Event", e.note
	for _, g := range p.(*warningEventReportParams).Groups {
		if !containsExact(g.Matchers, e.reason) {
			continue
		}
		key = g.AggregationKey
		if g.Description != "" {
			description = eventTemplate(g.Description, e)
		}
		break
	}
	eventFinding(r, e, key, description)
	return nil
}

// eventTemplate is the runner's format_event_templated_string on an object
// reference: name, kind and namespace are known (an empty namespace and the node are
// "<missing>", as is any other name), with the dotted ExtendedTemplate rules.
func eventTemplate(tmpl string, e kubeEvent) string {
	ns := e.namespace
	if ns == "" {
		ns = "<missing>"
	}
	vars := map[string]string{"name": e.name, "kind": e.kind, "namespace": ns, "node": "<missing>"}
	return pySubstitute(tmpl, true, withDefault(vars, "<missing>"))
}

// containsExact is Python's `in` on a list of strings: case matters.
func containsExact(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readyStatus is the status of the object's Ready condition; false when it has none.
func readyStatus(obj *unstructured.Unstructured) (string, bool) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			s, _ := m["status"].(string)
			return s, true
		}
	}
	return "", false
}

func nodeHealthWatcher(ctx context.Context, r *engine.Run, _ any) error {
	ev := r.Event
	if ev.Old == nil || ev.Obj == nil {
		return fmt.Errorf("node_health_watcher compares the node's old and new Ready condition, but the %s event has one version only: pass the old node with --old FILE", ev.Operation)
	}
	newS, okNew := readyStatus(ev.Obj)
	oldS, okOld := readyStatus(ev.Old)
	if !okNew || !okOld {
		// The runner indexes the Ready condition of both and fails without one.
		return fmt.Errorf("node %s has no Ready condition in its %s version; the runner's action fails on such a node, give versions that have one", ev.Obj.GetName(), map[bool]string{true: "old", false: "new"}[okNew])
	}
	ready := strings.Contains(strings.ToLower(newS), "true")
	wasReady := strings.Contains(strings.ToLower(oldS), "true")
	if ready || ready == wasReady {
		r.Notes = append(r.Notes, fmt.Sprintf("node_health_watcher: node %s was Ready=%s and is Ready=%s; the runner reports only a change to not ready, so there is no finding", ev.Obj.GetName(), oldS, newS))
		return nil
	}
	f := r.Finding
	f.Title = "Unhealthy node " + ev.Obj.GetName()
	f.Source, f.AggregationKey, f.Severity = "kubernetes_api_server", "NodeNotReady", engine.High
	f.Subject.Node = ev.Obj.GetName()
	f.SetFingerprint()
	f.AddEnrichment("", changesBlock(ev.Old.Object, ev.Obj.Object))
	// The runner then calls node_status_enricher for the conditions table.
	return nodeStatus(ctx, r, nil)
}

type hpaLimitParams struct {
	IncreasePct int64 `param:"increase_pct" default:"20" doc:"suggested raise of maxReplicas, in percent"`
}

func nestedInt(obj *unstructured.Unstructured, fields ...string) (int64, bool) {
	v, ok, _ := unstructured.NestedFieldNoCopy(obj.Object, fields...)
	switch x := v.(type) {
	case int64:
		return x, ok
	case float64:
		return int64(x), ok
	case int:
		return int64(x), ok
	}
	return 0, false
}

// hpaCPU is the average CPU use in percent of requests the runner reads
// (autoscaling/v1's currentCPUUtilizationPercentage), from either API version.
func hpaCPU(obj *unstructured.Unstructured) (int64, bool) {
	if v, ok := nestedInt(obj, "status", "currentCPUUtilizationPercentage"); ok {
		return v, true
	}
	metrics, _, _ := unstructured.NestedSlice(obj.Object, "status", "currentMetrics")
	for _, m := range metrics {
		u := &unstructured.Unstructured{Object: map[string]any{"m": m}}
		if name, _, _ := unstructured.NestedString(u.Object, "m", "resource", "name"); name != "cpu" {
			continue
		}
		if v, ok := nestedInt(u, "m", "resource", "current", "averageUtilization"); ok {
			return v, true
		}
	}
	return 0, false
}

func hpaReachedLimit(_ context.Context, r *engine.Run, p any) error {
	ev := r.Event
	if ev.Old == nil || ev.Obj == nil {
		return fmt.Errorf("alert_on_hpa_reached_limit compares the autoscaler's old and new replica counts, but the %s event has one version only: pass the old one with --old FILE", ev.Operation)
	}
	name, ns := ev.Obj.GetName(), ev.Obj.GetNamespace()
	current, _ := nestedInt(ev.Obj, "status", "currentReplicas")
	oldCurrent, _ := nestedInt(ev.Old, "status", "currentReplicas")
	if current == oldCurrent {
		r.Notes = append(r.Notes, fmt.Sprintf("alert_on_hpa_reached_limit: currentReplicas is %d in both versions; the runner reports only a change, so there is no finding", current))
		return nil
	}
	desired, _ := nestedInt(ev.Obj, "status", "desiredReplicas")
	max, _ := nestedInt(ev.Obj, "spec", "maxReplicas")
	if desired != max {
		r.Notes = append(r.Notes, fmt.Sprintf("alert_on_hpa_reached_limit: desiredReplicas %d is not maxReplicas %d, so there is no finding", desired, max))
		return nil
	}
	cpu, ok := hpaCPU(ev.Obj)
	if !ok {
		return fmt.Errorf("autoscaler %s/%s reports no current CPU utilisation (status.currentMetrics has no cpu averageUtilization); the runner's action fails on such an autoscaler", ns, name)
	}
	suggestion := int64(math.Ceil(float64((p.(*hpaLimitParams).IncreasePct+100)*max) / 100))
	f := r.Finding
	f.Title = fmt.Sprintf("HPA *%s* in namespace *%s* reached max replicas: *%d*", name, ns, max)
	f.Severity, f.Source, f.AggregationKey = engine.Low, "kubernetes_api_server", "HpaReachedMaximum"
	f.SetFingerprint()
	// The button runs scale_hpa_callback on this autoscaler.
	f.AddEnrichment("",
		engine.Markdown(fmt.Sprintf("On average, pods scaled under this HPA are using *%d %%* of the requested cpu.", cpu)),
		button(fmt.Sprintf("Update HPA max replicas to: %d", suggestion),
			"scale_hpa_callback", "--kind", "hpa", "--name", name, "-n", ns, fmt.Sprintf("max_replicas=%d", suggestion)))
	return nil
}
