package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// Run is the state of one run of actions on an event.
type Run struct {
	Event   *Event
	Finding *Finding
	KF      *kube.Factory
	// Runner is where the command was told the runner is (-n NS, --runner-pod NS/POD):
	// actions that need the runner pod find it with these, so they reach the same
	// runner the command names instead of searching on their own.
	Runner kube.FindOptions
	// Apply lets mutating actions change the cluster; without it they use server-side
	// dry run.
	Apply bool
	// Limiter is shared by the actions and triggers of one engine.
	Limiter *RateLimiter
	// Stop ends the chain after the current action.
	Stop bool
	// StopProcessing is the runner's stop_processing, set by silencers: besides ending
	// the chain, no later playbook runs for the event.
	StopProcessing bool
	// Notes are said to the user beside the finding (for example "dry run").
	Notes []string
}

// Action is a registered action.
type Action struct {
	Name     string
	Event    string // the event class it accepts
	Doc      string
	Mutating bool
	// RunsCommands marks actions that run commands in pods (pod_bash_enricher, pod_ps):
	// arbitrary code wherever the kubeconfig may exec, so a server only runs them when
	// it was started with --allow-exec.
	RunsCommands bool
	// AnyAlert lets the action run on every alert, also one whose labels name no object
	// of its event class: the runner hands such alerts to it with no object, and it
	// handles that itself (logs_enricher's warn_on_missing_label).
	AnyAlert bool
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

// Accepts reports whether the action can run on e (see Event.Yields).
func (a *Action) Accepts(e *Event) bool {
	return e.Yields(a.Event) || (a.AnyAlert && e.Class == AlertEvent)
}

// IncompatibleError says an action was given an event it cannot run on.
type IncompatibleError struct{ Action, Wanted, Got, Hint string }

func (e *IncompatibleError) Error() string {
	msg := fmt.Sprintf("action %s needs a %s, but got a %s", e.Action, e.Wanted, e.Got)
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

// ParamsError is a mistake in an action's parameters: the user's to fix.
type ParamsError struct {
	Action string
	Err    error
}

func (e *ParamsError) Error() string { return e.Action + ": " + e.Err.Error() }
func (e *ParamsError) Unwrap() error { return e.Err }

func (a *Action) incompatible(e *Event) error {
	err := &IncompatibleError{Action: a.Name, Wanted: a.Event, Got: e.Class}
	switch {
	case catalogue.IsChangeEvent(a.Event):
		err.Hint = "it compares two versions of an object, so pass the old one with --old FILE"
	case e.Class == AlertEvent && e.Kind == "":
		err.Hint = "the alert's labels name no pod, node, deployment, job, daemonset or statefulset"
	case e.Class == AlertEvent:
		err.Got = fmt.Sprintf("%s about a %s", AlertEvent, e.Kind)
	}
	return err
}

// Execute decodes params and runs the action on r.
func (a *Action) Execute(ctx context.Context, r *Run, raw map[string]any) error {
	if !a.Accepts(r.Event) {
		return a.incompatible(r.Event)
	}
	if r.Limiter == nil {
		r.Limiter = NewRateLimiter()
	}
	var params any
	if a.NewParams != nil {
		params = a.NewParams()
		if err := Decode(raw, params); err != nil {
			return &ParamsError{Action: a.Name, Err: err}
		}
	} else if len(raw) > 0 {
		keys := make([]string, 0, len(raw))
		for k := range raw {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return &ParamsError{Action: a.Name, Err: fmt.Errorf("takes no parameters, got %s", strings.Join(keys, ", "))}
	}
	return a.Do(ctx, r, params)
}

// NewFinding starts the finding for an event: its subject is the event's object. An
// alert's finding takes the alert's name, summary and severity, as the runner does.
func NewFinding(e *Event, title string) *Finding {
	f := &Finding{Title: title, Severity: Info, Source: "manual", Subject: Subject{Kind: strings.ToLower(e.Kind)}}
	if e.Obj != nil {
		f.Subject.Name, f.Subject.Namespace, f.Subject.Labels = e.Obj.GetName(), e.Obj.GetNamespace(), e.Obj.GetLabels()
		f.Subject.Annotations = e.Obj.GetAnnotations()
		if node, ok, _ := unstructured.NestedString(e.Obj.Object, "spec", "nodeName"); ok {
			f.Subject.Node = node
		}
	}
	if a := e.Alert; a != nil {
		f.Source, f.Title, f.AggregationKey = "prometheus", a.Name(), a.Name()
		if f.Title == "" {
			f.Title = "Prometheus alert"
		}
		f.Description = a.Annotations["summary"]
		if d := a.Annotations["description"]; d != "" {
			f.Description = strings.TrimSpace(f.Description + "\n" + d)
		}
		f.Severity = alertSeverity(a.Labels["severity"])
		// The alert's labels and annotations go on top of its object's, as the runner's
		// alert subject has them.
		f.Subject.Labels = mergeMaps(f.Subject.Labels, a.Labels)
		f.Subject.Annotations = mergeMaps(f.Subject.Annotations, a.Annotations)
		if a.Status == "resolved" {
			f.Title = "[RESOLVED] " + f.Title
		}
	}
	return f
}

// mergeMaps is base with over's entries on top, in a new map; nil when both are empty.
func mergeMaps(base, over map[string]string) map[string]string {
	if len(base)+len(over) == 0 {
		return base
	}
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// alertSeverity maps Prometheus severity labels onto finding severities.
func alertSeverity(s string) Severity {
	switch strings.ToLower(s) {
	case "critical", "high":
		return High
	case "error", "medium":
		return Medium
	case "warning", "low":
		return Low
	case "debug":
		return Debug
	}
	return Info
}
