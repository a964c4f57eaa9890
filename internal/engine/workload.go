package engine

import (
	"strings"
	"sync"
)

// Workload is a top-level workload: what the runner calls a finding's service.
type Workload struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
}

// topLevelKinds are the kinds the runner's internal discovery playbook records when
// an object of them without owner references is created or updated.
var topLevelKinds = map[string]bool{"Deployment": true, "ReplicaSet": true, "DaemonSet": true,
	"StatefulSet": true, "Pod": true, "Job": true}

// Workloads is the runner's TopServiceResolver as it works without the Robusta UI:
// the top-level workloads seen in the events, and a finding's workload guessed from
// them by name. It costs no API calls: it learns only from events already watched.
type Workloads struct {
	mu   sync.RWMutex
	byNS map[string][]Workload // in the order first seen
	seen map[Workload]bool
}

// Observe records the event's object when it is a top-level workload being created
// or updated, as the runner's cluster_discovery_updates does.
func (w *Workloads) Observe(e *Event) {
	if e == nil || e.Obj == nil || (e.Operation != "create" && e.Operation != "update") {
		return
	}
	kind := e.Obj.GetKind()
	if kind == "" {
		kind = e.Kind
	}
	if !topLevelKinds[kind] || len(e.Obj.GetOwnerReferences()) > 0 {
		return
	}
	wl := Workload{Name: e.Obj.GetName(), Namespace: e.Obj.GetNamespace(), Kind: kind}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen[wl] {
		return
	}
	if w.seen == nil {
		w.seen, w.byNS = map[Workload]bool{}, map[string][]Workload{}
	}
	w.seen[wl] = true
	w.byNS[wl.Namespace] = append(w.byNS[wl.Namespace], wl)
}

// Guess is the runner's guess_cached_resource: of the workloads in the namespace, the
// one with the longest name that begins the subject's name (a pod "api-7d9f-x" is
// the Deployment "api"); on a tie the one seen first. Nil for none, or for a subject
// without a namespace.
func (w *Workloads) Guess(name, namespace string) *Workload {
	if w == nil || name == "" || namespace == "" {
		return nil
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	var best *Workload
	for i, wl := range w.byNS[namespace] {
		if strings.HasPrefix(name, wl.Name) && (best == nil || len(wl.Name) > len(best.Name)) {
			best = &w.byNS[namespace][i]
		}
	}
	if best == nil {
		return nil
	}
	c := *best
	return &c
}
