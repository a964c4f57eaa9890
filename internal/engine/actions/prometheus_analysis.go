package actions

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/graph"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
	"github.com/robusta-dev/robusta-go/internal/pyfmt"
)

func init() {
	engine.Register(&engine.Action{Name: "node_cpu_enricher", Event: "NodeEvent",
		Doc:       "Analyse the node's CPU: total, container and non-container use, each pod's use against its request, as lists and two SVG charts",
		NewParams: func() any { return &promConn{} }, Do: nodeCPUEnricher})
	engine.Register(&engine.Action{Name: "oomkilled_container_graph_enricher", Event: "PodEvent",
		Doc:       "Graph the resource use of the pod's most recently OOM-killed container, with its limit, request and the kill time",
		NewParams: func() any { return &oomGraphParams{} }, Do: oomKilledContainerGraph})
	engine.Register(&engine.Action{Name: "oom_killer_enricher", Event: engine.AlertEvent,
		Doc:       "List the containers OOM-killed lately on the alert's node, each with an estimated reason from Prometheus",
		NewParams: func() any { return &oomKillerParams{} }, Do: oomKillerEnricher})
	engine.Register(&engine.Action{Name: "version_mismatch_enricher", Event: engine.AlertEvent,
		Doc:       "Table each node's Kubernetes version against the API server's, from kubernetes_build_info",
		NewParams: func() any { return &versionMismatchParams{} }, Do: versionMismatchEnricher})
}

// instantVector runs an instant query and returns its series (none for a scalar).
func instantVector(ctx context.Context, c *monitoring.PromClient, query string) ([]monitoring.Series, error) {
	res, err := c.Query(ctx, query, time.Time{})
	if err != nil {
		return nil, err
	}
	if res.Type == "scalar" {
		return []monitoring.Series{{Metric: map[string]string{}, Values: []float64{res.Scalar}}}, nil
	}
	return res.Series, nil
}

// nodeCPUQueries are the runner's NodeCpuAnalyzer queries for a node (5m rates).
type nodeCPUQueries struct{ total, containers, perPod, perPodCores, requests string }

func nodeCPUQueriesFor(node, ip string) nodeCPUQueries {
	sel := fmt.Sprintf(`instance=~"%s|%s:.*"`, node, ip)
	cont := fmt.Sprintf(`sum(rate(           container_cpu_usage_seconds_total{node="%s",pod!="",image!=""}[5m]))`, node)
	norm := fmt.Sprintf(`/ scalar(sum (machine_cpu_cores{node="%s"}))`, node)
	return nodeCPUQueries{
		total: `1- avg by(instance)(rate(   node_cpu_seconds_total{mode=~"idle", ` + sel + `}[5m]))` +
			`- avg by(instance)(rate(   node_cpu_seconds_total{mode=~"iowait", ` + sel + `}[5m]))`,
		containers:  cont + "  " + norm,
		perPod:      cont + " by (pod) " + norm,
		perPodCores: cont + " by (pod) ",
		requests:    fmt.Sprintf(`sum by (pod)(kube_pod_container_resource_requests_cpu_cores{node="%s"})`, node),
	}
}

type podValue struct {
	pod string
	v   float64
}

// perPod reads a "by (pod)" vector, sorted by value, highest first, keeping values at
// least threshold.
func perPod(series []monitoring.Series, threshold float64) []podValue {
	var out []podValue
	for _, s := range series {
		if len(s.Values) > 0 && s.Values[0] >= threshold {
			out = append(out, podValue{s.Metric["pod"], s.Values[0]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].v > out[j].v })
	return out
}

func nodeCPUEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*promConn)
	node, err := eventNode(r)
	if err != nil {
		return err
	}
	ip := internalIP(node)
	if ip == "" {
		return fmt.Errorf("node %s has no InternalIP address, which the runner's CPU analysis needs to find its node-exporter series", node.Name)
	}
	c, done, err := params.prom(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	q := nodeCPUQueriesFor(node.Name, ip)
	first := func(query string) (float64, error) {
		s, err := instantVector(ctx, c, query)
		if err != nil {
			return 0, err
		}
		if len(s) == 0 || len(s[0].Values) == 0 {
			return 0, fmt.Errorf("prometheus has no data for %s (the runner's analysis fails on it too): is node-exporter or cAdvisor scraped for node %s?", query, node.Name)
		}
		return s[0].Values[0], nil
	}
	total, err := first(q.total)
	if err != nil {
		return err
	}
	containers, err := first(q.containers)
	if err != nil {
		return err
	}
	const threshold = 0.005
	var normalized, cores []podValue
	requests := map[string]float64{}
	for _, step := range []struct {
		query string
		into  func([]monitoring.Series)
	}{
		{q.perPod, func(s []monitoring.Series) { normalized = perPod(s, 0) }},
		{q.perPodCores, func(s []monitoring.Series) { cores = perPod(s, threshold) }},
		{q.requests, func(s []monitoring.Series) {
			for _, x := range s {
				if len(x.Values) > 0 {
					requests[x.Metric["pod"]] = x.Values[0]
				}
			}
		}},
	} {
		s, err := instantVector(ctx, c, step.query)
		if err != nil {
			return err
		}
		step.into(s)
	}
	nonContainer := total - containers

	areas := []graph.Area{{Label: "Non-container usage", Value: nonContainer}, {Label: "Free CPU", Value: 1 - total}}
	for _, pv := range normalized {
		areas = append(areas, graph.Area{Label: pv.pod, Value: pv.v})
	}
	// The bar chart's pods: those using at least the threshold and those with
	// requests, sorted (the runner's set has no stable order).
	usage := map[string]float64{}
	for _, pv := range cores {
		usage[pv.pod] = pv.v
	}
	names := map[string]bool{}
	for k := range usage {
		names[k] = true
	}
	for k := range requests {
		names[k] = true
	}
	all := make([]string, 0, len(names))
	for k := range names {
		all = append(all, k)
	}
	sort.Strings(all)
	actual, requested := make([]float64, len(all)), make([]float64, len(all))
	for i, n := range all {
		actual[i], requested[i] = math.NaN(), math.NaN()
		if v, ok := usage[n]; ok {
			actual[i] = v
		}
		if v, ok := requests[n]; ok {
			requested[i] = v
		}
	}
	bars, err := graph.BarsSVG("Actual Vs Requested vCPUs on Node "+node.Name, all,
		[]graph.BarGroup{{Label: "Actual CPU Usage", Values: actual}, {Label: "CPU Request", Values: requested}}, "vCPU")
	if err != nil {
		return err
	}
	var busy []string
	for _, pv := range normalized {
		if pv.v >= threshold {
			busy = append(busy, fmt.Sprintf("%s: *%.1f%%*", pv.pod, pv.v*100))
		}
	}
	r.Finding.AddEnrichment("",
		engine.Header("Node CPU Analysis"),
		engine.Markdown("_*Quick explanation:* High CPU typically occurs if you define pod CPU requests incorrectly and Kubernetes schedules too many pods on one node. "+
			"If this is the case, update your pod CPU requests to more accurate numbersusing guidance from the attached graphs_"),
		engine.Divider(),
		engine.Markdown(fmt.Sprintf("*Total CPU usage on node:* %d%%\n*Container CPU usage on node:* %d%%\n*Non-container CPU usage on node:* %d%%\n",
			int(total*100), int(containers*100), int(nonContainer*100))),
		engine.Divider(),
		engine.Markdown(fmt.Sprintf("*Pods with CPU > %.1f* (all numbers between 0-100%% regardless of CPU count)", threshold*100)),
		engine.List(busy...),
		engine.File("treemap.svg", graph.TreemapSVG("CPU Usage on Node "+node.Name, areas)),
		engine.File("usage_vs_requested.svg", bars),
	)
	return nil
}

type oomGraphParams struct {
	resourceGraphParams
	DelayGraphS int `param:"delay_graph_s" doc:"seconds to wait before querying, so the kill's last samples are scraped"`
}

// oomKilled is a container whose state (or last state) says it was OOM-killed.
type oomKilled struct {
	name     string
	term     *corev1.ContainerStateTerminated
	finished time.Time
}

// oomKilledIn returns the pod's OOM-killed containers (init containers too), as the
// runner's get_oom_killed_container: the current state first, else the last one.
func oomKilledIn(pod *corev1.Pod) []oomKilled {
	var out []oomKilled
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.ContainerStatuses...), pod.Status.InitContainerStatuses...)
	for _, cs := range statuses {
		for _, st := range []corev1.ContainerState{cs.State, cs.LastTerminationState} {
			if st.Terminated != nil && st.Terminated.Reason == "OOMKilled" {
				out = append(out, oomKilled{name: cs.Name, term: st.Terminated, finished: st.Terminated.FinishedAt.Time})
				break
			}
		}
	}
	return out
}

// mostRecentOOM is the container killed last.
func mostRecentOOM(pod *corev1.Pod) *oomKilled {
	var best *oomKilled
	for _, k := range oomKilledIn(pod) {
		k := k
		if best == nil || k.finished.After(best.finished) {
			best = &k
		}
	}
	return best
}

func containerSpec(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

func oomKilledContainerGraph(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*oomGraphParams)
	pod := r.Event.Pod()
	k := mostRecentOOM(pod)
	if k == nil {
		r.Notes = append(r.Notes, fmt.Sprintf("oomkilled_container_graph_enricher: no container of pod %s/%s was OOM-killed, so there is nothing to graph (the runner adds nothing either)", pod.Namespace, pod.Name))
		return nil
	}
	spec := containerSpec(pod, k.name)
	if spec == nil {
		return fmt.Errorf("pod %s/%s has a status for container %s but no such container in its spec", pod.Namespace, pod.Name, k.name)
	}
	if params.DelayGraphS > 0 {
		select {
		case <-time.After(time.Duration(params.DelayGraphS) * time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	opts, err := params.override(params.ResourceType, "Container")
	if err != nil {
		return &engine.ParamsError{Action: "oomkilled_container_graph_enricher", Err: err}
	}
	if opts == nil {
		opts = resourceCharts[[2]string{params.ResourceType, "Container"}]
	}
	if opts == nil {
		return &engine.ParamsError{Action: "oomkilled_container_graph_enricher", Err: fmt.Errorf("a %s graph of a container is not supported: use CPU or Memory", params.ResourceType)}
	}
	var lines []graph.Line
	one := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{*spec}}}
	lim, req := podResources(one, false), podResources(one, true)
	switch params.ResourceType {
	case "Memory":
		if lim.memMiB > 0 {
			lines = append(lines, graph.Line{Label: "Limit", Value: float64(lim.memMiB) * 1024 * 1024})
		}
		if req.memMiB > 0 {
			lines = append(lines, graph.Line{Label: "Request", Value: float64(req.memMiB) * 1024 * 1024})
		}
	case "CPU":
		// In cores, as pod_graph_enricher (the runner scales these by 1024*1024).
		if lim.cpu > 0 {
			lines = append(lines, graph.Line{Label: "Limit", Value: lim.cpu})
		}
		if req.cpu > 0 {
			lines = append(lines, graph.Line{Label: "Request", Value: req.cpu})
		}
	}
	end := time.Now()
	start := end.Add(-time.Duration(params.GraphDurationMinutes) * time.Minute)
	if !k.finished.IsZero() {
		t := k.finished
		lines = append(lines, graph.Line{Label: "OOM Kill Time", Value: float64(t.Unix()), Vertical: true})
		// The runner shows at least an hour before the kill and half an hour after.
		if s := t.Add(-time.Hour); s.Before(start) {
			start = s
		}
		if e := t.Add(30 * time.Minute); e.After(end) {
			end = e
		}
	}
	labels := map[string]string{"pod": pod.Name, "container": spec.Name, "namespace": pod.Namespace}
	fallback := labels["container"]
	chart, err := drawGraph(ctx, r, &params.promConn, graphSpec{
		title: fmt.Sprintf("%s Usage for container %s", params.ResourceType, spec.Name), query: opts.query, format: opts.format,
		labels: labels, lines: lines, filterJobs: true, from: start, to: end,
		labelOf: func(int) string { return fallback },
	})
	if err != nil {
		return named("oomkilled_container_graph_enricher", err)
	}
	r.Finding.AddEnrichment("Container Info", engine.Graph(chart))
	return nil
}

type oomKillerParams struct {
	promConn
	NewOOMKillsDurationInSec int `param:"new_oom_kills_duration_in_sec" default:"1200" doc:"report OOM kills of the last this many seconds"`
	MetricsDurationInSecs    int `param:"metrics_duration_in_secs" default:"1200" doc:"seconds of memory metrics to estimate each kill's reason from"`
}

// The runner's thresholds: above them the container or the node is the likely cause.
const (
	containerMemoryThreshold = 0.92
	nodeMemoryThreshold      = 0.95
)

func oomKillerEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*oomKillerParams)
	if r.Event.Kind != "Node" || r.Event.Obj == nil {
		r.Notes = append(r.Notes, "oom_killer_enricher: the alert names no existing node (label node or instance), so the runner adds nothing")
		return nil
	}
	node := r.Event.Obj.GetName()
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
	if err != nil {
		return r.KF.Explain(err, "list", "pods", "")
	}
	now := time.Now()
	window := time.Duration(params.NewOOMKillsDurationInSec) * time.Second
	metrics := time.Duration(params.MetricsDurationInSecs) * time.Second
	// Prometheus is reached only when a kill needs a reason.
	var c *monitoring.PromClient
	// maxOf returns the highest sample of the query's first series over the metrics
	// window, at the runner's 1 s step (ok false when there is none).
	var done func()
	maxOf := func(query string) (float64, bool, error) {
		if c == nil {
			var err error
			if c, done, err = params.prom(ctx, r); err != nil {
				return 0, false, err
			}
		}
		res, err := c.QueryRange(ctx, query, now.Add(-metrics), now, "1")
		if err != nil {
			return 0, false, err
		}
		if len(res.Series) == 0 || len(res.Series[0].Values) == 0 {
			return 0, false, nil
		}
		m := math.Inf(-1)
		for _, v := range res.Series[0].Values {
			m = math.Max(m, v)
		}
		return m, true, nil
	}
	defer func() {
		if done != nil {
			done()
		}
	}()
	nodeChecked, nodeReason := false, ""
	var rows [][]string
	for i := range pods.Items {
		pod := &pods.Items[i]
		for _, cst := range pod.Status.ContainerStatuses {
			var term *corev1.ContainerStateTerminated
			for _, st := range []corev1.ContainerState{cst.State, cst.LastTerminationState} {
				if st.Terminated != nil && st.Terminated.Reason == "OOMKilled" {
					term = st.Terminated
					break
				}
			}
			if term == nil || now.Sub(term.FinishedAt.Time) > window {
				continue
			}
			var limit, request *resource.Quantity
			if spec := containerSpec(pod, cst.Name); spec != nil {
				if q, ok := spec.Resources.Limits[corev1.ResourceMemory]; ok {
					limit = &q
				}
				if q, ok := spec.Resources.Requests[corev1.ResourceMemory]; ok {
					request = &q
				}
			}
			reason := ""
			if limit != nil && limit.Value() > 0 {
				used, ok, err := maxOf(fmt.Sprintf(`container_memory_usage_bytes{node="%s", pod="%s", image!="", container!="POD", container="%s", id=~"/kubepods/.*"}`, node, pod.Name, cst.Name))
				if err != nil {
					return err
				}
				if share := used / float64(limit.Value()); ok && share >= containerMemoryThreshold {
					reason = "container used too much memory: reached " + pyfmt.FloatRepr(share) + " percentage of its specified limit"
				}
			}
			if reason == "" {
				if !nodeChecked {
					used, ok, err := maxOf(fmt.Sprintf(`instance:node_memory_utilisation:ratio{job="node-exporter", instance="%s"}`, node))
					if err != nil {
						return err
					}
					if ok && used >= nodeMemoryThreshold {
						nodeReason = fmt.Sprintf("node %s used too much memory: reached %s percentage of its available memory", node, pyfmt.FloatRepr(used))
					}
					nodeChecked = true
				}
				reason = nodeReason
			}
			if reason == "" {
				reason = "reason not found"
			}
			rows = append(rows, []string{term.FinishedAt.UTC().Format(time.RFC3339), pod.Name, cst.Name, cst.Image,
				fmt.Sprintf("MemorySpecs(requests=%s, limits=%s)", pyQuantity(request), pyQuantity(limit)), reason})
		}
	}
	if len(rows) == 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("oom_killer_enricher: no container on node %s was OOM-killed in the last %d seconds", node, params.NewOOMKillsDurationInSec))
		return nil
	}
	r.Finding.AddEnrichment("", engine.Table("", []string{"time", "pod", "container", "image", "memory_specs", "estimated_reason"}, rows))
	return nil
}

// pyQuantity is a memory spec as Python's repr shows the runner's string or None.
func pyQuantity(q *resource.Quantity) string {
	if q == nil {
		return "None"
	}
	return "'" + q.String() + "'"
}

type versionMismatchParams struct {
	promConn
	VersionMismatchQuery string `param:"version_mismatch_query" default:"count by (git_version, node) (label_replace(kubernetes_build_info{job!~\"kube-dns|coredns\"}, \"git_version\", \"$1\", \"git_version\", \"(v[0-9]*.[0-9]*).*\"))" doc:"the query giving each component's git_version, with a node label for nodes"`
}

func versionMismatchEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*versionMismatchParams)
	if strings.TrimSpace(params.VersionMismatchQuery) == "" {
		return &engine.ParamsError{Action: "version_mismatch_enricher", Err: errors.New("version_mismatch_query is empty: leave it out for the default")}
	}
	c, done, err := params.prom(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	series, err := instantVector(ctx, c, params.VersionMismatchQuery)
	if err != nil {
		if strings.HasPrefix(err.Error(), "prometheus: ") {
			r.Notes = append(r.Notes, "version_mismatch_enricher: the query failed, so the runner adds nothing: "+err.Error())
			return nil
		}
		return err
	}
	var nodes [][]string
	apiSet := map[string]bool{}
	for _, s := range series {
		if n, ok := s.Metric["node"]; ok {
			nodes = append(nodes, []string{n, s.Metric["git_version"]})
		} else {
			apiSet[s.Metric["git_version"]] = true
		}
	}
	switch {
	case len(series) < 2:
		r.Notes = append(r.Notes, fmt.Sprintf("version_mismatch_enricher: the query gave %d series; at least two versions are needed, so the runner adds nothing", len(series)))
		return nil
	case len(nodes) == 0:
		r.Notes = append(r.Notes, "version_mismatch_enricher: no series has a node label (Prometheus may drop it), so node versions are unknown and the runner adds nothing")
		return nil
	}
	api := make([]string, 0, len(apiSet))
	for v := range apiSet {
		api = append(api, v)
	}
	sort.Strings(api)
	what := ""
	switch len(api) {
	case 0:
		what = "version is unknown"
	case 1:
		what = "is version " + api[0]
	default:
		what = "has reported versions " + strings.Join(api, ", ")
	}
	r.Finding.AddEnrichment("",
		engine.Markdown(fmt.Sprintf("The kubernetes api server %s.", what)),
		engine.Table("*Node Versions*", []string{"name", "version"}, nodes),
		engine.Markdown("To solve this alert, make sure to update all of your nodes and/or cluster to the latest version above."))
	return nil
}
