package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// TestLocalRestartLoopReporter runs the deprecated restart_loop_reporter on a pod
// whose container waits after five restarts: the deprecation note, the container's
// fields, last exit and previous logs; a reason filter that matches nothing and a
// pod restarted only once give no report.
func TestLocalRestartLoopReporter(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	rn := crashingRunnerPod(t, c, "b5-rl", "loading config", "fatal: missing key")
	env := kubeconfigEnv(c.KubeconfigPath)
	pods := c.Client.CoreV1().Pods("b5-rl")
	setRestarts := func(n int32) {
		t.Helper()
		pod, err := pods.Get(ctx, rn.Pod, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		finished := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: "runner", Image: "robusta-runner:sandbox", RestartCount: n,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 3, Reason: "Error", StartedAt: finished, FinishedAt: finished}},
		}}
		if _, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setRestarts(5)
	ref := "b5-rl/" + rn.Pod

	f, r := runFinding(t, env, "local", "run", "restart_loop_reporter", "--pod", ref)
	if !strings.Contains(r.stderr, "restart_loop_reporter is deprecated: use the on_pod_crash_loop trigger with the report_crash_loop action") {
		t.Fatalf("no deprecation note: %s", r)
	}
	if f.Title != "Crashing pod "+rn.Pod+" in namespace b5-rl" || f.Severity != "HIGH" || f.AggregationKey != "CrashLoopBackoff" || len(f.Enrichments) != 1 {
		t.Fatalf("%+v", f)
	}
	e := f.enrichment(t, "Container runner")
	if got := f.field(t, e, "restarts"); got != "5" {
		t.Fatalf("restarts %q", got)
	}
	if got := f.field(t, e, "state"); got != "waiting: CrashLoopBackOff" {
		t.Fatalf("state %q", got)
	}
	blocks := f.Enrichments[e].Blocks
	if len(blocks) != 3 || !strings.Contains(blocks[1].Text, "exited with code 3") {
		t.Fatalf("last exit: %+v", blocks)
	}
	if blocks[2].Type != "file" || string(blocks[2].Data) != "loading config\nfatal: missing key\n" {
		t.Fatalf("previous logs: %+v", blocks[2])
	}

	// restart_reason filters on the waiting reason.
	f, _ = runFinding(t, env, "local", "run", "restart_loop_reporter", "--pod", ref, "restart_reason=ImagePull")
	if f.Severity == "HIGH" || len(f.Enrichments) != 1 || !strings.Contains(f.Enrichments[0].Blocks[0].Text, `with a waiting reason containing "ImagePull"`) {
		t.Fatalf("reason filter: %+v", f)
	}
	f, _ = runFinding(t, env, "local", "run", "restart_loop_reporter", "--pod", ref, "restart_reason=CrashLoop")
	if f.Severity != "HIGH" {
		t.Fatalf("matching reason: %+v", f)
	}
	// One restart is not enough: the runner waits for the second so previous logs exist.
	setRestarts(1)
	f, _ = runFinding(t, env, "local", "run", "restart_loop_reporter", "--pod", ref)
	if f.Severity == "HIGH" || !strings.Contains(f.Enrichments[0].Blocks[0].Text, "No container of pod "+rn.Pod+" is waiting after more than one restart.") {
		t.Fatalf("one restart: %+v", f)
	}
	r = run(t, env, "local", "run", "restart_loop_reporter", "--pod", ref, "rate_limit=soon")
	if r.code != 2 || !strings.Contains(r.stderr, "rate_limit") {
		t.Fatalf("bad rate_limit: %s", r)
	}
}

// TestLocalCountPodCreations: one run in one process counts the Deployment once.
func TestLocalCountPodCreations(t *testing.T) {
	ns := "b5-count"
	c, ctx, env := inNamespace(t, ns)
	labels := map[string]string{"app": "shop"}
	_, err := c.Client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1"}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := runFinding(t, env, "local", "run", "count_pod_creations", "--deployment", ns+"/shop")
	if f.Title != "DeploymentChangeCounter: {shop: 1}" || f.AggregationKey != "CountPodCreations" || f.Severity != "INFO" || len(f.Enrichments) != 0 {
		t.Fatalf("%+v", f)
	}
	r := run(t, env, "local", "run", "count_pod_creations", "--pod", ns+"/nothing")
	if r.code == 0 {
		t.Fatalf("a pod is not a deployment: %s", r)
	}
}

// TestLocalCPUThrottling covers the enricher's cases on pods as written: a CPU limit,
// no limit, metrics-server with a limit, and GKE's metrics-server, which stops the chain.
func TestLocalCPUThrottling(t *testing.T) {
	ns := "b5-cpu"
	c, ctx, env := inNamespace(t, ns)
	mk := func(name string, limit bool, tolerate string) {
		t.Helper()
		res := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}
		if limit {
			res.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m")}
		}
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "busybox", Resources: res}}}}
		if tolerate != "" {
			p.Spec.Tolerations = []corev1.Toleration{{Key: tolerate, Operator: corev1.TolerationOpExists}}
		}
		if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("limited", true, "")
	mk("unlimited", false, "")
	mk("metrics-server-1", true, "")
	mk("metrics-server-gke", false, "components.gke.io/gke-managed-components")
	for _, tc := range []struct {
		pod  string
		want []string
	}{
		{"limited", []string{"Explanation: the pod is throttled by its CPU limit", "Recommendation: remove the pod's CPU limit"}},
		{"unlimited", []string{"Explanation: the pod has no CPU limit"}},
		{"metrics-server-1", []string{"Explanation: metrics-server is throttled", "Recommendation: raise the CPU limit of the metrics-server deployment"}},
	} {
		f, _ := runFinding(t, env, "local", "run", "cpu_throttling_analysis_enricher", "--pod", ns+"/"+tc.pod)
		if len(f.Enrichments) != 1 || len(f.Enrichments[0].Blocks) != len(tc.want) {
			t.Fatalf("%s: %+v", tc.pod, f)
		}
		for i, w := range tc.want {
			if b := f.Enrichments[0].Blocks[i]; b.Type != "markdown" || !strings.HasPrefix(b.Text, w) {
				t.Fatalf("%s block %d: %+v, want %q", tc.pod, i, b, w)
			}
		}
	}
	f, r := runFinding(t, env, "local", "run", "cpu_throttling_analysis_enricher", "--pod", ns+"/metrics-server-gke")
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "GKE manages this metrics-server pod") {
		t.Fatalf("gke: %+v\n%s", f, r)
	}
}

// TestLocalTestPodORM: the example reads the pod's images, runs ls -l / in it (kwok
// runs it on this machine, a harmless listing) and deletes the pod: a server-side dry
// run that leaves it, then with --apply it is gone.
func TestLocalTestPodORM(t *testing.T) {
	e := startRunner(t, "b5-orm", nil, sandbox.RunnerSpec{ExecDir: t.TempDir()})
	c := sandbox.Get(t)
	ctx := context.Background()
	ref := "b5-orm/" + e.runner.Pod
	pods := c.Client.CoreV1().Pods("b5-orm")
	pod, err := pods.Get(ctx, e.runner.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, r := runFinding(t, e.env, "local", "run", "test_pod_orm", "--pod", ref)
	if len(f.Enrichments) != 3 {
		t.Fatalf("%+v", f)
	}
	if b := f.Enrichments[0]; b.Title != "Images" || b.Blocks[0].Text != pod.Spec.Containers[0].Image {
		t.Fatalf("images: %+v", b)
	}
	if b := f.Enrichments[1]; b.Title != "ls -l /" || !strings.Contains(b.Blocks[0].Text, "total ") {
		t.Fatalf("ls: %+v", b)
	}
	if b := f.Enrichments[2]; b.Blocks[0].Text != "Dry run: would delete pod "+ref || !strings.Contains(r.stderr, "test_pod_orm ran as a server-side dry run") {
		t.Fatalf("dry run: %+v\n%s", b, r)
	}
	if _, err := pods.Get(ctx, e.runner.Pod, metav1.GetOptions{}); err != nil {
		t.Fatalf("dry run removed the pod: %v", err)
	}
	f, _ = runFinding(t, e.env, "local", "run", "test_pod_orm", "--pod", ref, "--apply")
	if len(f.Enrichments) != 3 || f.Enrichments[2].Blocks[0].Text != "Deleted pod "+ref {
		t.Fatalf("apply: %+v", f)
	}
	if after, err := pods.Get(ctx, e.runner.Pod, metav1.GetOptions{}); err == nil && after.UID == pod.UID && after.DeletionTimestamp == nil {
		t.Fatalf("the pod is still there after --apply")
	}
}

// TestLocalCreatePVCSnapshot: without the VolumeSnapshot CRD a one-line error says
// what to install; with it, a server-side dry run creates nothing and --apply creates
// a snapshot of the claim; a missing claim is a failed-backup finding.
func TestLocalCreatePVCSnapshot(t *testing.T) {
	ns := "b5-snap"
	c, ctx, env := inNamespace(t, ns)
	_, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, env, "local", "run", "create_pvc_snapshot", "name=data", "namespace="+ns)
	if r.code == 0 || !strings.Contains(r.stderr, "the cluster does not serve VolumeSnapshots (snapshot.storage.k8s.io); install the external-snapshotter CRDs") ||
		strings.Contains(r.stderr, "goroutine") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("no CRD: %s", r)
	}

	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "volumesnapshots.snapshot.storage.k8s.io",
			// k8s.io groups need this annotation; the real CRD carries it too
			"annotations": map[string]any{"api-approved.kubernetes.io": "https://github.com/kubernetes-csi/external-snapshotter/pull/419"}},
		"spec": map[string]any{"group": "snapshot.storage.k8s.io", "scope": "Namespaced",
			"names": map[string]any{"kind": "VolumeSnapshot", "plural": "volumesnapshots", "singular": "volumesnapshot", "listKind": "VolumeSnapshotList"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}},
	}}
	if _, err := c.Dynamic.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Dynamic.Resource(crdGVR).Delete(context.Background(), "volumesnapshots.snapshot.storage.k8s.io", metav1.DeleteOptions{})
	})
	snaps := c.Dynamic.Resource(schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}).Namespace(ns)
	// The new resource is served a moment after the CRD is established.
	var f finding
	waitFor(t, func() bool {
		r = run(t, env, "local", "run", "create_pvc_snapshot", "name=data", "namespace="+ns, "-o", "json")
		return r.code == 0
	}, &err)
	decode(t, r.stdout, &f)
	if !strings.HasPrefix(f.Title, "Dry run: would create VolumeSnapshot data-backup-") || f.AggregationKey != "VolumeSnapshot" ||
		!strings.Contains(r.stderr, "create_pvc_snapshot ran as a server-side dry run") {
		t.Fatalf("dry run: %+v\n%s", f, r)
	}
	if list, err := snaps.List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 0 {
		t.Fatalf("dry run created snapshots: %v %v", list, err)
	}
	f, _ = runFinding(t, env, "local", "run", "create_pvc_snapshot", "name=data", "namespace="+ns, "--apply")
	list, err := snaps.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("apply: %v %v", list, err)
	}
	s := list.Items[0]
	src, _, _ := unstructured.NestedString(s.Object, "spec", "source", "persistentVolumeClaimName")
	if f.Title != "Created VolumeSnapshot "+s.GetName() || src != "data" || !strings.HasPrefix(s.GetName(), "data-backup-"+time.Now().Format("01-02-06")) {
		t.Fatalf("apply: %+v, snapshot %v", f, s.Object)
	}
	f, _ = runFinding(t, env, "local", "run", "create_pvc_snapshot", "name=nothing", "namespace="+ns)
	if f.Title != "Error creating VolumeSnapshot for nothing" || f.Severity != "HIGH" || f.AggregationKey != "VolumeSnapshotError" ||
		f.Enrichments[0].Blocks[0].Text != "No backup: PersistentVolumeClaim nothing does not exist in namespace "+ns+"." {
		t.Fatalf("missing claim: %+v", f)
	}
}
