package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// volume_analysis on a hostPath volume bound to a claim. The ls -R commands run on
// this machine (kwok exec): in the reader pod, `ls -R /pvc` (a read); in the pod that
// uses the claim, its mount path is a temporary folder of this test.
func TestLocalHelperPodsVolumeAnalysis(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	ctx := context.Background()
	const ns, pvName = "e2e-vol", "e2e-vol-pv"
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureNode(ctx, sandbox.FakeNodeName); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vol-file-6612.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := ""
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: pvName},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
			ClaimRef:                      &corev1.ObjectReference{Namespace: ns, Name: "data"},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		}}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &empty, VolumeName: pvName,
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	if _, err := c.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client.CoreV1().PersistentVolumeClaims(ns).Delete(context.Background(), "data", metav1.DeleteOptions{})
		_ = c.Client.CoreV1().PersistentVolumes().Delete(context.Background(), pvName, metav1.DeleteOptions{})
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		if err == nil && got.Status.Phase == corev1.ClaimBound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("claim never bound: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	left := func(t *testing.T) {
		t.Helper()
		pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) != 0 {
			t.Fatalf("reader pod left: %s", pods.Items[0].Name)
		}
	}
	args := []string{"local", "run", "volume_analysis", "--kind", "persistentvolume", "--name", pvName}

	t.Run("reader pod dry run", func(t *testing.T) {
		f, r := runFinding(t, env, args...)
		spec := dryRunSpec(t, f, r)
		for _, want := range []string{"name: volume-inspector", "namespace: " + ns, "claimName: data", "mountPath: /pvc", "image: busybox", "- tail\n", "- /dev/null\n"} {
			if !strings.Contains(spec, want) {
				t.Fatalf("spec lacks %q:\n%s", want, spec)
			}
		}
		left(t)
	})
	t.Run("reader pod apply", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		w, err := c.Client.CoreV1().Pods(ns).Watch(wctx, metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range w.ResultChan() {
				if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Added {
					_ = c.WirePod(wctx, p.Namespace, p.Name, "pvc-inspector", "", t.TempDir(), "", "")
				}
			}
		}()
		defer func() { w.Stop(); cancel(); wg.Wait() }()
		f, r := runFinding(t, env, append(args, "--apply")...)
		if f.Title != "Files present on persistent volume "+pvName+" are: " {
			t.Fatalf("title %q\n%s", f.Title, r)
		}
		if out, ok := fileBlock(f, "Data.txt: "); !ok || !strings.Contains(out, "/pvc") {
			t.Fatalf("Data.txt: %q\n%s", out, r)
		}
		left(t)
	})
	t.Run("pod using the claim", func(t *testing.T) {
		if err := c.WirePod(ctx, ns, "vol-user", "app", "", t.TempDir(), "", ""); err != nil {
			t.Fatal(err)
		}
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "vol-user", Namespace: ns},
			Spec: corev1.PodSpec{NodeName: sandbox.FakeNodeName,
				Volumes: []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					{Name: "d", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
				Containers: []corev1.Container{{Name: "app", Image: "busybox", VolumeMounts: []corev1.VolumeMount{{Name: "d", MountPath: dir}}}}}}
		if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		defer func() {
			zero := int64(0)
			_ = c.Client.CoreV1().Pods(ns).Delete(context.Background(), "vol-user", metav1.DeleteOptions{GracePeriodSeconds: &zero})
		}()
		deadline := time.Now().Add(60 * time.Second)
		for {
			got, err := c.Client.CoreV1().Pods(ns).Get(ctx, "vol-user", metav1.GetOptions{})
			if err == nil && got.Status.Phase == corev1.PodRunning {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pod never ran: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// No --apply: listing files in a running pod creates nothing.
		f, r := runFinding(t, env, args...)
		if out, ok := fileBlock(f, "Data.txt: "); !ok || !strings.Contains(out, "vol-file-6612.txt") {
			t.Fatalf("Data.txt: %q\n%+v\n%s", out, f, r)
		}
		left(t)
	})
}
