package sinks

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// Route is a sink's routing params from sinksConfig: default, stop and match.
type Route struct {
	Name    string
	Default bool
	Stop    bool
	// Match maps a finding attribute to its requirements; all attributes must match.
	Match map[string]matcher
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

// ParseRoute reads name, default, stop, match (and refuses scope, which the local
// runner does not evaluate yet) from a sinksConfig entry's params.
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
		return r, fmt.Errorf("sink %s: scope is not evaluated by the local runner yet; use match instead or remove scope", name)
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

// Accepts reports whether the finding satisfies every match attribute.
func (r Route) Accepts(f *engine.Finding) bool {
	for attr, m := range r.Match {
		if !m.matches(attr, f) {
			return false
		}
	}
	return true
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

func attrString(attr string, f *engine.Finding) string {
	switch attr {
	case "title":
		return f.Title
	case "identifier":
		return f.AggregationKey
	case "severity":
		return string(f.Severity)
	case "source":
		return f.Source
	case "type":
		// The runner's finding type for everything the local engine produces.
		return "ISSUE"
	case "kind":
		// The runner's subject types are lower-case ("pod", "deployment").
		return strings.ToLower(f.Subject.Kind)
	case "namespace":
		return f.Subject.Namespace
	case "name":
		return f.Subject.Name
	case "node":
		return f.Subject.Node
	}
	return ""
}
