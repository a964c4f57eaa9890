package actions

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/graph"
)

func init() {
	engine.Register(&engine.Action{Name: "pod_oom_killer_enricher", Event: "PodEvent",
		Doc:       "Report an OOMKilled pod: its node's allocatable memory and the killed container's memory request, limit and run times; optionally its logs and memory graphs",
		NewParams: func() any { return &oomKillParams{} }, Do: podOOMKiller})
}

// oomKillParams is Robusta's OomKillParams: the resource-graph params, a delay before
// graphs, the helper-pod annotations and the four optional parts.
type oomKillParams struct {
	CustomAnnotations map[string]string `param:"custom_annotations" doc:"annotations of the runner's dmesg helper pod (dmesg_log)"`
	promConn
	ResourceType         string `param:"resource_type" default:"Memory" enum:"CPU|Memory|Disk" doc:"what the container and node graphs show"`
	GraphDurationMinutes int    `param:"graph_duration_minutes" default:"60" doc:"minutes of history in the graphs"`
	DelayGraphS          int    `param:"delay_graph_s" doc:"seconds to wait before drawing the container graph"`
	AttachLogs           bool   `param:"attach_logs" doc:"attach the killed container's logs"`
	ContainerMemoryGraph bool   `param:"container_memory_graph" doc:"graph the killed container (needs Prometheus)"`
	NodeMemoryGraph      bool   `param:"node_memory_graph" doc:"graph the node (needs Prometheus)"`
	DmesgLog             bool   `param:"dmesg_log" doc:"attach the node's dmesg (the runner runs a privileged pod on the node)"`
}

func podOOMKiller(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*oomKillParams)
	pod := r.Event.Pod()
	f := r.Finding
	f.Title = fmt.Sprintf("Pod %s in namespace %s OOMKilled results", pod.Name, pod.Namespace)
	f.AggregationKey, f.Source, f.Severity = "PodOOMKilled", "kubernetes_api_server", engine.High
	f.Subject = engine.Subject{Kind: "pod", Name: pod.Name, Namespace: pod.Namespace, Node: pod.Spec.NodeName, Labels: pod.Labels}
	f.SetFingerprint()

	node, err := podNode(ctx, r, pod)
	if err != nil {
		return err
	}
	if node != nil {
		blocks := []engine.Block{engine.Table("*Node Info*", []string{"field", "value"}, [][]string{
			{"Node Name", pod.Spec.NodeName},
			{"Node allocated memory", nodeAllocatedMemory(node)},
		})}
		if params.NodeMemoryGraph {
			chart, err := resourceGraph(ctx, r, &params.promConn, params.ResourceType, "Node", nodeLabels(node), time.Time{}, params.GraphDurationMinutes, nil)
			if err != nil {
				return named("pod_oom_killer_enricher", err)
			}
			blocks = append(blocks, engine.Graph(chart))
		}
		f.AddEnrichment("Node Info", blocks...)
	} else {
		// The runner logs this and goes on without the node's part.
		r.Notes = append(r.Notes, fmt.Sprintf("pod_oom_killer_enricher: node %q of pod %s/%s not found: no node info", pod.Spec.NodeName, pod.Namespace, pod.Name))
	}

	oom := mostRecentOOMKill(pod)
	containerName := ""
	if oom == nil {
		r.Notes = append(r.Notes, fmt.Sprintf("pod_oom_killer_enricher: no container of pod %s/%s was OOMKilled (state or last state): no container info", pod.Namespace, pod.Name))
	} else {
		rows := [][]string{{"Pod", pod.Name}, {"Namespace", pod.Namespace}}
		if oom.spec != nil {
			containerName = oom.spec.Name
			req, lim := robustaMemMiB(oom.spec.Resources.Requests), robustaMemMiB(oom.spec.Resources.Limits)
			memLimit, memRequest := "No limit", "No request"
			if lim != 0 {
				memLimit = fmt.Sprintf("%dMB limit", lim)
			}
			if req != 0 {
				memRequest = fmt.Sprintf("%dMB request", req)
			}
			rows = append(rows, []string{"Container memory", memRequest + ", " + memLimit}, []string{"Container name", containerName})
		}
		if t := oom.state.StartedAt; !t.IsZero() {
			rows = append(rows, []string{"Container started at", t.UTC().Format(time.RFC3339)})
		}
		if t := oom.state.FinishedAt; !t.IsZero() {
			rows = append(rows, []string{"Container finished at", t.UTC().Format(time.RFC3339)})
		}
		blocks := []engine.Block{engine.Table("*Container Info*", []string{"field", "value"}, rows)}
		if params.ContainerMemoryGraph && oom.spec != nil {
			chart, err := oomContainerGraph(ctx, r, params, pod, oom)
			if err != nil {
				return named("pod_oom_killer_enricher", err)
			}
			blocks = append(blocks, engine.Graph(chart))
		}
		f.AddEnrichment("Container Info", blocks...)
	}

	if params.AttachLogs && containerName != "" {
		if err := logsEnricher(ctx, r, &logsParams{logEnricherParams: logEnricherParams{Container: containerName}}); err != nil {
			return err
		}
	}
	if params.DmesgLog && node != nil {
		// The runner reads dmesg through a privileged pod on the node (a class B helper),
		// which the local engine does not run.
		r.Notes = append(r.Notes, fmt.Sprintf("pod_oom_killer_enricher: dmesg_log needs a privileged helper pod on node %s, which the local engine does not start: no dmesg attached", node.Name))
	}
	return nil
}

// podNode is the pod's node, nil when the pod has none or it is gone (the runner goes
// on without it).
func podNode(ctx context.Context, r *engine.Run, pod *corev1.Pod) (*corev1.Node, error) {
	if pod.Spec.NodeName == "" {
		return nil, nil
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return nil, err
	}
	n, err := cs.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, r.KF.Explain(err, "get", "nodes", "")
	}
	return n, nil
}

// nodeAllocatedMemory is the share of the node's memory capacity that is not
// allocatable, and the allocatable memory in MiB, as the runner writes them.
func nodeAllocatedMemory(node *corev1.Node) string {
	capacity := robustaMemMiB(node.Status.Capacity)
	allocatable := robustaMemMiB(node.Status.Allocatable)
	if capacity == 0 {
		// The runner divides by zero here and fails; say what is missing instead.
		return fmt.Sprintf("unknown (the node reports no memory capacity) out of %dMB allocatable", allocatable)
	}
	return fmt.Sprintf("%.2f%% out of %dMB allocatable", float64(capacity-allocatable)*100/float64(capacity), allocatable)
}

// oomKill is the runner's PodContainer: the OOMKilled state of a container and its
// spec (nil for an init container, which the runner looks for among the containers only).
type oomKill struct {
	name  string
	state *corev1.ContainerStateTerminated
	spec  *corev1.Container
}

// mostRecentOOMKill is the runner's pod_most_recent_oom_killed_container: of the
// containers and init containers whose current or else last state is an OOM kill,
// the one that finished last.
func mostRecentOOMKill(pod *corev1.Pod) *oomKill {
	var best *oomKill
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.ContainerStatuses...), pod.Status.InitContainerStatuses...)
	for _, s := range statuses {
		var t *corev1.ContainerStateTerminated
		switch {
		case isOOMKilled(s.State.Terminated):
			t = s.State.Terminated
		case isOOMKilled(s.LastTerminationState.Terminated):
			t = s.LastTerminationState.Terminated
		default:
			continue
		}
		if best == nil || t.FinishedAt.After(best.state.FinishedAt.Time) {
			best = &oomKill{name: s.Name, state: t}
		}
	}
	if best != nil {
		for i := range pod.Spec.Containers {
			if pod.Spec.Containers[i].Name == best.name {
				best.spec = &pod.Spec.Containers[i]
			}
		}
	}
	return best
}

func isOOMKilled(t *corev1.ContainerStateTerminated) bool {
	return t != nil && t.Reason == "OOMKilled"
}

// oomContainerGraph is the runner's container graph of an OOM kill: the resource of
// the killed container, its memory limit and request, and the moment of the kill.
func oomContainerGraph(ctx context.Context, r *engine.Run, params *oomKillParams, pod *corev1.Pod, oom *oomKill) (*graph.Chart, error) {
	if params.DelayGraphS > 0 {
		select {
		case <-time.After(time.Duration(params.DelayGraphS) * time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var lines []graph.Line
	switch params.ResourceType {
	case "Memory":
		if lim := robustaMemMiB(oom.spec.Resources.Limits); lim > 0 {
			lines = append(lines, graph.Line{Label: "Limit", Value: float64(lim) * 1024 * 1024})
		}
		if req := robustaMemMiB(oom.spec.Resources.Requests); req > 0 {
			lines = append(lines, graph.Line{Label: "Request", Value: float64(req) * 1024 * 1024})
		}
	case "CPU":
		// In cores, the chart's unit, as pod_graph_enricher draws them.
		if q, ok := oom.spec.Resources.Limits[corev1.ResourceCPU]; ok && q.Sign() > 0 {
			lines = append(lines, graph.Line{Label: "Limit", Value: q.AsApproximateFloat64()})
		}
		if q, ok := oom.spec.Resources.Requests[corev1.ResourceCPU]; ok && q.Sign() > 0 {
			lines = append(lines, graph.Line{Label: "Request", Value: q.AsApproximateFloat64()})
		}
	}
	if !oom.state.FinishedAt.IsZero() {
		lines = append(lines, graph.Line{Label: "OOM Kill Time", Value: float64(oom.state.FinishedAt.Unix()), Vertical: true})
	}
	labels := map[string]string{"pod": pod.Name, "container": oom.spec.Name, "namespace": pod.Namespace}
	chart, err := resourceGraph(ctx, r, &params.promConn, params.ResourceType, "Container", labels, time.Time{}, params.GraphDurationMinutes, lines)
	if err != nil {
		return nil, err
	}
	chart.Title = fmt.Sprintf("%s Usage for container %s", params.ResourceType, oom.spec.Name)
	return chart, nil
}

// memFactors are the runner's memory suffixes (k8s_memory_factors): note that a
// lower-case k is 1024 there.
var memFactors = map[string]float64{
	"m": 1e-3, "u": 1e-6, "n": 1e-9,
	"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
	"k": 1024, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60,
}

// robustaMemMiB is the runner's PodResources.parse_mem of a resource list's memory
// ("0Mi" when absent): whole MiB, 0 for what it cannot parse.
func robustaMemMiB(list corev1.ResourceList) int64 {
	q, ok := list[corev1.ResourceMemory]
	if !ok {
		return 0
	}
	return parseMemMiB(q.String())
}

// parseMemMiB parses the text of a memory quantity as the runner does: an integer
// and a one- or two-letter suffix, a plain integer, or a float; bytes truncated to MiB.
func parseMemMiB(s string) int64 {
	if s == "" {
		return 0
	}
	bytes, ok := 0.0, false
	for _, n := range []int{2, 1} {
		if len(s) > n {
			if f, known := memFactors[s[len(s)-n:]]; known {
				v, err := strconv.ParseInt(strings.TrimSpace(s[:len(s)-n]), 10, 64)
				if err != nil {
					return 0 // the runner logs the error and counts 0
				}
				bytes, ok = float64(v)*f, true
				break
			}
		}
	}
	if !ok {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0
		}
		bytes = math.Trunc(v)
	}
	return int64(bytes / (1024 * 1024))
}
