package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// krr_scan and popeye_scan on the sandbox. kwok does not run a Job pod's command: it
// completes the pod, and what the scanner "printed" is served from a log file through
// a ClusterLogs rule (wireJobLogs), so nothing runs on this machine. A failing scanner
// is a pod the test marks Failed itself (kwok leaves pods annotated with the custom
// status alone); a scan that never ends is a pod no node can take.

// A Prometheus address for KRR: the scanner reaches it from inside the cluster, so
// it only has to arrive on KRR's command line.
const scanPromURL = "http://prom-standin.monitoring.svc:9090"

// scanLog is what KRR prints: progress, the marker line, then its JSON.
const krrScanLog = `Listing scannable objects
Result collected, displaying...
{"scans": [{"object": {"cluster": "sandbox", "name": "checkout", "container": "api", "namespace": "shop", "kind": "Deployment",
 "allocations": {"requests": {"cpu": 1, "memory": 1073741824}, "limits": {"cpu": null, "memory": 1073741824}}, "pods": [{"name": "checkout-1", "deleted": false}]},
 "recommended": {"requests": {"cpu": {"value": 0.05, "severity": "CRITICAL"}, "memory": {"value": 209715200, "severity": "WARNING"}},
  "limits": {"cpu": {"value": null, "severity": "OK"}, "memory": {"value": 209715200, "severity": "WARNING"}}, "info": {"cpu": null, "memory": null}},
 "severity": "CRITICAL"}],
 "score": 41, "resources": ["cpu", "memory"], "strategy": {"name": "simple", "settings": {"cpu_percentile": 95}}}`

const popeyeScanLog = `{"popeye": {"score": 77, "grade": "C", "sanitizers": [
 {"sanitizer": "deployments", "gvr": "apps/v1/deployments", "tally": {"ok": 0, "info": 0, "warning": 1, "error": 0, "score": 50},
  "issues": {"shop/checkout": [{"group": "api", "gvr": "containers", "level": 2, "message": "[POP-106] No resources requests/limits defined"}]}}],
 "errors": null}}`

// scanLeft lists the scan Jobs, their pods and the scan Secrets still in the runner's
// namespace.
func scanLeft(t *testing.T, c *sandbox.Cluster) []string {
	t.Helper()
	left := helperJobsLeft(t, c, helperpod.DefaultNamespace)
	secrets, err := c.Client.CoreV1().Secrets(helperpod.DefaultNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		left = append(left, "secret/"+s.Name)
	}
	return left
}

func tableBlock(f finding, name string) ([]string, [][]string, bool) {
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			if b.Type == "table" && b.Name == name {
				return b.Headers, b.Rows, true
			}
		}
	}
	return nil, nil, false
}

func fileBlockNamed(f finding, suffix string) (string, string, bool) {
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			if b.Type == "file" && strings.HasSuffix(b.Name, suffix) {
				return b.Name, string(b.Data), true
			}
		}
	}
	return "", "", false
}

// scanCommand is the shell command line of the scan Job in a dry run's manifest.
func scanCommand(t *testing.T, manifest string) string {
	t.Helper()
	var job batchv1.Job
	if err := yaml.Unmarshal([]byte(manifest), &job); err != nil {
		t.Fatalf("%v:\n%s", err, manifest)
	}
	c := job.Spec.Template.Spec.Containers
	if len(c) != 1 || len(c[0].Command) != 3 || c[0].Command[0] != "/bin/sh" || c[0].Command[1] != "-c" {
		t.Fatalf("not a shell command:\n%s", manifest)
	}
	return c[0].Command[2]
}

func TestLocalScansDryRun(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	helperPrereqs(t, c)
	lr := func(args ...string) result { return run(t, env, append([]string{"local", "run"}, args...)...) }

	t.Run("krr_scan", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "krr_scan", "--prometheus-url", scanPromURL, "prometheus_auth=Bearer sekrit-token",
			"krr_args=-n shop", "max_workers=5")
		spec := dryRunSpec(t, f, r)
		want := "python krr.py simple  -n shop  --max-workers 5  -f json --width 2048 -p " + scanPromURL + "  --prometheus-auth-header '$(PROMETHEUS_AUTH_HEADER)'"
		if got := scanCommand(t, spec); got != want {
			t.Fatalf("command\n got %q\nwant %q", got, want)
		}
		for _, w := range []string{"image: robustadev/krr:v1.29.0", "imagePullPolicy: Always", "serviceAccountName: robusta-runner-service-account",
			"name: PROMETHEUS_AUTH_HEADER", "key: prometheus-auth-header", "app: krr.robusta.dev", "scan-id:", "start-time:",
			"ttlSecondsAfterFinished: 43200", "backoffLimit: 0", "namespace: robusta", "memory: 2Gi", "restartPolicy: Never", "name: krr-job-"} {
			if !strings.Contains(spec, w) {
				t.Fatalf("spec lacks %q:\n%s", w, spec)
			}
		}
		var name, secret string
		ok := false
		for _, e := range f.Enrichments {
			for _, b := range e.Blocks {
				if b.Type == "file" && strings.HasPrefix(b.Name, "krr-auth-secret") {
					name, secret, ok = b.Name, string(b.Data), true
				}
			}
		}
		if !ok || !strings.HasPrefix(name, "krr-auth-secret") || !strings.Contains(secret, "prometheus-auth-header: '<hidden: 19 bytes>'") {
			t.Fatalf("secret %s:\n%s", name, secret)
		}
		if strings.Contains(r.stdout, "sekrit-token") || strings.Contains(r.stderr, "sekrit-token") {
			t.Fatalf("the credential was printed:\n%s", r)
		}
		if !strings.Contains(r.stderr, "dry run: scan job robusta/krr-job-") {
			t.Fatalf("no dry-run note: %s", r)
		}
		if left := scanLeft(t, c); len(left) != 0 {
			t.Fatalf("dry run created %v", left)
		}
	})
	t.Run("krr_scan image registry and deprecated args", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "krr_scan", "--image-registry", "mirror.example/robusta", "--prometheus-url", scanPromURL, "args=--namespace old")
		spec := dryRunSpec(t, f, r)
		if !strings.Contains(spec, "image: mirror.example/robusta/krr:v1.29.0") || !strings.HasPrefix(scanCommand(t, spec), "python krr.py simple  --namespace old  --max-workers 3") {
			t.Fatalf("spec:\n%s", spec)
		}
		if !strings.Contains(r.stderr, "The args param for krr_scan has been deprecated, use krr_args instead.") {
			t.Fatalf("no deprecation warning: %s", r)
		}
	})
	t.Run("popeye_scan", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "popeye_scan", "--image-registry", "mirror.example/robusta", `popeye_job_spec:={"nodeSelector": {"pool": "infra"}}`)
		spec := dryRunSpec(t, f, r)
		cmd := scanCommand(t, spec)
		if !strings.HasPrefix(cmd, "echo 'popeye:\n    excludes:\n") || !strings.Contains(cmd, "        - name: rx:kube-system\n") ||
			!strings.HasSuffix(cmd, "' > /tmp/spinach.yaml && popeye -f /tmp/spinach.yaml -s no,ns,po,svc,sa,cm,dp,sts,ds,pv,pvc,hpa,pdb,cr,crb,ro,rb,ing,np,psp -o json --force-exit-zero") {
			t.Fatalf("command %q", cmd)
		}
		for _, w := range []string{"image: derailed/popeye:v0.11.1", "name: popeye-scanner", "serviceAccountName: robusta-runner-service-account",
			"key: kubernetes.io/arch", "operator: NotIn", "- arm64", "memory: 1Gi", "pool: infra",
			"ttlSecondsAfterFinished: 43200", "name: popeye-job-"} {
			if !strings.Contains(spec, w) {
				t.Fatalf("spec lacks %q:\n%s", w, spec)
			}
		}
		if left := scanLeft(t, c); len(left) != 0 {
			t.Fatalf("dry run created %v", left)
		}
	})
	t.Run("krr_scan finds Prometheus as the runner does", func(t *testing.T) {
		// A namespace that lists first, so this Service is the first match whatever
		// other tests left behind.
		ns := "aaa-scan-prom"
		if err := c.EnsureNamespace(context.Background(), ns); err != nil {
			t.Fatal(err)
		}
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kps-prometheus", Namespace: ns, Labels: map[string]string{"app": "kube-prometheus-stack-prometheus"}},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "web", Port: 9090}}}}
		if _, err := c.Client.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		defer func() {
			_ = c.Client.CoreV1().Services(ns).Delete(context.Background(), svc.Name, metav1.DeleteOptions{})
		}()
		f, r := runFinding(t, env, "local", "run", "krr_scan")
		spec := dryRunSpec(t, f, r)
		if strings.Contains(scanCommand(t, spec), " -p ") || !strings.Contains(r.stderr, "http://kps-prometheus.aaa-scan-prom.svc.cluster.local:9090") {
			t.Fatalf("discovery: %s\n%s", spec, r)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"forbidden deprecated arg", []string{"krr_scan", "--prometheus-url", scanPromURL, "args=-f table"}, "argument -f is not allowed"},
		{"unbalanced quote", []string{"popeye_scan", `popeye_args=-s "po`}, `"popeye_args": no closing quotation`},
		{"job spec field the action sets", []string{"krr_scan", "--prometheus-url", scanPromURL, `krr_job_spec:={"containers": []}`}, "it sets containers, which the action sets itself"},
		{"job spec unknown field", []string{"popeye_scan", `popeye_job_spec:={"node_selector": {"a": "b"}}`}, `unknown field "node_selector"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := lr(tc.args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "goroutine") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
				t.Fatalf("want a one-line error with %q:\n%s", tc.want, r)
			}
			if left := scanLeft(t, c); len(left) != 0 {
				t.Fatalf("created %v", left)
			}
		})
	}
}

// watchScans records the scan Jobs and Secrets created while it runs, and marks
// Failed every scan pod annotated with kwok's custom status (a scanner that exits
// with an error) once it is bound to a node.
type scanWatch struct {
	mu      sync.Mutex
	jobs    []*batchv1.Job
	secrets []*corev1.Secret
}

func watchScans(t *testing.T, c *sandbox.Cluster) *scanWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ns := helperpod.DefaultNamespace
	sel := metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"}
	jw, err := c.Client.BatchV1().Jobs(ns).Watch(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := c.Client.CoreV1().Secrets(ns).Watch(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := c.Client.CoreV1().Pods(ns).Watch(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	s := &scanWatch{}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for ev := range jw.ResultChan() {
			if ev.Type == watch.Added {
				s.mu.Lock()
				s.jobs = append(s.jobs, ev.Object.(*batchv1.Job))
				s.mu.Unlock()
			}
		}
	}()
	go func() {
		defer wg.Done()
		for ev := range sw.ResultChan() {
			if ev.Type == watch.Added {
				s.mu.Lock()
				s.secrets = append(s.secrets, ev.Object.(*corev1.Secret))
				s.mu.Unlock()
			}
		}
	}()
	go func() {
		defer wg.Done()
		for ev := range pw.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted || p.Annotations[sandbox.CustomStatusAnnotation] != "custom" || p.Spec.NodeName == "" ||
				p.Status.Phase == corev1.PodFailed || p.DeletionTimestamp != nil {
				continue
			}
			p = p.DeepCopy()
			now := metav1.Now()
			p.Status.Phase = corev1.PodFailed
			p.Status.StartTime = &now
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, Image: p.Spec.Containers[0].Image,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", StartedAt: now, FinishedAt: now}}}}
			_, _ = c.Client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		}
	}()
	t.Cleanup(func() { jw.Stop(); sw.Stop(); pw.Stop(); cancel(); wg.Wait() })
	return s
}

func (s *scanWatch) lastJob(t *testing.T) *batchv1.Job {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.jobs) == 0 {
		t.Fatal("no scan job was created")
	}
	return s.jobs[len(s.jobs)-1]
}

func TestLocalScansApply(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	helperPrereqs(t, c)
	logFile := wireJobLogs(t, c, helperpod.DefaultNamespace)
	sw := watchScans(t, c)
	noneLeft := func(t *testing.T, r result) {
		t.Helper()
		if left := scanLeft(t, c); len(left) != 0 {
			t.Fatalf("left behind: %v\n%s", left, r)
		}
	}

	t.Run("krr_scan", func(t *testing.T) {
		setJobLog(t, logFile, krrScanLog)
		f, r := runFinding(t, env, "local", "run", "krr_scan", "--apply", "--prometheus-url", scanPromURL,
			"prometheus_auth=Bearer sekrit-token", `prometheus_additional_headers:={"X-Scope-OrgID": "team-a"}`)
		if f.Title != "KRR Report" || f.AggregationKey != "KrrReport" {
			t.Fatalf("finding %q %q\n%s", f.Title, f.AggregationKey, r)
		}
		headers, rows, ok := tableBlock(f, "Deployment")
		want := []string{"CRITICAL", "shop", "checkout", "api", "1.0 -> 50m", "unset", "1024Mi -> 200Mi", "1024Mi -> 200Mi"}
		if !ok || strings.Join(headers, "|") != "Priority|Namespace|Name|Container|CPU Request|CPU Limit|Memory Request|Memory Limit" ||
			len(rows) != 1 || strings.Join(rows[0], "|") != strings.Join(want, "|") {
			t.Fatalf("table %v %q\n%s", headers, rows, r)
		}
		b, _ := json.Marshal(f)
		for _, w := range []string{"score 41 (grade F)", "strategy simple", "not sent locally", "-p " + scanPromURL} {
			if !strings.Contains(string(b), w) {
				t.Fatalf("finding lacks %q: %s", w, b)
			}
		}
		if raw, ok := fileBlock(f, "krr.json"); !ok || !strings.Contains(raw, `"checkout"`) {
			t.Fatalf("krr.json %q", raw)
		}
		// The Job really created carried the URL and the credential flags; the Secret
		// was made for it, owned by its pod.
		cmd := sw.lastJob(t).Spec.Template.Spec.Containers[0].Command[2]
		if !strings.Contains(cmd, " -p "+scanPromURL+" ") || !strings.Contains(cmd, "--prometheus-headers 'X-Scope-OrgID:$(PROMETHEUS_HEADER_X_SCOPE_ORGID)'") {
			t.Fatalf("job command %q", cmd)
		}
		sw.mu.Lock()
		secrets := append([]*corev1.Secret(nil), sw.secrets...)
		sw.mu.Unlock()
		if len(secrets) != 1 || !strings.HasPrefix(secrets[0].Name, "krr-auth-secret") || len(secrets[0].OwnerReferences) != 1 ||
			secrets[0].OwnerReferences[0].Kind != "Pod" || string(secrets[0].Data["prometheus-auth-header"]) != "Bearer sekrit-token" {
			t.Fatalf("secrets %+v", secrets)
		}
		noneLeft(t, r)
	})
	t.Run("popeye_scan", func(t *testing.T) {
		setJobLog(t, logFile, "W1128 client-side throttling\n"+popeyeScanLog)
		f, r := runFinding(t, env, "local", "run", "popeye_scan", "--apply")
		headers, rows, ok := tableBlock(f, "deployments")
		if f.Title != "Popeye Report" || !ok || strings.Join(headers, "|") != "Priority|Namespace|Name|Container|Issues" || len(rows) != 1 ||
			strings.Join(rows[0], "|") != "Warning|shop|checkout|api|Warning [POP-106] No resources requests/limits defined" {
			t.Fatalf("finding %q table %v %q\n%s", f.Title, headers, rows, r)
		}
		b, _ := json.Marshal(f)
		if !strings.Contains(string(b), "score 77 (grade C") {
			t.Fatalf("no score: %s", b)
		}
		if _, ok := fileBlock(f, "popeye.json"); !ok {
			t.Fatal("no popeye.json")
		}
		noneLeft(t, r)
	})

	custom := `custom_annotations:={"` + sandbox.CustomStatusAnnotation + `": "custom"}`
	for _, tc := range []struct {
		name string
		args []string
		log  string
		want []string
	}{
		{"krr_scan failing", []string{"krr_scan", "--prometheus-url", scanPromURL, "prometheus_auth=Bearer t", custom},
			"Error: could not connect to Prometheus at " + scanPromURL,
			[]string{"KRR scan failed", "KRR scan job failed. Expecting json result.", "the scan's pod failed"}},
		{"popeye_scan failing", []string{"popeye_scan", custom}, "Error: the server has asked for the client to provide credentials",
			[]string{"Popeye scan failed", "Popeye scan job failed. Expecting json result.", "the scan's pod failed"}},
		// No node has this label, so the pod stays Pending and the wait times out.
		{"krr_scan timeout", []string{"krr_scan", "--prometheus-url", scanPromURL, "prometheus_auth=Bearer t", "timeout=3", `krr_job_spec:={"nodeSelector": {"e2e-no-such-pool": "x"}}`},
			"", []string{"KRR scan failed", "The job wait condition timed out (3s)"}},
		{"popeye_scan timeout", []string{"popeye_scan", "timeout=3", `popeye_job_spec:={"nodeSelector": {"e2e-no-such-pool": "x"}}`},
			"", []string{"Popeye scan failed", "The job wait condition timed out (3s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setJobLog(t, logFile, tc.log)
			f, r := runFinding(t, env, append([]string{"local", "run", "--apply"}, tc.args...)...)
			b, _ := json.Marshal(f)
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Fatalf("finding lacks %q: %s\n%s", w, b, r)
				}
			}
			if f.Severity != "HIGH" || !strings.Contains(r.stderr, "scan failed") {
				t.Fatalf("severity %s\n%s", f.Severity, r)
			}
			if tc.log != "" {
				if _, log, ok := fileBlockNamed(f, "-job.log"); !ok || !strings.Contains(log, tc.log) {
					t.Fatalf("log %q", log)
				}
			}
			noneLeft(t, r)
		})
	}

	t.Run("interrupt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w, err := c.Client.CoreV1().Secrets(helperpod.DefaultNamespace).Watch(ctx, metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		cmd, stderr := startBinary(t, env, "local", "run", "krr_scan", "--apply", "--prometheus-url", scanPromURL, "prometheus_auth=Bearer t",
			`krr_job_spec:={"nodeSelector": {"e2e-no-such-pool": "x"}}`)
		// Interrupt once everything exists: the Job, its pod and the Secret.
		waitAdded(t, w, cmd)
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(stderr.String(), "interrupted") {
				t.Fatalf("err %v\n%s", err, stderr)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the run did not stop on SIGINT")
		}
		noneLeft(t, result{stderr: stderr.String()})
	})
}
