package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// wireHelperPods gives every helper pod created while the test runs a kwok Exec, so
// the command exec'd into it runs on this machine in a temporary folder. Tests only
// exec harmless commands (echo, exit, sleep).
func wireHelperPods(t *testing.T, c *sandbox.Cluster) (workDir string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.Client.CoreV1().Pods(helperpod.DefaultNamespace).Watch(ctx, metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added {
				continue
			}
			p := ev.Object.(*corev1.Pod)
			_ = c.WirePod(ctx, p.Namespace, p.Name, "debugger", "", dir, "", "")
		}
	}()
	t.Cleanup(func() { w.Stop(); cancel(); wg.Wait() })
	return dir
}

func helperPrereqs(t *testing.T, c *sandbox.Cluster) {
	t.Helper()
	ctx := context.Background()
	if err := c.EnsureNamespace(ctx, helperpod.DefaultNamespace); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureNode(ctx, sandbox.FakeNodeName); err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: helperpod.DefaultServiceAccount, Namespace: helperpod.DefaultNamespace}}
	if _, err := c.Client.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// helperPodsLeft lists the helper pods still in the cluster (deleted pods that still
// linger count too).
func helperPodsLeft(t *testing.T, c *sandbox.Cluster) []string {
	t.Helper()
	pods, err := c.Client.CoreV1().Pods(helperpod.DefaultNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	return names
}

func TestLocalHelperPodsDryRun(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	helperPrereqs(t, c)
	for _, tc := range []struct {
		action, registry, image string
		args                    []string
	}{
		{"node_bash_enricher", "", "robustadev/debug-toolkit:v8.0", []string{"bash_command=echo hi"}},
		{"node_bash_enricher", "mirror.example/robusta", "mirror.example/robusta/debug-toolkit:v8.0", []string{"bash_command=echo hi"}},
		{"node_dmesg_enricher", "", "robustadev/debug-toolkit:v8.0", nil},
	} {
		args := append([]string{"local", "run", tc.action, "--node", sandbox.FakeNodeName}, tc.args...)
		if tc.registry != "" {
			args = append(args, "--image-registry", tc.registry)
		}
		f, r := runFinding(t, env, args...)
		spec := ""
		for _, e := range f.Enrichments {
			for _, b := range e.Blocks {
				if b.Type == "file" && strings.HasSuffix(b.Name, ".yaml") {
					spec = string(b.Data)
				}
			}
		}
		for _, want := range []string{"image: " + tc.image, "hostPID: true", "privileged: true", "- SYS_PTRACE", "- SYS_ADMIN",
			"nodeName: " + sandbox.FakeNodeName, "namespace: robusta", "serviceAccountName: robusta-runner-service-account", "imagePullPolicy: Always"} {
			if !strings.Contains(spec, want) {
				t.Fatalf("%s: dry-run spec lacks %q:\n%s\n%s", tc.action, want, spec, r)
			}
		}
		if !strings.Contains(r.stderr, "dry run: helper pod") {
			t.Fatalf("no dry-run note: %s", r)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("dry run created pods: %v", left)
		}
	}
}

func TestLocalHelperPodsApply(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	helperPrereqs(t, c)
	workDir := wireHelperPods(t, c)

	t.Run("success", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "node_bash_enricher", "--node", sandbox.FakeNodeName, "--apply", "bash_command=echo helper-out-7311")
		b, _ := json.Marshal(f)
		if !strings.Contains(string(b), "helper-out-7311") || !strings.Contains(string(b), "Command results for *echo helper-out-7311:*") {
			t.Fatalf("output not in finding: %s\n%s", b, r)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v", left)
		}
	})
	t.Run("dmesg", func(t *testing.T) {
		// Reads this machine's kernel log through nsenter (read-only); whether it is
		// allowed here or not, what the command printed lands in dmesg.log.
		f, r := runFinding(t, env, "local", "run", "node_dmesg_enricher", "--node", sandbox.FakeNodeName, "--apply")
		found := false
		for _, e := range f.Enrichments {
			for _, b := range e.Blocks {
				found = found || (e.Title == "DMESG Info" && b.Name == "dmesg.log" && len(b.Data) > 0)
			}
		}
		if !found {
			t.Fatalf("no dmesg.log: %+v\n%s", f, r)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v", left)
		}
	})
	t.Run("failing command", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "node_bash_enricher", "--node", sandbox.FakeNodeName, "--apply", "bash_command=echo broke-4410; exit 3")
		b, _ := json.Marshal(f)
		if !strings.Contains(string(b), "broke-4410") || !strings.Contains(string(b), "3") {
			t.Fatalf("output not in finding: %s\n%s", b, r)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v", left)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		r := run(t, env, "local", "run", "node_bash_enricher", "--node", sandbox.FakeNodeName, "--apply", "--helper-timeout", "3s", "bash_command=sleep 20")
		if r.code == 0 || !strings.Contains(r.stderr, "timed out") || strings.Contains(r.stderr, "goroutine") {
			t.Fatal(r)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v", left)
		}
	})
	t.Run("interrupt during exec", func(t *testing.T) {
		// The command leaves a marker in the exec's work dir once it runs, so SIGINT
		// lands while the exec is under way.
		marker := filepath.Join(workDir, "exec-started-5120")
		cmd, stderr := startBinary(t, env, "local", "run", "node_bash_enricher", "--node", sandbox.FakeNodeName, "--apply", "bash_command=touch exec-started-5120; sleep 20")
		interruptOnceStarted(t, cmd, stderr, marker)
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v\n%s", left, stderr)
		}
	})
	t.Run("interrupt while creating", func(t *testing.T) {
		// SIGINT the moment the API server has the pod, before (or just as) the
		// client hears back from its create: the pod must still be deleted.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w, err := c.Client.CoreV1().Pods(helperpod.DefaultNamespace).Watch(ctx, metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		cmd, stderr := startBinary(t, env, "local", "run", "node_bash_enricher", "--node", sandbox.FakeNodeName, "--apply", "bash_command=sleep 20")
		waitAdded(t, w, cmd)
		_ = cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err == nil {
			t.Fatalf("exit 0 after SIGINT\n%s", stderr)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v\n%s", left, stderr)
		}
	})
}

// interruptOnceStarted sends SIGINT to cmd once its helper's command has made marker
// (so the signal lands while the helper runs), and checks it ended as interrupted.
func interruptOnceStarted(t *testing.T, cmd *exec.Cmd, stderr *strings.Builder, marker string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the helper's command never started\n%s", stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err == nil || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("err %v\n%s", err, stderr)
	}
}

func startBinary(t *testing.T, env []string, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, &stderr
}

func waitAdded(t *testing.T, w watch.Interface, cmd *exec.Cmd) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-w.ResultChan():
			if ev.Type == watch.Added {
				return
			}
		case <-timeout:
			t.Fatal("helper pod never appeared")
		}
	}
}

// appPod creates a pod on the kwok node for the pod-level helper actions.
func appPod(t *testing.T, c *sandbox.Cluster, namespace, name string) {
	t.Helper()
	ctx := context.Background()
	if err := c.EnsureNamespace(ctx, namespace); err != nil {
		t.Fatal(err)
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1.PodSpec{NodeName: sandbox.FakeNodeName, Containers: []corev1.Container{{Name: "app", Image: "busybox"}},
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}}}
	if _, err := c.Client.CoreV1().Pods(namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		zero := int64(0)
		_ = c.Client.CoreV1().Pods(namespace).Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	})
}

func TestLocalHelperPodsPodLevel(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	helperPrereqs(t, c)
	appPod(t, c, "e2e-helper-app", "app-1")

	t.Run("pod_dmesg_enricher dry run", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "pod_dmesg_enricher", "--pod", "e2e-helper-app/app-1")
		spec := dryRunSpec(t, f, r)
		for _, want := range []string{"nodeName: " + sandbox.FakeNodeName, "hostPID: true", "privileged: true", "image: robustadev/debug-toolkit:v8.0"} {
			if !strings.Contains(spec, want) {
				t.Fatalf("spec lacks %q:\n%s", want, spec)
			}
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("dry run created pods: %v", left)
		}
	})
	t.Run("pod_dmesg_enricher apply", func(t *testing.T) {
		wireHelperPods(t, c)
		// Reads this machine's kernel log through nsenter, read-only, as node_dmesg_enricher's test does.
		f, r := runFinding(t, env, "local", "run", "pod_dmesg_enricher", "--pod", "e2e-helper-app/app-1", "--apply")
		if out, ok := fileBlock(f, "dmesg.log"); !ok || out == "" {
			t.Fatalf("no dmesg.log: %+v\n%s", f, r)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v", left)
		}
	})
	for _, name := range []string{"python_profiler", "python_memory", "debugger_stack_trace", "python_process_inspector", "python_debugger"} {
		t.Run(name, func(t *testing.T) {
			f, r := runFinding(t, env, "local", "run", name, "--pod", "e2e-helper-app/app-1", "--apply")
			b, _ := json.Marshal(f)
			if !strings.Contains(string(b), name+" is deprecated in Robusta") || !strings.Contains(string(b), "pod_ps") || !strings.Contains(r.stderr, "deprecated") {
				t.Fatalf("no deprecation: %s\n%s", b, r)
			}
			if left := helperPodsLeft(t, c); len(left) != 0 {
				t.Fatalf("pods left: %v", left)
			}
		})
	}
}
