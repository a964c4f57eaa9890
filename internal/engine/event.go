package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
)

// AlertEvent is the class of events made from Prometheus alerts.
const AlertEvent = "PrometheusKubernetesAlert"

// Event is what a trigger (or a manual run) hands to actions.
type Event struct {
	// Class is Robusta's event class: PodEvent, DeploymentEvent, PodChangeEvent,
	// PrometheusKubernetesAlert, ...
	Class string
	// Kind and Obj are the object the event is about; for an alert, the object its
	// labels name (empty when they name none).
	Kind      string
	Obj       *unstructured.Unstructured
	Old       *unstructured.Unstructured // change events only
	Operation string                     // create, update, delete (change events)
	Alert     *Alert                     // alert events only
	// Diffs are the differences the trigger's change_filters kept (the runner's
	// filtered_diffs): none when the trigger has no change_filters, as in the runner.
	Diffs []Diff
	// Triggered says a trigger delivered the event (the local watch); a local run
	// builds events itself, and a diff action then computes the differences.
	Triggered bool
	// Recurrence is a scheduled run's number, counted from 0: the runner's
	// ScheduledExecutionEvent.recurrence, its job's exec_count before the run.
	Recurrence int
}

// Diff is one difference between an update's two versions, as the runner's
// DiffDetail carries it: the formatted path and both values as Python prints them.
type Diff struct {
	Path string `json:"path"`
	Old  string `json:"old"`
	New  string `json:"new"`
	// Type is added, removed or change.
	Type string `json:"type"`
}

// NewDiff describes a difference between two decoded JSON values at path.
func NewDiff(path string, old, new any) Diff {
	d := Diff{Path: path, Old: pyStr(old), New: pyStr(new), Type: "change"}
	switch {
	case old == nil:
		d.Type = "added"
	case new == nil:
		d.Type = "removed"
	}
	return d
}

// pyStr prints a decoded JSON value as Python's str() prints the runner's value.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// Yields reports whether the event can be handed to an action that takes class
// wanted: the event's class is wanted or one of its descendants in Robusta's
// hierarchy. An alert yields its own class and, when its labels resolved to an object,
// what an event about that object yields (a PodEvent action runs on an alert about a
// pod, not on one about a node).
func (e *Event) Yields(wanted string) bool {
	if e.Class != AlertEvent {
		return catalogue.IsSubclass(e.Class, wanted)
	}
	if wanted == AlertEvent || wanted == "ExecutionBaseEvent" {
		return true
	}
	return e.Kind != "" && e.Obj != nil && catalogue.IsSubclass(e.Kind+"Event", wanted)
}

// Pod returns the event's object as a Pod, or nil when it is not one.
func (e *Event) Pod() *corev1.Pod {
	if e.Obj == nil || e.Kind != "Pod" {
		return nil
	}
	var p corev1.Pod
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(e.Obj.Object, &p); err != nil {
		return nil
	}
	return &p
}

// Alert is one alert of an Alertmanager webhook.
type Alert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    string            `json:"startsAt,omitempty"`
	Fingerprint string            `json:"fingerprint,omitempty"`
	// GeneratorURL links to the rule's expression in Prometheus (g0.expr).
	GeneratorURL string `json:"generatorURL,omitempty"`
}

// Name is the alert's alertname label.
func (a *Alert) Name() string { return a.Labels["alertname"] }

// alertTargets are the labels that name an object, in Robusta's order of preference:
// an alert with both pod and node labels is about the pod.
var alertTargets = []struct {
	label, kind string
	gvr         schema.GroupVersionResource
	namespaced  bool
}{
	{"pod", "Pod", schema.GroupVersionResource{Version: "v1", Resource: "pods"}, true},
	{"job_name", "Job", schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, true},
	{"deployment", "Deployment", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true},
	{"daemonset", "DaemonSet", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, true},
	{"statefulset", "StatefulSet", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, true},
	{"horizontalpodautoscaler", "HorizontalPodAutoscaler", schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}, true},
	{"node", "Node", schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, false},
	{"instance", "Node", schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, false},
}

// AlertTarget returns the label naming the alert's object, the object's kind,
// namespace and name (namespace "default" when the alert has no namespace label, as
// Robusta does; an instance label loses its :port).
func AlertTarget(a *Alert) (label, kind, namespace, name string) {
	for _, t := range alertTargets {
		v := a.Labels[t.label]
		if v == "" {
			continue
		}
		if t.label == "instance" {
			v, _, _ = strings.Cut(v, ":")
		}
		ns := ""
		if t.namespaced {
			if ns = a.Labels["namespace"]; ns == "" {
				ns = "default"
			}
		}
		return t.label, t.kind, ns, v
	}
	return "", "", "", ""
}

// ResolveAlert builds the event of an alert: it looks up the object the labels name.
// An alert whose labels name no object, or whose object is gone, still makes an event
// (actions on the alert itself can run); the second result says what happened.
func ResolveAlert(ctx context.Context, dyn dynamic.Interface, a *Alert) (*Event, string, error) {
	ev := &Event{Class: AlertEvent, Alert: a}
	label, kind, ns, name := AlertTarget(a)
	if kind == "" {
		return ev, "the alert's labels name no Kubernetes object", nil
	}
	for _, t := range alertTargets {
		if t.label != label {
			continue
		}
		obj, err := dyn.Resource(t.gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			where := name
			if ns != "" {
				where = ns + "/" + name
			}
			return ev, fmt.Sprintf("the alert names %s %s (label %s), which does not exist", strings.ToLower(kind), where, label), nil
		}
		if err != nil {
			return nil, "", err
		}
		ev.Kind, ev.Obj = kind, obj
		return ev, "", nil
	}
	return ev, "", nil
}

// ResourceEvent is the event of a live object of kind: PodEvent for a Pod and so on,
// KubernetesResourceEvent for kinds Robusta has no typed event for (custom resources).
func ResourceEvent(kind string, obj *unstructured.Unstructured) *Event {
	class := kind + "Event"
	if !catalogue.IsSubclass(class, "KubernetesResourceEvent") {
		class = "KubernetesResourceEvent"
	}
	return &Event{Class: class, Kind: kind, Obj: obj}
}

// ChangeEvent is the event of an object changing from old to obj (operation create,
// update or delete): PodChangeEvent for a Pod, KubernetesAnyChangeEvent for kinds
// without a typed one.
func ChangeEvent(kind, operation string, old, obj *unstructured.Unstructured) *Event {
	class := kind + "ChangeEvent"
	if !catalogue.IsSubclass(class, "KubernetesAnyChangeEvent") {
		class = "KubernetesAnyChangeEvent"
	}
	return &Event{Class: class, Kind: kind, Obj: obj, Old: old, Operation: operation}
}
