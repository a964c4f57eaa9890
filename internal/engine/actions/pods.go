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

// maxJobPods bounds how many pods job_pod_enricher attaches logs of.
const maxJobPods = 10

type jobPodParams struct {
	Tail          int64    `param:"tail" default:"100" doc:"last N log lines of each pod"`
	IncludedTypes []string `param:"included_types" default:"Warning,Normal" doc:"event types of the pods to show (Warning, Normal)"`
}

func jobPods(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*jobPodParams)
	pods, err := ownedPods(ctx, r)
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		r.Finding.AddEnrichment("Job pods", engine.Markdown("The job has no pods (they may have been cleaned up)."))
		return nil
	}
	r.Finding.AddEnrichment("Job pods", podsTable(pods))
	// Logs and events of the newest pods only: a job of many completions would
	// otherwise make a finding of hundreds of files.
	sort.SliceStable(pods, func(i, j int) bool { return pods[j].CreationTimestamp.Before(&pods[i].CreationTimestamp) })
	if len(pods) > maxJobPods {
		r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("Logs and events of the %d newest pods of %d.", maxJobPods, len(pods))))
		pods = pods[:maxJobPods]
	}
	types := params.IncludedTypes
	for _, pod := range pods {
		var blocks []engine.Block
		for _, c := range pod.Spec.Containers {
			out := &capWriter{max: MaxLogBytes}
			err := r.KF.StreamLogs(ctx, pod.Namespace, pod.Name, kube.LogOptions{Container: c.Name, Tail: params.Tail}, out)
			if err != nil {
				blocks = append(blocks, engine.Markdown(fmt.Sprintf("Logs of %s unavailable: %v", c.Name, err)))
				continue
			}
			blocks = append(blocks, engine.File(fmt.Sprintf("%s.%s.log", pod.Name, c.Name), out.Bytes()))
		}
		evs, err := listEvents(ctx, r, "Pod", pod.Namespace, pod.Name, types)
		if err != nil {
			return err
		}
		blocks = append(blocks, eventsBlock(evs, 0, "this pod"))
		r.Finding.AddEnrichment("Pod "+pod.Name, blocks...)
	}
	return nil
}
