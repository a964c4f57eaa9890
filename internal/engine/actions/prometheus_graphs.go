package actions

import (
	"context"
	"errors"
	"fmt"
	"html"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/graph"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
)

func init() {
	engine.Register(&engine.Action{Name: "pod_graph_enricher", Event: "PodEvent",
		Doc:       "Graph the pod's CPU or Memory over the last graph_duration_minutes, with its limits and requests if asked",
		NewParams: func() any { return &podGraphParams{} }, Do: podGraphEnricher})
	engine.Register(&engine.Action{Name: "pod_node_graph_enricher", Event: "PodEvent",
		Doc:       "Graph the CPU, Memory or Disk of the node the pod runs on",
		NewParams: func() any { return &resourceGraphParams{} }, Do: podNodeGraphEnricher})
	engine.Register(&engine.Action{Name: "node_graph_enricher", Event: "NodeEvent",
		Doc:       "Graph the node's CPU, Memory or Disk over the last graph_duration_minutes",
		NewParams: func() any { return &resourceGraphParams{} }, Do: nodeGraphEnricher})
	engine.Register(&engine.Action{Name: "alert_graph_enricher", Event: engine.AlertEvent,
		Doc:       "Graph the resource of the pod or node an alert is about, from the alert's start",
		NewParams: func() any { return &alertGraphParams{} }, Do: alertGraphEnricher})
	engine.Register(&engine.Action{Name: "custom_graph_enricher", Event: engine.AlertEvent,
		Doc:       "Graph any PromQL query, templated with the alert's labels ($pod, $namespace, $node_internal_ip ...)",
		NewParams: func() any { return &customGraphParams{} }, Do: customGraphEnricher})
	engine.Register(&engine.Action{Name: "graph_enricher", Event: engine.AlertEvent,
		Doc:       "Graph the PromQL expression that fired the alert (from its generatorURL)",
		NewParams: func() any { return &graphEnricherParams{} }, Do: graphEnricher})
}

type resourceGraphParams struct {
	promConn
	ResourceType         string `param:"resource_type" required:"true" enum:"CPU|Memory|Disk" doc:"CPU, Memory or Disk"`
	GraphDurationMinutes int    `param:"graph_duration_minutes" default:"60" doc:"minutes of history to graph"`
}

type podGraphParams struct {
	resourceGraphParams
	DisplayLimits bool `param:"display_limits" doc:"draw the pod's limit and request (CPU and Memory)"`
}

type alertGraphParams struct {
	resourceGraphParams
	ItemType string `param:"item_type" required:"true" enum:"Pod|Node" doc:"Pod or Node"`
}

type customGraphParams struct {
	promConn
	PromQLQuery          string `param:"promql_query" required:"true" doc:"PromQL; $pod, $namespace, $node, $node_internal_ip and other alert labels are filled in"`
	GraphTitle           string `param:"graph_title" doc:"title; templated like the query"`
	GraphDurationMinutes int    `param:"graph_duration_minutes" default:"60" doc:"minutes of history to graph (at least since the alert started)"`
	ChartValuesFormat    string `param:"chart_values_format" default:"Plain" enum:"Plain|Bytes|Percentage|CPUUsage" doc:"how values are written"`
	HideLegends          bool   `param:"hide_legends" doc:"no legend"`
}

type graphEnricherParams struct {
	promConn
	GraphDurationMinutes int `param:"graph_duration_minutes" default:"60" doc:"minutes of history to graph (at least since the alert started)"`
}

// chartOptions is a resource chart's query and value format.
type chartOptions struct {
	query  string
	format graph.Format
}

// resourceCharts are the runner's queries per (resource, item) (create_resource_enrichment).
var resourceCharts = map[[2]string]*chartOptions{
	{"CPU", "Pod"}:          {`sum(irate(container_cpu_usage_seconds_total{namespace="$namespace", pod=~"$pod"}[5m])) by (pod, job)`, graph.CPUUsage},
	{"CPU", "Node"}:         {`1 - avg without (cpu) ( sum without (mode) (rate(node_cpu_seconds_total{job="node-exporter", instance=~"$node_internal_ip:[0-9]+", mode=~"idle|iowait|steal"}[5m]))) != 0`, graph.Percentage},
	{"CPU", "Container"}:    {`sum(irate(container_cpu_usage_seconds_total{namespace="$namespace", pod=~"$pod", container=~"$container"}[5m])) by (container, pod, job)`, graph.CPUUsage},
	{"Memory", "Pod"}:       {`sum(max(container_memory_working_set_bytes{namespace="$namespace", pod=~"$pod", container!="", image!=""}) by (container, pod, job)) by (container, pod, job)`, graph.Bytes},
	{"Memory", "Node"}:      {`1 - ((node_memory_MemAvailable_bytes{job="node-exporter", instance=~"$node_internal_ip:[0-9]+"} or (node_memory_Buffers_bytes{job="node-exporter", instance=~"$node_internal_ip:[0-9]+"} + node_memory_Cached_bytes{job="node-exporter", instance=~"$node_internal_ip:[0-9]+"} + node_memory_MemFree_bytes{job="node-exporter", instance=~"$node_internal_ip:[0-9]+"} + node_memory_Slab_bytes{job="node-exporter", instance=~"$node_internal_ip:[0-9]+"} ) ) / node_memory_MemTotal_bytes{job="node-exporter", instance=~"$node_internal_ip:[0-9]+"}) != 0`, graph.Percentage},
	{"Memory", "Container"}: {`sum(max(container_memory_working_set_bytes{namespace="$namespace", pod=~"$pod", container=~"$container", image!=""}) by (container, pod, job)) by (container, pod, job)`, graph.Bytes},
	{"Disk", "Pod"}:         nil,
	{"Disk", "Node"}:        {`sum(sort_desc(1 -(max without (mountpoint, fstype) (node_filesystem_avail_bytes{job="node-exporter", fstype!="", instance=~"$node_internal_ip:[0-9]+"})/max without (mountpoint, fstype) (node_filesystem_size_bytes{job="node-exporter", fstype!="", instance=~"$node_internal_ip:[0-9]+"})) != 0))`, graph.Percentage},
}

// defaultFormat is the value format of an override that names none.
func defaultFormat(res, item string) graph.Format {
	switch {
	case item == "Node":
		return graph.Percentage
	case res == "CPU":
		return graph.CPUUsage
	case res == "Memory":
		return graph.Bytes
	}
	return graph.Plain
}

// override is the first prometheus_graphs_overrides entry for (res, item), if any.
func (p *promConn) override(res, item string) (*chartOptions, error) {
	for i, raw := range p.GraphsOverrides {
		var o struct {
			ResourceType string `param:"resource_type" required:"true" enum:"CPU|Memory|Disk"`
			ItemType     string `param:"item_type" required:"true" enum:"Pod|Node|Container"`
			Query        string `param:"query" required:"true"`
			ValuesFormat string `param:"values_format"`
		}
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("prometheus_graphs_overrides[%d]: want an object with resource_type, item_type and query", i)
		}
		if err := engine.Decode(m, &o); err != nil {
			return nil, fmt.Errorf("prometheus_graphs_overrides[%d]: %v", i, err)
		}
		if o.ResourceType != res || o.ItemType != item {
			continue
		}
		f := graph.Format(o.ValuesFormat)
		switch f {
		case "":
			f = defaultFormat(res, item)
		case graph.Plain, graph.Bytes, graph.Percentage, graph.CPUUsage:
		default:
			return nil, fmt.Errorf("prometheus_graphs_overrides[%d]: values_format %q is not one of Plain, Bytes, Percentage, CPUUsage", i, o.ValuesFormat)
		}
		return &chartOptions{query: o.Query, format: f}, nil
	}
	return nil, nil
}

// graphSpec is one chart to draw.
type graphSpec struct {
	title      string
	query      string // the template, filled from labels
	format     graph.Format
	labels     map[string]string
	alertStart time.Time // zero: the last duration only
	duration   time.Duration
	lines      []graph.Line
	labelOf    func(i int) string
	filterJobs bool
	// from and to, when set, are the range itself (an OOM-kill graph widens it).
	from, to time.Time
}

// resourceGraph draws the runner's resource chart for (res, item) with labels.
func resourceGraph(ctx context.Context, r *engine.Run, p *promConn, res, item string, labels map[string]string, alertStart time.Time, minutes int, lines []graph.Line) (*graph.Chart, error) {
	opts, err := p.override(res, item)
	if err != nil {
		return nil, &engine.ParamsError{Action: "graph", Err: err}
	}
	if opts == nil {
		opts = resourceCharts[[2]string{res, item}]
	}
	if opts == nil {
		return nil, &engine.ParamsError{Action: "graph", Err: fmt.Errorf("a %s graph of a %s is not supported: use CPU or Memory", res, strings.ToLower(item))}
	}
	kind := "Usage"
	if opts.format == graph.Percentage {
		kind = "Utilization"
	}
	fallback := map[string]string{"CPU|Pod": labels["pod"], "CPU|Node": labels["node"], "CPU|Container": labels["container"], "Memory|Container": labels["container"]}
	spec := graphSpec{title: fmt.Sprintf("%s %s for this %s", res, kind, strings.ToLower(item)), query: opts.query, format: opts.format,
		labels: labels, alertStart: alertStart, duration: time.Duration(minutes) * time.Minute, lines: lines, filterJobs: true}
	if fb, ok := fallback[res+"|"+item]; ok {
		if fb == "" {
			fb = res + " Usage"
		}
		spec.labelOf = func(int) string { return fb }
	}
	return drawGraph(ctx, r, p, spec)
}

// drawGraph runs a graph's range query as the runner's create_chart_from_prometheus_query
// does: from max(graph duration, time since the alert started) ago to now, at the
// runner's step, job duplicates filtered.
func drawGraph(ctx context.Context, r *engine.Run, p *promConn, s graphSpec) (*graph.Chart, error) {
	query := s.query
	if s.labels != nil {
		query = pyTemplate(s.query, s.labels)
	}
	end := time.Now()
	start := end.Add(-s.duration)
	if !s.alertStart.IsZero() && end.Sub(s.alertStart) > s.duration {
		start = s.alertStart
	}
	if !s.from.IsZero() {
		start, end = s.from, s.to
	}
	c, done, err := p.prom(ctx, r)
	if err != nil {
		return nil, err
	}
	defer done()
	res, err := c.QueryRange(ctx, query, start, end, "")
	if err != nil {
		return nil, err
	}
	if res.Type != "matrix" {
		return nil, fmt.Errorf("query %s gave a %s; a graph needs a range (matrix) result", query, res.Type)
	}
	series := res.Series
	if s.filterJobs {
		series = filterJobs(series)
	}
	title := s.title
	if title == "" {
		title = query
	}
	chart := chartOf(title, c.Auth.AddedTo(query), s.format, series, s.labelOf)
	chart.Lines = s.lines
	return chart, nil
}

// filterJobs keeps one series per target (container, pod or node) when several
// scrape jobs report it: the kubelet's, else the first job alphabetically.
func filterJobs(in []monitoring.Series) []monitoring.Series {
	if len(in) <= 1 {
		return in
	}
	byTarget := map[string][]monitoring.Series{}
	var targets []string
	for _, s := range in {
		t := targetName(s.Metric)
		if t == "" {
			continue
		}
		if _, seen := byTarget[t]; !seen {
			targets = append(targets, t)
		}
		byTarget[t] = append(byTarget[t], s)
	}
	var out []monitoring.Series
	for _, t := range targets {
		group := byTarget[t]
		var kubelet []monitoring.Series
		for _, s := range group {
			if s.Metric["job"] == "kubelet" {
				kubelet = append(kubelet, s)
			}
		}
		if len(kubelet) == 1 {
			out = append(out, kubelet[0])
			continue
		}
		sort.SliceStable(group, func(i, j int) bool { return group[i].Metric["job"] < group[j].Metric["job"] })
		out = append(out, group[0])
	}
	return out
}

func podGraphEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*podGraphParams)
	pod := r.Event.Pod()
	labels := map[string]string{"pod": pod.Name, "namespace": pod.Namespace}
	var lines []graph.Line
	if params.DisplayLimits {
		lim, req := podResources(pod, false), podResources(pod, true)
		switch params.ResourceType {
		case "CPU":
			// In cores, the unit of the CPU chart (the runner scales these by 1024*1024,
			// which puts them far above the usage line).
			if lim.cpu > 0 {
				lines = append(lines, graph.Line{Label: "Limit", Value: lim.cpu})
			}
			if req.cpu > 0 {
				lines = append(lines, graph.Line{Label: "Request", Value: req.cpu})
			}
		case "Memory":
			if lim.memMiB > 0 {
				lines = append(lines, graph.Line{Label: "Limit", Value: float64(lim.memMiB) * 1024 * 1024})
			}
			if req.memMiB > 0 {
				lines = append(lines, graph.Line{Label: "Request", Value: float64(req.memMiB) * 1024 * 1024})
			}
		}
	}
	chart, err := resourceGraph(ctx, r, &params.promConn, params.ResourceType, "Pod", labels, time.Time{}, params.GraphDurationMinutes, lines)
	if err != nil {
		return named("pod_graph_enricher", err)
	}
	r.Finding.AddEnrichment("Pod Resources", engine.Graph(chart))
	return nil
}

// named puts the action's name on a params error raised by a shared helper.
func named(action string, err error) error {
	var pe *engine.ParamsError
	if errors.As(err, &pe) {
		return &engine.ParamsError{Action: action, Err: pe.Err}
	}
	return err
}

type podTotals struct {
	cpu    float64 // cores
	memMiB int64
}

// podResources sums the containers' limits or requests as the runner does: CPU in
// cores, memory in whole MiB.
func podResources(pod *corev1.Pod, requests bool) podTotals {
	var t podTotals
	for _, c := range pod.Spec.Containers {
		list := c.Resources.Limits
		if requests {
			list = c.Resources.Requests
		}
		if q, ok := list[corev1.ResourceCPU]; ok {
			t.cpu += math.Round(q.AsApproximateFloat64()*1000) / 1000
		}
		if q, ok := list[corev1.ResourceMemory]; ok {
			t.memMiB += q.Value() / (1024 * 1024)
		}
	}
	return t
}

// nodeLabels are the labels a node chart's query is filled from.
func nodeLabels(node *corev1.Node) map[string]string {
	labels := map[string]string{"node": node.Name}
	if ip := internalIP(node); ip != "" {
		labels["node_internal_ip"] = ip
	}
	return labels
}

func internalIP(node *corev1.Node) string {
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

func getNode(ctx context.Context, r *engine.Run, name string) (*corev1.Node, error) {
	cs, err := r.KF.Clientset()
	if err != nil {
		return nil, err
	}
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, r.KF.Explain(err, "get", "nodes", "")
	}
	return n, nil
}

func eventNode(r *engine.Run) (*corev1.Node, error) {
	var n corev1.Node
	if r.Event.Obj == nil {
		return nil, errors.New("the event has no node")
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(r.Event.Obj.Object, &n); err != nil {
		return nil, fmt.Errorf("read node: %w", err)
	}
	return &n, nil
}

func nodeGraphEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*resourceGraphParams)
	node, err := eventNode(r)
	if err != nil {
		return err
	}
	chart, err := resourceGraph(ctx, r, &params.promConn, params.ResourceType, "Node", nodeLabels(node), time.Time{}, params.GraphDurationMinutes, nil)
	if err != nil {
		return named("node_graph_enricher", err)
	}
	r.Finding.AddEnrichment("Node Resources", engine.Graph(chart))
	return nil
}

func podNodeGraphEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*resourceGraphParams)
	pod := r.Event.Pod()
	if pod.Spec.NodeName == "" {
		r.Notes = append(r.Notes, fmt.Sprintf("pod %s/%s is not scheduled on a node: no node graph", pod.Namespace, pod.Name))
		return nil
	}
	node, err := getNode(ctx, r, pod.Spec.NodeName)
	if err != nil {
		return err
	}
	chart, err := resourceGraph(ctx, r, &params.promConn, params.ResourceType, "Node", nodeLabels(node), time.Time{}, params.GraphDurationMinutes, nil)
	if err != nil {
		return named("pod_node_graph_enricher", err)
	}
	r.Finding.AddEnrichment("Pod Resources", engine.Graph(chart))
	return nil
}

// alertStart is when the alert started (zero when it does not say).
func alertStart(a *engine.Alert) time.Time {
	if a == nil || a.StartsAt == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, a.StartsAt)
	if err != nil {
		return time.Time{}
	}
	return t
}

func alertGraphEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*alertGraphParams)
	labels := map[string]string{}
	for k, v := range r.Event.Alert.Labels {
		labels[k] = v
	}
	if node := alertNode(ctx, r); node != nil {
		if ip := internalIP(node); ip != "" {
			labels["node_internal_ip"] = ip
		}
	}
	chart, err := resourceGraph(ctx, r, &params.promConn, params.ResourceType, params.ItemType, labels, alertStart(r.Event.Alert), params.GraphDurationMinutes, nil)
	if err != nil {
		return named("alert_graph_enricher", err)
	}
	r.Finding.AddEnrichment("Resources", engine.Graph(chart))
	return nil
}

// alertNode is the node an alert is about, or the node of its pod (nil if none).
func alertNode(ctx context.Context, r *engine.Run) *corev1.Node {
	switch {
	case r.Event.Kind == "Node":
		n, _ := eventNode(r)
		return n
	case r.Event.Kind == "Pod":
		if pod := r.Event.Pod(); pod != nil && pod.Spec.NodeName != "" {
			n, _ := getNode(ctx, r, pod.Spec.NodeName)
			return n
		}
	}
	return nil
}

func customGraphEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*customGraphParams)
	a := r.Event.Alert
	title := ""
	if params.GraphTitle != "" {
		vars := map[string]string{}
		for k, v := range a.Labels {
			vars[k] = v
		}
		// The alert's subject: name, namespace, node, kind, as the runner's get_alert_subject.
		_, kind, ns, name := engine.AlertTarget(a)
		vars["name"], vars["namespace"], vars["subject_type"] = name, ns, strings.ToLower(kind)
		if pod := r.Event.Pod(); pod != nil {
			vars["node"] = pod.Spec.NodeName
		}
		title = pyTemplate(params.GraphTitle, vars)
	}
	labels := map[string]string{}
	for k, v := range a.Labels {
		labels[k] = v
	}
	chart, err := drawGraph(ctx, r, &params.promConn, graphSpec{title: title, query: params.PromQLQuery, format: graph.Format(params.ChartValuesFormat),
		labels: labels, alertStart: alertStart(a), duration: time.Duration(params.GraphDurationMinutes) * time.Minute})
	if err != nil {
		return named("custom_graph_enricher", err)
	}
	r.Finding.AddEnrichment(title, engine.Graph(chart))
	return nil
}

// alertExpression is the PromQL of the alert's rule: g0.expr of its generatorURL.
func alertExpression(a *engine.Alert) string {
	if a.GeneratorURL == "" {
		return ""
	}
	u, err := url.Parse(html.UnescapeString(a.GeneratorURL))
	if err != nil {
		return ""
	}
	return u.Query().Get("g0.expr")
}

func graphEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*graphEnricherParams)
	q := alertExpression(r.Event.Alert)
	if q == "" {
		return &engine.ParamsError{Action: "graph_enricher", Err: errors.New("the alert has no generatorURL with a g0.expr query to graph: give the alert's generatorURL, or use custom_graph_enricher with promql_query")}
	}
	// No labels: the rule's expression is sent as it is, not templated.
	chart, err := drawGraph(ctx, r, &params.promConn, graphSpec{title: q, query: q,
		alertStart: alertStart(r.Event.Alert), duration: time.Duration(params.GraphDurationMinutes) * time.Minute})
	if err != nil {
		return named("graph_enricher", err)
	}
	r.Finding.AddEnrichment("Alert Expression Graph", engine.Graph(chart))
	return nil
}
