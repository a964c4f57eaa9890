package runner

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// The runner search of the command (local watch's -n / --runner-pod) reaches the
// actions a playbook runs: report_rendering_task looks for the runner pod in the
// namespace given, not everywhere.
func TestRunnerFindReachesActions(t *testing.T) {
	t.Setenv("GRAFANA_RENDERER_URL", "")
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"PodList","apiVersion":"v1","items":[]}`))
	}))
	defer srv.Close()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: %q}}]\nusers: [{name: u, user: {}}]\n"+
		"contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n", srv.URL)
	if err := os.WriteFile(kc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		find kube.FindOptions
		want string
	}{
		{kube.FindOptions{Namespace: "robusta-b"}, "/api/v1/namespaces/robusta-b/pods"},
		{kube.FindOptions{}, "/api/v1/pods"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			mu.Lock()
			paths = nil
			mu.Unlock()
			c := load(t, `customPlaybooks:
- triggers: [{on_pod_update: {}}]
  actions: [{report_rendering_task: {grafana_api_key: k, delays: [60], reports_panel_urls: ["http://g/d-solo/x"]}}]
`)
			sink := &memSink{name: "mem"}
			r := &Runner{Workers: 1, KF: kube.NewFactory(kube.Options{Kubeconfig: kc}), Find: tc.find, Always: []sinks.Sink{sink}}
			if err := r.Start(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			r.Submit(crashingPod("api-1"))
			stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r.Stop(stop)
			mu.Lock()
			defer mu.Unlock()
			if len(paths) != 1 || paths[0] != tc.want {
				t.Fatalf("the action asked the API for %q, want one runner search at %s", paths, tc.want)
			}
		})
	}
}
