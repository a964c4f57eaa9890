package actions

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

func init() {
	engine.Register(&engine.Action{Name: "node_running_pods_enricher", Event: "NodeEvent",
		Doc: "Attach the pods running on the node", Do: relatedPods})
	engine.Register(&engine.Action{Name: "node_allocatable_resources_enricher", Event: "NodeEvent",
		Doc: "Attach the node's allocatable CPU, memory and pods against what its pods request", Do: nodeAllocatable})
	engine.Register(&engine.Action{Name: "job_pod_enricher", Event: "JobEvent",
		Doc:       "Attach the job's pods with their status, logs and events",
		NewParams: func() any { return &jobPodParams{} }, Do: jobPods})
}

// ownedPods lists the pods that belong to the event's object: the pods a workload or
// service selects, the pods on a node, or a pod and its siblings (same controller).
func ownedPods(ctx context.Context, r *engine.Run) ([]corev1.Pod, error) {
	cs, err := r.KF.Clientset()
	if err != nil {
		return nil, err
	}
	o := r.Event.Obj
	ns := o.GetNamespace()
	opts := metav1.ListOptions{}
	switch r.Event.Kind {
	case "Node":
		ns = ""
		opts.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", o.GetName()).String()
	case "Service":
		sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
		if len(sel) == 0 {
			return nil, nil // a service without selector has no pods of its own
		}
		opts.LabelSelector = labels.SelectorFromSet(sel).String()
	case "Pod":
		pod := r.Event.Pod()
		owner := metav1.GetControllerOf(pod)
		if owner == nil {
			return []corev1.Pod{*pod}, nil
		}
		list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, r.KF.Explain(err, "list", "pods", ns)
		}
		var out []corev1.Pod
		for _, p := range list.Items {
			if c := metav1.GetControllerOf(&p); c != nil && c.UID == owner.UID {
				out = append(out, p)
			}
		}
		return out, nil
	case "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job":
		raw, ok, _ := unstructured.NestedMap(o.Object, "spec", "selector")
		if !ok {
			return nil, fmt.Errorf("%s %s has no selector", r.Event.Kind, o.GetName())
		}
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ls); err != nil {
			return nil, fmt.Errorf("selector of %s %s: %w", r.Event.Kind, o.GetName(), err)
		}
		sel, err := metav1.LabelSelectorAsSelector(&ls)
		if err != nil {
			return nil, fmt.Errorf("selector of %s %s: %w", r.Event.Kind, o.GetName(), err)
		}
		opts.LabelSelector = sel.String()
	default:
		return nil, fmt.Errorf("cannot tell which pods belong to a %s (it works for workloads, jobs, services, nodes and pods)", r.Event.Kind)
	}
	list, err := cs.CoreV1().Pods(ns).List(ctx, opts)
	if err != nil {
		return nil, r.KF.Explain(err, "list", "pods", ns)
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return list.Items, nil
}

var podHeaders = []string{"namespace", "name", "ready", "status", "restarts", "node", "age"}

func podRow(p *corev1.Pod, now time.Time) []string {
	ready, total, restarts := 0, len(p.Spec.Containers), int32(0)
	for _, c := range p.Status.ContainerStatuses {
		if c.Ready {
			ready++
		}
		restarts += c.RestartCount
	}
	return []string{p.Namespace, p.Name, fmt.Sprintf("%d/%d", ready, total), podStatus(p), fmt.Sprint(restarts), p.Spec.NodeName, age(p.CreationTimestamp.Time, now)}
}

// podStatus is what kubectl get pods shows: a waiting or terminated container's
// reason over the phase.
func podStatus(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil && w.Reason != "" {
			return w.Reason
		}
		if t := c.State.Terminated; t != nil && t.Reason != "" && p.Status.Phase != corev1.PodSucceeded {
			return t.Reason
		}
	}
	if p.Status.Reason != "" {
		return p.Status.Reason
	}
	return string(p.Status.Phase)
}

func age(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func podsTable(pods []corev1.Pod) engine.Block {
	now := time.Now()
	rows := make([][]string, len(pods))
	for i := range pods {
		rows[i] = podRow(&pods[i], now)
	}
	return engine.Table("pods", podHeaders, rows)
}

func relatedPods(ctx context.Context, r *engine.Run, _ any) error {
	pods, err := ownedPods(ctx, r)
	if err != nil {
		return err
	}
	title := "Related pods"
	if r.Event.Kind == "Node" {
		title = "Pods running on the node"
	}
	if len(pods) == 0 {
		r.Finding.AddEnrichment(title, engine.Markdown("No pods."))
		return nil
	}
	r.Finding.AddEnrichment(title, podsTable(pods))
	return nil
}

func nodeAllocatable(ctx context.Context, r *engine.Run, _ any) error {
	var n corev1.Node
	if err := as(r.Event, &n); err != nil {
		return err
	}
	pods, err := ownedPods(ctx, r)
	if err != nil {
		return err
	}
	req, lim := corev1.ResourceList{}, corev1.ResourceList{}
	running := 0
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		running++
		for _, c := range p.Spec.Containers {
			addTo(req, c.Resources.Requests)
			addTo(lim, c.Resources.Limits)
		}
	}
	req[corev1.ResourcePods] = *resource.NewQuantity(int64(running), resource.DecimalSI)
	var rows [][]string
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
		alloc, ok := n.Status.Allocatable[name]
		if !ok {
			continue
		}
		rows = append(rows, []string{string(name), alloc.String(), share(req[name], alloc), share(lim[name], alloc)})
	}
	if len(rows) == 0 {
		r.Finding.AddEnrichment("Allocatable resources", engine.Markdown("The node reports no allocatable resources."))
		return nil
	}
	r.Finding.AddEnrichment("Allocatable resources", engine.Table("allocatable", []string{"resource", "allocatable", "requested", "limits"}, rows))
	return nil
}

func addTo(sum, add corev1.ResourceList) {
	for k, v := range add {
		q := sum[k]
		q.Add(v)
		sum[k] = q
	}
}

// share is "q (p%)" of what the node can give.
func share(q, of resource.Quantity) string {
	if q.IsZero() {
		return "0"
	}
	if of.IsZero() {
		return q.String()
	}
	return fmt.Sprintf("%s (%d%%)", q.String(), q.MilliValue()*100/of.MilliValue())
}

// jobPodParams is Robusta's JobPodEnricherParams (EventEnricherParams and
// LogEnricherParams, with events and logs switches).
type jobPodParams struct {
	MaxEvents     int64    `param:"max_events" default:"8" doc:"most recent events of the pod to show"`
	IncludedTypes []string `param:"included_types" default:"Warning,Normal" doc:"event types of the pod to show (Warning, Normal)"`
	logEnricherParams
	Events bool  `param:"events" default:"true" doc:"attach the pod's events"`
	Logs   bool  `param:"logs" default:"true" doc:"attach the pod's log"`
	Tail   int64 `param:"tail" doc:"last N log lines (default: all, capped at 1 MiB)"`
}

// jobPods is the runner's job_pod_enricher: the events and the log of the job's
// latest pod (by start time). As in the runner, the log is always the pod's first
// container's: container_name and warn_on_missing_label are taken but not used.
func jobPods(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*jobPodParams)
	proc, err := newLogProcessor(params.FilterRegex, params.RegexReplacerPatterns, params.RegexReplacementStyle)
	if err != nil {
		return &engine.ParamsError{Action: "job_pod_enricher", Err: err}
	}
	if params.Container != "" {
		r.Notes = append(r.Notes, "job_pod_enricher: container_name is not used (the runner reads the first container's log too)")
	}
	job := r.Event.Obj
	pod, err := jobLatestPod(ctx, r)
	if err != nil {
		return err
	}
	if pod == nil {
		noteSkip(r, "job_pod_enricher", fmt.Sprintf("job %s/%s has no pods", job.GetNamespace(), job.GetName()))
		return nil
	}
	if params.Events {
		b, ok, err := resourceEventsTable(ctx, r, "*Job pod events:*", "Pod", pod.Name, pod.Namespace, params.IncludedTypes, 0)
		if err != nil {
			return err
		}
		if ok {
			r.Finding.AddEnrichment("", pySliceRows(b, params.MaxEvents))
		} else {
			r.Notes = append(r.Notes, fmt.Sprintf("job_pod_enricher: no events of pod %s/%s, so no events table", pod.Namespace, pod.Name))
		}
	}
	if !params.Logs {
		return nil
	}
	container := ""
	if len(pod.Spec.Containers) > 0 {
		container = pod.Spec.Containers[0].Name
	}
	tail := params.Tail
	if tail <= 0 {
		tail = -1
	}
	out := &capWriter{max: MaxLogBytes}
	if err := r.KF.StreamLogs(ctx, pod.Namespace, pod.Name, kube.LogOptions{Container: container, Previous: params.Previous, Tail: tail}, proc.writer(out)); err != nil {
		// The runner reads a failed fetch as an empty log, and attaches nothing.
		r.Notes = append(r.Notes, fmt.Sprintf("job_pod_enricher: no log of pod %s/%s: %v", pod.Namespace, pod.Name, err))
		return nil
	}
	data := proc.finish(out.Bytes())
	if data == "" {
		r.Notes = append(r.Notes, fmt.Sprintf("job_pod_enricher: the log of pod %s/%s is empty (after filter_regex), so it is not attached", pod.Namespace, pod.Name))
		return nil
	}
	b := engine.File(pod.Name+".log", []byte(data))
	b.Truncated = int(out.DroppedBytes())
	r.Finding.AddEnrichment("", b)
	return nil
}

// pySliceRows keeps the rows of a table as Python's rows[:n] does (a negative n drops
// that many from the end), counting what it left out.
func pySliceRows(b engine.Block, n int64) engine.Block {
	total := int64(len(b.Rows))
	keep := n
	if keep < 0 {
		keep = max(total+keep, 0)
	}
	if keep < total {
		b.Rows = b.Rows[:keep]
		b.Truncated = int(total - keep)
	}
	return b
}

// jobLatestPod is the runner's get_job_latest_pod: the job's pods, found by its
// controller-uid label, else its selector, else its job-name label, the one started
// last. (The runner fails comparing a pod without a start time with others; here such
// a pod counts as the oldest.)
func jobLatestPod(ctx context.Context, r *engine.Run) (*corev1.Pod, error) {
	job := r.Event.Obj
	var sel string
	if uid := job.GetLabels()["controller-uid"]; uid != "" {
		sel = "controller-uid=" + uid
	} else if raw, ok, _ := unstructured.NestedMap(job.Object, "spec", "selector"); ok {
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ls); err != nil {
			return nil, fmt.Errorf("selector of job %s: %w", job.GetName(), err)
		}
		s, err := metav1.LabelSelectorAsSelector(&ls)
		if err != nil {
			return nil, fmt.Errorf("selector of job %s: %w", job.GetName(), err)
		}
		sel = s.String()
	}
	if sel == "" {
		name := job.GetLabels()["job-name"]
		if name == "" {
			return nil, nil
		}
		sel = "job-name=" + name
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1().Pods(job.GetNamespace()).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, r.KF.Explain(err, "list", "pods", job.GetNamespace())
	}
	if len(list.Items) == 0 {
		return nil, nil
	}
	start := func(p *corev1.Pod) time.Time {
		if p.Status.StartTime == nil {
			return time.Time{}
		}
		return p.Status.StartTime.Time
	}
	// Python's sort(reverse=True) is stable: of equal start times the first listed wins.
	sort.SliceStable(list.Items, func(i, j int) bool { return start(&list.Items[i]).After(start(&list.Items[j])) })
	return &list.Items[0], nil
}
