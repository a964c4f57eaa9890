package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/robusta-dev/robusta-go/internal/kube"
	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

// Event is what a trigger (or a manual run) hands to actions.
type Event struct {
	// Class is Robusta's event class: PodEvent, DeploymentEvent, PodChangeEvent, ...
	Class     string
	Kind      string
	Obj       *unstructured.Unstructured
	Old       *unstructured.Unstructured // change events only
	Operation string                     // create, update, delete (change events)
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

// Run is the state of one run of actions on an event.
type Run struct {
	Event   *Event
	Finding *Finding
	KF      *kube.Factory
	// Apply lets mutating actions change the cluster; without it they use server-side
	// dry run.
	Apply bool
	// Stop ends the chain after the current action.
	Stop bool
	// Notes are said to the user beside the finding (for example "dry run").
	Notes []string
}

// Action is a registered action.
type Action struct {
	Name     string
	Event    string // the event class it accepts
	Doc      string
	Mutating bool
	// NewParams returns a pointer to a zero params struct, or nil for none.
	NewParams func() any
	Do        func(ctx context.Context, r *Run, params any) error
}

var registry = map[string]*Action{}

// Register adds an action; it panics on a duplicate name (a programming error).
func Register(a *Action) {
	if _, dup := registry[a.Name]; dup {
		panic("duplicate action " + a.Name)
	}
	registry[a.Name] = a
}

// Lookup returns a registered action.
func Lookup(name string) (*Action, bool) {
	a, ok := registry[name]
	return a, ok
}

// Names lists the registered actions, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Accepts reports whether an event of class produced can run the action.
func (a *Action) Accepts(produced string) bool { return pbconfig.Fits(produced, a.Event) }

// Execute decodes params and runs the action on r.
func (a *Action) Execute(ctx context.Context, r *Run, raw map[string]any) error {
	if !a.Accepts(r.Event.Class) {
		msg := fmt.Sprintf("action %s needs a %s, but got a %s", a.Name, a.Event, r.Event.Class)
		if pbconfig.IsChangeEvent(a.Event) {
			msg += ": it compares two versions of an object, so pass the old one with --old FILE"
		}
		return fmt.Errorf("%s", msg)
	}
	var params any
	if a.NewParams != nil {
		params = a.NewParams()
		if err := Decode(raw, params); err != nil {
			return fmt.Errorf("%s: %w", a.Name, err)
		}
	} else if len(raw) > 0 {
		keys := make([]string, 0, len(raw))
		for k := range raw {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return fmt.Errorf("%s takes no parameters, got %s", a.Name, strings.Join(keys, ", "))
	}
	return a.Do(ctx, r, params)
}

// NewFinding starts the finding for an event: its subject is the event's object.
func NewFinding(e *Event, title string) *Finding {
	f := &Finding{Title: title, Severity: Info, Source: "manual", Subject: Subject{Kind: strings.ToLower(e.Kind)}}
	if e.Obj != nil {
		f.Subject.Name, f.Subject.Namespace, f.Subject.Labels = e.Obj.GetName(), e.Obj.GetNamespace(), e.Obj.GetLabels()
		if node, ok, _ := unstructured.NestedString(e.Obj.Object, "spec", "nodeName"); ok {
			f.Subject.Node = node
		}
	}
	return f
}
