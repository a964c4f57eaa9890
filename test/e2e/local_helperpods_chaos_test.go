package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// generate_high_cpu on the sandbox: kwok "runs" the stress pod without executing
// anything, so --apply is harmless here.
func TestLocalHelperPodsHighCPU(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	ctx := context.Background()
	helperPrereqs(t, c)
	gone := func(t *testing.T, stderr string) {
		t.Helper()
		if _, err := c.Client.AppsV1().Deployments(helperpod.DefaultNamespace).Get(ctx, "stress-test", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("deployment left (%v)\n%s", err, stderr)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v\n%s", left, stderr)
		}
	}
	t.Run("dry run", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "generate_high_cpu")
		spec := dryRunSpec(t, f, r)
		for _, want := range []string{"name: stress-test", "image: jfusterm/stress", "- stress\n", "- --cpu\n", "- \"100\"\n", "name: runner", "replicas: 1", "namespace: robusta"} {
			if !strings.Contains(spec, want) {
				t.Fatalf("spec lacks %q:\n%s", want, spec)
			}
		}
		gone(t, r.stderr)
	})
	t.Run("interrupt", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		w, err := c.Client.AppsV1().Deployments(helperpod.DefaultNamespace).Watch(wctx, metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		cmd, stderr := startBinary(t, env, "local", "run", "generate_high_cpu", "--apply")
		waitAdded(t, w, cmd)
		_ = cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err == nil || !strings.Contains(stderr.String(), "interrupted") {
			t.Fatalf("err %v\n%s", err, stderr)
		}
		gone(t, stderr.String())
	})
	t.Run("apply", func(t *testing.T) {
		// The runner's full 60 seconds.
		_, r := runFinding(t, env, "local", "run", "generate_high_cpu", "--apply")
		if !strings.Contains(r.stderr, "ran for 60s and was deleted") {
			t.Fatal(r)
		}
		gone(t, r.stderr)
	})
}
