package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// promRequest is what the Prometheus stand-in received.
type promRequest struct {
	Path, Query, Start, End, Step, Auth, OrgID, Tenant string
	Match                                              []string
}

// promStandIn answers the Prometheus HTTP API with made-up data and records what it
// was asked.
type promStandIn struct {
	addr  string
	mu    sync.Mutex
	reqs  []promRequest
	conns int // connections opened (kwok opens one per forwarded stream)
}

func (s *promStandIn) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.conns
	s.conns = 0
	return n
}

func (s *promStandIn) take() []promRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.reqs
	s.reqs = nil
	return out
}

// last returns the one request recorded since the last take, failing otherwise.
func (s *promStandIn) last(t *testing.T) promRequest {
	t.Helper()
	got := s.take()
	if len(got) != 1 {
		t.Fatalf("the stand-in got %d requests, want 1: %+v", len(got), got)
	}
	return got[0]
}

func (s *promStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	req := promRequest{Path: r.URL.Path, Query: r.Form.Get("query"), Start: r.Form.Get("start"), End: r.Form.Get("end"),
		Step: r.Form.Get("step"), Auth: r.Header.Get("Authorization"), OrgID: r.Header.Get("X-Scope-OrgID"),
		Tenant: r.URL.Query().Get("tenant"), Match: r.Form["match[]"]}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	answer := func(data any) {
		b, _ := json.Marshal(map[string]any{"status": "success", "data": data})
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	}
	switch r.URL.Path {
	case "/api/v1/query_range":
		if strings.Contains(req.Query, "bad(") {
			b := []byte(`{"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"}`)
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write(b)
			return
		}
		start, _ := strconv.ParseFloat(req.Start, 64)
		end, _ := strconv.ParseFloat(req.End, 64)
		step, _ := strconv.ParseFloat(req.Step, 64)
		var kubelet, other [][2]any
		for i := 0; step > 0 && start+float64(i)*step <= end+1e-6; i++ {
			ts := start + float64(i)*step
			v := 0.1 + 0.05*math.Sin(float64(i)/10)
			kubelet = append(kubelet, [2]any{ts, strconv.FormatFloat(v, 'f', 4, 64)})
			other = append(other, [2]any{ts, "9"})
		}
		// The same pod from two scrape jobs: the runner keeps the kubelet's.
		answer(map[string]any{"resultType": "matrix", "result": []any{
			map[string]any{"metric": map[string]string{"pod": "web-1", "job": "zz-other"}, "values": other},
			map[string]any{"metric": map[string]string{"pod": "web-1", "job": "kubelet"}, "values": kubelet},
		}})
	case "/api/v1/query":
		answer(map[string]any{"resultType": "vector", "result": []any{
			map[string]any{"metric": map[string]string{"job": "api"}, "value": [2]any{1700000000, "0.97"}}}})
	case "/api/v1/label/__name__/values":
		answer([]string{"node_cpu_seconds_total", "up"})
	case "/api/v1/labels":
		answer([]string{"__name__", "job", "pod"})
	case "/api/v1/series":
		answer([]map[string]string{{"__name__": "up", "job": "api"}})
	default:
		http.NotFound(w, r)
	}
}

const (
	promNS      = "h14-monitoring"
	promPod     = "prom-standin"
	promService = "h14-kps-prometheus"
)

var gvrKwokPortForward = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "portforwards"}

// startPromStandIn runs the Prometheus stand-in behind a Service labelled as
// kube-prometheus-stack labels its Prometheus.
func startPromStandIn(t *testing.T, c *sandbox.Cluster) *promStandIn {
	t.Helper()
	s := &promStandIn{}
	s.addr = startStandIn(t, c, promPod, promService, map[string]string{"app": "kube-prometheus-stack-prometheus"}, s,
		func() { s.mu.Lock(); s.conns++; s.mu.Unlock() })
	s.take()
	return s
}

// startStandIn serves handler on a loopback port, behind a pod (kwok forwards its
// port 9090 there) and a Service with svcLabels and a named target port, in promNS.
// onConn is called for each new connection. Everything is removed when the test ends.
func startStandIn(t *testing.T, c *sandbox.Cluster, podName, svcName string, svcLabels map[string]string, handler http.Handler, onConn func()) string {
	t.Helper()
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	srv := &http.Server{Handler: handler, ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew && onConn != nil {
			onConn()
		}
	}}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	if err := c.EnsureNamespace(ctx, promNS); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureNode(ctx, sandbox.FakeNodeName); err != nil {
		t.Fatal(err)
	}
	app := "h14-" + podName
	t.Cleanup(func() {
		zero := int64(0)
		_ = c.Client.CoreV1().Services(promNS).Delete(ctx, svcName, metav1.DeleteOptions{})
		_ = c.Client.CoreV1().Pods(promNS).Delete(ctx, podName, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		_ = c.Dynamic.Resource(gvrKwokPortForward).Namespace(promNS).Delete(ctx, podName, metav1.DeleteOptions{})
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := c.Client.CoreV1().Pods(promNS).Get(ctx, podName, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("cleanup: pod %s/%s still there", promNS, podName)
	})
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: podName, Namespace: promNS, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{
			NodeName: sandbox.FakeNodeName,
			Containers: []corev1.Container{{Name: "server", Image: "standin:e2e",
				Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 9090}}}},
			Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
		},
	}
	if _, err := c.Client.CoreV1().Pods(promNS).Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	host, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.ParseInt(portStr, 10, 64)
	pf := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "PortForward",
		"metadata": map[string]any{"name": podName, "namespace": promNS},
		"spec": map[string]any{"forwards": []any{map[string]any{
			"ports": []any{int64(9090)}, "target": map[string]any{"address": host, "port": port}}}},
	}}
	if _, err := c.Dynamic.Resource(gvrKwokPortForward).Namespace(promNS).Create(ctx, pf, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: svcName, Namespace: promNS, Labels: svcLabels},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app},
			Ports: []corev1.ServicePort{{Name: "http-web", Port: 9090, TargetPort: intstr.FromString("web")}}},
	}
	if _, err := c.Client.CoreV1().Services(promNS).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// Wait until the pod runs and kwok forwards its port to the stand-in.
	kf := kube.NewFactory(kube.Options{Kubeconfig: c.KubeconfigPath})
	deadline := time.Now().Add(40 * time.Second)
	for {
		err := func() error {
			p, err := c.Client.CoreV1().Pods(promNS).Get(ctx, podName, metav1.GetOptions{})
			if err != nil || p.Status.Phase != corev1.PodRunning {
				return fmt.Errorf("pod not running: %v", err)
			}
			fw, err := kf.OpenPortForward(ctx, promNS, podName, 9090)
			if err != nil {
				return err
			}
			defer fw.Close()
			hc := &http.Client{Timeout: 3 * time.Second}
			resp, err := hc.Get("http://" + fw.Addr() + "/-/ready")
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}()
		if err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("stand-in not reachable through a port-forward: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func rangeSeconds(t *testing.T, r promRequest) float64 {
	t.Helper()
	start, err1 := strconv.ParseFloat(r.Start, 64)
	end, err2 := strconv.ParseFloat(r.End, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("start %q end %q", r.Start, r.End)
	}
	return end - start
}

// promAlert writes an alert that started ago before now.
func promAlert(t *testing.T, labels map[string]string, ago time.Duration, generatorURL string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "alert.json")
	writeJSON(t, p, map[string]any{"status": "firing", "labels": labels, "annotations": map[string]string{"summary": "s"},
		"startsAt": time.Now().Add(-ago).UTC().Format(time.RFC3339), "generatorURL": generatorURL})
	return p
}

// TestLocalPrometheusActions runs the Prometheus actions through the built binary
// against a stand-in found by the runner's selectors and reached through a real
// port-forward; each checks the PromQL, range and step the stand-in received.
func TestLocalPrometheusActions(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	lr := func(args ...string) result { return run(t, env, append([]string{"local", "run"}, args...)...) }

	// No Prometheus in the cluster yet: the selectors tried and how to pass a URL.
	r := lr("prometheus_enricher", "promql_query=up", `duration:={"duration_minutes": 60}`)
	if r.code == 0 || strings.Contains(r.stderr, "goroutine") {
		t.Fatalf("no prometheus: %s", r)
	}
	for _, want := range []string{"no prometheus found", "app=kube-prometheus-stack-prometheus", "app=vmselect", "--prometheus-url URL"} {
		mustContain(t, r, "stderr", want)
	}

	s := startPromStandIn(t, c)

	t.Run("prometheus_enricher graph saved and linked", func(t *testing.T) {
		dir := t.TempDir()
		r := lr("prometheus_enricher", "promql_query=up{job=\"api\"}", `duration:={"duration_minutes": 60}`, "--save-files", dir, "-o", "markdown")
		if r.code != 0 {
			t.Fatal(r)
		}
		q := s.last(t)
		if q.Path != "/api/v1/query_range" || q.Query != `up{job="api"}` || q.Step != "14.4" || rangeSeconds(t, q) != 3600 {
			t.Errorf("request %+v", q)
		}
		img := filepath.Join(dir, `up{job=_api_}.png`)
		mustContain(t, r, "stdout", "![up{job=\"api\"}](")
		// Both jobs' series: the runner's PrometheusBlock keeps the raw result.
		mustContain(t, r, "stdout", "| web-1 | 251 | 9 | 9 | 9 |")
		mustContain(t, r, "stdout", "| web-1 | 251 | 0.05 | 0.15 |")
		b, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("png: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, `up{job=_api_}.svg`)); err != nil {
			t.Error(err)
		}
	})

	t.Run("auth, headers, query string and additional labels", func(t *testing.T) {
		r := lr("prometheus_enricher", "promql_query=sum(rate(x{a=\"b\"}[5m])) / sum(y{})", `duration:={"duration_minutes": 10}`,
			"prometheus_auth=Bearer sekret", "prometheus_url_query_string=?tenant=t1", `prometheus_additional_headers:={"X-Scope-OrgID": "org-7"}`,
			`prometheus_additional_labels:={"cluster": "c1"}`, "step=30s")
		if r.code != 0 {
			t.Fatal(r)
		}
		q := s.last(t)
		if q.Query != `sum(rate(x{a="b", cluster="c1"}[5m])) / sum(y{ cluster="c1"})` || q.Auth != "Bearer sekret" ||
			q.OrgID != "org-7" || q.Tenant != "t1" || q.Step != "30s" || rangeSeconds(t, q) != 600 {
			t.Errorf("request %+v", q)
		}
		if strings.Contains(r.stdout+r.stderr, "sekret") {
			t.Errorf("the token was printed: %s", r)
		}
	})

	t.Run("a bad query is reported in the finding", func(t *testing.T) {
		r := lr("prometheus_enricher", "promql_query=bad(", `duration:={"duration_minutes": 5}`)
		if r.code != 0 {
			t.Fatal(r)
		}
		mustContain(t, r, "stdout", "Prometheus query failed: prometheus: 1:5: parse error: unclosed left parenthesis")
		s.take()
	})

	t.Run("bad params", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"prometheus_enricher", "promql_query=up", `duration:={"minutes": 5}`}, "duration: want duration_minutes, or both starts_at and ends_at"},
			{[]string{"prometheus_enricher", "promql_query=up", `duration:={"starts_at": "yesterday", "ends_at": "now"}`}, "times must look like '2024-01-02 10:00:00 UTC'"},
			{[]string{"pod_graph_enricher", "--pod", promNS + "/" + promPod, "resource_type=Disk"}, "a Disk graph of a pod is not supported"},
			{[]string{"pod_graph_enricher", "--pod", promNS + "/" + promPod, "resource_type=GPU"}, `"GPU" is not one of CPU, Memory, Disk`},
		} {
			r := lr(tc.args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
				t.Errorf("%v: %s", tc.args, r)
			}
		}
		if got := s.take(); len(got) != 0 {
			t.Errorf("bad params reached Prometheus: %+v", got)
		}
	})

	t.Run("given URLs skip discovery; in-cluster URLs are port-forwarded", func(t *testing.T) {
		r := lr("prometheus_all_available_metrics", "--prometheus-url", "http://"+s.addr)
		if r.code != 0 {
			t.Fatal(r)
		}
		mustContain(t, r, "stdout", `"node_cpu_seconds_total"`)
		if q := s.last(t); q.Path != "/api/v1/label/__name__/values" {
			t.Errorf("%+v", q)
		}
		r = lr("prometheus_get_label_names", "prometheus_url=http://"+promService+"."+promNS+".svc.cluster.local:9090", "match=up", "limit:=5")
		if r.code != 0 {
			t.Fatal(r)
		}
		mustContain(t, r, "stdout", `"labels"`)
		if q := s.last(t); q.Path != "/api/v1/labels" || strings.Join(q.Match, ",") != "up" {
			t.Errorf("%+v", q)
		}
		r = lr("prometheus_get_series", "--prometheus-url", "http://nope."+promNS+".svc:9090", "match=up")
		if r.code == 0 || !strings.Contains(r.stderr, "names service "+promNS+"/nope, which does not exist") {
			t.Errorf("missing in-cluster service: %s", r)
		}
	})

	t.Run("series and SLA", func(t *testing.T) {
		r := lr("prometheus_get_series", "match=up{job=\"api\"}", "start_time=2024-01-02T10:00:00Z", "-o", "json")
		if r.code != 0 {
			t.Fatal(r)
		}
		mustContain(t, r, "stdout", `\"series\"`)
		if q := s.last(t); q.Path != "/api/v1/series" || strings.Join(q.Match, ",") != `up{job="api"}` || q.Start != "1704189600.000" {
			t.Errorf("%+v", q)
		}
		r = lr("prometheus_sla_enricher", "promql_query=avg(up)", "operator=<", "threshold:=0.99")
		if r.code != 0 {
			t.Fatal(r)
		}
		mustContain(t, r, "stdout", "SLA VIOLATION 0.970 lt 0.99 ")
		if q := s.last(t); q.Path != "/api/v1/query" || q.Query != "avg(up)" {
			t.Errorf("%+v", q)
		}
	})

	t.Run("pod, node and alert graphs", func(t *testing.T) {
		node, err := c.Client.CoreV1().Nodes().Get(context.Background(), sandbox.FakeNodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ip := "<missing>"
		for _, a := range node.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				ip = a.Address
			}
		}
		nodeCPU := `1 - avg without (cpu) ( sum without (mode) (rate(node_cpu_seconds_total{job="node-exporter", instance=~"` + ip + `:[0-9]+", mode=~"idle|iowait|steal"}[5m]))) != 0`
		podCPU := `sum(irate(container_cpu_usage_seconds_total{namespace="` + promNS + `", pod=~"` + promPod + `"}[5m])) by (pod, job)`
		gen := "http://prometheus:9090/graph?g0.expr=" + "rate%28errors_total%5B5m%5D%29+%3E+0.5" + "&g0.tab=1"
		for _, tc := range []struct {
			name       string
			args       []string
			query      string
			seconds    float64
			step, want string
		}{
			{"pod cpu", []string{"pod_graph_enricher", "--pod", promNS + "/" + promPod, "resource_type=CPU"}, podCPU, 3600, "14.4", "graph CPU Usage for this pod (1 series, 251 points)"},
			{"pod memory 2h", []string{"pod_graph_enricher", "--pod", promNS + "/" + promPod, "resource_type=Memory", "graph_duration_minutes:=120", "display_limits=true"},
				`sum(max(container_memory_working_set_bytes{namespace="` + promNS + `", pod=~"` + promPod + `", container!="", image!=""}) by (container, pod, job)) by (container, pod, job)`, 7200, "60.0", "graph Memory Usage for this pod"},
			{"node cpu", []string{"node_graph_enricher", "--node", sandbox.FakeNodeName, "resource_type=CPU"}, nodeCPU, 3600, "14.4", "graph CPU Utilization for this node"},
			{"pod's node disk", []string{"pod_node_graph_enricher", "--pod", promNS + "/" + promPod, "resource_type=Disk"},
				`sum(sort_desc(1 -(max without (mountpoint, fstype) (node_filesystem_avail_bytes{job="node-exporter", fstype!="", instance=~"` + ip + `:[0-9]+"})/max without (mountpoint, fstype) (node_filesystem_size_bytes{job="node-exporter", fstype!="", instance=~"` + ip + `:[0-9]+"})) != 0))`, 3600, "14.4", "graph Disk Utilization for this node"},
			{"override", []string{"pod_graph_enricher", "--pod", promNS + "/" + promPod, "resource_type=CPU",
				`prometheus_graphs_overrides:=[{"resource_type": "CPU", "item_type": "Pod", "query": "my_cpu{pod=\"$pod\"}"}]`}, `my_cpu{pod="` + promPod + `"}`, 3600, "14.4", "graph CPU Usage for this pod"},
			// Over an hour: one point a minute, the step from the alert's exact age.
			{"alert pod cpu since the alert started 3h ago", []string{"alert_graph_enricher", "--alert", promAlert(t, map[string]string{"alertname": "CPUHigh", "pod": promPod, "namespace": promNS}, 3*time.Hour, ""),
				"resource_type=CPU", "item_type=Pod"}, podCPU, 3 * 3600, "", "graph CPU Usage for this pod (1 series, "},
			{"alert node via its pod", []string{"alert_graph_enricher", "--alert", promAlert(t, map[string]string{"alertname": "NodeCPU", "pod": promPod, "namespace": promNS}, time.Minute, ""),
				"resource_type=CPU", "item_type=Node"}, nodeCPU, 3600, "14.4", "graph CPU Utilization for this node"},
			{"custom", []string{"custom_graph_enricher", "--alert", promAlert(t, map[string]string{"alertname": "Custom", "pod": promPod, "namespace": promNS}, time.Minute, ""),
				`promql_query=rate(http_requests_total{pod="$pod", zone="$zone"}[1m])`, "graph_title=Requests of $name in $namespace", "chart_values_format=Percentage"},
				`rate(http_requests_total{pod="` + promPod + `", zone="<missing>"}[1m])`, 3600, "14.4", "graph Requests of " + promPod + " in " + promNS},
			{"alert expression", []string{"graph_enricher", "--alert", promAlert(t, map[string]string{"alertname": "Errors"}, time.Minute, gen)},
				"rate(errors_total[5m]) > 0.5", 3600, "14.4", "graph rate(errors_total[5m]) > 0.5"},
		} {
			r := lr(tc.args...)
			if r.code != 0 {
				t.Errorf("%s: %s", tc.name, r)
				s.take()
				continue
			}
			q := s.last(t)
			if tc.step == "" {
				// The step is sent unrounded; the range only to the millisecond.
				secs := rangeSeconds(t, q)
				if st, err := strconv.ParseFloat(q.Step, 64); err == nil && math.Abs(st-secs/math.Ceil(secs/60)) < 0.01 {
					tc.step = q.Step
				}
			}
			if q.Query != tc.query || q.Step != tc.step || math.Abs(rangeSeconds(t, q)-tc.seconds) > 5 {
				t.Errorf("%s: sent %q step %s over %.0fs\nwant %q step %s over %.0fs", tc.name, q.Query, q.Step, rangeSeconds(t, q), tc.query, tc.step, tc.seconds)
			}
			if !strings.Contains(r.stdout, tc.want) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, tc.want, r.stdout)
			}
		}
	})

	t.Run("overcommit", func(t *testing.T) {
		alert := promAlert(t, map[string]string{"alertname": "KubeCPUOvercommit"}, time.Minute, "")
		for _, tc := range []struct {
			action, what string
			queries      []string
		}{
			{"cpu_overcommited_enricher", "is: 0.97, and total of allocatable CPU is: 0.97.", []string{
				"sum(avg_over_time(namespace_cpu:kube_pod_container_resource_requests:sum{}[600s]))",
				`sum(avg_over_time(kube_node_status_allocatable{resource="cpu"}[600s]))`}},
			{"memory_overcommited_enricher", "is: 0.97 bytes, and total of allocatable Memory is: 0.97 bytes.", []string{
				"sum(avg_over_time(namespace_memory:kube_pod_container_resource_requests:sum{}[300s]))",
				`sum(avg_over_time(kube_node_status_allocatable{resource="memory"}[300s]))`}},
		} {
			args := []string{tc.action, "--alert", alert}
			if tc.action == "memory_overcommited_enricher" {
				args = append(args, "default_query_duration:=300")
			}
			r := lr(args...)
			if r.code != 0 {
				t.Fatal(r)
			}
			mustContain(t, r, "stdout", tc.what)
			mustContain(t, r, "stdout", "if a single node fails then some pods might not be scheduled")
			var sent []string
			for _, q := range s.take() {
				sent = append(sent, q.Path+" "+q.Query)
			}
			if strings.Join(sent, "\n") != "/api/v1/query "+tc.queries[0]+"\n/api/v1/query "+tc.queries[1] {
				t.Errorf("%s sent:\n%s", tc.action, strings.Join(sent, "\n"))
			}
		}
	})

	t.Run("one port-forward for a chain", func(t *testing.T) {
		pb := filepath.Join(t.TempDir(), "pb.yaml")
		if err := os.WriteFile(pb, []byte("- pod_graph_enricher: {resource_type: CPU}\n- pod_graph_enricher: {resource_type: Memory}\n- prometheus_all_available_metrics: {}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		s.connections()
		r := lr("--playbook", pb, "--pod", promNS+"/"+promPod, "-o", "json")
		if r.code != 0 {
			t.Fatal(r)
		}
		var f struct {
			Enrichments []struct {
				Blocks []struct {
					Type  string `json:"type"`
					Graph *struct {
						Title  string `json:"title"`
						Series []struct {
							Values []*float64 `json:"values"`
						} `json:"series"`
					} `json:"graph"`
				} `json:"blocks"`
			} `json:"enrichments"`
		}
		decode(t, r.stdout, &f)
		if len(f.Enrichments) != 3 || f.Enrichments[0].Blocks[0].Graph == nil || len(f.Enrichments[0].Blocks[0].Graph.Series[0].Values) != 251 {
			t.Errorf("finding: %s", r.stdout)
		}
		if got := s.take(); len(got) != 3 {
			t.Errorf("%d requests, want 3", len(got))
		}
		// One port-forward, its connection kept alive: three forwards would open three.
		if n := s.connections(); n != 1 {
			t.Errorf("the stand-in saw %d connections for 3 requests, want 1", n)
		}
	})
}

// amRequest is what the Alertmanager stand-in received.
type amRequest struct{ Method, Path, Auth, Extra, Body string }

type amStandIn struct {
	mu   sync.Mutex
	reqs []amRequest
}

func (s *amStandIn) take() []amRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.reqs
	s.reqs = nil
	return out
}

func (s *amStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, amRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("X-Extra"), string(b)})
	s.mu.Unlock()
	reply := func(code int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/alertmanager/grafana")
	switch {
	case r.Method == "GET" && path == "/api/v2/silences":
		reply(200, `[{"id":"6f7a","status":{"state":"active"},"comment":"deploy","createdBy":"ann","startsAt":"2024-01-02T10:00:00.000Z","endsAt":"2024-01-02T12:00:00Z","updatedAt":"2024-01-02T10:00:00Z",
			"matchers":[{"isEqual":true,"isRegex":false,"name":"alertname","value":"KubePodCrashLooping"},{"isRegex":true,"name":"namespace","value":"prod-.*"}]}]`)
	case r.Method == "POST" && path == "/api/v2/silences":
		reply(200, `{"silenceID":"9b1c-new"}`)
	case r.Method == "DELETE" && path == "/api/v2/silence/6f7a":
		reply(200, ``)
	case r.Method == "DELETE":
		reply(404, `silence not found`)
	case r.Method == "POST" && path == "/api/v2/alerts":
		reply(200, ``)
	default:
		reply(404, `not found`)
	}
}

// TestLocalAlertmanagerActions runs the silence and alert actions against an
// Alertmanager stand-in found by the runner's selectors through a real port-forward:
// the requests' methods, paths, headers and bodies are the runner's; mutating ones
// send nothing without --apply.
func TestLocalAlertmanagerActions(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	lr := func(args ...string) result { return run(t, env, append([]string{"local", "run"}, args...)...) }
	s := &amStandIn{}
	startStandIn(t, c, "am-standin", "h14-alertmanager", map[string]string{"app": "kube-prometheus-stack-alertmanager"}, s, nil)
	s.take()

	r := lr("get_silences", "alertmanager_auth=Basic YWRtaW4=", `alertmanager_additional_headers:={"X-Extra": "yes"}`)
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{"6f7a", `{"state": "active"}`, "2024-01-02T10:00:00+00:00", "2024-01-02T12:00:00+00:00",
		`[{"isEqual": true, "isRegex": false, "name": "alertname", "value": "KubePodCrashLooping"}, {"isEqual": true, "isRegex": true, "name": "namespace", "value": "prod-.*"}]`} {
		mustContain(t, r, "stdout", want)
	}
	if got := s.take(); len(got) != 1 || got[0].Method != "GET" || got[0].Path != "/api/v2/silences" || got[0].Auth != "Basic YWRtaW4=" || got[0].Extra != "yes" {
		t.Errorf("requests %+v", got)
	}

	silence := []string{"comment=maintenance", "createdBy=ops", "startsAt=2024-01-02T10:00:00Z", "endsAt=2024-01-02T11:00:00Z",
		`matchers:=[{"name": "alertname", "value": "Watchdog", "isRegex": false}, {"name": "env", "value": "dev", "isRegex": false, "isEqual": false}]`}
	r = lr(append([]string{"add_silence"}, silence...)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "Would send POST /api/v2/silences")
	mustContain(t, r, "stderr", "dry run")
	if got := s.take(); len(got) != 0 {
		t.Errorf("the dry run sent %+v", got)
	}
	r = lr(append([]string{"add_silence", "--apply", "grafana_api_key=gk"}, silence...)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "9b1c-new")
	got := s.take()
	if len(got) != 1 || got[0].Method != "POST" || got[0].Path != "/api/v2/silences" || got[0].Auth != "Bearer gk" {
		t.Fatalf("requests %+v", got)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(got[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	ms, _ := json.Marshal(body["matchers"])
	if body["comment"] != "maintenance" || body["createdBy"] != "ops" || body["startsAt"] != "2024-01-02T10:00:00Z" ||
		string(ms) != `[{"isRegex":false,"name":"alertname","value":"Watchdog"},{"isEqual":false,"isRegex":false,"name":"env","value":"dev"}]` {
		t.Errorf("body %s", got[0].Body)
	}

	r = lr("delete_silence", "id=6f7a", "--apply")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "6f7a")
	if got := s.take(); len(got) != 1 || got[0].Method != "DELETE" || got[0].Path != "/api/v2/silence/6f7a" {
		t.Errorf("requests %+v", got)
	}
	r = lr("delete_silence", "id=nope", "--apply")
	if r.code == 0 || !strings.Contains(r.stderr, "delete silence failed") || !strings.Contains(r.stderr, "HTTP 404") {
		t.Errorf("unknown silence: %s", r)
	}
	s.take()

	r = lr("alertmanager_alert", "--apply", "alert_name=TestAlert", "pod_name=web-1", "labels=team=core, tier = db", "annotations=runbook=http://x")
	if r.code != 0 {
		t.Fatal(r)
	}
	got = s.take()
	if len(got) != 1 || got[0].Path != "/api/v2/alerts" {
		t.Fatalf("requests %+v", got)
	}
	var alerts []map[string]any
	if err := json.Unmarshal([]byte(got[0].Body), &alerts); err != nil || len(alerts) != 1 {
		t.Fatalf("%v %s", err, got[0].Body)
	}
	lb, _ := json.Marshal(alerts[0]["labels"])
	an, _ := json.Marshal(alerts[0]["annotations"])
	if string(lb) != `{"alertname":"TestAlert","namespace":"default","pod":"web-1","severity":"error","team":"core","tier":"db"}` ||
		string(an) != `{"description":"simulated alert manager alert","runbook":"http://x","summary":"alert manager alert created by Robusta"}` || alerts[0]["status"] != "firing" {
		t.Errorf("alert %s", got[0].Body)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add_silence", "comment=x", "createdBy=y", "startsAt=2024-01-02T10:00:00Z", "endsAt=2024-01-01T10:00:00Z", `matchers:=[{"name": "a", "value": "b", "isRegex": false}]`}, "endsAt 2024-01-01T10:00:00Z is not after startsAt"},
		{[]string{"add_silence", "comment=x", "createdBy=y", "startsAt=soon", "endsAt=later", `matchers:=[{"name": "a", "value": "b", "isRegex": false}]`}, `startsAt "soon": want an ISO 8601 time`},
		{[]string{"add_silence", "comment=x", "createdBy=y", "startsAt=2024-01-02T10:00:00Z", "endsAt=2024-01-02T11:00:00Z", `matchers:=[{"name": "a"}]`}, `matchers[0]: missing required parameter "isRegex"`},
		{[]string{"alertmanager_alert", "labels=novalue"}, `labels: "novalue" has no '='`},
	} {
		r := lr(tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %s", tc.args, r)
		}
	}
	if got := s.take(); len(got) != 0 {
		t.Errorf("bad params reached Alertmanager: %+v", got)
	}
}

// TestLocalHTTPActions sends http_get/post/put through the built binary to a local
// server: the method, query, form body and headers arrive; the answer is attached
// with get_response; an unreachable URL is reported in the finding, as the runner does.
func TestLocalHTTPActions(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	var mu sync.Mutex
	var got []string
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, fmt.Sprintf("%s %s?%s %s %s %s", r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("X-Token"), b))
		mu.Unlock()
		_, _ = io.WriteString(w, "pong")
	})}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	base := "http://" + l.Addr().String() + "/hook"
	for _, tc := range []struct {
		args      []string
		want, out string
	}{
		{[]string{"http_get", "url=" + base + "?a=1", `params:={"b": "2"}`, "get_response=true"}, "GET /hook?a=1&b=2   ", "Response received from " + base + "?a=1"},
		{[]string{"http_post", "url=" + base, `data:={"k": "v"}`, `headers:={"X-Token": "t"}`}, "POST /hook? application/x-www-form-urlencoded t k=v", base + " status check"},
		{[]string{"http_put", "url=" + base, "data=raw text", "get_response=true"}, "PUT /hook? text/plain  raw text", "Response.txt"},
	} {
		r := run(t, env, append([]string{"local", "run"}, tc.args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, tc.out) {
			t.Errorf("%v: %s", tc.args, r)
		}
		mu.Lock()
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%v: server got %q, want %q", tc.args, got, tc.want)
		}
		got = nil
		mu.Unlock()
	}
	r := run(t, env, "local", "run", "http_get", "url=http://127.0.0.1:1/x")
	if r.code != 0 || !strings.Contains(r.stdout, "http://127.0.0.1:1/x is un-reachable") || !strings.Contains(r.stdout, "connection refused") {
		t.Errorf("unreachable: %s", r)
	}
}
