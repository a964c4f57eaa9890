package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// recorder is a stand-in HTTP server that records each request as one line and
// answers with reply.
type recorder struct {
	mu    sync.Mutex
	reqs  []string
	bodys []string
	reply func(r *http.Request, body string) (int, string)
}

func (s *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	_ = r.ParseForm()
	line := r.Method + " " + r.URL.Path
	if q := r.URL.RawQuery; q != "" {
		line += "?" + q
	}
	if a := r.Header.Get("Authorization"); a != "" {
		line += " auth=" + a
	}
	s.mu.Lock()
	s.reqs, s.bodys = append(s.reqs, line), append(s.bodys, string(b))
	s.mu.Unlock()
	code, out := 200, "{}"
	if s.reply != nil {
		code, out = s.reply(r, string(b))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(code)
	_, _ = io.WriteString(w, out)
}

// take returns the requests and bodies recorded since the last take.
func (s *recorder) take() ([]string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, b := s.reqs, s.bodys
	s.reqs, s.bodys = nil, nil
	return r, b
}

func serveLocal(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

const (
	oomNode = "h22-oom-node"
	oomIP   = "10.22.0.7"
	oomPod  = "h22-oomed"
)

// oomFixtures makes a node kwok does not manage (so the statuses written here stay)
// and a pod on it whose container was OOM-killed two minutes ago.
func oomFixtures(t *testing.T, c *sandbox.Cluster) time.Time {
	t.Helper()
	ctx := context.Background()
	if err := c.EnsureNamespace(ctx, promNS); err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: oomNode}}
	n, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		n, err = c.Client.CoreV1().Nodes().Get(ctx, oomNode, metav1.GetOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	// Controllers update a new node too: retry on conflicts.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if n, err = c.Client.CoreV1().Nodes().Get(ctx, oomNode, metav1.GetOptions{}); err != nil {
			return err
		}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: oomIP}}
		_, err = c.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	killed := time.Now().Add(-2 * time.Minute).UTC().Truncate(time.Second)
	pod := &corev1.Pod{
		// kwok would set its own Running status over the OOM one the test writes.
		ObjectMeta: metav1.ObjectMeta{Name: oomPod, Namespace: promNS, Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}},
		Spec: corev1.PodSpec{NodeName: oomNode, Containers: []corev1.Container{{Name: "app", Image: "app:1",
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("100Mi")},
				Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("50Mi")}}}}},
	}
	p, err := c.Client.CoreV1().Pods(promNS).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		zero := int64(0)
		_ = c.Client.CoreV1().Pods(promNS).Delete(ctx, oomPod, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		_ = c.Client.CoreV1().Nodes().Delete(ctx, oomNode, metav1.DeleteOptions{})
	})
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if p, err = c.Client.CoreV1().Pods(promNS).Get(ctx, oomPod, metav1.GetOptions{}); err != nil {
			return err
		}
		return setOOMStatus(ctx, c, p, killed)
	}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Client.CoreV1().Pods(promNS).Get(ctx, oomPod, metav1.GetOptions{})
	if err != nil || len(got.Status.ContainerStatuses) != 1 || got.Status.ContainerStatuses[0].LastTerminationState.Terminated == nil {
		t.Fatalf("the pod's OOM status did not stay: %v %+v", err, got.Status)
	}
	return killed
}

// ensureOOM writes the OOM status again if something (a controller of the sandbox,
// seen once) rewrote the pod's status since oomFixtures.
func ensureOOM(t *testing.T, c *sandbox.Cluster, killed time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := c.Client.CoreV1().Pods(promNS).Get(ctx, oomPod, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].LastTerminationState.Terminated != nil {
			return nil
		}
		t.Logf("the pod's status was rewritten; setting the OOM kill again")
		return setOOMStatus(ctx, c, p, killed)
	}); err != nil {
		t.Fatal(err)
	}
}

func setOOMStatus(ctx context.Context, c *sandbox.Cluster, p *corev1.Pod, killed time.Time) error {
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: "app:1", RestartCount: 1,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(killed)}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137,
			StartedAt: metav1.NewTime(killed.Add(-time.Hour)), FinishedAt: metav1.NewTime(killed)}}}}
	_, err := c.Client.CoreV1().Pods(promNS).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

// classcProm answers each query the analyses send with data made for it.
func classcProm(r *http.Request, _ string) (int, string) {
	q := r.Form.Get("query")
	vec := func(items ...string) string {
		return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(items, ",") + `]}}`
	}
	sample := func(metric, v string) string { return `{"metric":` + metric + `,"value":[1700000000,"` + v + `"]}` }
	switch {
	case r.URL.Path == "/-/ready":
		return 200, "ok"
	case r.URL.Path == "/api/v1/query_range":
		start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
		end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
		step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
		peak := "0.5"
		switch {
		case strings.Contains(q, "container_memory_usage_bytes"):
			peak = strconv.Itoa(99 * 1024 * 1024) // 99% of the 100Mi limit
		case strings.Contains(q, "node_memory_utilisation"):
			peak = "0.97"
		}
		var vals []string
		for i := 0; step > 0 && start+float64(i)*step <= end && i < 5000; i++ {
			v := "0.1"
			if i == 3 {
				v = peak
			}
			vals = append(vals, fmt.Sprintf(`[%f,"%s"]`, start+float64(i)*step, v))
		}
		return 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"container":"app","pod":"` + oomPod + `","job":"kubelet"},"values":[` + strings.Join(vals, ",") + `]}]}}`
	case strings.Contains(q, "kubernetes_build_info"):
		return 200, vec(sample(`{"git_version":"v1.31"}`, "1"), sample(`{"git_version":"v1.30","node":"n1"}`, "1"), sample(`{"git_version":"v1.31","node":"n2"}`, "1"))
	case strings.Contains(q, "kube_pod_container_resource_requests_cpu_cores"):
		return 200, vec(sample(`{"pod":"web-1"}`, "1"), sample(`{"pod":"db-0"}`, "0.5"))
	case strings.Contains(q, "node_cpu_seconds_total"):
		return 200, vec(sample(`{"instance":"`+oomIP+`:9100"}`, "0.6"))
	case strings.Contains(q, "by (pod) /"):
		return 200, vec(sample(`{"pod":"web-1"}`, "0.3"), sample(`{"pod":"web-2"}`, "0.001"))
	case strings.Contains(q, "by (pod)"):
		return 200, vec(sample(`{"pod":"web-1"}`, "1.2"), sample(`{"pod":"web-2"}`, "0.004"))
	case strings.Contains(q, "container_cpu_usage_seconds_total"):
		return 200, vec(sample(`{}`, "0.4"))
	}
	return 400, `{"status":"error","error":"unexpected query"}`
}

// TestLocalClassCPrometheusMore runs node_cpu_enricher, oomkilled_container_graph_enricher,
// oom_killer_enricher and version_mismatch_enricher through the built binary against a
// Prometheus stand-in found by the runner's selectors through a real port-forward: the
// queries, ranges and steps are the runner's, and the findings carry its blocks.
func TestLocalClassCPrometheusMore(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	lr := func(args ...string) result { return run(t, env, append([]string{"local", "run"}, args...)...) }
	prom := &recorder{reply: classcProm}
	startStandIn(t, c, "h22-prom", "h22-kps-prometheus", map[string]string{"app": "kube-prometheus-stack-prometheus"}, prom, nil)
	killed := oomFixtures(t, c)
	prom.take()

	t.Run("node_cpu_enricher", func(t *testing.T) {
		dir := t.TempDir()
		r := lr("node_cpu_enricher", "--node", oomNode, "--save-files", dir)
		if r.code != 0 {
			t.Fatal(r)
		}
		reqs, bodies := prom.take()
		sel := `instance=~"` + oomNode + `|` + oomIP + `:.*"`
		cont := `sum(rate(           container_cpu_usage_seconds_total{node="` + oomNode + `",pod!="",image!=""}[5m]))`
		norm := `/ scalar(sum (machine_cpu_cores{node="` + oomNode + `"}))`
		want := []string{
			`1- avg by(instance)(rate(   node_cpu_seconds_total{mode=~"idle", ` + sel + `}[5m]))- avg by(instance)(rate(   node_cpu_seconds_total{mode=~"iowait", ` + sel + `}[5m]))`,
			cont + "  " + norm, cont + " by (pod) " + norm, cont + " by (pod) ",
			`sum by (pod)(kube_pod_container_resource_requests_cpu_cores{node="` + oomNode + `"})`,
		}
		if len(reqs) != len(want) {
			t.Fatalf("requests %q", reqs)
		}
		for i, w := range want {
			form, _ := url.ParseQuery(bodies[i])
			if reqs[i] != "POST /api/v1/query" || form.Get("query") != w {
				t.Errorf("query %d: %s %q\nwant %q", i, reqs[i], form.Get("query"), w)
			}
		}
		for _, s := range []string{"Node CPU Analysis", "*Total CPU usage on node:* 60%", "*Container CPU usage on node:* 40%",
			"*Non-container CPU usage on node:* 19%", "*Pods with CPU > 0.5*", "web-1: *30.0%*"} {
			mustContain(t, r, "stdout", s)
		}
		if strings.Contains(r.stdout, "web-2:") {
			t.Errorf("a pod under the threshold is listed:\n%s", r.stdout)
		}
		for _, f := range []string{"treemap.svg", "usage_vs_requested.svg"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil || !strings.Contains(string(b), "<svg") {
				t.Errorf("%s: %v", f, err)
			}
			if f == "treemap.svg" && (!strings.Contains(string(b), "Free CPU") || !strings.Contains(string(b), "web-1")) {
				t.Errorf("treemap lacks its areas")
			}
			if f == "usage_vs_requested.svg" && !strings.Contains(string(b), "db-0") {
				t.Errorf("bar chart lacks db-0, which has a request")
			}
		}
	})

	t.Run("oomkilled_container_graph_enricher", func(t *testing.T) {
		ensureOOM(t, c, killed)
		r := lr("oomkilled_container_graph_enricher", "--pod", promNS+"/"+oomPod, "resource_type=Memory", "-o", "json")
		if r.code != 0 {
			t.Fatal(r)
		}
		reqs, bodies := prom.take()
		if len(reqs) != 1 || reqs[0] != "POST /api/v1/query_range" {
			t.Fatalf("requests %q: %s", reqs, r)
		}
		form, _ := url.ParseQuery(bodies[0])
		wantQ := `sum(max(container_memory_working_set_bytes{namespace="` + promNS + `", pod=~"` + oomPod + `", container=~"app", image!=""}) by (container, pod, job)) by (container, pod, job)`
		start, _ := strconv.ParseFloat(form.Get("start"), 64)
		end, _ := strconv.ParseFloat(form.Get("end"), 64)
		// An hour before the kill to half an hour after it (past now), 60 s a point.
		if form.Get("query") != wantQ || int64(start) != killed.Add(-time.Hour).Unix() || int64(end) != killed.Add(30*time.Minute).Unix() || form.Get("step") != "60.0" {
			t.Errorf("sent %q %s..%s step %s", form.Get("query"), form.Get("start"), form.Get("end"), form.Get("step"))
		}
		var f struct {
			Enrichments []struct {
				Title  string `json:"title"`
				Blocks []struct {
					Graph *struct {
						Title string `json:"title"`
						Lines []struct {
							Label    string  `json:"label"`
							Value    float64 `json:"value"`
							Vertical bool    `json:"vertical"`
						} `json:"lines"`
					} `json:"graph"`
				} `json:"blocks"`
			} `json:"enrichments"`
		}
		decode(t, r.stdout, &f)
		if len(f.Enrichments) != 1 || f.Enrichments[0].Blocks[0].Graph == nil {
			t.Fatalf("finding %s", r.stdout)
		}
		g := f.Enrichments[0].Blocks[0].Graph
		lines, _ := json.Marshal(g.Lines)
		if g.Title != "Memory Usage for container app" || string(lines) != fmt.Sprintf(`[{"label":"Limit","value":104857600,"vertical":false},{"label":"Request","value":52428800,"vertical":false},{"label":"OOM Kill Time","value":%d,"vertical":true}]`, killed.Unix()) {
			t.Errorf("graph %s %s", g.Title, lines)
		}
	})

	t.Run("oom_killer_enricher", func(t *testing.T) {
		ensureOOM(t, c, killed)
		alert := promAlert(t, map[string]string{"alertname": "KubeNodeOOM", "node": oomNode}, time.Minute, "")
		r := lr("oom_killer_enricher", "--alert", alert)
		if r.code != 0 {
			t.Fatal(r)
		}
		reqs, bodies := prom.take()
		if len(reqs) != 1 {
			t.Fatalf("requests %q: %s", reqs, r)
		}
		form, _ := url.ParseQuery(bodies[0])
		if form.Get("query") != `container_memory_usage_bytes{node="`+oomNode+`", pod="`+oomPod+`", image!="", container!="POD", container="app", id=~"/kubepods/.*"}` ||
			form.Get("step") != "1" || math.Abs(rangeSeconds(t, promRequest{Start: form.Get("start"), End: form.Get("end")})-1200) > 0.01 {
			t.Errorf("sent %v", form)
		}
		for _, s := range []string{oomPod, "app:1", "MemorySpecs(requests='50Mi', limits='100Mi')", "container used too much memory: reached 0.99 percentage of its specified limit", killed.Format(time.RFC3339)} {
			mustContain(t, r, "stdout", s)
		}
	})

	t.Run("version_mismatch_enricher", func(t *testing.T) {
		alert := promAlert(t, map[string]string{"alertname": "KubeVersionMismatch"}, time.Minute, "")
		r := lr("version_mismatch_enricher", "--alert", alert)
		if r.code != 0 {
			t.Fatal(r)
		}
		reqs, bodies := prom.take()
		form, _ := url.ParseQuery(strings.Join(bodies, "&"))
		if len(reqs) != 1 || form.Get("query") != `count by (git_version, node) (label_replace(kubernetes_build_info{job!~"kube-dns|coredns"}, "git_version", "$1", "git_version", "(v[0-9]*.[0-9]*).*"))` {
			t.Errorf("sent %q %v", reqs, form)
		}
		for _, s := range []string{"The kubernetes api server is version v1.31.", "n1", "v1.30", "update all of your nodes"} {
			mustContain(t, r, "stdout", s)
		}
	})
}

// TestLocalGrafanaActions: the annotation actions find Grafana by the runner's selector
// (app.kubernetes.io/name=grafana) through a real port-forward, read the dashboard and,
// with --apply only, post the runner's annotation body with the bearer key.
func TestLocalGrafanaActions(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	lr := func(args ...string) result { return run(t, env, append([]string{"local", "run"}, args...)...) }
	ctx := context.Background()

	// No Grafana yet: the selector tried and how to give a URL.
	alert := promAlert(t, map[string]string{"alertname": "HighLatency", "team": "core"}, time.Minute, "http://prom/graph?g0.expr=up")
	r := lr("add_alert_lines_to_grafana", "--alert", alert, "grafana_api_key=gk", "grafana_dashboard_uid=abc")
	if r.code == 0 || !strings.Contains(r.stderr, "app.kubernetes.io/name=grafana") || !strings.Contains(r.stderr, "--grafana-url") {
		t.Errorf("no grafana: %s", r)
	}

	gf := &recorder{reply: func(r *http.Request, _ string) (int, string) {
		switch r.URL.Path {
		case "/-/ready":
			return 200, "ok"
		case "/api/dashboards/uid/abc":
			return 200, `{"dashboard":{"id":42,"uid":"abc","panels":[{"id":5,"title":"Latency p99"},{"id":6,"title":"Errors"}]}}`
		case "/api/annotations":
			return 200, `{"id":1,"message":"Annotation added"}`
		}
		return 404, `{"message":"Dashboard not found"}`
	}}
	startStandIn(t, c, "h22-grafana", "h22-grafana", map[string]string{"app.kubernetes.io/name": "grafana"}, gf, nil)
	gf.take()

	r = lr("add_alert_lines_to_grafana", "--alert", alert, "grafana_api_key=gk", "grafana_dashboard_uid=abc")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "Would send POST /api/annotations")
	mustContain(t, r, "stderr", "dry run")
	if reqs, _ := gf.take(); strings.Join(reqs, "\n") != "GET /api/dashboards/uid/abc auth=Bearer gk" {
		t.Errorf("the dry run sent %q", reqs)
	}

	r = lr("add_alert_lines_to_grafana", "--alert", alert, "grafana_api_key=gk", "grafana_dashboard_uid=abc", "grafana_dashboard_panel=latency", "--apply")
	if r.code != 0 {
		t.Fatal(r)
	}
	reqs, bodies := gf.take()
	if len(reqs) != 2 || reqs[1] != "POST /api/annotations auth=Bearer gk" {
		t.Fatalf("requests %q", reqs)
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(bodies[1]), &a); err != nil {
		t.Fatal(err)
	}
	tags, _ := json.Marshal(a["tags"])
	if a["dashboardId"] != 42.0 || a["panelId"] != 5.0 || a["timeEnd"] != nil || string(tags) != `["alertname=HighLatency","team=core"]` ||
		a["text"] != `<h2>s</h2><a href="http://prom/graph?g0.expr=up">Open in AlertManager</a>` || int64(a["time"].(float64))%1000 != 0 {
		t.Errorf("body %s", bodies[1])
	}
	if strings.Contains(r.stdout+r.stderr, "gk") {
		t.Errorf("the key was printed: %s", r)
	}

	// A deployment's image change, on the whole dashboard, with cluster and custom tags.
	if err := c.EnsureNamespace(ctx, promNS); err != nil {
		t.Fatal(err)
	}
	one := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "h22-web", Namespace: promNS},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "h22-web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "h22-web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}}}
	if _, err := c.Client.AppsV1().Deployments(promNS).Create(ctx, dep, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Client.AppsV1().Deployments(promNS).Delete(ctx, "h22-web", metav1.DeleteOptions{}) })
	old := filepath.Join(t.TempDir(), "old.json")
	writeJSON(t, old, map[string]any{"kind": "Deployment", "metadata": map[string]any{"name": "h22-web", "namespace": promNS},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx:1.26"}}}}}})
	r = lr("add_deployment_lines_to_grafana", "--deployment", promNS+"/h22-web", "--old", old, "grafana_api_key=gk", "grafana_dashboard_uid=abc",
		"cluster_name=eu-1", `custom_tags:=["deploys"]`, "--apply")
	if r.code != 0 {
		t.Fatal(r)
	}
	reqs, bodies = gf.take()
	if len(reqs) != 2 {
		t.Fatalf("requests %q", reqs)
	}
	a = nil
	_ = json.Unmarshal([]byte(bodies[1]), &a)
	tags, _ = json.Marshal(a["tags"])
	if a["panelId"] != nil || string(tags) != `["h22-web","`+promNS+`","eu-1","deploys"]` ||
		a["text"] != "image name:<pre>nginx</pre>new tag:<pre>1.27</pre>old tag<pre>1.26</pre><hr class='solid'>" {
		t.Errorf("body %s", bodies[1])
	}

	// --grafana-url skips discovery; an unknown dashboard is a clear error.
	r = lr("add_alert_lines_to_grafana", "--alert", alert, "grafana_api_key=gk", "grafana_dashboard_uid=nope", "--grafana-url", "http://h22-grafana."+promNS+".svc:9090")
	if r.code == 0 || !strings.Contains(r.stderr, "grafana dashboard nope") || !strings.Contains(r.stderr, "HTTP 404") {
		t.Errorf("unknown dashboard: %s", r)
	}
	gf.take()
}

// TestLocalExternalClassC runs argo_app_sync, show_stackoverflow_search,
// json_change_tracker and git_change_audit through the built binary against local
// stand-ins (and a bare git repository over file://, with no git program on PATH).
func TestLocalExternalClassC(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	lr := func(args ...string) result { return run(t, env, append([]string{"local", "run"}, args...)...) }
	ctx := context.Background()

	t.Run("argo_app_sync", func(t *testing.T) {
		argo := &recorder{reply: func(r *http.Request, _ string) (int, string) {
			if strings.Contains(r.URL.Path, "/broken/") {
				return 500, `{"error":"boom"}`
			}
			return 200, `{}`
		}}
		base := serveLocal(t, argo)
		args := []string{"argo_app_sync", "argo_url=" + base, "argo_token=tok", "argo_app_name=shop"}
		r := lr(args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Would send POST /api/v1/applications/shop/sync") {
			t.Errorf("dry run: %s", r)
		}
		if reqs, _ := argo.take(); len(reqs) != 0 {
			t.Errorf("the dry run sent %q", reqs)
		}
		r = lr(append(args, "--apply")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Argo CD app sync for application: *shop* ended with *success*") || !strings.Contains(r.stdout, "Argo CD application sync") {
			t.Errorf("sync: %s", r)
		}
		if reqs, _ := argo.take(); strings.Join(reqs, "\n") != "POST /api/v1/applications/shop/sync auth=Bearer tok" {
			t.Errorf("sent %q", reqs)
		}
		r = lr("argo_app_sync", "argo_url="+base, "argo_token=tok", "argo_app_name=broken", "--apply")
		if r.code != 0 || !strings.Contains(r.stdout, "ended with *failure*") {
			t.Errorf("failed sync: %s", r)
		}
		argo.take()
		r = lr("argo_app_sync", "argo_url=argocd", "argo_token=tok", "argo_app_name=x")
		if r.code == 0 || !strings.Contains(r.stderr, "argo_url") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("bad url: %s", r)
		}
	})

	t.Run("show_stackoverflow_search", func(t *testing.T) {
		so := &recorder{reply: func(r *http.Request, _ string) (int, string) {
			if r.URL.Query().Get("q") == "nothing" {
				return 200, `{"items":[]}`
			}
			return 200, `{"items":[{"link":"https://stackoverflow.com/q/1","title":"Pod OOMKilled"},{"link":"https://stackoverflow.com/q/2","title":"Why OOM"}]}`
		}}
		base := serveLocal(t, so) + "/2.2"
		r := lr("show_stackoverflow_search", "search_term=KubePodOOM killed", "stackexchange_api_url="+base)
		if r.code != 0 {
			t.Fatal(r)
		}
		for _, s := range []string{"KubePodOOM killed StackOverflow Results", "<https://stackoverflow.com/q/1|Pod OOMKilled>", "<https://stackoverflow.com/q/2|Why OOM>"} {
			mustContain(t, r, "stdout", s)
		}
		if reqs, _ := so.take(); strings.Join(reqs, "\n") != "GET /2.2/search/advanced?order=desc&sort=relevance&q=KubePodOOM%20killed&site=stackoverflow" {
			t.Errorf("sent %q", reqs)
		}
		r = lr("show_stackoverflow_search", "search_term=nothing", "stackexchange_api_url="+base)
		if r.code != 0 || !strings.Contains(r.stdout, `Sorry, StackOverflow doesn't know anything about "nothing"`) {
			t.Errorf("no results: %s", r)
		}
	})

	// A deployment changed from nginx:1.26 to its live nginx:1.27.
	if err := c.EnsureNamespace(ctx, promNS); err != nil {
		t.Fatal(err)
	}
	one := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "h22-audit", Namespace: promNS},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "h22-audit"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "h22-audit"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}}}
	if _, err := c.Client.AppsV1().Deployments(promNS).Create(ctx, dep, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Client.AppsV1().Deployments(promNS).Delete(ctx, "h22-audit", metav1.DeleteOptions{}) })
	old := filepath.Join(t.TempDir(), "old.json")
	writeJSON(t, old, map[string]any{"kind": "Deployment", "metadata": map[string]any{"name": "h22-audit", "namespace": promNS},
		"spec": map[string]any{"replicas": 1, "template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx:1.26"}}}}}})

	t.Run("json_change_tracker", func(t *testing.T) {
		hook := &recorder{}
		base := serveLocal(t, hook)
		r := lr("json_change_tracker", "--deployment", promNS+"/h22-audit", "--old", old, "url="+base+"/changes?src=robusta", `headers:={"Authorization": "Token t1"}`)
		if r.code != 0 || !strings.Contains(r.stderr, "posted the update of deployment h22-audit") {
			t.Fatal(r)
		}
		reqs, bodies := hook.take()
		if strings.Join(reqs, "\n") != "POST /changes?src=robusta auth=Token t1" {
			t.Errorf("sent %q", reqs)
		}
		var doc struct {
			Operation string `json:"operation"`
			Kind      string `json:"kind"`
			Metadata  struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal([]byte(bodies[0]), &doc); err != nil || doc.Operation != "update" || doc.Kind != "Deployment" || doc.Metadata.Name != "h22-audit" ||
			!strings.Contains(bodies[0], "\n  \"") {
			t.Errorf("body %v %s", err, bodies[0])
		}
		r = lr("json_change_tracker", "--deployment", promNS+"/h22-audit", "--old", old, "url=http://127.0.0.1:1/x")
		if r.code == 0 || !strings.Contains(r.stderr, "post the update of deployment h22-audit to http://127.0.0.1:1/x") {
			t.Errorf("unreachable: %s", r)
		}
	})

	t.Run("git_change_audit", func(t *testing.T) {
		bare := t.TempDir()
		if _, err := git.PlainInit(bare, true); err != nil {
			t.Fatal(err)
		}
		noGit := append(append([]string{}, env...), "PATH="+t.TempDir())
		args := []string{"local", "run", "git_change_audit", "--deployment", promNS + "/h22-audit", "--old", old,
			"cluster_name=sandbox", "git_url=file://" + bare, "git_key=unused"}
		r := run(t, noGit, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Would push") || !strings.Contains(r.stderr, "dry run") {
			t.Fatalf("dry run: %s", r)
		}
		repo, err := git.PlainOpen(bare)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.Head(); err == nil {
			t.Errorf("the dry run pushed a commit")
		}
		r = run(t, noGit, append(args, "--apply")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Pushed") {
			t.Fatalf("apply: %s", r)
		}
		head, err := repo.Head()
		if err != nil {
			t.Fatal(err)
		}
		commit, err := repo.CommitObject(head.Hash())
		if err != nil {
			t.Fatal(err)
		}
		f, err := commit.File("sandbox/" + promNS + "/h22-audit.yaml")
		if err != nil {
			t.Fatal(err)
		}
		content, _ := f.Contents()
		if commit.Message != "Cluster sandbox::Update Deployment named h22-audit on namespace "+promNS || commit.Author.Name != "Robusta Runner" ||
			!strings.Contains(content, "image: nginx:1.27") {
			t.Errorf("commit %q by %s:\n%s", commit.Message, commit.Author.Name, content)
		}
		r = run(t, noGit, "local", "run", "git_change_audit", "--deployment", promNS+"/h22-audit", "--old", old,
			"cluster_name=sandbox", "git_url=git@example.invalid:a/b.git", "git_key=not a key", "--apply")
		if r.code == 0 || !strings.Contains(r.stderr, "git_key: not an SSH private key") {
			t.Errorf("bad key: %s", r)
		}
	})
}
