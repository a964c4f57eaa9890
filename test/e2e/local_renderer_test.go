package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// TestLocalReportRenderingTask runs report_rendering_task through the built binary:
// the renderer is found as the runner pod's port 8281 (a runner stand-in whose port
// 8281 kwok forwards to a local renderer stand-in), and, with GRAFANA_RENDERER_URL,
// reached directly.
func TestLocalReportRenderingTask(t *testing.T) {
	c := sandbox.Get(t)
	const ns = "h34-render"

	var mu sync.Mutex
	var forms [][2]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/render" || r.ParseForm() != nil {
			http.Error(w, "want a form POST to /render", http.StatusBadRequest)
			return
		}
		mu.Lock()
		forms = append(forms, [2]string{r.PostForm.Get("apiKey"), r.PostForm.Get("panelUrl")})
		mu.Unlock()
		_, _ = w.Write([]byte("PNG of " + r.PostForm.Get("panelUrl")))
	}))
	defer srv.Close()
	take := func() [][2]string {
		mu.Lock()
		defer mu.Unlock()
		out := forms
		forms = nil
		return out
	}

	runnerWithRenderer(t, c, ns, srv.URL)
	take()

	type finding struct {
		Title          string `json:"title"`
		AggregationKey string `json:"aggregation_key"`
		Type           string `json:"finding_type"`
		Enrichments    []struct {
			Blocks []struct {
				Type string `json:"type"`
				Name string `json:"name"`
				Text string `json:"text"`
				Data []byte `json:"data"`
			} `json:"blocks"`
		} `json:"enrichments"`
	}
	panels := []string{"http://grafana/d-solo/x?panelId=1&from=now-1h&to=now", "http://grafana/d-solo/x?panelId=2"}
	panelsJSON, _ := json.Marshal(panels)
	args := []string{"local", "run", "report_rendering_task", "grafana_api_key=key-h34-secret", "delays:=[60]",
		"reports_panel_urls:=" + string(panelsJSON), "report_name=Rollout report", "-o", "json"}
	check := func(t *testing.T, r result) {
		t.Helper()
		if r.code != 0 {
			t.Fatal(r)
		}
		if strings.Contains(r.stdout+r.stderr, "key-h34-secret") {
			t.Errorf("the api key is printed: %s", r)
		}
		got := take()
		if len(got) != 2 || got[0] != [2]string{"key-h34-secret", panels[0]} || got[1] != [2]string{"key-h34-secret", panels[1]} {
			t.Fatalf("renderer got %q", got)
		}
		var f finding
		if err := json.Unmarshal([]byte(r.stdout), &f); err != nil {
			t.Fatalf("output is not a finding: %v\n%s", err, r.stdout)
		}
		if f.Title != "Rollout report" || f.AggregationKey != "GrafanaReport" || f.Type != "report" || len(f.Enrichments) != 2 {
			t.Fatalf("finding %+v", f)
		}
		for i, e := range f.Enrichments {
			if len(e.Blocks) != 1 || e.Blocks[0].Type != "file" || e.Blocks[0].Name != "panel.png" || !bytes.Equal(e.Blocks[0].Data, []byte("PNG of "+panels[i])) {
				t.Errorf("enrichment %d: %+v", i, e.Blocks)
			}
		}
	}

	t.Run("through the runner pod", func(t *testing.T) {
		check(t, run(t, kubeconfigEnv(c.KubeconfigPath), args...))
	})

	t.Run("GRAFANA_RENDERER_URL", func(t *testing.T) {
		// No kubeconfig at all: the URL alone is enough.
		check(t, run(t, []string{"KUBECONFIG=/nonexistent/kubeconfig", "GRAFANA_RENDERER_URL=" + srv.URL + "/render"}, args...))
	})

	t.Run("renderer down", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		r := run(t, append(kubeconfigEnv(c.KubeconfigPath), "GRAFANA_RENDERER_URL=http://"+addr+"/render"), args...)
		if r.code != 0 {
			t.Fatal(r)
		}
		var f finding
		if err := json.Unmarshal([]byte(r.stdout), &f); err != nil {
			t.Fatalf("output is not a finding: %v\n%s", err, r.stdout)
		}
		if len(f.Enrichments) != 1 || len(f.Enrichments[0].Blocks) != 1 || f.Enrichments[0].Blocks[0].Type != "markdown" ||
			!strings.Contains(f.Enrichments[0].Blocks[0].Text, "grafanaRenderer.enableContainer") {
			t.Fatalf("want the advice block, got %+v", f.Enrichments)
		}
		if strings.Contains(r.stdout+r.stderr, "key-h34-secret") {
			t.Errorf("the api key is printed: %s", r)
		}
	})

	t.Run("bad GRAFANA_RENDERER_URL", func(t *testing.T) {
		r := run(t, append(kubeconfigEnv(c.KubeconfigPath), "GRAFANA_RENDERER_URL=http://"), args...)
		if r.code == 0 || !strings.Contains(r.stderr, "GRAFANA_RENDERER_URL") || strings.Contains(r.stderr, "goroutine") {
			t.Fatalf("want a one-line error naming GRAFANA_RENDERER_URL: %s", r)
		}
	})
}

// runnerWithRenderer creates a runner pod in ns whose port 8281 (the runner's
// grafana-renderer container) kwok forwards to the stand-in at url, waits until a
// port-forward reaches the stand-in, and removes both at the end of the test.
func runnerWithRenderer(t *testing.T, c *sandbox.Cluster, ns, url string) *sandbox.Runner {
	t.Helper()
	ctx := context.Background()
	rn, err := c.CreateRunner(ctx, sandbox.RunnerSpec{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Dynamic.Resource(gvrKwokPortForward).Namespace(ns).Delete(context.Background(), rn.Pod, metav1.DeleteOptions{})
		if err := c.DeleteRunner(context.Background(), rn); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	host, portStr, _ := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	port, _ := strconv.ParseInt(portStr, 10, 64)
	pf := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "PortForward",
		"metadata": map[string]any{"name": rn.Pod, "namespace": ns},
		"spec": map[string]any{"forwards": []any{map[string]any{
			"ports": []any{int64(8281)}, "target": map[string]any{"address": host, "port": port}}}},
	}}
	if _, err := c.Dynamic.Resource(gvrKwokPortForward).Namespace(ns).Create(ctx, pf, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kf := kube.NewFactory(kube.Options{Kubeconfig: c.KubeconfigPath})
	waitFor(t, func() bool {
		fw, err := kf.OpenPortForward(ctx, ns, rn.Pod, 8281)
		if err != nil {
			return false
		}
		defer fw.Close()
		hc := &http.Client{Timeout: 3 * time.Second}
		resp, err := hc.Post("http://"+fw.Addr()+"/render", "application/x-www-form-urlencoded", strings.NewReader("panelUrl=probe"))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200
	}, "port 8281 of the runner pod in "+ns+" is not forwarded to its renderer stand-in")
	return rn
}
