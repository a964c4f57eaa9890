package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// Job-based helper actions on the sandbox. kwok completes every pod a Job owns; what
// the pod "printed" is served from a log file through a ClusterLogs rule for the
// namespaces the Jobs run in. Nothing is executed on this machine.

var gvrClusterLogs = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "clusterlogs"}

// wireJobLogs serves logFile as the log of every pod in namespaces and waits until
// kwok serves it (a probe pod's log reads back), so no test races the rule.
func wireJobLogs(t *testing.T, c *sandbox.Cluster, namespaces ...string) (logFile string) {
	t.Helper()
	ctx := context.Background()
	logFile = filepath.Join(t.TempDir(), "job.log")
	setJobLog(t, logFile, "probe-ready")
	ns := make([]any, len(namespaces))
	for i, n := range namespaces {
		ns[i] = n
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterLogs",
		"metadata": map[string]any{"name": "e2e-helper-job-logs"},
		"spec": map[string]any{
			"selector": map[string]any{"matchNamespaces": ns},
			"logs":     []any{map[string]any{"logsFile": logFile}},
		},
	}}
	ri := c.Dynamic.Resource(gvrClusterLogs)
	_ = ri.Delete(ctx, "e2e-helper-job-logs", metav1.DeleteOptions{})
	if _, err := ri.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ri.Delete(context.Background(), "e2e-helper-job-logs", metav1.DeleteOptions{}) })
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "job-log-probe", Namespace: namespaces[0]},
		Spec: corev1.PodSpec{NodeName: sandbox.FakeNodeName, Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}},
	}
	if _, err := c.Client.CoreV1().Pods(probe.Namespace).Create(ctx, probe, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	defer func() {
		zero := int64(0)
		_ = c.Client.CoreV1().Pods(probe.Namespace).Delete(context.Background(), probe.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := c.Client.CoreV1().Pods(probe.Namespace).GetLogs(probe.Name, &corev1.PodLogOptions{Container: "c"}).DoRaw(ctx)
		if err == nil && strings.Contains(string(b), "probe-ready") {
			return logFile
		}
		if time.Now().After(deadline) {
			t.Fatalf("kwok never served the job log: %v %s", err, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// setJobLog writes text as a CRI log, one entry per line.
func setJobLog(t *testing.T, file, text string) {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(&b, "2026-01-01T00:00:00.000000000Z stdout F %s\n", line)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// helperJobsLeft lists the helper Jobs and their pods still in namespace.
func helperJobsLeft(t *testing.T, c *sandbox.Cluster, namespace string) []string {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"}
	jobs, err := c.Client.BatchV1().Jobs(namespace).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	pods, err := c.Client.CoreV1().Pods(namespace).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, j := range jobs.Items {
		left = append(left, "job/"+j.Name)
	}
	for _, p := range pods.Items {
		left = append(left, "pod/"+p.Name)
	}
	return left
}

func fileBlock(f finding, name string) (string, bool) {
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			if b.Type == "file" && b.Name == name {
				return string(b.Data), true
			}
		}
	}
	return "", false
}

func dryRunSpec(t *testing.T, f finding, r result) string {
	t.Helper()
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			if b.Type == "file" && strings.HasSuffix(b.Name, ".yaml") {
				return string(b.Data)
			}
		}
	}
	t.Fatalf("no spec in the dry run: %+v\n%s", f, r)
	return ""
}

func TestLocalHelperJobsDryRun(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	helperPrereqs(t, c)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"kubectl_command", []string{"kubectl_command", "command=kubectl get pods -n $namespace --field-selector spec.nodeName=$node", "description=pods here"},
			[]string{"image: bitnami/kubectl:latest", "serviceAccountName: robusta-runner-service-account", "- /bin/sh\n", "- -c\n",
				"- kubectl get pods -n <missing> --field-selector spec.nodeName=<missing>", "ttlSecondsAfterFinished: 43200", "backoffLimit: 0",
				"namespace: robusta", "restartPolicy: Never", "imagePullPolicy: Always", "name: robusta-kubectl-command-"}},
		{"incluster_ping", []string{"incluster_ping", "hostname=kube-dns.kube-system"},
			[]string{"image: nicolaka/netshoot", "- ping\n", "- \"1\"\n", "- kube-dns.kube-system\n", "ttlSecondsAfterFinished: 120", "backoffLimit: 0", "namespace: robusta", "name: nicolaka-netshoot-"}},
		{"http_stress_test", []string{"http_stress_test", "url=http://web.default/", "n=5"},
			[]string{"image: williamyeh/hey", "- /hey\n", "- -n\n", "- \"5\"\n", "- http://web.default/\n", "restartPolicy: Never"}},
		{"alert_handling_job", []string{"alert_handling_job", "--alert-name", "DiskFull", "--label", "severity=critical", "image=busybox", "command=echo,hi", "namespace=default", "backoff_limit=2"},
			[]string{"image: busybox", "- echo\n", "- hi\n", "- name: ALERT_NAME\n", "value: DiskFull", "- name: ALERT_STATUS\n", "value: firing",
				"- name: ALERT_OBJ_NAME\n", "value: Unresolved", "- name: ALERT_LABEL_SEVERITY\n", "value: critical", "namespace: default",
				"restartPolicy: OnFailure", "backoffLimit: 2", "ttlSecondsAfterFinished: 120", "name: robusta-action-job-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, r := runFinding(t, env, append([]string{"local", "run"}, tc.args...)...)
			spec := dryRunSpec(t, f, r)
			for _, w := range tc.want {
				if !strings.Contains(spec, w) {
					t.Fatalf("spec lacks %q:\n%s", w, spec)
				}
			}
			if !strings.Contains(r.stderr, "dry run: helper job") {
				t.Fatalf("no dry-run note: %s", r)
			}
			for _, ns := range []string{helperpod.DefaultNamespace, "default"} {
				if left := helperJobsLeft(t, c, ns); len(left) != 0 {
					t.Fatalf("dry run created %v", left)
				}
			}
		})
	}
	t.Run("kubectl_command without command", func(t *testing.T) {
		r := run(t, env, "local", "run", "kubectl_command")
		if r.code == 0 || !strings.Contains(r.stderr, "command=") || strings.Contains(r.stderr, "goroutine") {
			t.Fatal(r)
		}
	})
}

func TestLocalHelperJobsApply(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	helperPrereqs(t, c)
	logFile := wireJobLogs(t, c, helperpod.DefaultNamespace, "default")
	noneLeft := func(t *testing.T, ns string, r result) {
		t.Helper()
		if left := helperJobsLeft(t, c, ns); len(left) != 0 {
			t.Fatalf("left behind: %v\n%s", left, r)
		}
	}

	t.Run("kubectl_command", func(t *testing.T) {
		setJobLog(t, logFile, "NAME READY\nweb-1 1/1")
		f, r := runFinding(t, env, "local", "run", "kubectl_command", "--apply", "command=kubectl get pods", "description=Pods now")
		out, ok := fileBlock(f, "kubectl.txt")
		if !ok || !strings.Contains(out, "web-1 1/1") {
			t.Fatalf("kubectl.txt: %q\n%s", out, r)
		}
		b, _ := json.Marshal(f)
		if !strings.Contains(string(b), `"Title":"Pods now"`) || !strings.Contains(string(b), "*kubectl get pods*") {
			t.Fatalf("enrichment shape: %s", b)
		}
		noneLeft(t, helperpod.DefaultNamespace, r)
	})
	t.Run("incluster_ping", func(t *testing.T) {
		setJobLog(t, logFile, "1 packets transmitted, 1 received")
		f, r := runFinding(t, env, "local", "run", "incluster_ping", "--apply", "hostname=db.prod")
		if out, ok := fileBlock(f, "ping-db.prod.txt"); !ok || !strings.Contains(out, "1 received") {
			t.Fatalf("ping file: %q\n%s", out, r)
		}
		noneLeft(t, helperpod.DefaultNamespace, r)
	})
	t.Run("http_stress_test", func(t *testing.T) {
		setJobLog(t, logFile, "Summary:\n  Requests/sec: 812.5")
		f, r := runFinding(t, env, "local", "run", "http_stress_test", "--apply", "url=http://web.default/", "n=20")
		if f.Title != "Done running stress test with 20 http requests for url http://web.default/" {
			t.Fatalf("title %q", f.Title)
		}
		if out, ok := fileBlock(f, "result.txt"); !ok || !strings.Contains(out, "Requests/sec: 812.5") {
			t.Fatalf("result.txt: %q\n%s", out, r)
		}
		noneLeft(t, helperpod.DefaultNamespace, r)
	})
	t.Run("alert_handling_job", func(t *testing.T) {
		setJobLog(t, logFile, "handled-7781")
		f, r := runFinding(t, env, "local", "run", "alert_handling_job", "--apply", "--alert-name", "DiskFull",
			"image=busybox", "command=echo,handled", "notify=true")
		if out, ok := fileBlock(f, "job-runner-logs.txt"); !ok || !strings.Contains(out, "handled-7781") {
			t.Fatalf("job-runner-logs.txt: %q\n%s", out, r)
		}
		b, _ := json.Marshal(f)
		if !strings.Contains(string(b), "*Created Job from alert*: robusta-action-job-") {
			t.Fatalf("no notify line: %s", b)
		}
		noneLeft(t, "default", r)
	})

	// A namespace whose quota admits no pods: the Job never gets one, so it never
	// finishes, deterministically.
	stuck := "e2e-helper-stuck"
	if err := c.EnsureNamespace(context.Background(), stuck); err != nil {
		t.Fatal(err)
	}
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "no-pods", Namespace: stuck},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}}
	if _, err := c.Client.CoreV1().ResourceQuotas(stuck).Create(context.Background(), quota, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Run("timeout", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "alert_handling_job", "--apply", "--alert-name", "DiskFull",
			"image=busybox", "command=true", "namespace="+stuck, "completion_timeout=3")
		b, _ := json.Marshal(f)
		if !strings.Contains(string(b), "*Status:* Timed out, could not fetch output.") || !strings.Contains(r.stderr, "timed out") {
			t.Fatalf("no timeout status: %s\n%s", b, r)
		}
		noneLeft(t, stuck, r)
	})
	t.Run("interrupt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w, err := c.Client.BatchV1().Jobs(stuck).Watch(ctx, metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		cmd, stderr := startBinary(t, env, "local", "run", "alert_handling_job", "--apply", "--alert-name", "DiskFull",
			"image=busybox", "command=true", "namespace="+stuck)
		waitAdded(t, w, cmd)
		_ = cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err == nil || !strings.Contains(stderr.String(), "interrupted") {
			t.Fatalf("err %v\n%s", err, stderr)
		}
		noneLeft(t, stuck, result{stderr: stderr.String()})
	})
}
