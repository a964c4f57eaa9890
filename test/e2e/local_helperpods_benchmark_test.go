package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// disk_benchmark on the sandbox: its claim binds to a hostPath volume of the class
// (nothing writes to it: kwok runs no fio), the Job completes, and fio's JSON is
// served as the pod's log.
func TestLocalHelperPodsDiskBenchmark(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	ctx := context.Background()
	helperPrereqs(t, c)
	claimGone := func(t *testing.T, r result) {
		t.Helper()
		if _, err := c.Client.CoreV1().PersistentVolumeClaims(helperpod.DefaultNamespace).Get(ctx, "robusta-disk-benchmark", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("claim left (%v)\n%s", err, r)
		}
		if left := helperJobsLeft(t, c, helperpod.DefaultNamespace); len(left) != 0 {
			t.Fatalf("left: %v\n%s", left, r)
		}
	}

	t.Run("dry run", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "disk_benchmark", "storage_class_name=e2e-bench", "test_seconds=5")
		b, _ := json.Marshal(f)
		for _, want := range []string{"robusta-disk-benchmark.yaml", "image: robustadev/robusta-fio-benchmark:1.0", "claimName: robusta-disk-benchmark",
			"mountPath: /robusta/data", "- /jobs/rand-rw.fio", "storageClassName: e2e-bench", "storage: 10Gi"} {
			if !strings.Contains(string(b), want) && !strings.Contains(decodeFiles(f), want) {
				t.Fatalf("dry run lacks %q:\n%s", want, decodeFiles(f))
			}
		}
		claimGone(t, r)
	})
	t.Run("apply", func(t *testing.T) {
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "e2e-bench-pv"},
			Spec: corev1.PersistentVolumeSpec{
				StorageClassName:              "e2e-bench",
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: t.TempDir()}},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			}}
		if _, err := c.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = c.Client.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
		})
		logFile := wireJobLogs(t, c, helperpod.DefaultNamespace)
		setJobLog(t, logFile, `{'jobs': [{'read': {'bw': 1234.5, 'iops': 308.625}, 'write': {'bw': 617, 'iops': 154.3}}]}`)
		f, r := runFinding(t, env, "local", "run", "disk_benchmark", "--apply", "storage_class_name=e2e-bench", "test_seconds=5")
		if f.Title != "Fio disk benchmark for storage class e2e-bench" {
			t.Fatalf("title %q\n%s", f.Title, r)
		}
		b, _ := json.Marshal(f)
		want := `\nfio benchmark:\nTotal Time: 5 Sec\nRead Band Width: 1234.50 KB \nRead IO Ops/Sec: 308.62\nWrite Band Width: 617.00 KB \nWrite Ops/Sec: 154.30\n `
		if !strings.Contains(string(b), want) {
			t.Fatalf("results:\n%s\n%s", b, r)
		}
		claimGone(t, r)
	})
}

// decodeFiles joins the finding's file blocks.
func decodeFiles(f finding) string {
	var b strings.Builder
	for _, e := range f.Enrichments {
		for _, bl := range e.Blocks {
			if bl.Type == "file" {
				b.WriteString(bl.Name + "\n" + string(bl.Data) + "\n")
			}
		}
	}
	return b.String()
}
