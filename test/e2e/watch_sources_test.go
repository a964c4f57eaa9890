package e2e

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/serve"
	"github.com/robusta-dev/robusta-go/internal/engine/triggers"
	"github.com/robusta-dev/robusta-go/internal/localapi"
)

func watchDemoChart() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "charts", "watch-demo")
}

// collect runs a source until stop is called and hands back what it emitted.
type wsCollected struct {
	mu  sync.Mutex
	ins []*triggers.Incoming
}

func (c *wsCollected) emit(in *triggers.Incoming) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ins = append(c.ins, in)
	return true
}

func (c *wsCollected) find(pred func(*triggers.Incoming) bool) *triggers.Incoming {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, in := range c.ins {
		if pred(in) {
			return in
		}
	}
	return nil
}

func wsWaitIncoming(t *testing.T, what string, c *wsCollected, pred func(*triggers.Incoming) bool) *triggers.Incoming {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if in := c.find(pred); in != nil {
			return in
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s", what)
	return nil
}

func wsCompile(t *testing.T, key string, params map[string]any) triggers.Trigger {
	t.Helper()
	tr, err := triggers.Compile(context.Background(), key, params)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// The Helm poller against releases installed with the Helm SDK: a deployed first
// revision, then a failed upgrade, each firing its trigger.
func TestWatchHelmSource(t *testing.T) {
	c := sandboxCluster(t)
	const ns, name = "watch-helm", "demo"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = c.HelmUninstall(name, ns) // a previous run on the same sandbox
	if _, err := c.HelmInstall(ctx, name, ns, watchDemoChart(), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.HelmUninstall(name, ns) })

	got := &wsCollected{}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- (&triggers.HelmSource{Client: c.Client, Namespace: ns, Interval: 200 * time.Millisecond}).Run(runCtx, got.emit)
	}()
	defer func() { stop(); <-done }()

	deployed := wsWaitIncoming(t, "deployed release", got, func(in *triggers.Incoming) bool {
		return in.Helm.Name == name && in.Helm.Status == "deployed" && in.Helm.Version == 1
	})
	if deployed.Helm.Chart != "watch-demo" || deployed.Helm.AppVersion != "1.0.0" || deployed.Helm.LastDeployed.IsZero() {
		t.Fatalf("release %+v", deployed.Helm)
	}
	if ev := deployed.Event; ev.Class != "HelmReleasesEvent" || ev.Obj.GetName() != "sh.helm.release.v1.demo.v1" || ev.Obj.GetNamespace() != ns {
		t.Fatalf("event %s %s/%s", ev.Class, ev.Obj.GetNamespace(), ev.Obj.GetName())
	}
	onDeploy := wsCompile(t, "on_helm_release_deploy", map[string]any{"names": []any{name}, "namespace": ns})
	onFail := wsCompile(t, "on_helm_release_fail", nil)
	if !onDeploy.Matches(deployed) || onFail.Matches(deployed) {
		t.Fatal("a fresh deployment must fire on_helm_release_deploy only")
	}

	// An upgrade the API server refuses: revision 2 is failed.
	if _, err := c.HelmUpgrade(ctx, name, ns, watchDemoChart(), map[string]any{"broken": true}); err == nil {
		t.Fatal("the broken upgrade succeeded")
	}
	// The poller may see revision 2 as pending-upgrade first, as the runner would.
	failed := wsWaitIncoming(t, "failed revision", got, func(in *triggers.Incoming) bool {
		return in.Helm.Name == name && in.Helm.Version == 2 && in.Helm.Status == "failed"
	})
	if failed.Helm.Status != "failed" || !onFail.Matches(failed) || onDeploy.Matches(failed) {
		t.Fatalf("revision 2: %+v", failed.Helm)
	}
	key, _, _ := onFail.(triggers.RateLimited).RateLimit(failed)
	if !strings.HasPrefix(key, ns+":"+name+"-") {
		t.Fatalf("rate limit key %q", key)
	}

	// The same poll as a function, for callers without a source loop.
	ins, err := triggers.PollHelmReleases(ctx, c.Client, ns)
	if err != nil || len(ins) != 1 || ins[0].Helm.Version != 2 {
		t.Fatalf("PollHelmReleases: %d releases, %v", len(ins), err)
	}
}

type wsBackend struct {
	mu  sync.Mutex
	ins []*triggers.Incoming
}

func (b *wsBackend) Submit(in *triggers.Incoming) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ins = append(b.ins, in)
	return true
}
func (b *wsBackend) Reload(context.Context) error { return nil }
func (b *wsBackend) Trigger(context.Context, string, map[string]any, bool) ([]*engine.Finding, error) {
	return nil, nil
}

// The watch API's alert webhook against the sandbox: the relabelled alert resolves to
// the Deployment it names.
func TestWatchAlertWebhook(t *testing.T) {
	c := sandboxCluster(t)
	const ns = "watch-alerts"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "checkout"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "checkout"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}
	_ = c.Client.AppsV1().Deployments(ns).Delete(ctx, dep.Name, metav1.DeleteOptions{})
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client.AppsV1().Deployments(ns).Delete(context.Background(), dep.Name, metav1.DeleteOptions{})
	})

	b := &wsBackend{}
	srv := httptest.NewServer(nil)
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	w := &serve.Watch{Backend: b, Dyn: c.Dynamic,
		Relabels: []triggers.Relabel{{Source: "exported_deployment", Target: "deployment", Operation: "replace"}},
		Guard:    localapi.Guard{Token: "tok", Listen: addr}}
	srv.Config.Handler = w.Handler()

	body := `{"version":"4","status":"firing","receiver":"robusta","alerts":[{"status":"firing",
	  "labels":{"alertname":"KubeDeploymentReplicasMismatch","exported_deployment":"checkout","namespace":"watch-alerts"},
	  "annotations":{},"startsAt":"2026-01-01T00:00:00Z","fingerprint":"abc"}]}`
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/alerts", bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(b.ins) != 1 {
		t.Fatalf("status %d, %d submitted", resp.StatusCode, len(b.ins))
	}
	ev := b.ins[0].Event
	if ev.Kind != "Deployment" || ev.Obj == nil || ev.Obj.GetName() != "checkout" || !ev.Yields("DeploymentEvent") {
		t.Fatalf("event %s %v", ev.Kind, ev.Obj)
	}
	if !wsCompile(t, "on_prometheus_alert", map[string]any{"alert_name": "KubeDeploymentReplicasMismatch", "namespace_prefix": "watch-"}).Matches(b.ins[0]) {
		t.Fatal("on_prometheus_alert does not match the webhook's alert")
	}
}
