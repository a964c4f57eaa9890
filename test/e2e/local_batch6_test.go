package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// b6Pod creates a pod on node with the given containers and then its status (the
// node is one kwok leaves alone, so the status stays as written).
func b6Pod(t *testing.T, c *sandbox.Cluster, ns, name, node string, labels map[string]string, containers []corev1.Container, status corev1.PodStatus) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{NodeName: node, RestartPolicy: corev1.RestartPolicyNever, Containers: containers}}
	created, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status = status
	updated, err := c.Client.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return updated
}

func memory(req, lim string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(req)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(lim)},
	}
}

func oomKilled(started, finished time.Time) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled",
		StartedAt: metav1.NewTime(started), FinishedAt: metav1.NewTime(finished)}
}

// TestLocalKubectlDescribe: kubectl's describe text for a pod (with its events), for
// every pod whose name starts with the given name when none has it exactly, for a
// cluster-scoped node; unknown kinds, missing params and missing objects are errors.
func TestLocalKubectlDescribe(t *testing.T) {
	ns, node := "b6-desc", "b6-desc-node"
	c, ctx, env := inNamespace(t, ns)
	customNode(t, c, node)
	running := corev1.PodStatus{Phase: corev1.PodRunning}
	containers := []corev1.Container{{Name: "app", Image: "nginx:1.27"}}
	web1 := b6Pod(t, c, ns, "web-1", node, map[string]string{"app": "web"}, containers, running)
	b6Pod(t, c, ns, "web-2", node, map[string]string{"app": "web"}, containers, running)
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web-1.probe", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "web-1", UID: web1.UID, APIVersion: "v1"},
		Reason:         "Unhealthy", Message: "Readiness probe failed: connection refused", Type: corev1.EventTypeWarning,
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Count: 3, Source: corev1.EventSource{Component: "kubelet"}}
	if _, err := c.Client.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	f, _ := runFinding(t, env, "local", "run", "kubectl_describe", "kind=pod", "name=web-1", "namespace="+ns)
	if f.Title != "kubectl describe pod/web-1" || f.AggregationKey != "kubectl_describe" || len(f.Enrichments) != 1 || len(f.Enrichments[0].Blocks) != 1 {
		t.Fatalf("%+v", f)
	}
	b := f.block(t, 0, 0)
	text := string(b.Data)
	if b.Type != "file" || b.Name != ns+"_pod_web-1_describe.txt" {
		t.Fatalf("block %s %q", b.Type, b.Name)
	}
	for _, want := range []string{"Name:             web-1\n", "Namespace:        " + ns + "\n", "Node:             " + node,
		"Labels:           app=web\n", "Status:           Running\n", "Image:        nginx:1.27\n",
		"Events:\n", "Warning  Unhealthy", "Readiness probe failed: connection refused"} {
		if !strings.Contains(text, want) {
			t.Errorf("describe of web-1 lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "web-2") {
		t.Errorf("describe of web-1 shows web-2:\n%s", text)
	}

	// kubectl's fallback: no pod is named "web", so every pod whose name starts so.
	f, _ = runFinding(t, env, "local", "run", "kubectl_describe", "kind=pods", "name=web", "namespace="+ns)
	text = string(f.block(t, 0, 0).Data)
	if strings.Count(text, "Name:             web-") != 2 || !strings.Contains(text, "web-1") || !strings.Contains(text, "web-2") {
		t.Fatalf("prefix describe:\n%s", text)
	}

	// A cluster-scoped kind: no namespace in the file name.
	f, _ = runFinding(t, env, "local", "run", "kubectl_describe", "kind=node", "name="+node)
	if b := f.block(t, 0, 0); b.Name != "node_"+node+"_describe.txt" || !strings.Contains(string(b.Data), "Name:               "+node+"\n") ||
		!strings.Contains(string(b.Data), "Non-terminated Pods:") {
		t.Fatalf("node describe %q:\n%s", b.Name, b.Data)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"kind=pod", "namespace=" + ns}, 2, `missing required parameter "name"`},
		{[]string{"kind=gizmo", "name=x", "namespace=" + ns}, 2, `the server has no resource kind "gizmo"`},
		{[]string{"kind=pod", "name=nothing-here", "namespace=" + ns}, 1, "not found"},
	} {
		r := run(t, env, append([]string{"local", "run", "kubectl_describe"}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("%v: want exit %d and %q: %s", tc.args, tc.code, tc.want, r)
		}
	}
}

// TestLocalPodOOMKillerEnricher: the node's allocated memory and the container that
// was OOMKilled last (from its last state), block by block; a pod without an OOM kill
// and a pod whose node is gone give what is left, with notes.
func TestLocalPodOOMKillerEnricher(t *testing.T) {
	ns, node := "b6-oom", "b6-oom-node"
	c, ctx, env := inNamespace(t, ns)
	customNode(t, c, node)
	// The node controller and kwok write the node's status too: retry on conflict.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status.Capacity = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("8Gi")}
		n.Status.Allocatable = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("7Gi")}
		_, err = c.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	b6Pod(t, c, ns, "hog", node, nil,
		[]corev1.Container{{Name: "app", Image: "hog:1", Resources: memory("128Mi", "256Mi")}, {Name: "side", Image: "side:1"}},
		corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			// app was killed last (its last state); side earlier (its current state).
			{Name: "app", Image: "hog:1", RestartCount: 1, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(now)}},
				LastTerminationState: corev1.ContainerState{Terminated: oomKilled(now.Add(-10*time.Minute), now.Add(-time.Minute))}},
			{Name: "side", Image: "side:1", State: corev1.ContainerState{Terminated: oomKilled(now.Add(-time.Hour), now.Add(-30*time.Minute))}},
		}})

	f, r := runFinding(t, env, "local", "run", "pod_oom_killer_enricher", "--pod", ns+"/hog", "dmesg_log=true")
	if f.Title != "Pod hog in namespace b6-oom OOMKilled results" || f.Severity != "HIGH" || f.AggregationKey != "PodOOMKilled" ||
		f.Source != "kubernetes_api_server" || f.Subject["name"] != "hog" || f.Subject["node"] != node || len(f.Enrichments) != 2 {
		t.Fatalf("%+v", f)
	}
	nodeInfo, containerInfo := f.enrichment(t, "Node Info"), f.enrichment(t, "Container Info")
	if b := f.block(t, nodeInfo, 0); b.Type != "table" || b.Name != "*Node Info*" || strings.Join(b.Headers, ",") != "field,value" ||
		!rowsEqual(b.Rows, [][]string{{"Node Name", node}, {"Node allocated memory", "12.50% out of 7168MB allocatable"}}) {
		t.Errorf("node info: %+v", b)
	}
	if b := f.block(t, containerInfo, 0); b.Type != "table" || b.Name != "*Container Info*" || !rowsEqual(b.Rows, [][]string{
		{"Pod", "hog"}, {"Namespace", ns}, {"Container memory", "128MB request, 256MB limit"}, {"Container name", "app"},
		{"Container started at", now.Add(-10 * time.Minute).Format(time.RFC3339)}, {"Container finished at", now.Add(-time.Minute).Format(time.RFC3339)},
	}) {
		t.Errorf("container info: %+v", b)
	}
	if len(f.Enrichments[nodeInfo].Blocks) != 1 || len(f.Enrichments[containerInfo].Blocks) != 1 {
		t.Errorf("graphs without being asked: %+v", f)
	}
	if !strings.Contains(r.stderr, "dmesg_log needs a privileged helper pod on node "+node) {
		t.Errorf("no dmesg note: %s", r)
	}

	// No OOM kill: the node part only. The container has no limits: "No request, No limit".
	b6Pod(t, c, ns, "calm", node, nil, []corev1.Container{{Name: "app", Image: "calm:1"}},
		corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", Image: "calm:1", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}})
	f, r = runFinding(t, env, "local", "run", "pod_oom_killer_enricher", "--pod", ns+"/calm")
	if len(f.Enrichments) != 1 || f.Enrichments[0].Title != "Node Info" || !strings.Contains(r.stderr, "no container of pod b6-oom/calm was OOMKilled") {
		t.Fatalf("%+v\n%s", f, r)
	}
	// An init container killed and a node that is gone: container info without the
	// container's spec fields, no node part.
	b6Pod(t, c, ns, "orphan", "b6-gone-node", nil, []corev1.Container{{Name: "app", Image: "x:1"}},
		corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
			{Name: "init", Image: "x:1", State: corev1.ContainerState{Terminated: oomKilled(now.Add(-2*time.Minute), now.Add(-time.Minute))}}}})
	f, r = runFinding(t, env, "local", "run", "pod_oom_killer_enricher", "--pod", ns+"/orphan")
	if len(f.Enrichments) != 1 || !strings.Contains(r.stderr, `node "b6-gone-node" of pod b6-oom/orphan not found`) {
		t.Fatalf("%+v\n%s", f, r)
	}
	if b := f.block(t, f.enrichment(t, "Container Info"), 0); !rowsEqual(b.Rows, [][]string{{"Pod", "orphan"}, {"Namespace", ns},
		{"Container started at", now.Add(-2 * time.Minute).Format(time.RFC3339)}, {"Container finished at", now.Add(-time.Minute).Format(time.RFC3339)}}) {
		t.Errorf("init container: %+v", b)
	}
	if r := run(t, env, "local", "run", "pod_oom_killer_enricher", "--pod", ns+"/hog", "resource_type=Disks"); r.code != 2 || !strings.Contains(r.stderr, "resource_type") {
		t.Errorf("bad resource_type: %s", r)
	}
}

// TestLocalJobRestartOnOOMKilled: a suspended job and an OOMKilled pod of it (made by
// hand, so nothing else runs). The dry run leaves the job and shows the rebuilt job's
// diff; --apply deletes and re-creates it with more memory; at max_resource the
// request stays; bad params and a job without pods are errors that change nothing.
func TestLocalJobRestartOnOOMKilled(t *testing.T) {
	ns, node := "b6-job", "b6-job-node"
	c, ctx, env := inNamespace(t, ns)
	customNode(t, c, node)
	jobs := c.Client.BatchV1().Jobs(ns)
	mkJob := func(name, req, lim string) *batchv1.Job {
		t.Helper()
		suspend, backoff := true, int32(0)
		res := memory(req, lim)
		res.Requests[corev1.ResourceCPU] = resource.MustParse("100m")
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
			Spec: batchv1.JobSpec{Suspend: &suspend, BackoffLimit: &backoff, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Tolerations: []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists}},
				Containers: []corev1.Container{{Name: "trainer", Image: "train:1", Resources: res}}}}}}
		created, err := jobs.Create(ctx, job, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		b6Pod(t, c, ns, name+"-x1", node, created.Spec.Selector.MatchLabels, created.Spec.Template.Spec.Containers,
			corev1.PodStatus{Phase: corev1.PodFailed, StartTime: &metav1.Time{Time: now.Add(-time.Minute)}, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "trainer", Image: "train:1", State: corev1.ContainerState{Terminated: oomKilled(now.Add(-time.Minute), now)}}}})
		return created
	}
	job := mkJob("train", "100Mi", "200Mi")

	dry, applied := dryRunThenApply(t, env, func(applied bool) {
		j, err := jobs.Get(ctx, "train", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("after job_restart_on_oomkilled_community (applied %v): %v", applied, err)
		}
		if (j.UID != job.UID) != applied {
			t.Fatalf("after job_restart_on_oomkilled_community (applied %v): the job was re-created: %v", applied, j.UID != job.UID)
		}
		mem := j.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory]
		if want := map[bool]string{false: "100Mi", true: "600Mi"}[applied]; mem.String() != want {
			t.Fatalf("memory request %s, want %s", mem.String(), want)
		}
	}, "local", "run", "job_restart_on_oomkilled_community", "--job", ns+"/train", "max_resource=2GiB")
	for i, f := range []finding{dry, applied} {
		if f.Title != "JOB RESTARTED" || f.AggregationKey != "JobRestartOnOomkilledCommunity" || f.Severity != "INFO" || len(f.Enrichments) != 2 {
			t.Fatalf("%d: %+v", i, f)
		}
		if b := f.block(t, 0, 0); b.Type != "markdown" || b.Text != "*containers memory after restart*\n```\n['trainer', '600Mi']\n```" {
			t.Errorf("%d: memory block %+v", i, b)
		}
		changes := f.enrichment(t, "Changes")
		head := map[int]string{0: "Dry run: job *b6-job/train* would be deleted and re-created (nothing changed)", 1: "Job *b6-job/train* deleted and re-created"}[i]
		if b := f.block(t, changes, 0); b.Text != head {
			t.Errorf("%d: %q, want %q", i, b.Text, head)
		}
		d := diffRows(f)
		for path, want := range map[string][2]string{
			"spec.template.spec.containers[0].resources.requests.memory": {"100Mi", "600Mi"},
			"spec.template.spec.containers[0].resources.limits.memory":   {"200Mi", "600Mi"},
			"spec.template.spec.containers[0].resources.requests.cpu":    {"100m", "(none)"},
			"spec.suspend":                   {"true", "false"},
			"metadata.labels":                {"map[app:train]", "(none)"},
			"spec.template.spec.tolerations": {"[map[key:gpu operator:Exists]]", "(none)"},
		} {
			if d[path] != want {
				t.Errorf("%d: diff %s = %q, want %q (all: %v)", i, path, d[path], want, d)
			}
		}
	}
	// The old job's pod is left, orphaned.
	if _, err := c.Client.CoreV1().Pods(ns).Get(ctx, "train-x1", metav1.GetOptions{}); err != nil {
		t.Errorf("the old pod: %v", err)
	}

	// At max_resource the request stays; the job is still rebuilt.
	mkJob("big", "2Gi", "3Gi")
	f, _ := runFinding(t, env, "local", "run", "job_restart_on_oomkilled_community", "--job", ns+"/big", "max_resource=1GiB")
	if f.Title != "MAX REACHED" || len(f.Enrichments) != 3 || f.block(t, 0, 0).Text != "*container request memory has reached the limit*\n```\ntrainer\n```" ||
		f.block(t, 1, 0).Text != "*containers memory after restart*\n```\n['trainer', '2Gi']\n```" {
		t.Fatalf("%+v", f)
	}

	// A job without pods; bad params: nothing changes.
	suspend := true
	if _, err := jobs.Create(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "idle"}, Spec: batchv1.JobSpec{Suspend: &suspend,
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "c", Image: "x:1"}}}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--job", ns + "/idle", "max_resource=1GiB"}, 1, "job b6-job/idle has no pods"},
		{[]string{"--job", ns + "/big"}, 2, `missing required parameter "max_resource"`},
		{[]string{"--job", ns + "/big", "max_resource=lots"}, 2, `parameter "max_resource": "lots" is not a size`},
		{[]string{"--job", ns + "/big", "max_resource=1GiB", "increase_by=5XiB"}, 2, `parameter "increase_by"`},
	} {
		r := run(t, env, append([]string{"local", "run", "job_restart_on_oomkilled_community", "--apply"}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: want exit %d and %q: %s", tc.args, tc.code, tc.want, r)
		}
	}
	if _, err := jobs.Get(ctx, "idle", metav1.GetOptions{}); err != nil {
		t.Errorf("the refused run changed job idle: %v", err)
	}
	if j, err := jobs.Get(ctx, "big", metav1.GetOptions{}); err != nil || j.Spec.Suspend == nil {
		t.Errorf("the refused runs changed job big: %v", err)
	}
}
