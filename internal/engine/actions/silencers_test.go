package actions

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func silencerRun(e *engine.Event) *engine.Run {
	return &engine.Run{Event: e, Finding: engine.NewFinding(e, "t")}
}

func phasePod(phase string) *engine.Event {
	o := &unstructured.Unstructured{Object: map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": "n"},
		"status": map[string]any{"phase": phase}}}
	return &engine.Event{Class: "PodEvent", Kind: "Pod", Obj: o}
}

func alertEvent(labels map[string]string) *engine.Event {
	return &engine.Event{Class: engine.AlertEvent, Alert: &engine.Alert{Status: "firing", Labels: labels}}
}

// Each silencer stops processing exactly when the runner's does.
func TestSilencers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action string
		params map[string]any
		event  *engine.Event
		stop   bool
	}{
		{"phase in exclude", "pod_status_silencer", map[string]any{"exclude": []any{"Pending"}}, phasePod("Pending"), true},
		{"phase not in exclude", "pod_status_silencer", map[string]any{"exclude": []any{"Pending"}}, phasePod("Running"), false},
		{"phase not in include", "pod_status_silencer", map[string]any{"include": []any{"Running"}}, phasePod("Failed"), true},
		{"phase in include", "pod_status_silencer", map[string]any{"include": []any{"Running"}}, phasePod("Running"), false},
		{"include passes, exclude stops", "pod_status_silencer", map[string]any{"include": []any{"Running"}, "exclude": []any{"Running"}}, phasePod("Running"), true},
		{"no lists", "pod_status_silencer", map[string]any{}, phasePod("Running"), false},
		{"name listed", "name_silencer", map[string]any{"names": []any{"Watchdog", "X"}}, alertEvent(map[string]string{"alertname": "Watchdog"}), true},
		{"name case differs", "name_silencer", map[string]any{"names": []any{"watchdog"}}, alertEvent(map[string]string{"alertname": "Watchdog"}), false},
		{"severity equal", "severity_silencer", map[string]any{"severity": "info"}, alertEvent(map[string]string{"severity": "info"}), true},
		{"severity differs", "severity_silencer", map[string]any{"severity": "info"}, alertEvent(map[string]string{"severity": "warning"}), false},
		{"severity default none", "severity_silencer", map[string]any{}, alertEvent(map[string]string{"severity": "none"}), true},
		{"no severity label", "severity_silencer", map[string]any{}, alertEvent(map[string]string{}), false},
		{"silence_alert", "silence_alert", map[string]any{}, alertEvent(map[string]string{"alertname": "A"}), true},
		{"node_restart_silencer on an alert about no pod", "node_restart_silencer", map[string]any{}, alertEvent(map[string]string{"alertname": "A"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := engine.Lookup(tc.action)
			r := silencerRun(tc.event)
			if err := a.Execute(context.Background(), r, tc.params); err != nil {
				t.Fatal(err)
			}
			if r.StopProcessing != tc.stop || r.Stop != tc.stop {
				t.Fatalf("stop_processing %v, chain stop %v; want %v", r.StopProcessing, r.Stop, tc.stop)
			}
		})
	}
}

func TestSilencerParams(t *testing.T) {
	a, _ := engine.Lookup("name_silencer")
	err := a.Execute(context.Background(), silencerRun(alertEvent(nil)), map[string]any{})
	if err == nil || !strings.Contains(err.Error(), `missing required parameter "names"`) {
		t.Fatalf("%v", err)
	}
	a, _ = engine.Lookup("customise_finding")
	err = a.Execute(context.Background(), silencerRun(phasePod("Running")), map[string]any{"severity": "MEDIUM"})
	if err == nil || !strings.Contains(err.Error(), "not one of DEBUG, INFO, LOW, HIGH") {
		t.Fatalf("%v", err)
	}
}

func TestNodeStarted(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ready := created.Add(time.Hour)
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)}}
	if got := nodeStarted(n); !got.Equal(created) {
		t.Fatalf("no conditions: %v", got)
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, LastTransitionTime: metav1.NewTime(ready.Add(time.Hour))},
		{Type: corev1.NodeReady, LastTransitionTime: metav1.NewTime(ready)}}
	if got := nodeStarted(n); !got.Equal(ready) {
		t.Fatalf("ready: %v", got)
	}
}

// customise_finding changes a finding earlier actions made, templated from the
// subject; with no finding it changes nothing; label rules add labels and a table.
func TestCustomiseFinding(t *testing.T) {
	o := &unstructured.Unstructured{Object: map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "api-1", "namespace": "infra-db",
		"labels": map[string]any{"app": "api", "tier": "db"}, "annotations": map[string]any{"owner": "team-a"}}, "spec": map[string]any{"nodeName": "n1"}}}
	e := &engine.Event{Class: "PodEvent", Kind: "Pod", Obj: o}
	custom, _ := engine.Lookup("customise_finding")
	params := map[string]any{"title": "$kind $namespace/$name on $node (${labels.app}, $annotations.owner, $cluster)", "severity": "DEBUG",
		"aggregation_key": "key-$name", "description": "about $labels.tier",
		"finding_label_rules": []any{
			map[string]any{"source_fields": []any{"namespace"}, "regex": "infra-(.*)|kube-system", "target_label": "team", "replacement": "infra-$1"},
			map[string]any{"source_fields": []any{"labels.app", "labels.tier"}, "regex": "(api);(db)", "target_label": "svc", "replacement": "$2-$1", "separator": ";"},
			map[string]any{"source_fields": []any{"name"}, "regex": "api", "target_label": "partial", "replacement": "no"},
			map[string]any{"source_fields": []any{"name"}, "regex": "(", "target_label": "broken", "replacement": "no"},
		}}

	r := silencerRun(e)
	if err := custom.Execute(context.Background(), r, params); err != nil {
		t.Fatal(err)
	}
	if r.Finding.Title != "t" || r.Finding.Severity != engine.Info {
		t.Errorf("no finding was made, yet it changed: %+v", r.Finding)
	}

	r = silencerRun(e)
	cf, _ := engine.Lookup("create_finding")
	if err := cf.Execute(context.Background(), r, map[string]any{"title": "x", "aggregation_key": "k"}); err != nil {
		t.Fatal(err)
	}
	before := r.Finding.Fingerprint
	if err := custom.Execute(context.Background(), r, params); err != nil {
		t.Fatal(err)
	}
	f := r.Finding
	if want := "pod infra-db/api-1 on n1 (api, team-a, <missing>)"; f.Title != want {
		t.Errorf("title %q, want %q", f.Title, want)
	}
	if f.Severity != engine.Debug || f.AggregationKey != "key-api-1" || f.Description != "about db" || f.Fingerprint == before {
		t.Errorf("%+v", f)
	}
	if f.Subject.Labels["team"] != "db" && f.Subject.Labels["team"] != "infra-db" || f.Subject.Labels["svc"] != "db-api" || f.Subject.Labels["partial"] != "" {
		t.Errorf("labels %v", f.Subject.Labels)
	}
	if o.GetLabels()["team"] != "" {
		t.Error("the event's object was changed")
	}
	last := f.Enrichments[len(f.Enrichments)-1]
	if last.Title != "labels" || len(last.Blocks) != 1 || len(last.Blocks[0].Rows) != 2 || last.Blocks[0].Rows[0][1] != "infra-db" {
		t.Errorf("labels table %+v", last)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], `"(" for broken does not compile`) {
		t.Errorf("notes %v", r.Notes)
	}
}

// create_finding templates as the runner's format_event_templated_string: dotted
// names, annotations, the subject type's lower-case value, "<missing>" for any other
// name (a defaultdict), and whole identifiers only ($namex is not $name).
func TestCreateFindingTemplate(t *testing.T) {
	o := &unstructured.Unstructured{Object: map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "api-1", "namespace": "prod",
		"labels": map[string]any{"app": "api"}, "annotations": map[string]any{"owner": "team-a"}}, "spec": map[string]any{"nodeName": "n1"}}}
	cf, _ := engine.Lookup("create_finding")
	for _, c := range []struct {
		e          *engine.Event
		title      string
		want, desc string
	}{
		{&engine.Event{Class: "PodEvent", Kind: "Pod", Obj: o}, "$kind $namespace/$name on $node ($labels.app, ${annotations.owner})", "pod prod/api-1 on n1 (api, team-a)", ""},
		{&engine.Event{Class: "PodEvent", Kind: "Pod", Obj: o}, "$namex $nothing $$5 ${labels.none}", "<missing> <missing> $5 <missing>", ""},
		{&engine.Event{Class: "PrometheusKubernetesAlert", Alert: &engine.Alert{Labels: map[string]string{"alertname": "A", "namespace": "ns1"}}},
			"$kind $name in $namespace on $node", "None Unresolved in ns1 on <missing>", ""},
	} {
		r := silencerRun(c.e)
		if err := cf.Execute(context.Background(), r, map[string]any{"title": c.title, "aggregation_key": "k"}); err != nil {
			t.Fatal(err)
		}
		if r.Finding.Title != c.want || r.Finding.Description != c.desc {
			t.Errorf("%q: title %q description %q, want %q %q", c.title, r.Finding.Title, r.Finding.Description, c.want, c.desc)
		}
	}
}
