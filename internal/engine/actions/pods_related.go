package actions

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/pyfmt"
)

func init() {
	engine.Register(&engine.Action{Name: "related_pods", Event: "KubernetesResourceEvent",
		Doc:       "Attach the pods of a workload, job or node (or the pod itself) as a table or as JSON",
		NewParams: func() any { return &relatedPodParams{} }, Do: relatedPodsAction})
}

// relatedPodParams is the runner's RelatedPodParams.
type relatedPodParams struct {
	OutputFormat   string `param:"output_format" default:"table" enum:"table|json" doc:"table, or json (the runner's RelatedPod objects)"`
	IncludeRawData bool   `param:"include_raw_data" doc:"with json, add each pod as the Kubernetes Python client's to_dict() gives it (raw_data)"`
	Limit          int64  `param:"limit" doc:"ask the API for at most this many pods (one page; default: all)"`
}

// relatedPodKinds are the kinds the runner's related_pods accepts (the same list as
// resource_events_enricher's, without the runner's CUSTOM_CRD additions).
var relatedPodKinds = eventsKinds

var relatedPodHeaders = []string{"name", "namespace", "cluster", "node", "cpu limit", "cpu request", "memory limit", "memory request",
	"creation_time", "restarts", "addresses", "containers", "status", "status reason"}

// relatedPodList is the runner's get_related_pods: the pod itself, a node's pods in
// every namespace, a job's by its job selector, a workload's by its spec.selector;
// limit is passed to the API, which returns one page of at most that many.
func relatedPodList(ctx context.Context, r *engine.Run, limit int64) ([]corev1.Pod, error) {
	kind, obj := r.Event.Kind, r.Event.Obj
	if !contains(relatedPodKinds, kind) {
		return nil, fmt.Errorf("related_pods supports %s, not %s (as in the runner)", strings.Join(relatedPodKinds, ", "), kind)
	}
	if kind == "Pod" {
		return []corev1.Pod{*r.Event.Pod()}, nil
	}
	ns, opts := obj.GetNamespace(), metav1.ListOptions{Limit: limit}
	switch kind {
	case "Node":
		ns = ""
		opts.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", obj.GetName()).String()
	case "Job":
		sel, err := jobSelector(obj)
		if err != nil {
			return nil, err
		}
		if sel == "" {
			return nil, nil
		}
		opts.LabelSelector = sel
	default:
		sel, err := selectorOf(obj)
		if err != nil {
			return nil, err
		}
		opts.LabelSelector = sel
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1().Pods(ns).List(ctx, opts)
	if err != nil {
		return nil, r.KF.Explain(err, "list", "pods", ns)
	}
	return list.Items, nil
}

func relatedPodsAction(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*relatedPodParams)
	pods, err := relatedPodList(ctx, r, params.Limit)
	if err != nil {
		return err
	}
	// The runner's cluster is its configured cluster_name; locally the kubeconfig
	// context names the cluster.
	cluster := r.KF.ContextName()
	if params.OutputFormat == "json" {
		r.Finding.AddEnrichment("", engine.JSON(relatedPodsJSON(pods, cluster, params.IncludeRawData)))
		return nil
	}
	r.Finding.AddEnrichment("", engine.Table("related pods", relatedPodHeaders, relatedPodRows(pods, cluster)))
	return nil
}

// relatedPodResources is the runner's pod requests or limits: whole cores and MiB, summed
// over the (non-init) containers.
func relatedPodResources(p *corev1.Pod, limits bool) (cpu float64, mem int64) {
	for i := range p.Spec.Containers {
		c, m := containerResources(&p.Spec.Containers[i], limits)
		cpu += c
		mem += m
	}
	return cpu, mem
}

func containerResources(c *corev1.Container, limits bool) (float64, int64) {
	list := c.Resources.Requests
	if limits {
		list = c.Resources.Limits
	}
	cpu, mem := 0.0, int64(0)
	if q, ok := list[corev1.ResourceCPU]; ok {
		cpu = pyParseCPU(q.String(), q.AsApproximateFloat64())
	}
	if q, ok := list[corev1.ResourceMemory]; ok {
		mem = parseMemMiB(q.String())
	}
	return cpu, mem
}

// pyRound3 is Python's round(x, 3).
func pyRound3(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 3, 64), 64)
	return v
}

// pyParseCPU is the runner's PodResources.parse_cpu: "m" divides by 1000, "k"
// multiplies by 1000, rounded to 3 places. A form it cannot read (which makes the
// runner's action fail) counts as the quantity's value.
func pyParseCPU(s string, approx float64) float64 {
	div, mul := false, false
	switch {
	case strings.Contains(s, "m"):
		s, div = strings.ReplaceAll(s, "m", ""), true
	case strings.Contains(s, "k"):
		s, mul = strings.ReplaceAll(s, "k", ""), true
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	switch {
	case err != nil:
		return pyRound3(approx)
	case div:
		return pyRound3(f / 1000)
	case mul:
		return pyRound3(f * 1000)
	}
	return pyRound3(f)
}

func podRestarts(p *corev1.Pod) int64 {
	n := int64(0)
	for _, c := range p.Status.ContainerStatuses {
		n += int64(c.RestartCount)
	}
	return n
}

func podAddresses(p *corev1.Pod) string {
	ips := make([]string, len(p.Status.PodIPs))
	for i, ip := range p.Status.PodIPs {
		ips[i] = ip.IP
	}
	return strings.Join(ips, ",")
}

// pyTime is Python's str() of the Kubernetes client's datetime: "2024-01-02
// 10:00:00+00:00".
func pyTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05") + "+00:00"
}

// relatedPodRows are the runner's to_pod_row rows; the runner's None shows as "".
func relatedPodRows(pods []corev1.Pod, cluster string) [][]string {
	rows := make([][]string, len(pods))
	for i := range pods {
		p := &pods[i]
		lcpu, lmem := relatedPodResources(p, true)
		rcpu, rmem := relatedPodResources(p, false)
		created := ""
		if !p.CreationTimestamp.IsZero() {
			created = pyTime(p.CreationTimestamp.Time)
		}
		rows[i] = []string{p.Name, p.Namespace, cluster, p.Spec.NodeName, pyfmt.FloatRepr(lcpu), pyfmt.FloatRepr(rcpu), fmt.Sprint(lmem), fmt.Sprint(rmem),
			created, fmt.Sprint(podRestarts(p)), podAddresses(p), fmt.Sprint(len(p.Spec.Containers)), string(p.Status.Phase), p.Status.Reason}
	}
	return rows
}

// orNone is a string field the API may leave out: None (null) when empty.
func orNone(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func timeOrNone(t *metav1.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return pyTime(t.Time)
}

// relatedContainers are the runner's RelatedContainer objects of a pod.
func relatedContainers(p *corev1.Pod) []any {
	out := make([]any, 0, len(p.Spec.Containers))
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		lcpu, lmem := containerResources(c, true)
		rcpu, rmem := containerResources(c, false)
		var st *corev1.ContainerStatus
		for j := range p.Status.ContainerStatuses {
			if p.Status.ContainerStatuses[j].Name == c.Name {
				st = &p.Status.ContainerStatuses[j]
				break
			}
		}
		// The first of running, waiting and terminated that is set names the state;
		// with none, "waiting" and no details.
		state, message, reason, created := "waiting", any(nil), any(nil), any(nil)
		restarts := int64(0)
		var last *corev1.ContainerStateTerminated
		if st != nil {
			restarts, last = int64(st.RestartCount), st.LastTerminationState.Terminated
			switch s := st.State; {
			case s.Running != nil:
				state, created = "running", timeOrNone(&s.Running.StartedAt)
			case s.Waiting != nil:
				state, message, reason = "waiting", orNone(s.Waiting.Message), orNone(s.Waiting.Reason)
			case s.Terminated != nil:
				state, message, reason, created = "terminated", orNone(s.Terminated.Message), orNone(s.Terminated.Reason), timeOrNone(&s.Terminated.StartedAt)
			}
		}
		ports := make([]any, len(c.Ports))
		for j := range c.Ports {
			ports[j] = pyClientDict(&c.Ports[j])
		}
		tReason, tCode, tStarted, tFinished := any(nil), any(nil), any(nil), any(nil)
		if last != nil {
			tReason, tCode, tStarted, tFinished = orNone(last.Reason), int64(last.ExitCode), timeOrNone(&last.StartedAt), timeOrNone(&last.FinishedAt)
		}
		out = append(out, pyObject{
			{"name", c.Name}, {"cpuLimit", lcpu}, {"cpuRequest", rcpu}, {"memoryLimit", lmem}, {"memoryRequest", rmem},
			{"restarts", restarts}, {"status", state}, {"created", created}, {"ports", ports},
			{"statusMessage", message}, {"statusReason", reason}, {"terminatedReason", tReason}, {"terminatedExitCode", tCode},
			{"terminatedStarted", tStarted}, {"terminatedFinished", tFinished},
		})
	}
	return out
}

// relatedPodsJSON is the runner's JSON output: json.dumps of the RelatedPod objects.
func relatedPodsJSON(pods []corev1.Pod, cluster string, raw bool) string {
	out := make([]any, len(pods))
	for i := range pods {
		p := &pods[i]
		lcpu, lmem := relatedPodResources(p, true)
		rcpu, rmem := relatedPodResources(p, false)
		created := "None" // str(None), as the runner writes a missing time here
		if !p.CreationTimestamp.IsZero() {
			created = pyTime(p.CreationTimestamp.Time)
		}
		var rawData any
		if raw {
			rawData = pyClientDict(p)
		}
		out[i] = pyObject{
			{"name", p.Name}, {"namespace", p.Namespace}, {"node", orNone(p.Spec.NodeName)}, {"clusterName", cluster},
			{"cpuLimit", lcpu}, {"cpuRequest", rcpu}, {"memoryLimit", lmem}, {"memoryRequest", rmem},
			{"creationTime", created}, {"restarts", podRestarts(p)}, {"addresses", podAddresses(p)},
			{"containers", relatedContainers(p)}, {"status", orNone(string(p.Status.Phase))}, {"statusReason", orNone(p.Status.Reason)},
			{"raw_data", rawData},
		}
	}
	return pyDumps(out)
}
