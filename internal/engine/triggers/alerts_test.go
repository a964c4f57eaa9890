package triggers

import (
	"context"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func alertIn(status string, labels, annotations map[string]string) *Incoming {
	return &Incoming{Event: &engine.Event{Class: engine.AlertEvent, Alert: &engine.Alert{Status: status, Labels: labels, Annotations: annotations}}}
}

func TestAlertTriggerRunnerCases(t *testing.T) {
	crash := map[string]string{"alertname": "KubePodCrashLooping", "pod": "api-7f9", "namespace": "prod-eu", "instance": "10.0.0.1:8080", "severity": "warning"}
	for _, tc := range []struct {
		name   string
		params map[string]any
		status string
		labels map[string]string
		annos  map[string]string
		want   bool
	}{
		{"no params: firing only", nil, "firing", crash, nil, true},
		{"no params: resolved does not fire", nil, "resolved", crash, nil, false},
		{"status all", map[string]any{"status": "all"}, "resolved", crash, nil, true},
		{"status resolved", map[string]any{"status": "resolved"}, "firing", crash, nil, false},
		{"alert name exact", map[string]any{"alert_name": "KubePodCrashLooping"}, "firing", crash, nil, true},
		{"alert name is not a prefix", map[string]any{"alert_name": "KubePod"}, "firing", crash, nil, false},
		{"pod prefix", map[string]any{"pod_name_prefix": "api-"}, "firing", crash, nil, true},
		{"pod prefix other", map[string]any{"pod_name_prefix": "web-"}, "firing", crash, nil, false},
		{"pod prefix, no pod label", map[string]any{"pod_name_prefix": "api"}, "firing", map[string]string{"alertname": "X"}, nil, false},
		{"namespace prefix", map[string]any{"namespace_prefix": "prod"}, "firing", crash, nil, true},
		{"instance prefix", map[string]any{"instance_name_prefix": "10.0."}, "firing", crash, nil, true},
		{"instance prefix other", map[string]any{"instance_name_prefix": "10.1."}, "firing", crash, nil, false},
		{"k8s_providers without a detected provider filters nothing", map[string]any{"k8s_providers": []any{"GKE"}}, "firing", crash, nil, true},
		{"scope include label regex", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"labels": "namespace=prod-.*"}}}}, "firing", crash, nil, true},
		{"scope include is a full match", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"labels": "namespace=prod"}}}}, "firing", crash, nil, false},
		{"scope include: all parts of an expression", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"labels": "namespace=prod-.*, severity=critical"}}}}, "firing", crash, nil, false},
		{"scope include: any expression of a list", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"labels": []any{"severity=critical", "severity=warning"}}}}}, "firing", crash, nil, true},
		{"scope word alternation is a full match", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"labels": "severity=warn|critical"}}}}, "firing", crash, nil, false},
		{"scope word alternation", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"labels": "severity=info|warning"}}}}, "firing", crash, nil, true},
		{"scope negated word", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"labels": "severity!=warning"}}}}, "firing", crash, nil, false},
		{"scope negation", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"labels": "namespace!=kube-.*"}}}}, "firing", crash, nil, true},
		{"scope negation of a missing label does not match", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"labels": "team!=x"}}}}, "firing", crash, nil, false},
		{"scope exclude wins", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"labels": "pod=api.*"}}, "exclude": []any{map[string]any{"labels": "namespace=prod-eu"}}}}, "firing", crash, nil, false},
		{"scope exclude alone lets others pass", map[string]any{"scope": map[string]any{"exclude": []any{map[string]any{"labels": "namespace=staging"}}}}, "firing", crash, nil, true},
		{"scope annotations", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"annotations": "runbook=.*crash.*"}}}}, "firing", crash, map[string]string{"runbook": "https://x/crash"}, true},
		{"scope two attributes: both", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"labels": "pod=api.*", "annotations": "runbook=.*"}}}}, "firing", crash, map[string]string{}, false},
		{"scope any of the include entries", map[string]any{"scope": map[string]any{"include": []any{map[string]any{"labels": "pod=web.*"}, map[string]any{"labels": "pod=api.*"}}}}, "firing", crash, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Compile(context.Background(), "on_prometheus_alert", tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if got := tr.Matches(alertIn(tc.status, tc.labels, tc.annos)); got != tc.want {
				t.Fatalf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAlertTriggerNotAnAlert(t *testing.T) {
	tr, err := Compile(context.Background(), "on_prometheus_alert", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Matches(&Incoming{Event: &engine.Event{Class: "PodEvent"}}) || tr.Matches(&Incoming{Helm: &HelmRelease{}}) {
		t.Fatal("matched a non-alert event")
	}
}

// Unknown keys are ignored (the runner's model has no strict keys); a malformed scope
// is refused.
func TestAlertTriggerParams(t *testing.T) {
	if _, err := Compile(context.Background(), "on_prometheus_alert", map[string]any{"alert_nam": "X"}); err != nil {
		t.Errorf("unknown key refused: %v", err)
	}
	for _, sc := range []any{"x", map[string]any{}, map[string]any{"include": []any{}}} {
		if _, err := Compile(context.Background(), "on_prometheus_alert", map[string]any{"scope": sc}); err == nil {
			t.Errorf("scope %v accepted", sc)
		}
	}
}

func TestRelabel(t *testing.T) {
	a := &engine.Alert{Labels: map[string]string{"alertname": "A", "exported_pod": "p1", "exported_namespace": "ns", "empty": ""}}
	rs := []Relabel{
		{Source: "exported_pod", Target: "pod"},
		{Source: "exported_namespace", Target: "namespace", Operation: "replace"},
		{Source: "empty", Target: "node"},
		{Source: "absent", Target: "job_name", Operation: "replace"},
	}
	if err := ValidateRelabels(rs); err != nil {
		t.Fatal(err)
	}
	ApplyRelabels(a, rs)
	want := map[string]string{"alertname": "A", "exported_pod": "p1", "pod": "p1", "namespace": "ns", "empty": ""}
	if len(a.Labels) != len(want) {
		t.Fatalf("labels %v, want %v", a.Labels, want)
	}
	for k, v := range want {
		if a.Labels[k] != v {
			t.Fatalf("labels %v, want %v", a.Labels, want)
		}
	}
	if err := ValidateRelabels([]Relabel{{Source: "a", Target: "b", Operation: "move"}}); err == nil {
		t.Fatal("operation move accepted")
	}
}

func TestParseWebhook(t *testing.T) {
	body := `{"version":"4","status":"firing","receiver":"robusta","alerts":[
	 {"status":"firing","labels":{"alertname":"A","pod":"p","num":3},"annotations":{"summary":"s"},"startsAt":"2024-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f1","generatorURL":"http://p/g0"},
	 {"status":"resolved","labels":{"alertname":"B"},"annotations":{},"startsAt":"2024-01-01T00:00:00Z","endsAt":"2024-01-01T01:00:00Z","fingerprint":"f2"}]}`
	as, err := ParseWebhook(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 2 || as[0].Labels["pod"] != "p" || as[0].Labels["num"] != "3" || as[0].Annotations["summary"] != "s" || as[1].Status != "resolved" {
		t.Fatalf("parsed %+v", as)
	}
	if as[0].DedupKey() == as[1].DedupKey() {
		t.Fatal("different alerts share a dedup key")
	}
	for _, tc := range []struct{ body, want string }{
		{`not json`, "not an Alertmanager payload"},
		{`{"status":"firing"}`, `no "alerts" list`},
		{`{"alerts":[{"labels":{"alertname":"A"}}]}`, "no status"},
		{`{"alerts":[{"status":"firing","labels":{}}]}`, "no alertname"},
		{`{"alerts":[` + strings.Repeat(" ", MaxWebhookBytes) + `]}`, "larger than"},
	} {
		if _, err := ParseWebhook(strings.NewReader(tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("body %.40q: err %v, want %q", tc.body, err, tc.want)
		}
	}
}

// BenchmarkAlertMatch: one alert against 200 on_prometheus_alert triggers with
// prefixes and scope, the load of playbooks.
func BenchmarkAlertMatch(b *testing.B) {
	var trs []Trigger
	for i := 0; i < 200; i++ {
		tr, err := Compile(context.Background(), "on_prometheus_alert", map[string]any{
			"namespace_prefix": "prod",
			"scope":            map[string]any{"include": []any{map[string]any{"labels": "severity=warning|critical, team!=infra"}}},
		})
		if err != nil {
			b.Fatal(err)
		}
		trs = append(trs, tr)
	}
	in := alertIn("firing", map[string]string{"alertname": "KubePodCrashLooping", "pod": "api-1", "namespace": "prod-eu", "severity": "warning", "team": "web"}, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, tr := range trs {
			if !tr.Matches(in) {
				b.Fatal("no match")
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
