package actions

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestPyHead(t *testing.T) {
	for _, tc := range []struct {
		k    int64
		n    int
		want int
	}{
		{1, 3, 1}, {0, 3, 0}, {5, 3, 3}, {3, 3, 3}, {-1, 3, 2}, {-5, 3, 0}, {2, 0, 0},
	} {
		if got := pyHead(tc.k, tc.n); got != tc.want {
			t.Errorf("pyHead(%d, %d) = %d, want %d (Python's [:%d] of %d items)", tc.k, tc.n, got, tc.want, tc.k, tc.n)
		}
	}
}

// ev is an event named name, last seen min minutes after a fixed time.
func ev(name string, min int) eventsv1.Event {
	return eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: name},
		DeprecatedLastTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC))}
}

func names(evs []eventsv1.Event) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Name)
	}
	return strings.Join(out, ",")
}

// resource_events_enricher's dependent pods: which pods are asked, in which order, and
// which events survive the cut to max_events (made before the newest-first sort).
func TestWithDependentEvents(t *testing.T) {
	pods := []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}, {ObjectMeta: metav1.ObjectMeta{Name: "c"}}}
	podEvs := map[string][]eventsv1.Event{
		"a": {ev("a1", 50), ev("a2", 51)},
		"b": {ev("b1", 40)},
		"c": {ev("c1", 59)},
	}
	own := []eventsv1.Event{ev("own1", 1), ev("own2", 30)}
	for _, tc := range []struct {
		name              string
		own               []eventsv1.Event
		maxPods, maxEvent int64
		wantAsked, want   string
	}{
		{"one pod by default", own, 1, 8, "a", "a2,a1,own2,own1"},
		{"pods in list order", own, 2, 8, "a,b", "a2,a1,b1,own2,own1"},
		{"max_pods over the pods", own, 10, 8, "a,b,c", "c1,a2,a1,b1,own2,own1"},
		{"zero pods", own, 0, 8, "", "own2,own1"},
		{"own events fill max_events: no pod asked", own, 3, 2, "", "own2,own1"},
		{"cut before the sort keeps older own events", own, 3, 3, "a", "a1,own2,own1"},
		{"stops asking once full", nil, 3, 2, "a", "a2,a1"},
		{"negative max_pods counts from the end", nil, -1, 8, "a,b", "a2,a1,b1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			got, err := withDependentEvents(append([]eventsv1.Event(nil), tc.own...), pods, tc.maxPods, tc.maxEvent, func(p *corev1.Pod) ([]eventsv1.Event, error) {
				asked = append(asked, p.Name)
				return podEvs[p.Name], nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(asked, ",") != tc.wantAsked || names(got) != tc.want {
				t.Errorf("asked %v, got %s; want asked %s, got %s", asked, names(got), tc.wantAsked, tc.want)
			}
		})
	}
	boom := errors.New("boom")
	if _, err := withDependentEvents(nil, pods, 1, 8, func(*corev1.Pod) ([]eventsv1.Event, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("error from a pod's events: %v", err)
	}
}

func TestSelectorOfAndJobSelector(t *testing.T) {
	obj := func(labels map[string]any, selector any) *unstructured.Unstructured {
		o := map[string]any{"kind": "X", "metadata": map[string]any{"name": "x", "namespace": "n", "labels": labels}, "spec": map[string]any{}}
		if selector != nil {
			o["spec"].(map[string]any)["selector"] = selector
		}
		return &unstructured.Unstructured{Object: o}
	}
	for _, tc := range []struct {
		name    string
		obj     *unstructured.Unstructured
		job     bool
		want    string
		wantErr string
	}{
		{"label selector", obj(nil, map[string]any{"matchLabels": map[string]any{"app": "web", "tier": "fe"}}), false, "app=web,tier=fe", ""},
		{"match expressions", obj(nil, map[string]any{"matchExpressions": []any{map[string]any{"key": "app", "operator": "In", "values": []any{"a", "b"}}}}), false, "app in (a,b)", ""},
		{"plain map (DeploymentConfig)", obj(nil, map[string]any{"app": "web"}), false, "app=web", ""},
		{"no selector", obj(nil, nil), false, "", "has no spec.selector"},
		{"job: controller-uid label first", obj(map[string]any{"controller-uid": "u1", "job-name": "j"}, map[string]any{"matchLabels": map[string]any{"x": "y"}}), true, "controller-uid=u1", ""},
		{"job: then the selector", obj(map[string]any{"job-name": "j"}, map[string]any{"matchLabels": map[string]any{"x": "y"}}), true, "x=y", ""},
		{"job: then job-name", obj(map[string]any{"job-name": "j"}, nil), true, "job-name=j", ""},
		{"job: none", obj(nil, nil), true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := selectorOf
			if tc.job {
				f = jobSelector
			}
			got, err := f(tc.obj)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestTypeKept(t *testing.T) {
	e := &eventsv1.Event{Type: "Warning"}
	for _, tc := range []struct {
		types []string
		want  bool
	}{{nil, true}, {[]string{"warning"}, true}, {[]string{"Normal"}, false}, {[]string{}, false}} {
		if got := typeKept(e, tc.types); got != tc.want {
			t.Errorf("typeKept(Warning, %v) = %v", tc.types, got)
		}
	}
}
