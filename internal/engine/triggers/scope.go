package triggers

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// scope is a trigger's scope: exclude first (any matcher matching drops the event),
// then include (some matcher must match when given). A matcher holds when every
// attribute does; an attribute holds when any of its values does.
type scope struct {
	include, exclude []matcher
}

type matcher []attrMatch

type attrMatch struct {
	attr   string
	values []string
	// res are the compiled full-match regexes of name/namespace and other plain attributes.
	res []*regexp.Regexp
	// terms are the compiled key=regex terms of labels and annotations, one list per value.
	terms [][]labelTerm
}

// labelTerm is one key=regex or key!=regex term; bad marks a term the runner cannot
// evaluate (no "=", or a regex RE2 refuses), which never holds.
type labelTerm struct {
	key string
	re  *regexp.Regexp
	neg bool
	bad bool
}

// compileTerms splits a labels/annotations value into its terms, once at load rather
// than at every match.
func compileTerms(expr string) []labelTerm {
	var out []labelTerm
	for _, term := range strings.Split(expr, ",") {
		var t labelTerm
		var pattern string
		if i := strings.Index(term, "!="); i >= 0 {
			t.neg, t.key, pattern = true, term[:i], term[i+2:]
		} else if i := strings.Index(term, "="); i >= 0 {
			t.key, pattern = term[:i], term[i+1:]
		} else {
			t.bad = true
		}
		t.key = strings.TrimSpace(t.key)
		if !t.bad {
			re, err := fullMatch(strings.TrimSpace(pattern))
			t.re, t.bad = re, err != nil
		}
		out = append(out, t)
	}
	return out
}

func compileScope(raw any) (*scope, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want include and/or exclude, got %v", raw)
	}
	s := &scope{}
	var err error
	if s.include, err = compileMatchers(m["include"]); err != nil {
		return nil, fmt.Errorf("include: %w", err)
	}
	if s.exclude, err = compileMatchers(m["exclude"]); err != nil {
		return nil, fmt.Errorf("exclude: %w", err)
	}
	if s.include == nil && s.exclude == nil {
		return nil, fmt.Errorf("give include or exclude")
	}
	return s, nil
}

func compileMatchers(raw any) ([]matcher, error) {
	if raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("want a non-empty list of matchers")
	}
	var out []matcher
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("matcher %v is not a mapping", item)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var mt matcher
		for _, k := range keys {
			var bad error
			vals := stringList(m[k], func(v any) { bad = fmt.Errorf("%s: want a string or a list of strings, got %v", k, v) })
			if bad != nil {
				return nil, bad
			}
			am := attrMatch{attr: k, values: vals}
			if k == "labels" || k == "annotations" {
				for _, v := range vals {
					am.terms = append(am.terms, compileTerms(v))
				}
			}
			if k != "labels" && k != "annotations" && k != "attributes" {
				for _, v := range vals {
					re, err := fullMatch(v)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", k, err)
					}
					am.res = append(am.res, re)
				}
			}
			mt = append(mt, am)
		}
		out = append(out, mt)
	}
	return out, nil
}

// fullMatch compiles a Python re.fullmatch pattern for RE2.
func fullMatch(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return nil, fmt.Errorf("regex %q: %v (Go's RE2 has no backreferences or lookaround)", pattern, err)
	}
	return re, nil
}

// scopeData is what a scope is matched against; nil fields are absent from the data
// (an attribute that asks for them does not match).
type scopeData struct {
	name, namespace     string
	labels, annotations map[string]string
	obj                 map[string]any
}

// matchesObject evaluates the scope on a Kubernetes object: name, namespace, labels
// and annotations when present in its metadata, attributes on the whole object.
func (s *scope) matchesObject(obj *unstructured.Unstructured) bool {
	d := scopeData{name: obj.GetName(), namespace: obj.GetNamespace(), obj: obj.Object}
	d.labels = stringMap(noCopyMap(obj.Object, "metadata", "labels"))
	d.annotations = stringMap(noCopyMap(obj.Object, "metadata", "annotations"))
	return s.matches(d)
}

// stringMap keeps the string values of m; nil stays nil (absent).
func stringMap(m map[string]any) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func (s *scope) matches(d scopeData) bool {
	for _, m := range s.exclude {
		if m.matches(d) {
			return false
		}
	}
	if s.include == nil {
		return true
	}
	for _, m := range s.include {
		if m.matches(d) {
			return true
		}
	}
	return false
}

func (m matcher) matches(d scopeData) bool {
	for _, a := range m {
		if !a.matches(d) {
			return false
		}
	}
	return true
}

func (a attrMatch) matches(d scopeData) bool {
	switch a.attr {
	case "labels", "annotations":
		data := d.labels
		if a.attr == "annotations" {
			data = d.annotations
		}
		if data == nil {
			return false // absent from the data: no match, as the runner
		}
		for _, terms := range a.terms {
			if termsHold(terms, data) {
				return true
			}
		}
		return false
	case "attributes":
		if d.obj == nil {
			return false
		}
		for _, v := range a.values {
			if attributesHold(v, d.obj) {
				return true
			}
		}
		return false
	}
	var value string
	switch a.attr {
	case "name":
		value = d.name
	case "namespace":
		value = d.namespace
	}
	if value == "" {
		return false
	}
	for _, re := range a.res {
		if re.MatchString(value) {
			return true
		}
	}
	return false
}

// termsHold is the runner's labels/annotations check: comma-separated key=regex or
// key!=regex terms, all of which must hold; a missing key fails either form.
func termsHold(terms []labelTerm, data map[string]string) bool {
	for _, t := range terms {
		if t.bad {
			return false
		}
		v, ok := data[t.key]
		if !ok || t.re.MatchString(strings.TrimSpace(v)) == t.neg {
			return false
		}
	}
	return true
}

// attributesHold is the runner's attributes check: comma-separated path=value or
// path!=value terms (split on the last "="), compared case-insensitively as strings
// on leaf values; a missing path fails either form; a non-leaf fails "=" and passes "!=".
func attributesHold(expr string, obj map[string]any) bool {
	for _, term := range strings.Split(expr, ",") {
		i := strings.LastIndex(term, "=")
		if i < 0 {
			return false
		}
		path, want, neg := term[:i], strings.TrimSpace(term[i+1:]), false
		if strings.HasSuffix(path, "!") {
			path, neg = strings.TrimSuffix(path, "!"), true
		}
		v, ok := lookupPath(obj, strings.TrimSpace(path))
		if !ok {
			return false
		}
		var got string
		switch x := v.(type) {
		case nil:
			got = "None"
		case string:
			got = x
		case bool:
			got = map[bool]string{true: "True", false: "False"}[x]
		case int64, float64, int:
			got = fmt.Sprint(x)
		default:
			if !neg {
				return false
			}
			continue
		}
		if strings.EqualFold(got, want) == neg {
			return false
		}
	}
	return true
}

// lookupPath follows a pydash-style path: dots between fields, [n] for list items.
func lookupPath(obj map[string]any, path string) (any, bool) {
	var cur any = obj
	for _, part := range strings.Split(strings.ReplaceAll(path, "[", ".["), ".") {
		if part == "" {
			continue
		}
		if strings.HasPrefix(part, "[") && strings.HasSuffix(part, "]") {
			list, ok := cur.([]any)
			var n int
			if _, err := fmt.Sscanf(part, "[%d]", &n); err != nil || !ok || n < 0 || n >= len(list) {
				return nil, false
			}
			cur = list[n]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}
