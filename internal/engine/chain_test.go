package engine

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

type noteParams struct {
	Text string `param:"text" required:"true"`
	Stop bool   `param:"stop"`
}

func init() {
	note := func(_ context.Context, r *Run, p any) error {
		np := p.(*noteParams)
		r.Finding.AddEnrichment("", Markdown(np.Text))
		r.Stop = np.Stop
		return nil
	}
	Register(&Action{Name: "test_note", Event: "ExecutionBaseEvent", NewParams: func() any { return &noteParams{} }, Do: note})
	Register(&Action{Name: "test_pod_note", Event: "PodEvent", NewParams: func() any { return &noteParams{} }, Do: note})
}

func TestRunChain(t *testing.T) {
	pod := &Event{Class: "PodEvent", Kind: "Pod", Obj: &unstructured.Unstructured{Object: map[string]any{}}}
	node := &Event{Class: "NodeEvent", Kind: "Node", Obj: &unstructured.Unstructured{Object: map[string]any{}}}
	for _, tc := range []struct {
		name    string
		yaml    string
		event   *Event
		ran     int
		texts   string
		wantErr string
	}{
		{"in order, one finding", "- test_note: {text: a}\n- test_pod_note: {text: b}\n- test_note: {text: c}\n", pod, 3, "a,b,c", ""},
		{"stop ends the chain", "- test_note: {text: a}\n- test_note: {text: b, stop: true}\n- test_note: {text: c}\n", pod, 2, "a,b", ""},
		{"a playbook object", "triggers: [{on_pod_update: {}}]\nactions:\n- test_note: {text: a}\n", pod, 1, "a", ""},
		{"nothing runs when one action does not fit", "- test_note: {text: a}\n- test_pod_note: {text: b}\n", node, 0, "", "test_pod_note needs a PodEvent, but got a NodeEvent"},
		{"params error stops where it is", "- test_note: {text: a}\n- test_note: {colour: red}\n", pod, 1, "a", `unknown parameter "colour"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := ParseSteps([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			r := &Run{Event: tc.event, Finding: NewFinding(tc.event, "t")}
			ran, err := RunChain(context.Background(), r, steps)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			var texts []string
			for _, e := range r.Finding.Enrichments {
				texts = append(texts, e.Blocks[0].Text)
			}
			if ran != tc.ran || strings.Join(texts, ",") != tc.texts {
				t.Fatalf("ran %d %q, want %d %q", ran, texts, tc.ran, tc.texts)
			}
		})
	}
}

func TestParseStepsErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"[]", "non-empty list"},
		{"a: b", "want a list of actions"},
		{"- nope_action: {}", `action 1: unknown action "nope_action"`},
		{"- test_note: 5", "params must be a map"},
		{"- {test_note: {}, test_pod_note: {}}", "want one action name"},
		{"- [", "not YAML"},
	} {
		if _, err := ParseSteps([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
