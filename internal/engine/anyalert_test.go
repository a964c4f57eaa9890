package engine

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// An AnyAlert action (logs_enricher) takes every alert, as the runner hands every
// alert to a PodEvent action; other events still need its class.
func TestAnyAlertAccepts(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{}}
	for _, tc := range []struct {
		name     string
		anyAlert bool
		e        *Event
		want     bool
	}{
		{"alert on a pod", false, &Event{Class: AlertEvent, Kind: "Pod", Obj: obj, Alert: &Alert{}}, true},
		{"alert on a node", false, &Event{Class: AlertEvent, Kind: "Node", Obj: obj, Alert: &Alert{}}, false},
		{"alert, no object", false, &Event{Class: AlertEvent, Alert: &Alert{}}, false},
		{"alert on a node, AnyAlert", true, &Event{Class: AlertEvent, Kind: "Node", Obj: obj, Alert: &Alert{}}, true},
		{"alert, no object, AnyAlert", true, &Event{Class: AlertEvent, Alert: &Alert{}}, true},
		{"node event, AnyAlert", true, &Event{Class: "NodeEvent", Kind: "Node", Obj: obj}, false},
		{"manual, no object, AnyAlert", true, &Event{Class: "ExecutionBaseEvent"}, false},
	} {
		a := &Action{Name: "x", Event: "PodEvent", AnyAlert: tc.anyAlert}
		if got := a.Accepts(tc.e); got != tc.want {
			t.Errorf("%s: Accepts %v, want %v", tc.name, got, tc.want)
		}
	}
}
