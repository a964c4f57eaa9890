package sinks

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/scope"
)

// Route is a sink's routing params from sinksConfig: default, stop, match, scope,
// activity and mute_intervals.
type Route struct {
	Name    string
	Default bool
	Stop    bool
	// Match maps a finding attribute to its requirements; all attributes must match.
	Match map[string]matcher
	// Scope's exclude refuses a finding, its include accepts one without looking at
	// Match; nil when the sink has no scope.
	Scope *scope.Scope
	// activity limits the sink to its active hours; mutes silence it for periods.
	activity *activity
	mutes    []muteInterval
	// NamespaceLabels looks up a namespace's labels for scope's namespace_labels.
	NamespaceLabels func(ns string) map[string]string
}

// matchAttributes are the finding attributes a sink's match may name (the runner's
// Finding attribute map).
var matchAttributes = map[string]bool{
	"title": true, "identifier": true, "severity": true, "source": true, "type": true,
	"kind": true, "namespace": true, "name": true, "node": true,
	"labels": true, "annotations": true,
}

// matcher is one attribute's requirement: any of its alternatives must hold.
type matcher []alt

// alt is a regex (anchored at the start, as Python's re.match) for string attributes,
// or a set of key=value pairs that must all be present for labels/annotations.
type alt struct {
	re   *regexp.Regexp
	dict map[string]string
}

// ParseRoute reads name, default, stop, match and scope from a sinksConfig entry's
// params. Malformed routing is an error naming the sink and the field: the runner
// would log it and route the sink's findings wrongly from then on.
func ParseRoute(p map[string]any) (Route, error) {
	r := Route{Default: true}
	name, _ := p["name"].(string)
	if name == "" {
		return r, fmt.Errorf("a sink has no name: set name: under the sink in sinksConfig")
	}
	r.Name = name
	if v, ok := p["default"]; ok {
		b, ok := v.(bool)
		if !ok {
			return r, fmt.Errorf("sink %s: default must be true or false, got %v", name, v)
		}
		r.Default = b
	}
	if v, ok := p["stop"]; ok {
		b, ok := v.(bool)
		if !ok {
			return r, fmt.Errorf("sink %s: stop must be true or false, got %v", name, v)
		}
		r.Stop = b
	}
	if v, ok := p["scope"]; ok && v != nil {
		sc, err := scope.Parse(v, sinkScope)
		if err != nil {
			return r, fmt.Errorf("sink %s: scope: %w", name, err)
		}
		r.Scope = sc
	}
	if v, ok := p["activity"]; ok && v != nil {
		a, err := parseActivity(v)
		if err != nil {
			return r, fmt.Errorf("sink %s: activity: %w", name, err)
		}
		r.activity = a
	}
	if v, ok := p["mute_intervals"]; ok && v != nil {
		m, err := parseMutes(v)
		if err != nil {
			return r, fmt.Errorf("sink %s: mute_intervals%w", name, err)
		}
		r.mutes = m
	}
	if v, ok := p["match"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return r, fmt.Errorf("sink %s: match must be a map of finding attribute to regex, got %T", name, v)
		}
		r.Match = map[string]matcher{}
		for attr, exp := range m {
			if !matchAttributes[attr] {
				return r, fmt.Errorf("sink %s: match names unknown attribute %q; use one of title, identifier, severity, source, type, kind, namespace, name, node, labels, annotations", name, attr)
			}
			mt, err := parseMatcher(attr, exp)
			if err != nil {
				return r, fmt.Errorf("sink %s: match.%s: %w", name, attr, err)
			}
			r.Match[attr] = mt
		}
	}
	return r, nil
}

func parseMatcher(attr string, exp any) (matcher, error) {
	var items []any
	if l, ok := exp.([]any); ok {
		items = l
	} else {
		items = []any{exp}
	}
	dictAttr := attr == "labels" || attr == "annotations"
	var out matcher
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("expected a string or a list of strings, got %T", it)
		}
		if dictAttr {
			// "k1=v1,k2=v2": every pair must be present.
			d := map[string]string{}
			for _, kv := range strings.Split(s, ",") {
				k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
				if !ok {
					return nil, fmt.Errorf("%q is not key=value", kv)
				}
				d[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			out = append(out, alt{dict: d})
			continue
		}
		re, err := regexp.Compile(`^(?:` + s + `)`)
		if err != nil {
			return nil, fmt.Errorf("bad regex %q: %w", s, err)
		}
		out = append(out, alt{re: re})
	}
	return out, nil
}

// sinkScope is how a sink's scope differs from a trigger's: only the finding's
// attributes and namespace_labels may be named, and the config is read strictly (an
// unknown key, attribute or malformed label term is an error at load), since a sink
// that silently drops findings is worse than one that refuses to start.
var sinkScope = scope.Options{
	Known: []string{"title", "identifier", "severity", "source", "type", "kind", "namespace", "name", "node",
		"labels", "annotations", "namespace_labels"},
	MapAttributes: []string{"labels", "annotations", "namespace_labels"},
	StrictKeys:    true,
	StrictTerms:   true,
}

// scopeData is a finding as a sink's scope sees it: every attribute present, what
// the finding lacks as "None"; annotations empty, as the local Finding carries none.
type scopeData struct {
	r Route
	f *engine.Finding
}

func (d scopeData) String(attr string) (string, bool) { return attrString(attr, d.f), true }

func (d scopeData) Map(attr string) (map[string]string, bool) {
	switch attr {
	case "labels":
		return d.f.Subject.Labels, true
	case "namespace_labels":
		if d.r.NamespaceLabels != nil && d.f.Subject.Namespace != "" {
			return d.r.NamespaceLabels(d.f.Subject.Namespace), true
		}
	}
	return nil, true
}

func (scopeData) Custom(string, string) bool { return false }

// AcceptsAt is the runner's accepts(): not within a mute interval, scope and match
// accept the finding, and now is within the sink's activity.
func (r Route) AcceptsAt(f *engine.Finding, now time.Time) bool {
	for _, m := range r.mutes {
		if m.mutedAt(now) {
			return false
		}
	}
	return r.Accepts(f) && r.activity.activeAt(now)
}

// Accepts reports whether the finding passes the sink's scope and match, as the
// runner decides: exclude refuses, include accepts outright, an unmatched include
// refuses even when match holds.
func (r Route) Accepts(f *engine.Finding) bool {
	accept := true
	if r.Scope != nil {
		d := scopeData{r: r, f: f}
		if scope.AnyMatches(r.Scope.Exclude, d) {
			return false
		}
		if r.Scope.Include != nil {
			if scope.AnyMatches(r.Scope.Include, d) {
				return true
			}
			accept = false
		}
	}
	for attr, m := range r.Match {
		if !m.matches(attr, f) {
			return false
		}
	}
	return accept
}

func (m matcher) matches(attr string, f *engine.Finding) bool {
	for _, a := range m {
		if a.dict != nil {
			var have map[string]string
			if attr == "labels" {
				have = f.Subject.Labels
			}
			ok := true
			for k, v := range a.dict {
				if hv, present := have[k]; !present || hv != v {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
			continue
		}
		if a.re.MatchString(attrString(attr, f)) {
			return true
		}
	}
	return false
}

// subjectKinds are the runner's finding subject types; any other kind is its
// TYPE_NONE, which a match or scope sees as "None".
var subjectKinds = map[string]bool{"deployment": true, "node": true, "pod": true, "job": true, "daemonset": true,
	"statefulset": true, "horizontalpodautoscaler": true, "helmreleases": true}

// attrString is a finding attribute as the runner's attribute map renders it: enum
// names for severity and source, the lower-case subject type for kind, and Python's
// str(None), "None", for what the finding lacks.
func attrString(attr string, f *engine.Finding) string {
	orNone := func(s string) string {
		if s == "" {
			return "None"
		}
		return s
	}
	switch attr {
	case "title":
		return f.Title
	case "identifier":
		return f.AggregationKey
	case "severity":
		return string(f.Severity)
	case "source":
		if f.Source == "" {
			return "NONE"
		}
		return strings.ToUpper(f.Source)
	case "type":
		return f.Type.Name()
	case "kind":
		if k := strings.ToLower(f.Subject.Kind); subjectKinds[k] {
			return k
		}
		return "None"
	case "namespace":
		return orNone(f.Subject.Namespace)
	case "name":
		return orNone(f.Subject.Name)
	case "node":
		return orNone(f.Subject.Node)
	}
	return ""
}

// DefaultSinks are the names of the sinks with default true, in sinksConfig order: the
// sinks of a playbook that names none.
func DefaultSinks(routes []Route) []string {
	var out []string
	for _, r := range routes {
		if r.Default {
			out = append(out, r.Name)
		}
	}
	return out
}

// Delivery is one finding for one sink.
type Delivery struct {
	Sink    string
	Finding *engine.Finding
}

// Plan is what the sinks get of one event's findings, decided as the runner's finding
// handler does once all the event's playbooks have run: sinks in order (the order the
// event's playbooks first named them), each sink's findings in its list's order; a
// finding goes out when the sink's mute intervals, scope, match and activity accept
// it, and the first finding a sink with stop: true accepts is the event's last
// delivery, to any sink. unknown are the order's names no route has; their findings
// are dropped.
func Plan(routes []Route, order []string, findings map[string][]*engine.Finding, now time.Time) (out []Delivery, unknown []string) {
	for _, name := range order {
		r := find(routes, name)
		if r == nil {
			if len(findings[name]) > 0 {
				unknown = append(unknown, name)
			}
			continue
		}
		for _, f := range findings[name] {
			if !r.AcceptsAt(f, now) {
				continue
			}
			out = append(out, Delivery{Sink: name, Finding: f})
			if r.Stop {
				return out, unknown
			}
		}
	}
	return out, unknown
}

func find(routes []Route, name string) *Route {
	for i := range routes {
		if routes[i].Name == name {
			return &routes[i]
		}
	}
	return nil
}

// Attribute is a finding attribute as the runner's attribute map has it (title,
// identifier, severity, source, type, kind, namespace, name, node): what match and
// scope compare and what grouping keys are made of.
func Attribute(attr string, f *engine.Finding) string { return attrString(attr, f) }
