package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	pseudotty "github.com/creack/pty"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// finding is the JSON a `local run -o json` prints.
type finding struct {
	Title          string
	Severity       string
	AggregationKey string `json:"aggregation_key"`
	Type           string `json:"finding_type"`
	Source         string
	Subject        map[string]any
	Enrichments    []struct {
		Title  string
		Blocks []struct {
			Type, Name, Text string
			Data             []byte
			Items, Headers   []string
			Rows             [][]string
			Truncated        int
		}
	}
}

// enrichment returns the enrichment titled title, failing the test when absent.
func (f finding) enrichment(t *testing.T, title string) int {
	t.Helper()
	for i, e := range f.Enrichments {
		if e.Title == title {
			return i
		}
	}
	t.Fatalf("no enrichment %q in %+v", title, f)
	return -1
}

// field is the value of a kubernetes_fields row.
func (f finding) field(t *testing.T, enrichment int, name string) string {
	t.Helper()
	for _, b := range f.Enrichments[enrichment].Blocks {
		if b.Type != "kubernetes_fields" {
			continue
		}
		for _, r := range b.Rows {
			if r[0] == name {
				return r[1]
			}
		}
	}
	t.Fatalf("no field %q in enrichment %d: %+v", name, enrichment, f.Enrichments[enrichment])
	return ""
}

func runFinding(t *testing.T, env []string, args ...string) (finding, result) {
	t.Helper()
	r := run(t, env, append(args, "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("%v\n%s", args, r)
	}
	var f finding
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, r)
	}
	return f, r
}

// TestLocalCrashLoopingPod puts a kwok pod into CrashLoopBackOff through the status
// subresource (as a kubelet would report it), with a Warning event and a previous
// container's log, and runs the crash-loop actions on it.
func TestLocalCrashLoopingPod(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	dir := t.TempDir()
	rn := crashingRunnerPod(t, c, "crash", "connecting to db", "panic: dial tcp 10.0.0.5:5432: connection refused")
	env := kubeconfigEnv(c.KubeconfigPath)
	pods := c.Client.CoreV1().Pods("crash")
	pod, err := pods.Get(ctx, rn.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	finished := metav1.NewTime(time.Now().Add(-30 * time.Second).Truncate(time.Second))
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: "runner", Image: "robusta-runner:sandbox", RestartCount: 5, Ready: false,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 2m40s restarting failed container"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 2, Reason: "Error", StartedAt: finished, FinishedAt: finished}},
	}}
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady || pod.Status.Conditions[i].Type == corev1.ContainersReady {
			pod.Status.Conditions[i].Status = corev1.ConditionFalse
		}
	}
	if _, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	warn(t, c, "crash", "Pod", rn.Pod, "BackOff", "Back-off restarting failed container runner in pod "+rn.Pod)
	ref := "crash/" + rn.Pod

	// report_crash_loop, as the runner's send_crash_report: the crash tables of the
	// container, then the log of its previous run as <pod>.log.
	f, _ := runFinding(t, env, "local", "run", "report_crash_loop", "--pod", ref)
	if f.Title != "Crashing pod "+rn.Pod+" in namespace crash" || f.Severity != "HIGH" || f.AggregationKey != "CrashLoopBackoff" {
		t.Fatalf("%+v", f)
	}
	crash := f.Enrichments[f.enrichment(t, "Container Crash information")].Blocks
	if len(crash) != 2 || crash[0].Name != "*Crash Info*" || fmt.Sprint(crash[0].Rows) != "[[Container runner] [Restarts 5] [Status WAITING] [Reason CrashLoopBackOff]]" ||
		crash[1].Name != "*Previous Container*" || len(crash[1].Rows) < 2 || fmt.Sprint(crash[1].Rows[:2]) != "[[Status TERMINATED] [Reason Error]]" {
		t.Fatalf("crash tables: %+v", crash)
	}
	logs := f.Enrichments[f.enrichment(t, "Logs")].Blocks
	if len(logs) != 1 || logs[0].Type != "file" || logs[0].Name != rn.Pod+".log" || string(logs[0].Data) != "connecting to db\npanic: dial tcp 10.0.0.5:5432: connection refused\n" {
		t.Fatalf("previous logs: %+v", logs)
	}

	// pod_issue_investigator: in plain words, with the warning event.
	r := run(t, env, "local", "run", "pod_issue_investigator", "--pod", ref)
	for _, want := range []string{
		"[HIGH] Pod " + rn.Pod + " has a problem: Container runner is crash looping",
		"• Container runner is crash looping: it has restarted 5 times",
		"• Its last run exited with code 2 at " + finished.UTC().Format(time.DateTime),
		"BackOff", "Back-off restarting failed container runner",
	} {
		mustContain(t, r, "stdout", want)
	}

	// related_pods on the deployment (the runner's columns: restarts is the tenth), and
	// the deployment's events: its own (the deployment controller's ScalingReplicaSet)
	// and, in dependent_pod_mode, its pods' (deployment_events_enricher: only pods not
	// Running, and the crash-looping pod's phase is Running; resource_events_enricher:
	// any phase).
	f, _ = runFinding(t, env, "local", "run", "related_pods", "--deployment", "crash/api")
	if rows := f.Enrichments[0].Blocks[0].Rows; len(rows) != 1 || rows[0][0] != rn.Pod || rows[0][9] != "5" {
		t.Fatalf("related_pods: %+v", f)
	}
	waitFor(t, func() bool {
		r = run(t, env, "local", "run", "deployment_events_enricher", "--deployment", "crash/api")
		return strings.Contains(r.stdout, "ScalingReplicaSet")
	}, r)
	r = run(t, env, "local", "run", "deployment_events_enricher", "--deployment", "crash/api", "dependent_pod_mode=true", "included_types=Warning")
	if r.code != 0 || !strings.Contains(r.stderr, "has no pods that are not Running") || strings.Contains(r.stdout, "BackOff") {
		t.Fatal(r)
	}
	r = run(t, env, "local", "run", "resource_events_enricher", "--kind", "deploy", "--name", "api", "-n", "crash", "dependent_pod_mode=true", "included_types=Warning")
	if r.code != 0 || !strings.Contains(r.stdout, rn.Pod) || !strings.Contains(r.stdout, "BackOff") || strings.Contains(r.stdout, "ScalingReplicaSet") {
		t.Fatal(r)
	}
	// Any kind through --kind/--name, with the namespace from -n.
	r = run(t, env, "local", "run", "resource_events_enricher", "--kind", "deploy", "--name", "api", "-n", "crash", "max_events=1")
	if r.code != 0 || !strings.Contains(r.stdout, "Resource Events") || !strings.Contains(r.stdout, "ScalingReplicaSet") {
		t.Fatal(r)
	}
	r = run(t, env, "local", "run", "resource_events_enricher", "--kind", "replicaset", "--name", "nope", "-n", "crash")
	if r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Fatal(r)
	}
	r = run(t, env, "local", "run", "resource_events_enricher", "--kind", "widgets", "--name", "x")
	if r.code != 1 || !strings.Contains(r.stderr, `no resource kind "widgets"`) {
		t.Fatal(r)
	}

	// A playbook: several actions into one finding, in order.
	pb := filepath.Join(dir, "playbook.yaml")
	if err := os.WriteFile(pb, []byte("triggers:\n- on_pod_crash_loop: {restart_reason: CrashLoopBackOff}\nactions:\n- report_crash_loop: {}\n- pod_events_enricher: {included_types: [Warning]}\n- create_finding:\n    title: \"Crash of $name ($labels.app)\"\n    severity: MEDIUM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _ = runFinding(t, env, "local", "run", "--playbook", pb, "--pod", ref)
	if f.Title != "Crash of "+rn.Pod+" (api)" || f.Severity != "MEDIUM" || len(f.Enrichments) != 3 ||
		f.Enrichments[0].Title != "Container Crash information" || f.Enrichments[1].Title != "Logs" || f.Enrichments[2].Title != "Pod events" {
		t.Fatalf("%+v", f)
	}
	r = run(t, env, "local", "run", "--playbook", pb, "--deployment", "crash/api")
	if r.code != 2 || !strings.Contains(r.stderr, "report_crash_loop needs a PodEvent, but got a DeploymentEvent") {
		t.Fatal(r)
	}
	// The same finding as Markdown.
	r = run(t, env, "local", "run", "report_crash_loop", "--pod", ref, "-o", "markdown")
	for _, want := range []string{"### [HIGH] Crashing pod " + rn.Pod, "| Restarts | 5 |", "📎 `" + rn.Pod + ".log`"} {
		mustContain(t, r, "stdout", want)
	}

	// A Prometheus alert naming the pod resolves to it; one naming a node does not fit a
	// pod action.
	alert := filepath.Join(dir, "alert.json")
	writeJSON(t, alert, map[string]any{"alerts": []any{map[string]any{"status": "firing",
		"labels":      map[string]string{"alertname": "KubePodCrashLooping", "severity": "warning", "pod": rn.Pod, "namespace": "crash"},
		"annotations": map[string]string{"summary": "Pod is crash looping."}}}})
	f, _ = runFinding(t, env, "local", "run", "report_crash_loop", "--alert", alert)
	if f.Source != "prometheus" || f.Subject["name"] != rn.Pod || f.Title != "Crashing pod "+rn.Pod+" in namespace crash" {
		t.Fatalf("%+v", f)
	}
	writeJSON(t, alert, map[string]any{"labels": map[string]string{"alertname": "NodeDown", "node": sandbox.FakeNodeName}})
	r = run(t, env, "local", "run", "report_crash_loop", "--alert", alert)
	if r.code != 2 || !strings.Contains(r.stderr, "needs a PodEvent, but got a PrometheusKubernetesAlert about a Node") {
		t.Fatal(r)
	}
	f, _ = runFinding(t, env, "local", "run", "node_status_enricher", "--alert", alert)
	if f.Title != "NodeDown" || f.Subject["name"] != sandbox.FakeNodeName {
		t.Fatalf("%+v", f)
	}
	// A webhook body with two alerts: two findings, a list in JSON; an alert naming
	// nothing still runs actions that take any event, and says what it found; its
	// subject is the runner's unresolved one, named "Unresolved" in templates.
	writeJSON(t, alert, map[string]any{"alerts": []any{
		map[string]any{"labels": map[string]string{"alertname": "A1", "pod": rn.Pod, "namespace": "crash"}},
		map[string]any{"labels": map[string]string{"alertname": "Watchdog"}, "status": "resolved"},
	}})
	r = run(t, env, "local", "run", "create_finding", "title=$name fired", "--alert", alert, "-o", "json")
	var list []finding
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &list) != nil || len(list) != 2 ||
		list[0].Title != rn.Pod+" fired" || list[1].Title != "Unresolved fired" {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "alert Watchdog: the alert's labels name no Kubernetes object")
}

// TestLocalImagePullBackoff reports a pod whose image cannot be pulled. The pod is
// bound to a node kwok does not manage, so the status the test writes is the only one.
func TestLocalImagePullBackoff(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	if err := c.EnsureNamespace(ctx, "pull"); err != nil {
		t.Fatal(err)
	}
	image := "registry.example.com/shop/cart:v9"
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cart", Namespace: "pull"},
		Spec: corev1.PodSpec{NodeName: "ghost-node", Containers: []corev1.Container{{Name: "cart", Image: image}}}}
	pod, err := c.Client.CoreV1().Pods("pull").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodPending
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "cart", Image: image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "` + image + `"`}}}}
	if _, err := c.Client.CoreV1().Pods("pull").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	warn(t, c, "pull", "Pod", "cart", "Failed", `Failed to pull image "`+image+`": rpc error: code = NotFound desc = failed to pull and unpack image "`+image+`": not found`)

	f, _ := runFinding(t, env, "local", "run", "image_pull_backoff_reporter", "--pod", "pull/cart")
	if f.Title != "Failed to pull at least one image in pod cart in namespace pull" || f.Severity != "HIGH" {
		t.Fatalf("%+v", f)
	}
	row := f.Enrichments[f.enrichment(t, "Image pull problems")].Blocks[0].Rows[0]
	if row[0] != "cart" || row[1] != image || row[2] != "ImagePullBackOff" || row[3] != "the image or its tag does not exist" || !strings.Contains(row[4], "NotFound") {
		t.Fatalf("%q", row)
	}
	r := run(t, env, "local", "run", "pod_issue_investigator", "--pod", "pull/cart")
	mustContain(t, r, "stdout", "Container cart cannot start because image "+image+" cannot be pulled (ImagePullBackOff)")
	// No container waits after a restart: as in the runner, the finding has only its
	// title, and the note says why.
	r = run(t, env, "local", "run", "report_crash_loop", "--pod", "pull/cart")
	mustContain(t, r, "stderr", "no container of pod cart is waiting after a restart")
}

// TestLocalNotReadyNode runs the node actions on a node whose kubelet reports
// NotReady (a node kwok does not manage, its status written by the test) with a pod
// bound to it.
func TestLocalNotReadyNode(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "sick-node", Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}}}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client.CoreV1().Nodes().Delete(context.Background(), "sick-node", metav1.DeleteOptions{})
	})
	rl := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110")}
	// The node controller touches a new node at once, so write the status on the
	// latest version.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := c.Client.CoreV1().Nodes().Get(ctx, "sick-node", metav1.GetOptions{})
		if err != nil {
			return err
		}
		node.Status = corev1.NodeStatus{Capacity: rl, Allocatable: rl, Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady", Message: "container runtime is down",
				LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
		}}
		_, err = c.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureNamespace(ctx, "sick"); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "worker", Namespace: "sick"},
		Spec: corev1.PodSpec{NodeName: "sick-node", Containers: []corev1.Container{{Name: "w", Image: "busybox",
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}}}}}}
	if _, err := c.Client.CoreV1().Pods("sick").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	f, _ := runFinding(t, env, "local", "run", "node_status_enricher", "--node", "sick-node")
	rows := f.Enrichments[f.enrichment(t, "Node status")].Blocks[0].Rows
	if rows[0][0] != "Ready" || rows[0][1] != "False" || rows[0][2] != "KubeletNotReady" || rows[0][3] != "container runtime is down" {
		t.Fatalf("%q", rows)
	}
	f, _ = runFinding(t, env, "local", "run", "node_running_pods_enricher", "--node", "sick-node")
	rows = f.Enrichments[f.enrichment(t, "Pods running on the node")].Blocks[0].Rows
	if len(rows) != 1 || rows[0][0] != "sick" || rows[0][1] != "worker" || rows[0][5] != "sick-node" {
		t.Fatalf("%q", rows)
	}
	f, _ = runFinding(t, env, "local", "run", "node_allocatable_resources_enricher", "--node", "sick-node")
	got := map[string][]string{}
	for _, r := range f.Enrichments[f.enrichment(t, "Allocatable resources")].Blocks[0].Rows {
		got[r[0]] = r
	}
	if got["cpu"][1] != "4" || got["cpu"][2] != "500m (12%)" || got["cpu"][3] != "0" ||
		got["memory"][2] != "1Gi (12%)" || got["memory"][3] != "2Gi (25%)" || got["pods"][2] != "1 (0%)" {
		t.Fatalf("%q", got)
	}
	// related_pods works on nodes too, and the pod actions see the pod's node.
	r := run(t, env, "local", "run", "related_pods", "--node", "sick-node")
	mustContain(t, r, "stdout", "worker")
	f, _ = runFinding(t, env, "local", "run", "get_resource_yaml", "--pod", "sick/worker")
	if f.Subject["node"] != "sick-node" {
		t.Fatalf("%+v", f.Subject)
	}
}

func warn(t *testing.T, c *sandbox.Cluster, ns, kind, name, reason, msg string) {
	t.Helper()
	_, err := c.Client.CoreV1().Events(ns).Create(context.Background(), &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: "ev-", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: ns},
		Type:           "Warning", Reason: reason, Message: msg,
		LastTimestamp: metav1.NewTime(time.Now()), Count: 1,
		Source: corev1.EventSource{Component: "kubelet"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitFor retries cond for up to 20 s (controllers write events asynchronously).
func waitFor(t *testing.T, cond func() bool, last any) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in 20s; last: %v", last)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestLocalFailedJob fails a Job the way a kubelet would: its pod (on a kwok node, with
// logs from a file, its status left to the test) is reported Failed, and the job
// controller marks the Job failed with its own events.
func TestLocalFailedJob(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	if err := c.EnsureNamespace(ctx, "batch"); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureNode(ctx, sandbox.FakeNodeName); err != nil {
		t.Fatal(err)
	}
	zero := int32(0)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "etl", Namespace: "batch"},
		Spec: batchv1.JobSpec{BackoffLimit: &zero, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				NodeName:      sandbox.FakeNodeName,
				Containers:    []corev1.Container{{Name: "main", Image: "etl:1"}},
				Tolerations:   []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			}}},
	}
	if _, err := c.Client.BatchV1().Jobs("batch").Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	waitFor(t, func() bool {
		l, err := c.Client.CoreV1().Pods("batch").List(ctx, metav1.ListOptions{LabelSelector: "job-name=etl"})
		if err == nil && len(l.Items) == 1 {
			pod = &l.Items[0]
		}
		return pod != nil
	}, "job pod")
	logFile := filepath.Join(t.TempDir(), "etl.log")
	if err := sandbox.WriteCRILog(logFile, "loading 10 rows", "ERROR: table orders does not exist"); err != nil {
		t.Fatal(err)
	}
	if err := c.WirePod(ctx, "batch", pod.Name, "main", "", "", logFile, ""); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	pod.Status = corev1.PodStatus{Phase: corev1.PodFailed, StartTime: &now, ContainerStatuses: []corev1.ContainerStatus{{Name: "main", Image: "etl:1",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", StartedAt: now, FinishedAt: now}}}}}
	if _, err := c.Client.CoreV1().Pods("batch").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		j, err := c.Client.BatchV1().Jobs("batch").Get(ctx, "etl", metav1.GetOptions{})
		return err == nil && j.Status.Failed == 1 && len(j.Status.Conditions) > 0
	}, "job failed")

	r := run(t, env, "local", "run", "job_info_enricher", "--job", "batch/etl")
	for _, want := range []string{"failed", "0/1", "condition Failed", "BackoffLimitExceeded"} {
		mustContain(t, r, "stdout", want)
	}
	var last result
	waitFor(t, func() bool {
		last = run(t, env, "local", "run", "job_events_enricher", "--job", "batch/etl")
		return strings.Contains(last.stdout, "BackoffLimitExceeded") && strings.Contains(last.stdout, "SuccessfulCreate")
	}, &last)
	mustContain(t, last, "stdout", "Events of pod "+pod.Name)

	// job_pod_enricher: the latest pod's log (once kwok serves it) as <pod>.log; the
	// pod has no events here, so, as in the runner, no events table.
	var f finding
	waitFor(t, func() bool {
		f, last = runFinding(t, env, "local", "run", "job_pod_enricher", "--job", "batch/etl", "included_types=Warning")
		if len(f.Enrichments) == 0 {
			return false
		}
		e := f.Enrichments[len(f.Enrichments)-1]
		return e.Blocks[0].Type == "file" && string(e.Blocks[0].Data) == "loading 10 rows\nERROR: table orders does not exist\n"
	}, &last)
	if e := f.Enrichments[len(f.Enrichments)-1]; e.Blocks[0].Name != pod.Name+".log" {
		t.Fatalf("%+v", e)
	}
	// Robusta's name for the filter is included_types (JobPodEnricherParams).
	r = run(t, env, "local", "run", "job_pod_enricher", "--job", "batch/etl", "events_type=Warning")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown parameter "events_type"`) {
		t.Fatal(r)
	}
}

// TestCompletionOfObjectNames asks the binary for completions as a shell does
// (cobra's __complete), against the sandbox.
func TestCompletionOfObjectNames(t *testing.T) {
	e := startRunner(t, "compl", nil, sandbox.RunnerSpec{})
	complete := func(args ...string) []string {
		t.Helper()
		r := run(t, e.env, append([]string{"__complete"}, args...)...)
		if r.code != 0 {
			t.Fatal(r)
		}
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if !strings.HasPrefix(l, ":") { // the last line is the directive
				out = append(out, l)
			}
		}
		return out
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"local", "run", "logs_enricher", "--pod", "compl/"}, "compl/" + e.runner.Pod},
		{[]string{"local", "run", "related_pods", "--deployment", "com"}, "compl/robusta-runner"},
		{[]string{"local", "run", "node_status_enricher", "--node", "kwok"}, sandbox.FakeNodeName},
		{[]string{"playbooks", "trigger", "logs_enricher", "--pod", "compl/robusta"}, "compl/" + e.runner.Pod},
		{[]string{"local", "run", "logs_en"}, "logs_enricher"},
		{[]string{"local", "actions", "pod_"}, "pod_issue_investigator"},
	} {
		got := complete(tc.args...)
		found := false
		for _, g := range got {
			found = found || strings.SplitN(g, "\t", 2)[0] == tc.want
		}
		if !found {
			t.Errorf("%v: %q does not offer %q", tc.args, got, tc.want)
		}
	}
	// Another namespace's pods are not offered once a namespace is typed; an unreachable
	// cluster completes nothing, quietly.
	for _, g := range complete("local", "run", "logs_enricher", "--pod", "compl/") {
		if !strings.HasPrefix(g, "compl/") {
			t.Errorf("offered %q", g)
		}
	}
	r := run(t, []string{"KUBECONFIG=/nonexistent"}, "__complete", "local", "run", "logs_enricher", "--pod", "")
	if r.code != 0 || strings.Contains(r.stdout, "/") {
		t.Fatal(r)
	}
}

// TestLocalRunForbidden: a user who may read the pod but not its events, and one who
// may read nothing, get an error naming what they may not do.
func TestLocalRunForbidden(t *testing.T) {
	e := startRunner(t, "local-rbac", nil, sandbox.RunnerSpec{})
	ctx := context.Background()
	pod := "local-rbac/" + e.runner.Pod
	kubeconfigFor := func(sa string, grant bool) []string {
		token, err := e.c.ServiceAccountToken(ctx, "e2e-local-rbac", sa)
		if err != nil {
			t.Fatal(err)
		}
		if grant {
			if err := e.c.GrantRunnerAccess(ctx, "e2e-local-rbac", sa, "local-rbac"); err != nil {
				t.Fatal(err)
			}
		}
		kc := filepath.Join(t.TempDir(), "kubeconfig")
		if err := e.c.WriteTokenKubeconfig(kc, sa, token); err != nil {
			t.Fatal(err)
		}
		return kubeconfigEnv(kc)
	}
	nobody := kubeconfigFor("nobody", false)
	r := run(t, nobody, "local", "run", "get_resource_yaml", "--pod", pod)
	if r.code != 1 || !strings.Contains(r.stderr, `forbidden: user "system:serviceaccount:e2e-local-rbac:nobody" cannot get pods in namespace "local-rbac"`) {
		t.Fatal(r)
	}
	// The runner's rights (pods, logs, exec, port-forward) do not include events.
	limited := kubeconfigFor("limited", true)
	if r := run(t, limited, "local", "run", "get_resource_yaml", "--pod", pod); r.code != 0 {
		t.Fatal(r)
	}
	r = run(t, limited, "local", "run", "pod_events_enricher", "--pod", pod)
	if r.code != 1 || !strings.Contains(r.stderr, "pod_events_enricher: forbidden:") || !strings.Contains(r.stderr, "cannot list events") {
		t.Fatal(r)
	}
}

// TestLocalUnschedulablePod: the scheduler itself marks a pod that fits no node, and
// the investigator passes on its verdict.
func TestLocalUnschedulablePod(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	if err := c.EnsureNamespace(ctx, "sched"); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "picky", Namespace: "sched"},
		Spec: corev1.PodSpec{NodeSelector: map[string]string{"disktype": "nvme-that-nobody-has"},
			Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}
	if _, err := c.Client.CoreV1().Pods("sched").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	verdict := func() string {
		p, err := c.Client.CoreV1().Pods("sched").Get(ctx, "picky", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Reason == "Unschedulable" {
				return cond.Message
			}
		}
		return ""
	}
	waitFor(t, func() bool { return verdict() != "" }, "scheduler verdict")
	// The scheduler may revise its message as nodes come and go: compare with the one
	// current after the run.
	var r result
	waitFor(t, func() bool {
		r = run(t, env, "local", "run", "pod_issue_investigator", "--pod", "sched/picky")
		return strings.Contains(r.stdout, "The pod cannot be scheduled (Unschedulable): "+verdict())
	}, &r)
	mustContain(t, r, "stdout", "[HIGH] Pod picky has a problem: The pod cannot be scheduled (Unschedulable)")
	mustContain(t, r, "stdout", "FailedScheduling")
}

// runTTY runs the binary on a pseudo-terminal of the given width, as a person would,
// and returns what the terminal received.
func runTTY(t *testing.T, env []string, cols int, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "TERM=xterm-256color"}, env...)
	f, err := pseudotty.StartWithSize(cmd, &pseudotty.Winsize{Cols: uint16(cols), Rows: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	_, _ = io.Copy(&out, f) // ends with EIO when the program exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out.String())
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n")
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]")

// On a terminal a finding is coloured and its tables fit the width; NO_COLOR turns
// colour off; piped output keeps whole cells.
func TestLocalRunOnATerminal(t *testing.T) {
	e := startRunner(t, "local-tty", nil, sandbox.RunnerSpec{})
	long := "Readiness probe failed: Get \"http://10.0.0.7:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
	warn(t, e.c, "local-tty", "Pod", e.runner.Pod, "Unhealthy", long)
	args := []string{"local", "run", "pod_events_enricher", "--pod", "local-tty/" + e.runner.Pod}

	out := runTTY(t, e.env, 70, args...)
	if !ansi.MatchString(out) {
		t.Fatalf("no colour on a terminal:\n%q", out)
	}
	plain := ansi.ReplaceAllString(out, "")
	if !strings.Contains(plain, "Unhealthy") || !strings.Contains(plain, "…") {
		t.Fatalf("table not fitted:\n%s", plain)
	}
	tableLines := 0
	for _, line := range strings.Split(plain, "\n") {
		if !strings.HasPrefix(line, "  TYPE") && !strings.HasPrefix(line, "  Warning") {
			continue // prose lines wrap as the terminal wraps them
		}
		tableLines++
		if n := len([]rune(line)); n > 70 {
			t.Errorf("line of %d columns on a 70-column terminal: %q", n, line)
		}
	}
	if tableLines < 2 {
		t.Fatalf("no events table:\n%s", plain)
	}
	if out := runTTY(t, append(e.env, "NO_COLOR=1"), 70, args...); ansi.MatchString(out) {
		t.Fatalf("colour despite NO_COLOR:\n%q", out)
	}
	r := run(t, e.env, args...)
	if r.code != 0 || !strings.Contains(r.stdout, long) || ansi.MatchString(r.stdout) {
		t.Fatalf("piped output should hold whole cells and no colour:\n%s", r)
	}
}

// crashingRunnerPod is a runner-shaped pod in ns (the sandbox's way to a pod with
// logs) whose current container logs "starting" and whose previous one logged
// previous; removed afterwards so that runner discovery in other tests still finds
// exactly one runner.
func crashingRunnerPod(t *testing.T, c *sandbox.Cluster, ns string, previous ...string) *sandbox.Runner {
	t.Helper()
	dir := t.TempDir()
	logFile, prevFile := filepath.Join(dir, "current.log"), filepath.Join(dir, "previous.log")
	if err := sandbox.WriteCRILog(logFile, "starting"); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.WriteCRILog(prevFile, previous...); err != nil {
		t.Fatal(err)
	}
	rn, err := c.CreateRunner(context.Background(), sandbox.RunnerSpec{Namespace: ns, Deployment: "api", LogFile: logFile, PreviousLogFile: prevFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.DeleteRunner(context.Background(), rn); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return rn
}
