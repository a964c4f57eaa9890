package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
)

// modelCheck says how the findings of one params mapping are graded: trigger and sink
// params are checked by the runner when it loads (errors), action params only when the
// action runs (warnings).
type modelCheck struct {
	sev        string // a value of the wrong type
	rule       string
	unknownSev string // a key the model does not have ("" to say nothing)
	missingSev string // a required key left out
	strict     bool   // unknown keys are refused, not ignored
	envRefs    bool   // {{ env.VAR }} in strings is resolved by the runner
	globals    map[string]*yaml.Node
	skip       map[string]bool
}

// lazyRegexp compiles expr on first use: nothing is compiled when the package is
// loaded by commands that never validate.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// envRef is the runner's pattern for an environment reference in an action param.
var envRef = lazyRegexp(`\{\{ *env\.([^}]*?) *\}\}`)

// object checks a params mapping n against model.
func (v *validator) object(model *catalogue.Model, n *yaml.Node, path, owner string, mc modelCheck) {
	if model == nil || n.Kind != yaml.MappingNode {
		return
	}
	var present []bool
	if len(model.Params) <= 64 {
		var buf [64]bool
		present = buf[:len(model.Params)]
	} else {
		present = make([]bool, len(model.Params))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		idx := paramIndex(model, k.Value)
		if idx >= 0 {
			present[idx] = true
		}
		if mc.skip[k.Value] {
			continue
		}
		if idx < 0 {
			if model.ExtraAllowed || mc.unknownSev == "" {
				continue
			}
			what := "the runner ignores it"
			if mc.strict {
				what = "the runner refuses the configuration"
			}
			v.add(mc.unknownSev, RuleParamUnknown, k, path+"."+k.Value, "%s has no parameter %q: %s%s", owner, k.Value, what, suggestOr(k.Value, paramNames(model), allowedList(model)))
			continue
		}
		p := &model.Params[idx]
		if p.Deprecated != "" {
			v.add(SevWarning, RuleDeprecated, k, path+"."+k.Value, "%s parameter %s is deprecated: %s", owner, p.Name, p.Deprecated)
		}
		v.value(p.Type, nullable(p), val, path+"."+k.Value, owner+" parameter "+p.Name, mc)
		if len(p.Enum) > 0 && val.Kind == yaml.ScalarNode && !isNull(val) && !contains(p.Enum, val.Value) && !(mc.envRefs && envRef().MatchString(val.Value)) {
			v.add(SevWarning, mc.rule, val, path+"."+k.Value, "%s must be one of %s, not %s", owner+" parameter "+p.Name, strings.Join(p.Enum, ", "), quoted(val, path+"."+k.Value))
		}
	}
	for i := range model.Params {
		p := &model.Params[i]
		if present[i] || !p.Required || mc.missingSev == "" {
			continue
		}
		if _, ok := mc.globals[p.Name]; ok {
			continue // merged in from globalConfig, as the runner does
		}
		where := ""
		if mc.globals != nil {
			where = fmt.Sprintf(" (here or in %s)", globalKeys[v.format])
		}
		v.add(mc.missingSev, RuleParamMissing, n, path, "%s needs parameter %s%s", owner, p.Name, where)
	}
}

func paramIndex(m *catalogue.Model, name string) int {
	for i := range m.Params {
		if m.Params[i].Name == name {
			return i
		}
	}
	return -1
}

func paramNames(m *catalogue.Model) []string {
	out := make([]string, len(m.Params))
	for i := range m.Params {
		out[i] = m.Params[i].Name
	}
	return out
}

func allowedList(m *catalogue.Model) string {
	if len(m.Params) == 0 {
		return " (it takes none)"
	}
	if len(m.Params) > 15 {
		return ""
	}
	return " (it takes " + strings.Join(paramNames(m), ", ") + ")"
}

// nullable: pydantic v1 accepts None for an Optional field or one whose default is None.
func nullable(p *catalogue.Param) bool {
	return strings.HasPrefix(p.Python, "Optional") || p.Default == "None" || p.Type.Kind == catalogue.Any
}

// value checks one value against t, reporting with mc's severity.
func (v *validator) value(t catalogue.Type, canBeNull bool, n *yaml.Node, path, what string, mc modelCheck) {
	if mc.envRefs && n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if m := envRef().FindStringSubmatch(n.Value); m != nil {
			v.add(SevInfo, RuleEnvRef, n, path, "%s comes from the runner's environment variable %s (the runner refuses the configuration when it is not set there)", what, strings.TrimSpace(m[1]))
			return
		}
	}
	if isNull(n) {
		if !canBeNull && t.Kind != catalogue.Any {
			v.add(mc.sev, mc.rule, n, path, "%s must be %s, not null", what, describe(t))
		}
		return
	}
	switch t.Kind {
	case catalogue.Object:
		m, ok := v.known.model(t.Model)
		if !ok {
			return // a class the catalogue does not model: nothing to check
		}
		if n.Kind != yaml.MappingNode {
			v.add(mc.sev, mc.rule, n, path, "%s must be %s, not %s", what, describe(t), shown(n, path))
			return
		}
		inner := mc
		inner.skip, inner.globals = nil, nil // globalConfig is merged at the top level only
		v.object(m, n, path, what, inner)
	case catalogue.List:
		if n.Kind != yaml.SequenceNode {
			v.add(mc.sev, mc.rule, n, path, "%s must be %s, not %s", what, describe(t), shown(n, path))
			return
		}
		if t.Elem != nil {
			inner := mc
			inner.envRefs = false // the runner resolves references only in mappings
			for i, e := range n.Content {
				v.value(*t.Elem, false, e, indexPath(path, i), what+" item", inner)
			}
		}
	case catalogue.Map:
		if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			return // dict([]) is {}: pydantic v1 takes it
		}
		if n.Kind != yaml.MappingNode {
			v.add(mc.sev, mc.rule, n, path, "%s must be %s, not %s", what, describe(t), shown(n, path))
			return
		}
		if t.Elem != nil {
			for i := 0; i+1 < len(n.Content); i += 2 {
				v.value(*t.Elem, t.Elem.Kind == catalogue.Any, n.Content[i+1], path+"."+n.Content[i].Value, what+" value", mc)
			}
		}
	case catalogue.Union:
		for _, o := range t.Options {
			if !v.mismatch(o, n) {
				if o.Kind == catalogue.Object || o.Kind == catalogue.List || o.Kind == catalogue.Map {
					v.value(o, canBeNull, n, path, what, mc)
				}
				return
			}
		}
		if len(t.Options) > 0 {
			v.add(mc.sev, mc.rule, n, path, "%s must be %s, not %s", what, describe(t), shown(n, path))
		}
	default:
		if v.mismatch(t, n) {
			v.add(mc.sev, mc.rule, n, path, "%s must be %s, not %s", what, describe(t), shown(n, path))
		}
	}
}

var pyBoolStrings = map[string]bool{"0": true, "off": true, "f": true, "false": true, "n": true, "no": true,
	"1": true, "on": true, "t": true, "true": true, "y": true, "yes": true}

// mismatch reports whether pydantic v1 would refuse n for type t (it coerces: "5" fills
// an int, "yes" a bool, 5 a string).
func (v *validator) mismatch(t catalogue.Type, n *yaml.Node) bool {
	if isNull(n) {
		return t.Kind != catalogue.Any
	}
	switch t.Kind {
	case catalogue.Any, "":
		return false
	case catalogue.String:
		return n.Kind != yaml.ScalarNode
	case catalogue.Int:
		if n.Kind != yaml.ScalarNode {
			return true
		}
		switch n.Tag {
		case "!!int", "!!float", "!!bool":
			return n.Tag == "!!float" && !isFinite(n.Value)
		}
		s := strings.ReplaceAll(strings.TrimSpace(n.Value), "_", "")
		_, err := strconv.ParseInt(s, 10, 64)
		return err != nil
	case catalogue.Float:
		if n.Kind != yaml.ScalarNode {
			return true
		}
		switch n.Tag {
		case "!!int", "!!float", "!!bool":
			return false
		}
		_, err := strconv.ParseFloat(strings.TrimSpace(n.Value), 64)
		return err != nil
	case catalogue.Bool:
		if n.Kind != yaml.ScalarNode {
			return true
		}
		switch n.Tag {
		case "!!bool":
			return false
		case "!!int":
			return n.Value != "0" && n.Value != "1"
		}
		return !pyBoolStrings[strings.ToLower(n.Value)]
	case catalogue.DateTime:
		return n.Kind != yaml.ScalarNode || n.Tag == "!!bool"
	case catalogue.List:
		if n.Kind != yaml.SequenceNode {
			return true
		}
		if t.Elem != nil {
			for _, e := range n.Content {
				if v.mismatch(*t.Elem, e) {
					return true
				}
			}
		}
		return false
	case catalogue.Map:
		if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			return false
		}
		if n.Kind != yaml.MappingNode {
			return true
		}
		if t.Elem != nil && t.Elem.Kind != catalogue.Any {
			for i := 1; i < len(n.Content); i += 2 {
				if v.mismatch(*t.Elem, n.Content[i]) {
					return true
				}
			}
		}
		return false
	case catalogue.Object:
		m, ok := v.known.model(t.Model)
		if !ok {
			return false
		}
		if n.Kind != yaml.MappingNode {
			return true
		}
		for i := range m.Params {
			p := &m.Params[i]
			val := lookup(n, p.Name)
			if val == nil {
				if p.Required {
					return true
				}
				continue
			}
			if isNull(val) {
				if !nullable(p) {
					return true
				}
				continue
			}
			if v.mismatch(p.Type, val) {
				return true
			}
		}
		return false
	case catalogue.Union:
		for _, o := range t.Options {
			if !v.mismatch(o, n) {
				return false
			}
		}
		return len(t.Options) > 0
	}
	return false
}

func isFinite(s string) bool {
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && f == f && f < 1e308 && f > -1e308
}

// describe says in words what a value of type t looks like.
func describe(t catalogue.Type) string {
	switch t.Kind {
	case catalogue.String:
		return "a string"
	case catalogue.Int:
		return "a whole number"
	case catalogue.Float:
		return "a number"
	case catalogue.Bool:
		return "true or false"
	case catalogue.DateTime:
		return "a date and time (ISO 8601) or a number of seconds"
	case catalogue.List:
		if t.Elem != nil && t.Elem.Kind != catalogue.Any {
			return "a list of " + plural(*t.Elem)
		}
		return "a list"
	case catalogue.Map:
		if t.Elem != nil && t.Elem.Kind != catalogue.Any {
			return "a mapping of names to " + plural(*t.Elem)
		}
		return "a mapping"
	case catalogue.Object:
		if t.Model != "" {
			return "a mapping (" + t.Model + ")"
		}
		return "a mapping"
	case catalogue.Union:
		var parts []string
		for _, o := range t.Options {
			parts = append(parts, describe(o))
		}
		return strings.Join(parts, " or ")
	}
	return "a value"
}

func plural(t catalogue.Type) string {
	switch t.Kind {
	case catalogue.String:
		return "strings"
	case catalogue.Int:
		return "whole numbers"
	case catalogue.Float:
		return "numbers"
	case catalogue.Bool:
		return "booleans"
	case catalogue.Object:
		if t.Model != "" {
			return "mappings (" + t.Model + ")"
		}
	}
	return "values (" + describe(t) + ")"
}

// secretAt reports whether the value at path is a secret (an api_key, a token, ...):
// messages then do not quote it.
func secretAt(path string) bool {
	parts := strings.Split(path, ".")
	key := parts[len(parts)-1]
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i]
	}
	sinkType := ""
	for _, p := range parts {
		if i := strings.IndexByte(p, '['); i >= 0 {
			p = p[:i]
		}
		if strings.HasSuffix(p, "_sink") {
			sinkType = strings.TrimSuffix(p, "_sink")
		}
	}
	return IsSecretKey(sinkType, key) || IsSecretKey(sinkType+"_sink", key)
}

// shown is kindName, with a secret's value left out.
func shown(n *yaml.Node, path string) string {
	if n.Kind == yaml.ScalarNode && !isNull(n) && secretAt(path) {
		return "a value (not shown: it is a secret)"
	}
	return kindName(n)
}

// quoted is a scalar's value in quotes, or a mention of a secret one.
func quoted(n *yaml.Node, path string) string {
	if secretAt(path) {
		return "the value given (not shown: it is a secret)"
	}
	return fmt.Sprintf("%q", short(n.Value))
}
