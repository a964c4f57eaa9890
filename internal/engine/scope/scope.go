// Package scope is the include/exclude matcher that sink routing (sinksConfig scope)
// and triggers (a trigger's scope param) share: the runner evaluates both with one
// matcher class, and the differences between the two users (which attributes exist,
// what the data lacks, how strictly a config is read) are Options and Data, not code.
package scope

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Options are where the users of a scope differ on purpose.
type Options struct {
	// Known, when set, lists the attributes a scope may name; any other is a load
	// error. Without it every name loads, and one the data lacks never holds, as
	// the runner logs and moves on.
	Known []string
	// MapAttributes take comma-separated key=regex / key!=regex terms matched
	// against a string map (labels, annotations, namespace_labels).
	MapAttributes []string
	// CustomAttributes are evaluated by Data.Custom on each value as written
	// (the trigger side's attributes path expressions).
	CustomAttributes []string
	// StrictKeys refuses scope keys other than include and exclude.
	StrictKeys bool
	// StrictTerms makes a malformed map term (no "=", or a regex RE2 refuses) a load
	// error; otherwise the term loads and never holds, as the runner's exception
	// during matching makes it.
	StrictTerms bool
}

// Data is what a scope is matched against.
type Data interface {
	// String is a plain attribute's value; ok false when the data lacks it.
	String(attr string) (v string, ok bool)
	// Map is a map attribute's value; ok false when the data lacks it.
	Map(attr string) (m map[string]string, ok bool)
	// Custom evaluates one value of a custom attribute.
	Custom(attr, value string) bool
}

// Scope is a compiled scope: exclude first (any entry matching refuses), then include.
type Scope struct {
	Include, Exclude []Entry
}

// Entry is one include/exclude item; it holds when every attribute does.
type Entry []Attr

// Attr is one attribute of an entry; it holds when any of its values does.
type Attr struct {
	Name   string
	kind   attrKind
	values []string
	res    []*regexp.Regexp // plain: full-match regexes
	terms  [][]Term         // map: one term list per value
}

type attrKind int

const (
	plain attrKind = iota
	mapped
	custom
)

// Term is one key=regex or key!=regex term; Bad marks one that never holds.
type Term struct {
	Key string
	Re  *regexp.Regexp
	Neg bool
	Bad bool
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Parse compiles a scope param: a map with include and/or exclude, each a non-empty
// list of maps from attribute to a string or a list of strings.
func Parse(raw any, o Options) (*Scope, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be a map with include and/or exclude, got %v", raw)
	}
	if o.StrictKeys {
		for k := range m {
			if k != "include" && k != "exclude" {
				return nil, fmt.Errorf("unknown key %q; scope takes include and exclude", k)
			}
		}
	}
	if m["include"] == nil && m["exclude"] == nil {
		return nil, fmt.Errorf("needs include and/or exclude: give include or exclude, or both")
	}
	s := &Scope{}
	var err error
	if s.Include, err = parseEntries("include", m["include"], o); err != nil {
		return nil, err
	}
	if s.Exclude, err = parseEntries("exclude", m["exclude"], o); err != nil {
		return nil, err
	}
	return s, nil
}

func parseEntries(key string, raw any, o Options) ([]Entry, error) {
	if raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("%s must be a non-empty list of attribute maps", key)
	}
	out := make([]Entry, 0, len(list))
	for i, item := range list {
		im, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s[%d] must be a map of attribute to regex, got %T", key, i, item)
		}
		names := make([]string, 0, len(im))
		for k := range im {
			names = append(names, k)
		}
		sort.Strings(names) // a stable order for errors; all attributes must hold anyway
		var e Entry
		for _, name := range names {
			where := fmt.Sprintf("%s[%d].%s", key, i, name)
			if o.Known != nil && !has(o.Known, name) {
				return nil, fmt.Errorf("%s[%d] names unknown attribute %q; use one of %s", key, i, name, strings.Join(o.Known, ", "))
			}
			vals, err := stringList(im[name])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			a := Attr{Name: name, values: vals}
			switch {
			case has(o.CustomAttributes, name):
				a.kind = custom
			case has(o.MapAttributes, name):
				a.kind = mapped
				for _, v := range vals {
					terms, err := ParseTerms(v, o.StrictTerms)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", where, err)
					}
					a.terms = append(a.terms, terms)
				}
			default:
				for _, v := range vals {
					re, err := FullMatch(v)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", where, err)
					}
					a.res = append(a.res, re)
				}
			}
			e = append(e, a)
		}
		out = append(out, e)
	}
	return out, nil
}

func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, y := range x {
			s, ok := y.(string)
			if !ok {
				return nil, fmt.Errorf("want a string or a list of strings, got %T in the list", y)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a string or a list of strings, got %T", v)
}

// ParseTerms splits a map attribute's value into its terms as the runner does: on
// ",", each at its first "=", a key ending in "!" negating; key and regex trimmed.
// A term without "=" or with a regex RE2 refuses is an error when strict, else Bad.
func ParseTerms(expr string, strict bool) ([]Term, error) {
	var out []Term
	for _, part := range strings.Split(expr, ",") {
		var t Term
		k, pattern, ok := strings.Cut(part, "=")
		if !ok {
			if strict {
				return nil, fmt.Errorf("%q is not key=regex or key!=regex", part)
			}
			out = append(out, Term{Bad: true})
			continue
		}
		k = strings.TrimSpace(k)
		if strings.HasSuffix(k, "!") {
			t.Neg, k = true, strings.TrimSpace(strings.TrimSuffix(k, "!"))
		}
		t.Key = k
		re, err := FullMatch(strings.TrimSpace(pattern))
		if err != nil {
			if strict {
				return nil, err
			}
			t.Bad = true
		}
		t.Re = re
		out = append(out, t)
	}
	return out, nil
}

// FullMatch compiles a pattern that must match the whole value (Python's re.fullmatch).
func FullMatch(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return nil, fmt.Errorf("bad regex %q: %v (Go's RE2 has no backreferences or lookaround)", pattern, err)
	}
	return re, nil
}

// TermsHold reports whether every term holds on data: the key present and its
// trimmed value full-matching the regex (not matching, for key!=regex).
func TermsHold(terms []Term, data map[string]string) bool {
	for _, t := range terms {
		if t.Bad {
			return false
		}
		v, ok := data[t.Key]
		if !ok || t.Re.MatchString(strings.TrimSpace(v)) == t.Neg {
			return false
		}
	}
	return true
}

// Matches is the whole decision: no exclude entry matches, and some include entry
// does when include is given.
func (s *Scope) Matches(d Data) bool {
	if AnyMatches(s.Exclude, d) {
		return false
	}
	return s.Include == nil || AnyMatches(s.Include, d)
}

// AnyMatches reports whether some entry holds on d.
func AnyMatches(entries []Entry, d Data) bool {
	for _, e := range entries {
		if e.Matches(d) {
			return true
		}
	}
	return false
}

// Matches reports whether every attribute of the entry holds on d.
func (e Entry) Matches(d Data) bool {
	for _, a := range e {
		if !a.Matches(d) {
			return false
		}
	}
	return true
}

// Matches reports whether any of the attribute's values holds on d; an attribute
// the data lacks never holds.
func (a Attr) Matches(d Data) bool {
	switch a.kind {
	case custom:
		for _, v := range a.values {
			if d.Custom(a.Name, v) {
				return true
			}
		}
		return false
	case mapped:
		m, ok := d.Map(a.Name)
		if !ok {
			return false
		}
		for _, terms := range a.terms {
			if TermsHold(terms, m) {
				return true
			}
		}
		return false
	}
	v, ok := d.String(a.Name)
	if !ok {
		return false
	}
	for _, re := range a.res {
		if re.MatchString(v) {
			return true
		}
	}
	return false
}
