package triggers

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine/scope"
)

// triggerScope is how a trigger's scope differs from a sink's: any attribute name
// loads (one the event lacks never holds), labels and annotations are the map
// attributes, attributes is a path check on the whole object, and a malformed label
// term loads and never holds, as the runner's matcher fails it at match time.
var triggerScope = scope.Options{
	MapAttributes:    []string{"labels", "annotations"},
	CustomAttributes: []string{"attributes"},
}

func compileScope(raw any) (*scope.Scope, error) { return scope.Parse(raw, triggerScope) }

// scopeData is what a scope is matched against; nil fields are absent from the data
// (an attribute that asks for them does not match).
type scopeData struct {
	name, namespace     string
	labels, annotations map[string]string
	obj                 map[string]any
}

// matchesObject evaluates the scope on a Kubernetes object: name, namespace, labels
// and annotations when present in its metadata, attributes on the whole object.
func matchesObject(s *scope.Scope, obj *unstructured.Unstructured) bool {
	d := scopeData{name: obj.GetName(), namespace: obj.GetNamespace(), obj: obj.Object}
	d.labels = stringMap(noCopyMap(obj.Object, "metadata", "labels"))
	d.annotations = stringMap(noCopyMap(obj.Object, "metadata", "annotations"))
	return s.Matches(d)
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

// String gives name and namespace when the object has them; nothing else is a plain
// attribute of an event.
func (d scopeData) String(attr string) (string, bool) {
	var v string
	switch attr {
	case "name":
		v = d.name
	case "namespace":
		v = d.namespace
	}
	return v, v != ""
}

func (d scopeData) Map(attr string) (map[string]string, bool) {
	m := d.labels
	if attr == "annotations" {
		m = d.annotations
	}
	return m, m != nil
}

func (d scopeData) Custom(attr, expr string) bool {
	return attr == "attributes" && d.obj != nil && attributesHold(expr, d.obj)
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
