package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/demo"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// crashLoopCluster starts a sandbox of its own whose kwok crash-loops every container
// (testdata/crashloop-stages.yaml); the shared sandbox keeps kwok's default stages.
func crashLoopCluster(t *testing.T) *sandbox.Cluster {
	t.Helper()
	sandboxCluster(t) // skips (or fails in CI) when the components are missing
	stages, err := os.ReadFile(filepath.Join("testdata", "crashloop-stages.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log bytes.Buffer
	c, err := sandbox.Start(ctx, sandbox.Options{Stages: string(stages), Log: &log})
	if err != nil {
		t.Fatalf("crash-loop sandbox: %v\n%s", err, log.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			// kwok's own log says why pods did not move through the stages.
			b, _ := os.ReadFile(filepath.Join(c.Workdir, "clusters", c.Name, "logs", "kwok-controller.log"))
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) > 30 {
				lines = lines[len(lines)-30:]
			}
			t.Logf("kwok-controller.log (last lines):\n%s", strings.Join(lines, "\n"))
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stop crash-loop sandbox: %v", err)
		}
	})
	if err := c.EnsureNode(ctx, sandbox.FakeNodeName); err != nil {
		t.Fatal(err)
	}
	// A pod is scheduled only onto a Ready node: wait here, so a slow kwok shows as
	// such and not as a demo that never crash-loops.
	deadline := time.Now().Add(90 * time.Second)
	for !nodeReady(ctx, c) {
		if time.Now().After(deadline) {
			t.Fatalf("node %s of the crash-loop sandbox not Ready after 90s", sandbox.FakeNodeName)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return c
}

func nodeReady(ctx context.Context, c *sandbox.Cluster) bool {
	n, err := c.Client.CoreV1().Nodes().Get(ctx, sandbox.FakeNodeName, metav1.GetOptions{})
	if err != nil {
		return false
	}
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

func waitDemoGone(t *testing.T, c *sandbox.Cluster, ns string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		gone, err := demo.Gone(context.Background(), c.Client, ns)
		if err == nil && gone {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo objects still in %s after %s (err %v)", ns, within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestDemo(t *testing.T) {
	c := crashLoopCluster(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	ctx := context.Background()
	for _, ns := range []string{"demo-a", "demo-b", "demo-c", "demo-d"} {
		if err := c.EnsureNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("deploy, wait for the crash loop, cleanup", func(t *testing.T) {
		r := run(t, env, "demo", "-n", "demo-a", "--cleanup", "--timeout", "40s")
		if r.code != 0 {
			t.Fatalf("demo --cleanup failed\n%s", r)
		}
		mustContain(t, r, "stdout", "Deployed deployment demo-a/crashpod")
		mustContain(t, r, "stdout", "is crash-looping (CrashLoopBackOff, ")
		mustContain(t, r, "stdout", "a crash report for pod crashpod-")
		mustContain(t, r, "stdout", "Removed deployment demo-a/crashpod and its pods")
		// No spinner or control characters when stderr is not a terminal.
		if strings.Contains(r.stderr, "\r") || strings.Contains(r.stderr, "\033[") {
			t.Errorf("control characters on a non-terminal stderr: %q", r.stderr)
		}
		waitDemoGone(t, c, "demo-a", 5*time.Second)
	})

	t.Run("no-wait deploys the Python CLI's manifest; delete removes it", func(t *testing.T) {
		r := run(t, env, "demo", "-n", "demo-b", "--no-wait")
		if r.code != 0 {
			t.Fatalf("demo --no-wait failed\n%s", r)
		}
		mustContain(t, r, "stdout", "robusta demo --delete -n demo-b")
		d, err := c.Client.AppsV1().Deployments("demo-b").Get(ctx, "crashpod", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkDemoDeployment(t, d)

		// A second run finds it and waits for the crash loop it already has.
		r = run(t, env, "demo", "-n", "demo-b", "--timeout", "90s")
		if r.code != 0 {
			t.Fatalf("second demo failed\n%s", r)
		}
		mustContain(t, r, "stdout", "is already there")
		mustContain(t, r, "stdout", "is crash-looping")
		st, ok, err := demo.Status(ctx, c.Client, "demo-b")
		if err != nil || !ok || st.Restarts < demo.CrashLoopRestarts {
			t.Fatalf("pod not crash-looping after the wait: %+v ok=%v err=%v", st, ok, err)
		}

		r = run(t, env, "demo", "-n", "demo-b", "--delete")
		if r.code != 0 {
			t.Fatalf("demo --delete failed\n%s", r)
		}
		waitDemoGone(t, c, "demo-b", 5*time.Second)

		r = run(t, env, "demo", "-n", "demo-b", "--delete")
		if r.code != 1 || strings.Count(r.stderr, "Error:") != 1 {
			t.Fatalf("second delete: want one error, exit 1\n%s", r)
		}
		mustContain(t, r, "stderr", "no demo to remove: deployment demo-b/crashpod does not exist")
		mustContain(t, r, "stderr", "Hint: the demo is in the namespace it was deployed to")
	})

	t.Run("a Deployment named crashpod that is not the demo is left alone", func(t *testing.T) {
		d, err := demo.Deployment("demo-c")
		if err != nil {
			t.Fatal(err)
		}
		delete(d.Annotations, demo.MarkerAnnotation)
		if _, err := c.Client.AppsV1().Deployments("demo-c").Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"demo", "-n", "demo-c"}, {"demo", "-n", "demo-c", "--delete"}} {
			r := run(t, env, args...)
			if r.code != 1 || strings.Count(r.stderr, "Error:") != 1 {
				t.Fatalf("%v: want one error, exit 1\n%s", args, r)
			}
			mustContain(t, r, "stderr", "deployment demo-c/crashpod exists and was not created by robusta demo")
			if _, err := c.Client.AppsV1().Deployments("demo-c").Get(ctx, "crashpod", metav1.GetOptions{}); err != nil {
				t.Fatalf("%v: the user's Deployment is gone: %v", args, err)
			}
		}
	})

	t.Run("Ctrl-C while waiting leaves nothing behind", func(t *testing.T) {
		cmd := exec.Command(binary, "demo", "-n", "demo-d", "--timeout", "90s")
		home := t.TempDir()
		cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}, env...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Interrupt as soon as the Deployment exists: the pod cannot have restarted
		// twice yet, so the command is waiting.
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := c.Client.AppsV1().Deployments("demo-d").Get(ctx, "crashpod", metav1.GetOptions{})
			if err == nil {
				break
			}
			if !apierrors.IsNotFound(err) || time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("demo Deployment not created: %v\n%s%s", err, out.String(), errb.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 130 {
				t.Fatalf("want exit 130 after SIGINT, got %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("demo still running 15s after SIGINT\n%s%s", out.String(), errb.String())
		}
		if strings.Contains(out.String(), "is crash-looping") {
			t.Fatalf("the signal came after the wait ended; the test proves nothing\n%s", out.String())
		}
		if !strings.Contains(errb.String(), "Interrupted: ") || !strings.Contains(errb.String(), "deployment demo-d/crashpod") {
			t.Errorf("stderr does not say what was removed:\n%s", errb.String())
		}
		waitDemoGone(t, c, "demo-d", 20*time.Second)
	})

	t.Run("a timeout with --cleanup removes the demo", func(t *testing.T) {
		// Two restarts take kwok's stages at least 4 s: 1 s cannot see them.
		r := run(t, env, "demo", "-n", "demo-a", "--cleanup", "--timeout", "1s")
		if r.code != 1 || strings.Count(r.stderr, "Error:") != 1 {
			t.Fatalf("want one error, exit 1\n%s", r)
		}
		mustContain(t, r, "stderr", "deployment demo-a/crashpod did not crash-loop within 1s")
		mustContain(t, r, "stdout", "Removed deployment demo-a/crashpod and its pods")
		waitDemoGone(t, c, "demo-a", 5*time.Second)
	})

	t.Run("a spinner on a terminal", func(t *testing.T) {
		out := runTTY(t, env, 120, "demo", "-n", "demo-a", "--cleanup", "--timeout", "90s")
		// The spinner redraws its line: a carriage return, a clear-line sequence and
		// a frame with the pod's state.
		if !strings.Contains(out, "\r\033[K") || !strings.Contains(out, "waiting for demo-a/crashpod to crash-loop") {
			t.Fatalf("no spinner on the terminal:\n%q", out)
		}
		if !strings.Contains(out, "is crash-looping") || !strings.Contains(out, "Removed deployment demo-a/crashpod") {
			t.Fatalf("output:\n%s", out)
		}
		waitDemoGone(t, c, "demo-a", 5*time.Second)
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"demo", "--delete", "--cleanup"}, "--delete removes the demo and cannot be combined"},
			{[]string{"demo", "--cleanup", "--no-wait"}, "cannot be combined with --no-wait"},
			{[]string{"demo", "--timeout", "0s"}, "--timeout must be positive"},
			{[]string{"demo", "extra"}, "takes no arguments"},
		} {
			r := run(t, env, tc.args...)
			if r.code != 2 || strings.Count(r.stderr, "Error:") != 1 {
				t.Fatalf("%v: want one usage error, exit 2\n%s", tc.args, r)
			}
			mustContain(t, r, "stderr", tc.want)
		}
	})
}

// checkDemoDeployment compares the deployed object with the crashpod manifest the
// Python CLI applied: name, labels, selector, one busybox container exiting at once.
func checkDemoDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	if d.Name != "crashpod" || d.Labels["app"] != "crashpod" || d.Annotations[demo.MarkerAnnotation] != "true" {
		t.Errorf("metadata: %+v", d.ObjectMeta)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Selector.MatchLabels["app"] != "crashpod" ||
		d.Spec.Template.Labels["app"] != "crashpod" {
		t.Errorf("spec: replicas %v selector %v template labels %v", d.Spec.Replicas, d.Spec.Selector, d.Spec.Template.Labels)
	}
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("containers: %+v", cs)
	}
	ct := cs[0]
	if ct.Name != "crashpod" || ct.Image != "busybox" || ct.ImagePullPolicy != corev1.PullIfNotPresent ||
		strings.Join(ct.Command, " ") != "/bin/sh" || len(ct.Args) != 2 || ct.Args[0] != "-c" ||
		!strings.Contains(ct.Args[1], "exit 1") || !strings.Contains(ct.Args[1], "This is the crash log") {
		t.Errorf("container: %+v", ct)
	}
	if d.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("restartPolicy %q", d.Spec.Template.Spec.RestartPolicy)
	}
}
