package triggers

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/engine/scope"
)

// kubeTrigger is one Kubernetes trigger: the runner's K8sBaseTrigger checks (kind,
// operation, name and namespace prefixes, labels_selector, scope), then the trigger's
// own test (a crash loop, a failed Job, ...), then change_filters on updates.
type kubeTrigger struct {
	key        string
	kind, op   string // kind "Any" matches every kind; op "all" every operation
	namePrefix string
	nsPrefix   string
	labels     [][2]string // labels_selector terms, in order
	scope      *scope.Scope
	filters    *changeFilters
	// resources and operations of on_kubernetes_resource_operation (lower case; empty: all).
	resources, operations []string
	// test is the trigger's own condition, after the common checks.
	test func(in *Incoming) bool
	// limit returns the rate-limit key of a matched event (crash loop, image pull
	// backoff, ...); period is the rate_limit param.
	limit  func(in *Incoming) string
	period time.Duration
}

func (t *kubeTrigger) Key() string { return t.key }

// Matches runs the checks in the runner's order; the change filters last, as the
// runner applies them after building the execution event.
func (t *kubeTrigger) Matches(in *Incoming) bool {
	e := in.Event
	if e == nil || e.Obj == nil || e.Operation == "" {
		return false
	}
	if t.kind != "Any" && e.Kind != t.kind {
		return false
	}
	if t.op != "all" && e.Operation != t.op {
		return false
	}
	if t.namePrefix != "" && !strings.HasPrefix(e.Obj.GetName(), t.namePrefix) {
		return false
	}
	// A cluster-scoped object has no namespace, so any namespace_prefix fails.
	if t.nsPrefix != "" && (e.Obj.GetNamespace() == "" || !strings.HasPrefix(e.Obj.GetNamespace(), t.nsPrefix)) {
		return false
	}
	if len(t.labels) > 0 {
		labels := noCopyMap(e.Obj.Object, "metadata", "labels")
		for _, kv := range t.labels {
			if v, _ := labels[kv[0]].(string); v != kv[1] {
				return false
			}
		}
	}
	if len(t.resources) > 0 && !contains(t.resources, strings.ToLower(e.Kind)) {
		return false
	}
	if len(t.operations) > 0 && !contains(t.operations, e.Operation) {
		return false
	}
	if t.test != nil && !t.test(in) {
		return false
	}
	if t.scope != nil && !matchesObject(t.scope, e.Obj) {
		return false
	}
	if t.filters != nil && !t.filters.pass(in) {
		return false
	}
	return true
}

// RateLimit gives the runner the limiter key and period of a matched event, for the
// triggers that have rate_limit.
func (t *kubeTrigger) RateLimit(in *Incoming) (string, time.Duration, bool) {
	if t.limit == nil {
		return "", 0, false
	}
	return t.limit(in), t.period, true
}

// noCopyMap reads a nested map without the deep copy unstructured's getters make:
// matching runs for every event and playbook, and copies dominated its time.
func noCopyMap(obj map[string]any, fields ...string) map[string]any {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	m, _ := v.(map[string]any)
	return m
}

func noCopySlice(obj map[string]any, fields ...string) []any {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	l, _ := v.([]any)
	return l
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func compileKube(key string, params map[string]any) (Trigger, error) {
	ct, ok := catalogue.LookupTrigger(key)
	if !ok || ct.Kind == "" {
		return nil, fmt.Errorf("trigger %s: not a Kubernetes trigger Robusta has", key)
	}
	p := paramReader{key: key, m: params}
	t := &kubeTrigger{key: key, kind: ct.Kind, op: ct.Operation,
		namePrefix: p.str("name_prefix"), nsPrefix: p.str("namespace_prefix")}
	if sel := p.str("labels_selector"); sel != "" {
		// The runner splits on "," then "=" and refuses a term that is not k=v.
		for _, term := range strings.Split(sel, ",") {
			kv := strings.Split(term, "=")
			if len(kv) != 2 {
				return nil, fmt.Errorf("trigger %s: labels_selector term %q is not key=value", key, term)
			}
			t.labels = append(t.labels, [2]string{kv[0], kv[1]})
		}
	}
	var err error
	if raw, ok := params["scope"]; ok && raw != nil {
		if t.scope, err = compileScope(raw); err != nil {
			return nil, fmt.Errorf("trigger %s: scope: %w", key, err)
		}
	}
	if ct.ChangeFilters {
		if raw, ok := params["change_filters"]; ok && raw != nil {
			if t.filters, err = compileChangeFilters(raw); err != nil {
				return nil, fmt.Errorf("trigger %s: change_filters: %w", key, err)
			}
		}
	}
	switch key {
	case "on_kubernetes_resource_operation":
		t.resources = lowerAll(p.strs("resources"))
		t.operations = lowerAll(p.strs("operations"))
		if _, set := params["change_filters"]; !set {
			t.filters = defaultChangeFilters()
		}
	case "on_job_failure":
		t.test = jobNewlyFailed
	case "on_pod_crash_loop":
		count, reason := p.int("restart_count", 2), p.str("restart_reason")
		t.test = func(in *Incoming) bool { return crashLooping(in, count, reason) }
		t.limit, t.period = ownerKey, time.Duration(p.int("rate_limit", 14400))*time.Second
	case "on_image_pull_backoff":
		delay := time.Duration(p.int("fire_delay", 120)) * time.Second
		t.test = func(in *Incoming) bool { return imagePullBackOff(in, delay, time.Now()) }
		t.limit, t.period = ownerKey, time.Duration(p.int("rate_limit", 14400))*time.Second
	case "on_pod_oom_killed", "on_container_oom_killed":
		var ex []oomExclude
		if raw, ok := params["exclude"].([]any); ok {
			for _, item := range raw {
				m, _ := item.(map[string]any)
				name, _ := m["name"].(string)
				ns, _ := m["namespace"].(string)
				ex = append(ex, oomExclude{name: name, namespace: ns})
			}
		}
		perContainer := key == "on_container_oom_killed"
		t.test = func(in *Incoming) bool { return oomKilled(in, ex, perContainer) }
		t.limit, t.period = ownerKey, time.Duration(p.int("rate_limit", 3600))*time.Second
	case "on_pod_evicted":
		t.test = evicted
		t.limit, t.period = podKey, time.Duration(p.int("rate_limit", 14400))*time.Second
	case "on_kubernetes_warning_event", "on_kubernetes_warning_event_create", "on_kubernetes_warning_event_update", "on_kubernetes_warning_event_delete":
		ops := lowerAll(p.strs("operations"))
		include, exclude := p.strs("include"), p.strs("exclude")
		t.test = func(in *Incoming) bool { return warningEvent(in, ops, include, exclude) }
		t.limit, t.period = warningKey, time.Duration(p.int("rate_limit", 3600))*time.Second
	default:
		if !strings.Contains(ct.Source, "/autogenerated/") {
			// A trigger with its own condition this package does not have yet
			// (OOM, eviction, warning events): say so rather than fire on every update.
			return nil, fmt.Errorf("trigger %s: the local watch does not support it yet", key)
		}
	}
	return t, p.err
}

func lowerAll(in []string) []string {
	for i := range in {
		in[i] = strings.ToLower(in[i])
	}
	return in
}

// paramReader reads trigger params as the YAML decoder gives them; the validator has
// checked their types, so a wrong type here is recorded once and reported.
type paramReader struct {
	key string
	m   map[string]any
	err error
}

func (p *paramReader) fail(name, want string, v any) {
	if p.err == nil {
		p.err = fmt.Errorf("trigger %s: %s must be %s, got %v", p.key, name, want, v)
	}
}

func (p *paramReader) str(name string) string {
	v, ok := p.m[name]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.fail(name, "a string", v)
	}
	return s
}

func (p *paramReader) int(name string, def int) int {
	v, ok := p.m[name]
	if !ok || v == nil {
		return def
	}
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case uint64:
		return int(n)
	case float64:
		if n == float64(int(n)) {
			return int(n)
		}
	}
	p.fail(name, "a whole number", v)
	return def
}

func (p *paramReader) strs(name string) []string {
	v, ok := p.m[name]
	if !ok || v == nil {
		return nil
	}
	return stringList(v, func(bad any) { p.fail(name, "a list of strings", bad) })
}

// stringList reads a list of strings; a single string is a one-item list, as
// pydantic's coercion in Robusta's scope params makes it.
func stringList(v any, fail func(any)) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []string:
		return append([]string(nil), x...)
	case []any:
		out := make([]string, 0, len(x))
		for _, item := range x {
			s, ok := item.(string)
			if !ok {
				fail(v)
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	fail(v)
	return nil
}
