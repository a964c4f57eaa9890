package triggers

import (
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// jobNewlyFailed is on_job_failure: the Job has a Failed condition now and had none
// before (a Job updated after it failed does not fire again).
func jobNewlyFailed(in *Incoming) bool {
	e := in.Event
	return e.Operation == "update" && jobFailed(e.Obj) && !jobFailed(e.Old)
}

func jobFailed(obj *unstructured.Unstructured) bool {
	if obj == nil {
		return false
	}
	conds := noCopySlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Failed" {
			return true
		}
	}
	return false
}

// containerStatuses are the pod's container and init container statuses, as the
// runner reads them.
func containerStatuses(obj *unstructured.Unstructured) []map[string]any {
	var out []map[string]any
	for _, field := range []string{"containerStatuses", "initContainerStatuses"} {
		list := noCopySlice(obj.Object, "status", field)
		for _, s := range list {
			if m, ok := s.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

func waitingReason(status map[string]any) (string, bool) {
	w := noCopyMap(status, "state", "waiting")
	if w == nil {
		return "", false
	}
	r, _ := w["reason"].(string)
	return r, true
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}

// crashLooping is on_pod_crash_loop: an update of a pod with a waiting container that
// restarted at least count times, for reason when one is given (a substring of the
// waiting reason, as the runner's `in`).
func crashLooping(in *Incoming, count int, reason string) bool {
	e := in.Event
	if e.Kind != "Pod" || e.Operation != "update" {
		return false
	}
	for _, s := range containerStatuses(e.Obj) {
		r, waiting := waitingReason(s)
		if waiting && toInt(s["restartCount"]) >= int64(count) && (reason == "" || strings.Contains(r, reason)) {
			return true
		}
	}
	return false
}

// imagePullBackOff is on_image_pull_backoff: a container waits with ImagePullBackOff in
// a pod that started at least delay ago (the runner's fire_delay, against false alarms
// at start-up; a pod without startTime counts as just started).
func imagePullBackOff(in *Incoming, delay time.Duration, now time.Time) bool {
	e := in.Event
	if e.Kind != "Pod" || e.Operation != "update" {
		return false
	}
	var running time.Duration
	if s, ok, _ := unstructured.NestedString(e.Obj.Object, "status", "startTime"); ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			running = now.Sub(t)
		}
	}
	if delay > running {
		return false
	}
	for _, s := range containerStatuses(e.Obj) {
		if r, waiting := waitingReason(s); waiting && r == "ImagePullBackOff" {
			return true
		}
	}
	return false
}

// ownerKey is the runner's rate-limit key for pod triggers: namespace and the pod's
// first owner's name (so one crash-looping Deployment fires once, not per pod).
func ownerKey(in *Incoming) string {
	obj := in.Event.Obj
	name := obj.GetName()
	if owners := obj.GetOwnerReferences(); len(owners) > 0 {
		name = owners[0].Name
	}
	return obj.GetNamespace() + ":" + name
}

// oomExclude is one entry of the OOM triggers' exclude list: a namespace (exact) and a
// name (prefix), either alone or both.
type oomExclude struct{ name, namespace string }

// excluded is the runner's is_name_namespace_excluded.
func excluded(list []oomExclude, name, namespace string) bool {
	for _, x := range list {
		nsHit := x.namespace != "" && namespace == x.namespace
		nameHit := x.name != "" && strings.HasPrefix(name, x.name)
		if (nsHit && nameHit) || (nsHit && x.name == "") || (x.namespace == "" && nameHit) {
			return true
		}
	}
	return false
}

// oomKilled is on_pod_oom_killed (perContainer false: the pod's name is matched
// against exclude) and on_container_oom_killed (each container's name is): some
// relevant container's current state is terminated with reason OOMKilled.
func oomKilled(in *Incoming, exclude []oomExclude, perContainer bool) bool {
	e := in.Event
	if e.Kind != "Pod" || e.Operation != "update" {
		return false
	}
	ns := e.Obj.GetNamespace()
	if !perContainer && excluded(exclude, e.Obj.GetName(), ns) {
		return false
	}
	for _, s := range containerStatuses(e.Obj) {
		if perContainer {
			if name, _ := s["name"].(string); excluded(exclude, name, ns) {
				continue
			}
		}
		if reason, _, _ := unstructured.NestedString(s, "state", "terminated", "reason"); reason == "OOMKilled" {
			return true
		}
	}
	return false
}

// evicted is on_pod_evicted: the pod's status reason is Evicted.
func evicted(in *Incoming) bool {
	e := in.Event
	if e.Kind != "Pod" || e.Operation != "update" {
		return false
	}
	reason, _, _ := unstructured.NestedString(e.Obj.Object, "status", "reason")
	return reason == "Evicted"
}

// podKey is the rate-limit key of on_pod_evicted: the pod itself, not its owner.
func podKey(in *Incoming) string {
	return in.Event.Obj.GetNamespace() + ":" + in.Event.Obj.GetName()
}

// warningEvent is on_kubernetes_warning_event_*: a Warning event about some object,
// with an operation in operations (any when empty), whose reason and note (lower
// case, joined) contain no exclude string and, when include is given, some include
// string.
func warningEvent(in *Incoming, operations, include, exclude []string) bool {
	e := in.Event
	if e.Kind != "Event" {
		return false
	}
	if t, _, _ := unstructured.NestedString(e.Obj.Object, "type"); t != "Warning" {
		return false
	}
	if noCopyMap(e.Obj.Object, "regarding") == nil {
		return false
	}
	if len(operations) > 0 && !contains(operations, e.Operation) {
		return false
	}
	reason, _, _ := unstructured.NestedString(e.Obj.Object, "reason")
	note, _, _ := unstructured.NestedString(e.Obj.Object, "note")
	content := strings.ToLower(reason + note)
	for _, x := range exclude {
		if strings.Contains(content, strings.ToLower(x)) {
			return false
		}
	}
	if len(include) == 0 {
		return true
	}
	for _, x := range include {
		if strings.Contains(content, strings.ToLower(x)) {
			return true
		}
	}
	return false
}

// warningKey is the rate-limit key of the warning-event triggers: per reason, for the
// regarded object (the runner first guesses a service key from its discovery cache,
// which a laptop does not have).
func warningKey(in *Incoming) string {
	o := in.Event.Obj.Object
	reason, _, _ := unstructured.NestedString(o, "reason")
	ns, _, _ := unstructured.NestedString(o, "regarding", "namespace")
	name, _, _ := unstructured.NestedString(o, "regarding", "name")
	return reason + "/" + ns + ":" + name
}
