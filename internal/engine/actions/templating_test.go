package actions

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/pyfmt"
)

// Expected values were produced by CPython 3's string.Template.safe_substitute over a
// defaultdict (plain) and by a Template subclass with Robusta's ExtendedTemplate
// patterns (dotted), for the variables below.
func TestPySubstitute(t *testing.T) {
	vars := withDefault(map[string]string{"name": "web-1", "namespace": "prod", "labels.app": "web",
		"labels.app.kubernetes.io/name": "shop", "Name": "UP", "a_1": "x"}, "<missing>")
	for _, tc := range []struct{ in, plain, dotted string }{
		{"$name in $namespace", "web-1 in prod", "web-1 in prod"},
		{"${name}x", "web-1x", "web-1x"},
		{"$namex", "<missing>", "<missing>"},
		{"$$name", "$name", "$name"},
		{"$$$name", "$web-1", "$web-1"},
		{"cost: $5", "cost: $5", "cost: $5"},
		{"end $", "end $", "end $"},
		{"${", "${", "${"},
		{"${}", "${}", "${}"},
		{"${name", "${name", "${name"},
		{"$ {name}", "$ {name}", "$ {name}"},
		{"$labels.app", "<missing>.app", "web"},
		{"${labels.app}", "${labels.app}", "web"},
		{"${labels.app.kubernetes.io/name}", "${labels.app.kubernetes.io/name}", "shop"},
		{"$labels.app.kubernetes.io/name", "<missing>.app.kubernetes.io/name", "<missing>/name"},
		{"$Name", "UP", "UP"},
		{"${a_1}b", "xb", "xb"},
		{"$-x", "$-x", "$-x"},
		{"$name-suffix", "web-1-suffix", "web-1-suffix"},
		{"${9a}", "${9a}", "${9a}"},
		{"$_", "<missing>", "<missing>"},
		{"$name.", "web-1.", "<missing>"},
		{"${name/x}", "${name/x}", "<missing>"},
		{"${ä}", "${ä}", "${ä}"},
		{"$é", "$é", "$é"},
	} {
		if got := pySubstitute(tc.in, false, vars); got != tc.plain {
			t.Errorf("plain %q: got %q, want %q", tc.in, got, tc.plain)
		}
		if got := pySubstitute(tc.in, true, vars); got != tc.dotted {
			t.Errorf("dotted %q: got %q, want %q", tc.in, got, tc.dotted)
		}
	}
	// A plain dict's KeyError keeps the placeholder as written.
	strict := func(n string) (string, bool) { return map[string]string{"a": "1"}[n], n == "a" }
	if got := pySubstitute("$a ${b} $c.d", false, strict); got != "1 ${b} $c.d" {
		t.Errorf("strict: %q", got)
	}
}

func TestPyDictRepr(t *testing.T) {
	got := pyDictRepr([]kv{{"a", "it's"}, {"b", `q"x`}, {"c", `both ' "`}, {"d", "tab\there\\"}, {"e", "é\u00a0\u200b😀\u0085"}, {"f", ""}})
	want := `{'a': "it's", 'b': 'q"x', 'c': 'both \' "', 'd': 'tab\there\\', 'e': 'é\xa0\u200b😀\x85', 'f': ''}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if pyDictRepr(nil) != "{}" {
		t.Error("empty dict")
	}
}

func obj(kind, ns, name string, labels map[string]string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"kind": kind, "spec": spec}}
	u.SetName(name)
	u.SetNamespace(ns)
	u.SetLabels(labels)
	return u
}

// The names the runner's template_enricher sees: vars() of the FindingSubject, with
// Python's str() of None and of dicts, and on alerts the alert's labels underneath.
func TestTemplateVars(t *testing.T) {
	pod := obj("Pod", "prod", "web-1", map[string]string{"app": "web", "tier": "fe"}, map[string]any{"nodeName": "n1"})
	node := obj("Node", "", "n1", nil, map[string]any{})
	svc := obj("Service", "prod", "web", nil, map[string]any{})
	alert := &engine.Alert{Labels: map[string]string{"alertname": "Down", "namespace": "prod", "pod": "web-1", "app": "api", "zone": "z1", "name": "label-name"},
		Annotations: map[string]string{"summary": "it is down"}}
	for _, tc := range []struct {
		what string
		ev   *engine.Event
		want map[string]string
	}{
		{"pod", &engine.Event{Class: "PodEvent", Kind: "Pod", Obj: pod}, map[string]string{
			"name": "web-1", "namespace": "prod", "node": "n1", "kind": "pod", "subject_type": "FindingSubjectType.TYPE_POD",
			"container": "None", "labels": "{'app': 'web', 'tier': 'fe'}", "annotations": "{}"}},
		{"node", &engine.Event{Class: "NodeEvent", Kind: "Node", Obj: node}, map[string]string{
			"name": "n1", "namespace": "None", "node": "n1", "kind": "node", "labels": "{}"}},
		{"service", &engine.Event{Class: "ServiceEvent", Kind: "Service", Obj: svc}, map[string]string{
			"name": "web", "kind": "None", "subject_type": "FindingSubjectType.TYPE_NONE", "node": "None"}},
		{"alert on a pod", &engine.Event{Class: engine.AlertEvent, Kind: "Pod", Obj: pod, Alert: alert}, map[string]string{
			"name": "web-1", "alertname": "Down", "zone": "z1", "summary": "it is down", "kind": "pod", "node": "n1",
			"labels":      "{'app': 'api', 'tier': 'fe', 'alertname': 'Down', 'name': 'label-name', 'namespace': 'prod', 'pod': 'web-1', 'zone': 'z1'}",
			"annotations": "{'summary': 'it is down'}"}},
		{"alert on nothing", &engine.Event{Class: engine.AlertEvent, Alert: alert}, map[string]string{
			"name": "Unresolved", "namespace": "prod", "kind": "None", "node": "None", "alertname": "Down"}},
	} {
		got := templateVars(tc.ev)
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", tc.what, k, got[k], v)
			}
		}
	}
}

// Expected values from the runner's get_prometheus_query steps run in CPython 3.
func TestPromQuery(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1", "up == 0"},
		{"http://prom/graph?g0.expr=rate%28x%5B5m%5D%29+%26gt%3B+1&amp;g0.tab=1", "rate(x[5m]) &gt; 1"},
		{"http://prom/graph?g0.expr=a&#43;b%2525&g0.tab=1", "a b%"},
		{"http://prom/graph?g0.tab=1", ""},
		{"http://prom/graph?g0.expr=&g0.tab=1", ""},
		{"", ""},
		{"http://prom/graph?g0.expr=100%25%zz", "100%%zz"},
	} {
		if got := promQuery(tc.url); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.url, got, tc.want)
		}
	}
}

func TestPyJSONString(t *testing.T) {
	if got, want := pyfmt.JSONString("a\"b\\c\n\té😀\x7f<>&"), `"a\"b\\c\n\t\u00e9\ud83d\ude00\u007f<>&"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestImages(t *testing.T) {
	d := obj("Deployment", "prod", "web", nil, map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
		map[string]any{"name": "a", "image": "nginx:1.25"}, map[string]any{"name": "b", "image": "registry:5000/app:v2"},
		map[string]any{"name": "c", "image": "busybox"}, map[string]any{"name": "d", "image": "nginx:1.26"}}}}})
	if got := pyDictRepr(images(d)); got != "{'nginx': '1.26', 'registry': '5000/app:v2', 'busybox': '<NONE>'}" {
		t.Errorf("images: %s", got)
	}
	if images(obj("Service", "prod", "s", nil, map[string]any{})) != nil || images(nil) != nil {
		t.Error("no containers should give nil")
	}
}
