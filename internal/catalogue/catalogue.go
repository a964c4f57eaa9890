// Package catalogue is Robusta's vocabulary as data: every trigger key, every action, the
// params models they take, every sink type and the event-class hierarchy, as found in
// robusta-dev/robusta at RobustaCommit. The validator, the local engine and the CLI's
// help and completion all read it; it imports nothing of the engine, so its answers do
// not depend on which packages registered what.
//
// The data lives in generated files (zz_generated_*.go, made by hack/catalogue from a
// checkout of robusta-dev/robusta) and in hand-written notes (where an action runs and
// why, what it is for). Lookups are built on first use, never in init().
package catalogue

import (
	"sort"
	"strings"
	"sync"
)

// Kind is the normalised type of a param value, as the runner's pydantic v1 model
// coerces it.
type Kind string

const (
	String   Kind = "str" // str, SecretStr, constrained strings
	Int      Kind = "int"
	Float    Kind = "float"
	Bool     Kind = "bool"
	List     Kind = "list"     // List[...] / Set[...] / Tuple[...]: Elem holds the element
	Map      Kind = "dict"     // Dict[str, ...]: Elem holds the value
	Object   Kind = "object"   // a nested params model: Model names it
	DateTime Kind = "datetime" // datetime: an ISO 8601 string or a number of seconds
	Union    Kind = "union"    // Union[...]: Options lists the alternatives
	Any      Kind = "any"      // Any, untyped or a type the catalogue does not model
)

// Type is a param's type.
type Type struct {
	Kind    Kind
	Elem    *Type  // element type of a List, value type of a Map
	Model   string // for Object: the Model's name
	Options []Type // for Union
}

// Param is one field of a params model.
type Param struct {
	Name string
	// Python is the annotation as written in Robusta's source (for display), e.g.
	// "Optional[List[str]]"; empty for an untyped attribute.
	Python   string
	Type     Type
	Required bool
	// Default is the default as a Python literal ("None", "60", "'table'", "[]"), or ""
	// when there is none (then Required tells whether the field may be left out).
	Default string
	// Enum, when not nil, is the closed set of values the runner accepts.
	Enum []string
	// Deprecated says what to use instead, when the runner still reads the param but no
	// longer wants it.
	Deprecated string
	Summary    string
}

// Model is a params class: the fields it has after inheritance, in source order.
type Model struct {
	Name   string
	Source string // file:line in robusta-dev/robusta
	Params []Param
	// ExtraAllowed: unknown keys are kept (pydantic extra=allow). Otherwise the runner
	// silently drops them.
	ExtraAllowed bool
}

// Class says what an action needs besides the Kubernetes API (ROBUSTA-CATALOGUE §1).
type Class string

const (
	ClassKubeAPI  Class = "A" // only the Kubernetes API (or no I/O at all)
	ClassHelper   Class = "B" // a helper pod, Job or privileged node pod
	ClassService  Class = "C" // Prometheus, Alertmanager, Grafana, git, Argo or another HTTP service
	ClassPlatform Class = "D" // the Robusta platform, a sink, a silencer or the runner's internals
)

// Action is one Robusta action.
type Action struct {
	Name   string
	Source string // file:line of the @action function
	// Event is the event class of the action's first parameter: the triggers whose
	// event is this class or a subclass of it can run the action.
	Event string
	// Params names the params Model, "" when the action takes none.
	Params string
	// ManualRunnable: the event class can be built from params alone, so `robusta
	// playbooks trigger` can run the action; ManualParams are the event attributes it
	// needs then (e.g. name, namespace).
	ManualRunnable bool
	ManualParams   []string
	// ManualOptional are event attributes a manual run accepts but does not need.
	ManualOptional []string
	Class          Class
	Mutating       bool
	// Deprecated says what replaces the action; "" when it is current.
	Deprecated string
	// Local: the local engine implements it. When false, Reason says why it runs only in
	// the in-cluster runner.
	Local   bool
	Reason  string
	Summary string
}

// Trigger is one trigger key of a playbook's `triggers` list.
type Trigger struct {
	Key    string
	Source string
	// Event is the event class the trigger produces (the declared execution event).
	Event string
	// Params names the params Model.
	Params string
	// Strict: keys outside Params are a load error in the runner (custom __init__
	// signatures); otherwise the runner ignores them.
	Strict bool
	// ChangeFilters: the trigger accepts change_filters.
	ChangeFilters bool
	// Kind and Operation, for Kubernetes triggers: the resource kind ("Any" for the
	// any-resource triggers) and create, update, delete or all.
	Kind      string
	Operation string
	// ChartResource is the chart's kubewatch.config.resource key that feeds the trigger
	// ("" when no single key does: the any-kind triggers, fed by every watched kind, and
	// PersistentVolumeClaim/NetworkPolicy, which the chart has no key for);
	// WatchedByDefault says whether the stock chart feeds it.
	ChartResource    string
	WatchedByDefault bool
	Summary          string
}

// Sink is one sink type of sinksConfig, e.g. slack_sink.
type Sink struct {
	Key     string // the sinksConfig item key, e.g. "slack_sink"
	Type    string // short name, e.g. "slack"
	Params  string // the params Model, including the common sink params
	Source  string
	Summary string
}

// EventClass is a class of event and the classes it derives from (Python bases, in
// order).
type EventClass struct {
	Name  string
	Bases []string
}

type index struct {
	actions  map[string]*Action
	triggers map[string]*Trigger
	sinks    map[string]*Sink
	models   map[string]*Model
	events   map[string]*EventClass
}

var (
	idxOnce sync.Once
	idx     index
)

func lookups() *index {
	idxOnce.Do(func() {
		idx.actions = byKey(actions, func(a *Action) string { return a.Name })
		idx.triggers = byKey(triggers, func(t *Trigger) string { return t.Key })
		idx.sinks = byKey(sinks, func(s *Sink) string { return s.Key })
		idx.models = byKey(models, func(m *Model) string { return m.Name })
		idx.events = byKey(events, func(e *EventClass) string { return e.Name })
	})
	return &idx
}

// byKey indexes items in place: the map points into the slice.
func byKey[T any](items []T, key func(*T) string) map[string]*T {
	m := make(map[string]*T, len(items))
	for i := range items {
		m[key(&items[i])] = &items[i]
	}
	return m
}

// Actions returns every action, sorted by name. The slice is shared: do not modify it.
func Actions() []Action { return actions }

// Triggers returns every trigger, sorted by key. The slice is shared.
func Triggers() []Trigger { return triggers }

// Sinks returns every sink type, sorted by key. The slice is shared.
func Sinks() []Sink { return sinks }

// LookupAction finds an action by name.
func LookupAction(name string) (*Action, bool) {
	a, ok := lookups().actions[name]
	return a, ok
}

// LookupTrigger finds a trigger by key.
func LookupTrigger(key string) (*Trigger, bool) {
	t, ok := lookups().triggers[key]
	return t, ok
}

// LookupSink finds a sink type by its sinksConfig key (e.g. "slack_sink").
func LookupSink(key string) (*Sink, bool) {
	s, ok := lookups().sinks[key]
	return s, ok
}

// LookupModel finds a params model by class name.
func LookupModel(name string) (*Model, bool) {
	m, ok := lookups().models[name]
	return m, ok
}

// ParamsOf returns an action's params, nil when it takes none.
func (a *Action) ParamsOf() []Param { return modelParams(a.Params) }

// ParamsOf returns a trigger's params.
func (t *Trigger) ParamsOf() []Param { return modelParams(t.Params) }

// ParamsOf returns a sink's params.
func (s *Sink) ParamsOf() []Param { return modelParams(s.Params) }

// modelParams returns the params of the named model, nil when there is none.
func modelParams(model string) []Param {
	if m, ok := LookupModel(model); ok {
		return m.Params
	}
	return nil
}

// IsSubclass reports whether event class sub is class base or derives from it
// (Python's issubclass over the recorded bases). The runner accepts an action in a
// playbook when IsSubclass(trigger.Event, action.Event) for each of its triggers.
func IsSubclass(sub, base string) bool {
	if sub == base {
		return true
	}
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(c string) bool {
		if seen[c] {
			return false
		}
		seen[c] = true
		ev, ok := lookups().events[c]
		if !ok {
			return false
		}
		for _, b := range ev.Bases {
			if b == base || walk(b) {
				return true
			}
		}
		return false
	}
	return walk(sub)
}

// IsChangeEvent reports whether an action of this event class needs an old and a new
// object (the *ChangeEvent classes).
func IsChangeEvent(class string) bool {
	return strings.HasSuffix(class, "ChangeEvent")
}

// KnownEvent reports whether the catalogue knows the event class.
func KnownEvent(name string) bool {
	_, ok := lookups().events[name]
	return ok
}

// TriggersFor lists the trigger keys whose events an action of event class ev accepts,
// sorted.
func TriggersFor(ev string) []string {
	var out []string
	for _, t := range triggers {
		if IsSubclass(t.Event, ev) {
			out = append(out, t.Key)
		}
	}
	sort.Strings(out)
	return out
}
