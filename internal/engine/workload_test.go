package engine

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(kind, ns, name string, owned bool) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	if owned {
		u.SetOwnerReferences([]metav1.OwnerReference{{Kind: "Deployment", Name: "x"}})
	}
	return u
}

// The runner's guess: the longest name of a top-level workload seen created or
// updated in the subject's namespace that begins the subject's name.
func TestWorkloadsGuess(t *testing.T) {
	var w Workloads
	for _, e := range []*Event{
		{Operation: "create", Obj: obj("Deployment", "prod", "api", false)},
		{Operation: "update", Obj: obj("Deployment", "prod", "api-gateway", false)},
		{Operation: "create", Obj: obj("StatefulSet", "prod", "db", false)},
		{Operation: "create", Obj: obj("Job", "prod", "db", false)},             // same name: the first seen wins
		{Operation: "create", Obj: obj("ReplicaSet", "prod", "api-7d9f", true)}, // owned: not top-level
		{Operation: "delete", Obj: obj("DaemonSet", "prod", "agent", false)},    // deletes are not recorded
		{Operation: "create", Obj: obj("Service", "prod", "web", false)},        // not a workload kind
		{Operation: "create", Obj: obj("Deployment", "staging", "worker", false)},
		{Operation: "create", Obj: obj("Deployment", "prod", "api", false)}, // repeat
	} {
		w.Observe(e)
	}
	for _, c := range []struct{ name, ns, want string }{
		{"api-7d9f-xk2p", "prod", "Deployment/api"},
		{"api-gateway-5c-q", "prod", "Deployment/api-gateway"},
		{"db-0", "prod", "StatefulSet/db"},
		{"api-7d9f-xk2p", "staging", ""},
		{"worker-1", "prod", ""},
		{"agent-x", "prod", ""},
		{"web-1", "prod", ""},
		{"node-1", "", ""},
	} {
		got := ""
		if wl := w.Guess(c.name, c.ns); wl != nil {
			got = wl.Kind + "/" + wl.Name
			if wl.Namespace != c.ns {
				t.Errorf("%s: namespace %q", c.name, wl.Namespace)
			}
		}
		if got != c.want {
			t.Errorf("Guess(%s, %s) = %q, want %q", c.name, c.ns, got, c.want)
		}
	}
	var none *Workloads
	if none.Guess("a", "b") != nil {
		t.Error("nil Workloads guessed")
	}
}
