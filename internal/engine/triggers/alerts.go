package triggers

import (
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine/scope"
)

// alertTrigger is on_prometheus_alert: the alert's name and status, prefixes of its
// pod, namespace and instance labels, and a scope over its labels and annotations.
type alertTrigger struct {
	name, status                  string
	podPrefix, nsPrefix, instance string
	scope                         *scope.Scope
}

func (t *alertTrigger) Key() string { return "on_prometheus_alert" }

// prefixMatch is the runner's prefix_match: no prefix matches anything; a prefix does
// not match a missing value.
func prefixMatch(prefix, value string, present bool) bool {
	if prefix == "" {
		return true
	}
	return present && strings.HasPrefix(value, prefix)
}

func (t *alertTrigger) Matches(in *Incoming) bool {
	// Helm and scheduled incomings may come without an event.
	if in == nil || in.Event == nil {
		return false
	}
	a := in.Event.Alert
	if a == nil {
		return false
	}
	if t.name != "" && a.Labels["alertname"] != t.name {
		return false
	}
	if t.status != "all" && a.Status != t.status {
		return false
	}
	for _, c := range []struct{ prefix, label string }{{t.podPrefix, "pod"}, {t.nsPrefix, "namespace"}, {t.instance, "instance"}} {
		v, ok := a.Labels[c.label]
		if !prefixMatch(c.prefix, v, ok) {
			return false
		}
	}
	if t.scope != nil {
		labels, annotations := a.Labels, a.Annotations
		if labels == nil {
			labels = map[string]string{}
		}
		if annotations == nil {
			annotations = map[string]string{}
		}
		return t.scope.Matches(scopeData{labels: labels, annotations: annotations})
	}
	return true
}

func compileAlert(params map[string]any) (Trigger, error) {
	p := paramReader{key: "on_prometheus_alert", m: params}
	t := &alertTrigger{name: p.str("alert_name"), status: p.str("status"), podPrefix: p.str("pod_name_prefix"),
		nsPrefix: p.str("namespace_prefix"), instance: p.str("instance_name_prefix")}
	if t.status == "" {
		t.status = "firing"
	}
	if raw, ok := params["scope"]; ok && raw != nil {
		var err error
		if t.scope, err = compileScope(raw); err != nil {
			return nil, err
		}
	}
	// k8s_providers compares with the runner's detected cloud provider, which a laptop
	// does not detect: it is accepted and not applied.
	return t, p.err
}
