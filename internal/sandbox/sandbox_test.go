package sandbox

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMain(m *testing.M) { Main(m) }

func TestRunnerStandInBecomesReady(t *testing.T) {
	c := Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := c.CreateRunner(ctx, RunnerSpec{Namespace: "smoke", ExecDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.DeleteRunner(context.Background(), r); err != nil {
			t.Error(err)
		}
	})
	pod, err := c.Client.CoreV1().Pods(r.Namespace).Get(ctx, r.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !PodReady(pod) {
		t.Fatalf("runner pod %s not ready: %+v", r.Pod, pod.Status)
	}
	if pod.Labels["robustaComponent"] != "runner" {
		t.Fatalf("runner label missing: %v", pod.Labels)
	}
}

func TestUnschedulableRunnerStaysPending(t *testing.T) {
	c := Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := c.CreateRunner(ctx, RunnerSpec{Namespace: "smoke-pending", Unschedulable: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.DeleteRunner(context.Background(), r); err != nil {
			t.Error(err)
		}
	})
	time.Sleep(2 * time.Second)
	pod, err := c.Client.CoreV1().Pods(r.Namespace).Get(ctx, r.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if PodReady(pod) {
		t.Fatalf("pod bound to an unmanaged node became ready")
	}
}
