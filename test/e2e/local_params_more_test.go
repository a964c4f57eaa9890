package e2e

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// namedWarning writes a Warning event with a fixed name and time, so the API's order
// of events (by name) and their times are known to the test.
func namedWarning(t *testing.T, c *sandbox.Cluster, ns, name, kind, obj, reason string, at time.Time) {
	t.Helper()
	_, err := c.Client.CoreV1().Events(ns).Create(context.Background(), &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: obj, Namespace: ns},
		Type:           "Warning", Reason: reason, Message: reason + " of " + obj,
		LastTimestamp: metav1.NewTime(at), Count: 1, Source: corev1.EventSource{Component: "kubelet"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Client.CoreV1().Events(ns).Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

// rowsOf are the rows of every table in the finding, one string per row.
func tableRows(f finding) []string {
	var out []string
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			for _, r := range b.Rows {
				out = append(out, strings.Join(r, "|"))
			}
		}
	}
	return out
}

// TestLocalEventsAndRelatedPodsParams runs the params of deployment_events_enricher,
// resource_events_enricher and related_pods that the runner has, on a Deployment with
// three pods (one Running, two Pending) with Warning events at known times.
func TestLocalEventsAndRelatedPodsParams(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	ns := "h27-params"
	if err := c.EnsureNode(ctx, sandbox.FakeNodeName); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	three := int32(3)
	labels := map[string]string{"app": "shop"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: &three, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				// kwok leaves these pods' status to the test: they stay Pending until set.
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}},
				Spec: corev1.PodSpec{NodeName: sandbox.FakeNodeName, Containers: []corev1.Container{{Name: "app", Image: "shop:1",
					Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
						Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")}}}}}}}}
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := c.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bg := metav1.DeletePropagationBackground
		_ = c.Client.AppsV1().Deployments(ns).Delete(context.Background(), "shop", metav1.DeleteOptions{PropagationPolicy: &bg})
		_ = c.Client.CoreV1().Services(ns).Delete(context.Background(), "shop", metav1.DeleteOptions{})
	})
	var pods []corev1.Pod
	waitFor(t, func() bool {
		list, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=shop"})
		pods = nil
		if err == nil {
			pods = list.Items
		}
		return len(pods) == 3
	}, &pods)
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	p0, p1, p2 := pods[0].Name, pods[1].Name, pods[2].Name
	// The first pod (in name order) runs; the other two stay Pending.
	pods[0].Status.Phase = corev1.PodRunning
	pods[0].Status.PodIPs = []corev1.PodIP{{IP: "10.1.0.7"}}
	pods[0].Status.PodIP = "10.1.0.7"
	if _, err := c.Client.CoreV1().Pods(ns).UpdateStatus(ctx, &pods[0], metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	t0 := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	min := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	stamp := func(m int) string { return min(m).UTC().Format("2006-01-02 15:04:05") }
	namedWarning(t, c, ns, "ev-0-shop", "Deployment", "shop", "DeployWarn", min(1))
	for i, p := range []string{p0, p1, p2} {
		namedWarning(t, c, ns, "ev-1-"+p+"-a", "Pod", p, "PodWarnA", min(10+i))
		namedWarning(t, c, ns, "ev-1-"+p+"-b", "Pod", p, "PodWarnB", min(20+i))
	}

	// deployment_events_enricher: its own events, or with dependent_pod_mode those of
	// its first max_pods pods that are not Running (p0 runs), one table each.
	dref := ns + "/shop"
	f, _ := runFinding(t, env, "local", "run", "deployment_events_enricher", "--deployment", dref, "included_types=Warning")
	if len(f.Enrichments) != 1 || f.Enrichments[0].Title != "Deployment Events" || f.Enrichments[0].Blocks[0].Name != "Deployment Events" ||
		strings.Join(tableRows(f), "\n") != "DeployWarn|Warning|"+stamp(1)+"|DeployWarn of shop" {
		t.Fatalf("own events: %+v", f)
	}
	f, _ = runFinding(t, env, "local", "run", "deployment_events_enricher", "--deployment", dref, "included_types=Warning", "dependent_pod_mode=true")
	if len(f.Enrichments) != 1 || f.Enrichments[0].Title != "Deployment Events" || f.Enrichments[0].Blocks[0].Name != "Pod events for "+p1 ||
		strings.Join(tableRows(f), "\n") != "PodWarnB|Warning|"+stamp(21)+"|PodWarnB of "+p1+"\nPodWarnA|Warning|"+stamp(11)+"|PodWarnA of "+p1 {
		t.Fatalf("dependent_pod_mode, max_pods 1: %+v", f)
	}
	f, _ = runFinding(t, env, "local", "run", "deployment_events_enricher", "--deployment", dref, "included_types=Warning", "dependent_pod_mode=true", "max_pods=5", "max_events=1")
	if len(f.Enrichments) != 2 || f.Enrichments[0].Blocks[0].Name != "Pod events for "+p1 || f.Enrichments[1].Blocks[0].Name != "Pod events for "+p2 ||
		strings.Join(tableRows(f), "\n") != "PodWarnB|Warning|"+stamp(21)+"|PodWarnB of "+p1+"\nPodWarnB|Warning|"+stamp(22)+"|PodWarnB of "+p2 {
		t.Fatalf("dependent_pod_mode, max_pods 5: %+v", f)
	}

	// resource_events_enricher: the object's events, then with dependent_pod_mode the
	// first max_pods pods' (any phase), cut to max_events before the newest-first sort.
	rargs := []string{"local", "run", "resource_events_enricher", "--kind", "deploy", "--name", "shop", "-n", ns, "included_types=Warning"}
	f, _ = runFinding(t, env, rargs...)
	if len(f.Enrichments) != 1 || f.Enrichments[0].Title != "Resource Events" || f.Enrichments[0].Blocks[0].Name != "Deployment Events" ||
		strings.Join(f.Enrichments[0].Blocks[0].Headers, ",") != "reason,type,time,kind,name,message" ||
		strings.Join(tableRows(f), "\n") != "DeployWarn|Warning|"+stamp(1)+"|Deployment|shop|DeployWarn of shop" {
		t.Fatalf("own events: %+v", f)
	}
	f, _ = runFinding(t, env, append(rargs, "dependent_pod_mode=true", "max_pods=2")...)
	want := []string{
		"PodWarnB|Warning|" + stamp(21) + "|Pod|" + p1 + "|PodWarnB of " + p1,
		"PodWarnB|Warning|" + stamp(20) + "|Pod|" + p0 + "|PodWarnB of " + p0,
		"PodWarnA|Warning|" + stamp(11) + "|Pod|" + p1 + "|PodWarnA of " + p1,
		"PodWarnA|Warning|" + stamp(10) + "|Pod|" + p0 + "|PodWarnA of " + p0,
		"DeployWarn|Warning|" + stamp(1) + "|Deployment|shop|DeployWarn of shop",
	}
	if got := tableRows(f); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("dependent_pod_mode, max_pods 2:\n got %q\nwant %q", got, want)
	}
	// With max_events 2 the deployment's event and the first pod's first event (API
	// order) are kept, though the pod's second one is newer: the runner cuts, then sorts.
	f, _ = runFinding(t, env, append(rargs, "dependent_pod_mode=true", "max_pods=3", "max_events=2")...)
	want = []string{want[3], want[4]}
	if got := tableRows(f); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("dependent_pod_mode, max_events 2:\n got %q\nwant %q", got, want)
	}
	// Kinds the runner's action refuses are refused, with the action that takes them.
	r := run(t, env, "local", "run", "resource_events_enricher", "--kind", "service", "--name", "shop", "-n", ns)
	if r.code == 0 || !strings.Contains(r.stderr, "not Service") || !strings.Contains(r.stderr, "use fetch_resource_events") || strings.Contains(r.stderr, "goroutine") {
		t.Fatalf("service: %s", r)
	}

	// related_pods: the runner's columns, in the API's (name) order; limit asks the API
	// for one page; json gives the runner's RelatedPod objects.
	kc, err := clientcmd.LoadFromFile(c.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cluster := kc.CurrentContext
	row := func(p, node, created, ips, phase string) string {
		return strings.Join([]string{p, ns, cluster, node, "0.5", "0.1", "64", "32", created, "0", ips, "1", phase, ""}, "|")
	}
	createdOf := func(p *corev1.Pod) string { return p.CreationTimestamp.UTC().Format("2006-01-02 15:04:05") + "+00:00" }
	f, _ = runFinding(t, env, "local", "run", "related_pods", "--deployment", dref)
	want = []string{row(p0, sandbox.FakeNodeName, createdOf(&pods[0]), "10.1.0.7", "Running"),
		row(p1, sandbox.FakeNodeName, createdOf(&pods[1]), "", "Pending"), row(p2, sandbox.FakeNodeName, createdOf(&pods[2]), "", "Pending")}
	if len(f.Enrichments) != 1 || f.Enrichments[0].Blocks[0].Name != "related pods" || strings.Join(tableRows(f), "\n") != strings.Join(want, "\n") {
		t.Fatalf("related_pods:\n got %q\nwant %q\n%+v", tableRows(f), want, f)
	}
	f, _ = runFinding(t, env, "local", "run", "related_pods", "--deployment", dref, "limit=2")
	if got := tableRows(f); strings.Join(got, "\n") != strings.Join(want[:2], "\n") {
		t.Fatalf("limit 2: %q", got)
	}
	f, _ = runFinding(t, env, "local", "run", "related_pods", "--deployment", dref, "output_format=json", "limit=1")
	var objs []map[string]any
	if len(f.Enrichments) != 1 || f.Enrichments[0].Blocks[0].Type != "json" || json.Unmarshal([]byte(f.Enrichments[0].Blocks[0].Text), &objs) != nil || len(objs) != 1 {
		t.Fatalf("json: %+v", f)
	}
	o := objs[0]
	if o["name"] != p0 || o["clusterName"] != cluster || o["cpuLimit"] != 0.5 || o["memoryRequest"] != 32.0 || o["addresses"] != "10.1.0.7" ||
		o["status"] != "Running" || o["raw_data"] != nil || o["statusReason"] != nil {
		t.Fatalf("json object: %v", o)
	}
	if cs := o["containers"].([]any); len(cs) != 1 || cs[0].(map[string]any)["name"] != "app" || cs[0].(map[string]any)["status"] != "waiting" {
		t.Fatalf("json containers: %v", o["containers"])
	}
	if !strings.HasPrefix(f.Enrichments[0].Blocks[0].Text, `[{"name": "`+p0+`", "namespace": "`+ns+`", "node": "`) {
		t.Fatalf("not Python's json.dumps layout: %s", f.Enrichments[0].Blocks[0].Text)
	}
	f, _ = runFinding(t, env, "local", "run", "related_pods", "--deployment", dref, "output_format=json", "include_raw_data=true", "limit=1")
	objs = nil
	if json.Unmarshal([]byte(f.Enrichments[0].Blocks[0].Text), &objs) != nil || len(objs) != 1 {
		t.Fatalf("json raw: %+v", f)
	}
	raw, _ := objs[0]["raw_data"].(map[string]any)
	meta, _ := raw["metadata"].(map[string]any)
	status, _ := raw["status"].(map[string]any)
	if meta["name"] != p0 || meta["creation_timestamp"] != createdOf(&pods[0]) || status["phase"] != "Running" || status["pod_i_ps"] == nil {
		t.Fatalf("raw_data: %v", raw)
	}
	// A Job's pods are found by its controller-uid label, as the runner's job selector
	// does, for both actions.
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: ns},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}},
			Spec: corev1.PodSpec{NodeName: sandbox.FakeNodeName, RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "run", Image: "nightly:1"}}}}}}
	job, err = c.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bg := metav1.DeletePropagationBackground
		_ = c.Client.BatchV1().Jobs(ns).Delete(context.Background(), "nightly", metav1.DeleteOptions{PropagationPolicy: &bg})
	})
	if job.Labels["controller-uid"] == "" {
		t.Fatalf("the job has no controller-uid label: %v", job.Labels)
	}
	var jobPod string
	waitFor(t, func() bool {
		list, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=nightly"})
		if err == nil && len(list.Items) == 1 {
			jobPod = list.Items[0].Name
		}
		return jobPod != ""
	}, &jobPod)
	namedWarning(t, c, ns, "ev-2-"+jobPod, "Pod", jobPod, "JobPodWarn", min(30))
	f, _ = runFinding(t, env, "local", "run", "resource_events_enricher", "--kind", "job", "--name", "nightly", "-n", ns, "included_types=Warning", "dependent_pod_mode=true")
	if got := tableRows(f); len(got) != 1 || got[0] != "JobPodWarn|Warning|"+stamp(30)+"|Pod|"+jobPod+"|JobPodWarn of "+jobPod || f.Enrichments[0].Blocks[0].Name != "Job Events" {
		t.Fatalf("job: %q %+v", got, f)
	}
	f, _ = runFinding(t, env, "local", "run", "related_pods", "--kind", "job", "--name", "nightly", "-n", ns)
	if got := tableRows(f); len(got) != 1 || !strings.HasPrefix(got[0], jobPod+"|") {
		t.Fatalf("job pods: %q", got)
	}

	// On a pod, the pod itself; on a Service, refused as by the runner; a format the
	// runner does not know is refused before anything runs.
	f, _ = runFinding(t, env, "local", "run", "related_pods", "--kind", "pod", "--name", p2, "-n", ns)
	if got := tableRows(f); len(got) != 1 || !strings.HasPrefix(got[0], p2+"|") {
		t.Fatalf("pod: %q", got)
	}
	r = run(t, env, "local", "run", "related_pods", "--kind", "service", "--name", "shop", "-n", ns)
	if r.code == 0 || !strings.Contains(r.stderr, "related_pods supports") || !strings.Contains(r.stderr, "not Service") {
		t.Fatalf("service: %s", r)
	}
	r = run(t, env, "local", "run", "related_pods", "--deployment", dref, "output_format=yaml")
	if r.code == 0 || !strings.Contains(r.stderr, "output_format") || !strings.Contains(r.stderr, "yaml") || r.stdout != "" {
		t.Fatalf("yaml: %s", r)
	}
}

// TestLocalParamsTheRunnerIgnores: image_pull_backoff_reporter's rate_limit,
// pod_bash_enricher's custom_annotations and target_down_dns_enricher's Prometheus
// params are taken (a runner's config runs locally) and, as in the runner, change
// nothing; the user is told so.
func TestLocalParamsTheRunnerIgnores(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	ns := "h27-ignored"
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	image := "registry.example.com/h27/cart:v1"
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cart", Namespace: ns},
		Spec: corev1.PodSpec{NodeName: "h27-ghost-node", Containers: []corev1.Container{{Name: "cart", Image: image}}}}
	pod, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		zero := int64(0)
		_ = c.Client.CoreV1().Pods(ns).Delete(context.Background(), "cart", metav1.DeleteOptions{GracePeriodSeconds: &zero})
	})
	pod.Status.Phase = corev1.PodPending
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "cart", Image: image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}}
	if _, err := c.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The runner's image_pull_backoff_reporter no longer rate-limits itself (its
	// trigger does), so two runs in a row with rate_limit both report.
	for i := 0; i < 2; i++ {
		f, r := runFinding(t, env, "local", "run", "image_pull_backoff_reporter", "--pod", ns+"/cart", "rate_limit=60")
		if f.Title != "Failed to pull at least one image in pod cart in namespace "+ns || f.AggregationKey != "ImagePullBackoff" ||
			!strings.Contains(r.stderr, "rate_limit 60 is not applied") || !strings.Contains(r.stderr, "on_image_pull_backoff trigger") {
			t.Fatalf("run %d: %+v\n%s", i, f, r)
		}
	}
	r := run(t, env, "local", "run", "image_pull_backoff_reporter", "--pod", ns+"/cart", "rate_limit=soon")
	if r.code == 0 || !strings.Contains(r.stderr, "rate_limit") || strings.Contains(r.stderr, "goroutine") {
		t.Fatalf("bad rate_limit: %s", r)
	}

	// target_down_dns_enricher takes its PrometheusParams, queries nothing (there is
	// no Prometheus at that address) and names what replaces it.
	a := alertFile(t, map[string]string{"alertname": "TargetDown", "job": "kube-dns", "service": "h27-no-such-dns"}, nil, "")
	r = run(t, env, "local", "run", "target_down_dns_enricher", "--alert", a, "prometheus_url=http://127.0.0.1:1", "prometheus_auth=Bearer x",
		"prometheus_additional_labels:={\"cluster\":\"a\"}", "add_additional_labels=false", "-o", "json")
	var tdesc struct{ Description string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &tdesc) != nil || !strings.HasPrefix(tdesc.Description, "The Prometheus Stack expects the None to exist") ||
		!strings.Contains(r.stderr, "deprecated") || !strings.Contains(r.stderr, "target_down_dns_silencer") {
		t.Fatalf("target_down_dns_enricher: %s", r)
	}
	r = run(t, env, "local", "run", "target_down_dns_enricher", "--alert", a, "prometheus_additional_headers=oops")
	if r.code == 0 || !strings.Contains(r.stderr, "prometheus_additional_headers") {
		t.Fatalf("bad headers: %s", r)
	}
}

// TestLocalPodBashCustomAnnotations: pod_bash_enricher takes custom_annotations and, as
// in the runner (the command runs in the pod itself), creates no pod to put them on.
// kwok runs the command on this machine, in a temporary folder.
func TestLocalPodBashCustomAnnotations(t *testing.T) {
	c := sandbox.Get(t)
	e := startRunner(t, "h27-bash", nil, sandbox.RunnerSpec{ExecDir: t.TempDir()})
	before, err := c.Client.CoreV1().Pods("h27-bash").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, e.env, "local", "run", "pod_bash_enricher", "--pod", "h27-bash/"+e.runner.Pod, "bash_command=echo h27 ran", `custom_annotations:={"team":"shop"}`)
	if r.code != 0 || !strings.Contains(r.stdout, "h27 ran") || !strings.Contains(r.stderr, "custom_annotations are not used") {
		t.Fatal(r)
	}
	after, err := c.Client.CoreV1().Pods("h27-bash").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(after.Items) != len(before.Items) {
		t.Fatalf("pods before %d, after %v (%v)", len(before.Items), after, err)
	}
	r = run(t, e.env, "local", "run", "pod_bash_enricher", "--pod", "h27-bash/"+e.runner.Pod, "bash_command=echo h27", "custom_annotations=team")
	if r.code == 0 || !strings.Contains(r.stderr, "custom_annotations") || strings.Contains(r.stdout, "h27") {
		t.Fatal(r)
	}
}
