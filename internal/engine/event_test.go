package engine

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestEventCompatibilityMatrix runs every kind of event against every action event
// class and checks the answer against Robusta's rules (ROBUSTA.md): an action takes its
// class and all descendants; change-event actions need change events; alerts yield
// what their resolved object yields.
func TestEventCompatibilityMatrix(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{}}
	events := map[string]*Event{
		"pod":            {Class: "PodEvent", Kind: "Pod", Obj: obj},
		"pod change":     {Class: "PodChangeEvent", Kind: "Pod", Obj: obj, Old: obj},
		"deployment":     {Class: "DeploymentEvent", Kind: "Deployment", Obj: obj},
		"job":            {Class: "JobEvent", Kind: "Job", Obj: obj},
		"node":           {Class: "NodeEvent", Kind: "Node", Obj: obj},
		"k8s event":      {Class: "EventChangeEvent", Kind: "Event", Obj: obj, Old: obj},
		"service":        {Class: "ServiceEvent", Kind: "Service", Obj: obj},
		"pvc":            {Class: "PersistentVolumeClaimEvent", Kind: "PersistentVolumeClaim", Obj: obj},
		"hpa":            {Class: "HorizontalPodAutoscalerEvent", Kind: "HorizontalPodAutoscaler", Obj: obj},
		"alert on pod":   {Class: AlertEvent, Kind: "Pod", Obj: obj, Alert: &Alert{}},
		"alert on node":  {Class: AlertEvent, Kind: "Node", Obj: obj, Alert: &Alert{}},
		"alert, no obj":  {Class: AlertEvent, Alert: &Alert{}},
		"scheduled":      {Class: "ScheduledExecutionEvent"},
		"manual, no obj": {Class: "ExecutionBaseEvent"},
	}
	wanted := []string{"ExecutionBaseEvent", "KubernetesResourceEvent", "PodEvent", "DeploymentEvent", "JobEvent", "NodeEvent", "KubernetesAnyChangeEvent", "PodChangeEvent", AlertEvent}
	// yes[event] lists the wanted classes the event yields; every other one must be no.
	yes := map[string][]string{
		"pod":            {"ExecutionBaseEvent", "KubernetesResourceEvent", "PodEvent"},
		"pod change":     {"ExecutionBaseEvent", "KubernetesResourceEvent", "PodEvent", "KubernetesAnyChangeEvent", "PodChangeEvent"},
		"deployment":     {"ExecutionBaseEvent", "KubernetesResourceEvent", "DeploymentEvent"},
		"job":            {"ExecutionBaseEvent", "KubernetesResourceEvent", "JobEvent"},
		"node":           {"ExecutionBaseEvent", "KubernetesResourceEvent", "NodeEvent"},
		"k8s event":      {"ExecutionBaseEvent", "KubernetesResourceEvent", "KubernetesAnyChangeEvent"},
		"service":        {"ExecutionBaseEvent", "KubernetesResourceEvent"},
		"pvc":            {"ExecutionBaseEvent", "KubernetesResourceEvent"},
		"hpa":            {"ExecutionBaseEvent", "KubernetesResourceEvent"},
		"alert on pod":   {"ExecutionBaseEvent", "KubernetesResourceEvent", "PodEvent", AlertEvent},
		"alert on node":  {"ExecutionBaseEvent", "KubernetesResourceEvent", "NodeEvent", AlertEvent},
		"alert, no obj":  {"ExecutionBaseEvent", AlertEvent},
		"scheduled":      {"ExecutionBaseEvent"},
		"manual, no obj": {"ExecutionBaseEvent"},
	}
	for name, ev := range events {
		for _, w := range wanted {
			want := false
			for _, y := range yes[name] {
				want = want || y == w
			}
			if got := ev.Yields(w); got != want {
				t.Errorf("%s event, action taking %s: got %v, want %v", name, w, got, want)
			}
		}
	}
}

func TestAlertTarget(t *testing.T) {
	for _, tc := range []struct {
		labels                map[string]string
		label, kind, ns, name string
	}{
		{map[string]string{"pod": "web-1", "namespace": "prod", "node": "n1"}, "pod", "Pod", "prod", "web-1"},
		{map[string]string{"pod": "web-1"}, "pod", "Pod", "default", "web-1"},
		{map[string]string{"job_name": "nightly", "namespace": "batch"}, "job_name", "Job", "batch", "nightly"},
		{map[string]string{"deployment": "api", "namespace": "prod"}, "deployment", "Deployment", "prod", "api"},
		{map[string]string{"instance": "node-3:9100"}, "instance", "Node", "", "node-3"},
		{map[string]string{"node": "node-4", "instance": "10.0.0.1:9100"}, "node", "Node", "", "node-4"},
		{map[string]string{"alertname": "Watchdog"}, "", "", "", ""},
	} {
		label, kind, ns, name := AlertTarget(&Alert{Labels: tc.labels})
		if label != tc.label || kind != tc.kind || ns != tc.ns || name != tc.name {
			t.Errorf("%v: got %s %s %s/%s", tc.labels, label, kind, ns, name)
		}
	}
}

func TestAlertFinding(t *testing.T) {
	a := &Alert{Status: "firing", Labels: map[string]string{"alertname": "KubePodCrashLooping", "severity": "warning"},
		Annotations: map[string]string{"summary": "Pod is crash looping.", "description": "web-1 restarted 5 times"}}
	f := NewFinding(&Event{Class: AlertEvent, Alert: a}, "unused")
	if f.Title != "KubePodCrashLooping" || f.Severity != Low || f.Source != "prometheus" || f.Description != "Pod is crash looping.\nweb-1 restarted 5 times" {
		t.Fatalf("%+v", f)
	}
	a.Status = "resolved"
	if f := NewFinding(&Event{Class: AlertEvent, Alert: a}, ""); f.Title != "[RESOLVED] KubePodCrashLooping" {
		t.Fatal(f.Title)
	}
}
