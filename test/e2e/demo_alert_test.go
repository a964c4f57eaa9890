package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// demoAMStandIn records what is posted to /api/v2/alerts.
type demoAMStandIn struct {
	mu    sync.Mutex
	posts []demoAMPost
}

type demoAMPost struct {
	method, contentType string
	body                []byte
}

func (s *demoAMStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/-/ready":
		w.Header().Set("Content-Length", "2")
		_, _ = io.WriteString(w, "OK")
	case "/api/v2/alerts":
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.posts = append(s.posts, demoAMPost{method: r.Method, contentType: r.Header.Get("Content-Type"), body: b})
		s.mu.Unlock()
		// Alertmanager answers an accepted post with 200 and an empty body.
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

func (s *demoAMStandIn) take() []demoAMPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.posts
	s.posts = nil
	return p
}

const (
	alertAppsNS = "h23-apps"
	alertDemoNS = "h23-demo"
)

// runningPod creates a pod on the fake node and waits until kwok runs it.
func runningPod(t *testing.T, c *sandbox.Cluster, ns, name string, labels map[string]string) {
	t.Helper()
	ctx := context.Background()
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{NodeName: sandbox.FakeNodeName,
			Containers:  []corev1.Container{{Name: "main", Image: "app:e2e"}},
			Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}},
	}
	if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		zero := int64(0)
		_ = c.Client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	})
	deadline := time.Now().Add(40 * time.Second)
	for {
		got, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && got.Status.Phase == corev1.PodRunning {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s/%s not running: %v", ns, name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkAlertBody compares a posted body with the alert the Python CLI builds, field by
// field.
func checkAlertBody(t *testing.T, body []byte, wantLabels map[string]string) {
	t.Helper()
	var alerts []map[string]json.RawMessage
	if err := json.Unmarshal(body, &alerts); err != nil {
		t.Fatalf("body is not a JSON list of alerts: %v\n%s", err, body)
	}
	if len(alerts) != 1 {
		t.Fatalf("want one alert, got %d: %s", len(alerts), body)
	}
	a := alerts[0]
	keys := []string{}
	for k := range a {
		keys = append(keys, k)
	}
	// Exactly the Python CLI's fields: no startsAt, endsAt or generatorURL.
	if len(a) != 3 || a["status"] == nil || a["labels"] == nil || a["annotations"] == nil {
		t.Errorf("alert fields %v, want status, labels, annotations only", keys)
	}
	var status string
	_ = json.Unmarshal(a["status"], &status)
	if status != "firing" {
		t.Errorf("status %q", status)
	}
	var labels, ann map[string]string
	if err := json.Unmarshal(a["labels"], &labels); err != nil {
		t.Fatal(err)
	}
	if len(labels) != len(wantLabels) {
		t.Errorf("labels %v, want %v", labels, wantLabels)
	}
	for k, v := range wantLabels {
		if labels[k] != v {
			t.Errorf("label %s = %q, want %q (all: %v)", k, labels[k], v, labels)
		}
	}
	if err := json.Unmarshal(a["annotations"], &ann); err != nil {
		t.Fatal(err)
	}
	if len(ann) != 2 || ann["summary"] != "This is a demo alert manager alert created by Robusta" ||
		ann["description"] != "Nothing wrong here. This alert will be resolved soon" {
		t.Errorf("annotations %v", ann)
	}
}

func TestDemoAlert(t *testing.T) {
	c := sandboxCluster(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	ctx := context.Background()
	if err := c.EnsureNode(ctx, sandbox.FakeNodeName); err != nil {
		t.Fatal(err)
	}
	runningPod(t, c, alertAppsNS, "web-1", map[string]string{"app": "web"})

	// Before any Alertmanager exists: the error names every selector tried and the flag.
	t.Run("no Alertmanager found", func(t *testing.T) {
		r := run(t, env, "demo-alert", "--namespaces", alertAppsNS)
		if r.code != 1 || strings.Count(r.stderr, "Error:") != 1 {
			t.Fatalf("want one error, exit 1\n%s", r)
		}
		for _, want := range []string{"no Alertmanager found", "app=kube-prometheus-stack-alertmanager", "app=prometheus,component=alertmanager",
			"operated-alertmanager=true", "app.kubernetes.io/name=vmalertmanager", "Hint: pass its address with --alertmanager-url URL"} {
			mustContain(t, r, "stderr", want)
		}
	})

	am := &demoAMStandIn{}
	// prometheus-operator's label, the seventh selector: the earlier ones are tried first.
	startStandIn(t, c, "am-h23", "h23-alertmanager", map[string]string{"operated-alertmanager": "true"}, am, nil)
	am.take()

	t.Run("discovered, through a port-forward, about the first running pod", func(t *testing.T) {
		r := run(t, env, "demo-alert", "--namespaces", "h23-none,"+alertAppsNS, "--labels", "env=prod,team=infra")
		if r.code != 0 {
			t.Fatalf("demo-alert failed\n%s", r)
		}
		mustContain(t, r, "stdout", "Created Alertmanager alert: alert-name: KubePodNotReady pod: web-1 namespace: "+alertAppsNS)
		mustContain(t, r, "stdout", "http://h23-alertmanager.h14-monitoring.svc.cluster.local:9090")
		mustContain(t, r, "stdout", "found by label operated-alertmanager=true")
		posts := am.take()
		if len(posts) != 1 {
			t.Fatalf("want one post, got %d", len(posts))
		}
		if posts[0].method != http.MethodPost || posts[0].contentType != "application/json" {
			t.Errorf("method %s content type %q", posts[0].method, posts[0].contentType)
		}
		checkAlertBody(t, posts[0].body, map[string]string{"alertname": "KubePodNotReady", "severity": "critical",
			"pod": "web-1", "namespace": alertAppsNS, "env": "prod", "team": "infra"})
	})

	t.Run("a running demo pod is preferred; --alert and --labels override", func(t *testing.T) {
		runningPod(t, c, alertDemoNS, "crashpod-abc", map[string]string{"app": "crashpod"})
		r := run(t, env, "demo-alert", "--namespaces", alertAppsNS, "--namespaces", alertDemoNS,
			"--alert", "KubePodCrashLooping", "--labels", "severity=warning")
		if r.code != 0 {
			t.Fatalf("demo-alert failed\n%s", r)
		}
		posts := am.take()
		if len(posts) != 1 {
			t.Fatalf("want one post, got %d", len(posts))
		}
		checkAlertBody(t, posts[0].body, map[string]string{"alertname": "KubePodCrashLooping", "severity": "warning",
			"pod": "crashpod-abc", "namespace": alertDemoNS})
	})

	t.Run("--pod and an in-cluster --alertmanager-url", func(t *testing.T) {
		r := run(t, env, "demo-alert", "--pod", alertAppsNS+"/web-1",
			"--alertmanager-url", "http://h23-alertmanager.h14-monitoring.svc:9090", "--kube-config", c.KubeconfigPath)
		if r.code != 0 {
			t.Fatalf("demo-alert failed\n%s", r)
		}
		posts := am.take()
		if len(posts) != 1 {
			t.Fatalf("want one post, got %d", len(posts))
		}
		checkAlertBody(t, posts[0].body, map[string]string{"alertname": "KubePodNotReady", "severity": "critical",
			"pod": "web-1", "namespace": alertAppsNS})
	})

	t.Run("--via-job creates the Python CLI's curl Job", func(t *testing.T) {
		list, err := c.Client.BatchV1().Jobs(alertAppsNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The Job deletes itself once kwok completes its pod (ttlSecondsAfterFinished
		// 0): watch from before the run to see it.
		w, err := c.Client.BatchV1().Jobs(alertAppsNS).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		t.Cleanup(func() {
			bg := metav1.DeletePropagationBackground
			_ = c.Client.BatchV1().Jobs(alertAppsNS).DeleteCollection(context.Background(),
				metav1.DeleteOptions{PropagationPolicy: &bg}, metav1.ListOptions{})
		})
		// The image is a name no registry has: nothing could be pulled or run. On kwok no
		// container runs at all; the URL is the stand-in's in-cluster name, which does
		// not resolve on this machine either.
		r := run(t, env, "demo-alert", "--via-job", "--pod", alertAppsNS+"/web-1", "--image", "curl-e2e.invalid/curl:none", "--labels", "env=prod")
		if r.code != 0 {
			t.Fatalf("demo-alert --via-job failed\n%s", r)
		}
		mustContain(t, r, "stdout", "Created Job "+alertAppsNS+"/alert-job-")
		var job *batchv1.Job
		timeout := time.After(20 * time.Second)
		for job == nil {
			select {
			case ev := <-w.ResultChan():
				if j, ok := ev.Object.(*batchv1.Job); ok && ev.Type == watch.Added && strings.HasPrefix(j.Name, "alert-job-") {
					job = j
				}
			case <-timeout:
				t.Fatal("no alert-job-N Job was created")
			}
		}
		if len(am.take()) != 0 {
			t.Error("the stand-in got a post: --via-job must not port-forward")
		}
		spec := job.Spec
		if spec.Completions == nil || *spec.Completions != 1 || spec.TTLSecondsAfterFinished == nil || *spec.TTLSecondsAfterFinished != 0 ||
			spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever || len(spec.Template.Spec.Containers) != 1 {
			t.Fatalf("job spec %+v", spec)
		}
		ct := spec.Template.Spec.Containers[0]
		if ct.Name != "alert-curl" || ct.Image != "curl-e2e.invalid/curl:none" || ct.SecurityContext == nil ||
			ct.SecurityContext.RunAsUser == nil || *ct.SecurityContext.RunAsUser != 2000 {
			t.Errorf("container %+v", ct)
		}
		want := []string{"curl", "-X", "POST", "http://h23-alertmanager.h14-monitoring.svc.cluster.local:9090/api/v2/alerts",
			"-H", "Content-Type: application/json", "-d"}
		if len(ct.Command) != len(want)+1 || strings.Join(ct.Command[:len(want)], "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("command %q", ct.Command)
		}
		checkAlertBody(t, []byte(ct.Command[len(want)]), map[string]string{"alertname": "KubePodNotReady", "severity": "critical",
			"pod": "web-1", "namespace": alertAppsNS, "env": "prod"})
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"--labels", "env"}, 2, `--labels: label "env" has no value: write it as name=value`},
			{[]string{"--labels", "=prod"}, 2, `--labels: label "=prod" has no name`},
			{[]string{"--labels", "a=b,,c=d"}, 2, "--labels: empty item"},
			{[]string{"--pod", "web-1"}, 2, `--pod "web-1": write it as NAMESPACE/NAME`},
			{[]string{"--alert", ""}, 2, "--alert must name the alert"},
			{[]string{"--kube-config", "/nonexistent/kc", "--kubeconfig", c.KubeconfigPath}, 2, "--kube-config /nonexistent/kc and --kubeconfig"},
			{[]string{"--pod", alertAppsNS + "/nope"}, 1, "pod " + alertAppsNS + "/nope not found"},
			{[]string{"--namespaces", "h23-none"}, 1, "no running pod in namespace h23-none to name in the alert"},
		} {
			r := run(t, env, append([]string{"demo-alert"}, tc.args...)...)
			if r.code != tc.code || strings.Count(r.stderr, "Error:") != 1 || strings.Contains(r.stderr, "goroutine") {
				t.Fatalf("%v: want one error, exit %d\n%s", tc.args, tc.code, r)
			}
			mustContain(t, r, "stderr", tc.want)
		}
		if n := len(am.take()); n != 0 {
			t.Errorf("bad input posted %d alerts", n)
		}
	})
}
