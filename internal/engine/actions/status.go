package actions

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "status_enricher", Event: "KubernetesResourceEvent",
		Doc:       "Attach the object's status conditions as a table (type and status, with show_details their messages)",
		NewParams: func() any { return &statusParams{} }, Do: statusEnricher})
	engine.Register(&engine.Action{Name: "daemonset_status_enricher", Event: "DaemonSetEvent",
		Doc: "Attach the DaemonSet's desired, scheduled, available and misscheduled pod counts", Do: daemonSetStatus})
	engine.Register(&engine.Action{Name: "deployment_status_enricher", Event: "DeploymentEvent",
		Doc: "Attach the reason and message of each of the Deployment's status conditions", Do: deploymentStatus})
	engine.Register(&engine.Action{Name: "node_pods_capacity_enricher", Event: "NodeEvent",
		Doc: "Say how many pods run on the node against its pod capacity, and how many lack CPU or memory requests", Do: nodePodsCapacity})
	engine.Register(&engine.Action{Name: "pod_evicted_enricher", Event: "PodEvent",
		Doc: "Report an evicted pod with its node's conditions, allocatable resources and the pods on it", Do: podEvicted})
}

type statusParams struct {
	ShowDetails bool `param:"show_details" default:"false" doc:"add each condition's message as a third column"`
}

// statusEnricher reads status.conditions generically, as the runner does for any
// resource: an object without conditions adds nothing.
func statusEnricher(_ context.Context, r *engine.Run, p any) error {
	params := p.(*statusParams)
	conds, _, _ := unstructured.NestedSlice(r.Event.Obj.Object, "status", "conditions")
	if len(conds) == 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("status_enricher: %s %s has no status conditions, so it added nothing", r.Event.Kind, r.Event.Obj.GetName()))
		return nil
	}
	headers := []string{"Type", "Status"}
	if params.ShowDetails {
		headers = append(headers, "Message")
	}
	rows := make([][]string, 0, len(conds))
	for _, c := range conds {
		m, _ := c.(map[string]any)
		row := []string{str(m["type"]), str(m["status"])}
		if params.ShowDetails {
			row = append(row, str(m["message"]))
		}
		rows = append(rows, row)
	}
	r.Finding.AddEnrichment("", engine.Table(r.Event.Kind+" status details", headers, rows))
	return nil
}

// str renders a scalar of an unstructured object; absent is empty.
func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// daemonSetFields are the status counters the runner shows, in its order.
var daemonSetFields = []string{"desiredNumberScheduled", "currentNumberScheduled", "numberAvailable", "numberMisscheduled"}

func daemonSetStatus(_ context.Context, r *engine.Run, _ any) error {
	o := r.Event.Obj
	var rows [][]string
	for _, f := range daemonSetFields {
		// The API server omits zero counters, which are zero, not unknown.
		v, _, _ := unstructured.NestedFieldNoCopy(o.Object, "status", f)
		if v == nil {
			v = int64(0)
		}
		rows = append(rows, []string{"status." + f, fmt.Sprint(v)})
	}
	r.Finding.AddEnrichment("",
		engine.Markdown(fmt.Sprintf("*Daemonset Stats for %s*", o.GetName())),
		engine.KubernetesFields(rows),
		engine.Markdown("_A DaemonSet's pods are first desired (one per eligible node), then scheduled onto their nodes, then available once ready. "+
			"A pod counts as misscheduled when it runs on a node that should no longer run one._"))
	return nil
}

func deploymentStatus(_ context.Context, r *engine.Run, _ any) error {
	conds, _, _ := unstructured.NestedSlice(r.Event.Obj.Object, "status", "conditions")
	blocks := []engine.Block{engine.Markdown("*Deployment status details:*")}
	for _, c := range conds {
		m, _ := c.(map[string]any)
		blocks = append(blocks, engine.Markdown(fmt.Sprintf("*%s -* %s", str(m["reason"]), str(m["message"]))))
	}
	r.Finding.AddEnrichment("", blocks...)
	return nil
}

// podsOnNode lists the pods of every namespace bound to the node.
func podsOnNode(ctx context.Context, r *engine.Run, node string) ([]corev1.Pod, error) {
	cs, err := r.KF.Clientset()
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
	if err != nil {
		return nil, r.KF.Explain(err, "list", "pods", "")
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return list.Items, nil
}

// requests reports whether any container of the pod requests the resource.
func requests(p *corev1.Pod, name corev1.ResourceName) bool {
	for _, c := range p.Spec.Containers {
		if _, ok := c.Resources.Requests[name]; ok {
			return true
		}
	}
	return false
}

func nodePodsCapacity(ctx context.Context, r *engine.Run, _ any) error {
	var n corev1.Node
	if err := as(r.Event, &n); err != nil {
		return err
	}
	pods, err := podsOnNode(ctx, r, n.Name)
	if err != nil {
		return err
	}
	// Only running pods count against the capacity, as in the runner.
	running, noCPU, noMem := 0, 0, 0
	for i := range pods {
		if pods[i].Status.Phase != corev1.PodRunning {
			continue
		}
		running++
		if !requests(&pods[i], corev1.ResourceCPU) {
			noCPU++
		}
		if !requests(&pods[i], corev1.ResourceMemory) {
			noMem++
		}
	}
	capacity := ""
	if q, ok := n.Status.Capacity[corev1.ResourcePods]; ok {
		capacity = fmt.Sprintf(" and the maximum capacity for pods on this node is %s", q.String())
	}
	missing := ""
	if noCPU > 0 {
		missing += fmt.Sprintf("%d pods don't have cpu request. ", noCPU)
	}
	if noMem > 0 {
		missing += fmt.Sprintf("%d pods don't have memory request. ", noMem)
	}
	r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("*On the node %s, there are currently %d pods running%s.*\n%s", n.Name, running, capacity, missing)))
	return nil
}

// podEvicted is pod_evicted_enricher. The runner makes a second finding for the
// eviction and adds the node's pods to the event's own; locally a run has one finding,
// so the eviction's title, key and severity become the run's and both parts go in it.
func podEvicted(ctx context.Context, r *engine.Run, _ any) error {
	pod := r.Event.Pod()
	if pod.Spec.NodeName == "" {
		r.Notes = append(r.Notes, fmt.Sprintf("pod_evicted_enricher: pod %s/%s was never bound to a node, so there is no node to report", pod.Namespace, pod.Name))
		return nil
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	node, err := cs.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		return r.KF.Explain(err, "get", "nodes", "")
	}
	f := r.Finding
	f.Title = fmt.Sprintf("Pod %s in namespace %s was Evicted", pod.Name, pod.Namespace)
	f.AggregationKey = "PodEvictedTriggered"
	f.Severity = engine.High
	var status, alloc [][]string
	for _, c := range node.Status.Conditions {
		status = append(status, []string{string(c.Type), string(c.Status)})
	}
	names := make([]string, 0, len(node.Status.Allocatable))
	for k := range node.Status.Allocatable {
		names = append(names, string(k))
	}
	sort.Strings(names)
	for _, k := range names {
		q := node.Status.Allocatable[corev1.ResourceName(k)]
		alloc = append(alloc, []string{k, q.String()})
	}
	f.AddEnrichment("Node Info",
		engine.Table("Node general info", []string{"Field", "Value"}, [][]string{{"Node Name", pod.Spec.NodeName}}),
		engine.Table("Node status details", []string{"Type", "Status"}, status),
		engine.Table("Node Allocatable Resources", []string{"resource", "value"}, alloc))
	pods, err := podsOnNode(ctx, r, node.Name)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(pods))
	for i := range pods {
		rows = append(rows, []string{pods[i].Namespace, pods[i].Name, fmt.Sprint(podReady(&pods[i]))})
	}
	f.AddEnrichment("", engine.Table("Pods running on the node", []string{"namespace", "name", "ready"}, rows))
	return nil
}

// podReady is the pod's Ready condition.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
