package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// linkedFinding is a finding with its links (`local run -o json`).
type linkedFinding struct {
	finding
	Links []struct{ URL, Name, Type string }
}

func runLinked(t *testing.T, env []string, args ...string) (linkedFinding, result) {
	t.Helper()
	r := run(t, env, append(args, "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("%v\n%s", args, r)
	}
	var f linkedFinding
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, r)
	}
	return f, r
}

// onlyBlock is the text of the finding's single block, failing unless there is
// exactly one enrichment with one block of type typ.
func onlyBlock(t *testing.T, f finding, typ string) string {
	t.Helper()
	if len(f.Enrichments) != 1 || len(f.Enrichments[0].Blocks) != 1 || f.Enrichments[0].Blocks[0].Type != typ {
		t.Fatalf("want one %s block: %+v", typ, f)
	}
	return f.Enrichments[0].Blocks[0].Text
}

// TestLocalTemplatesAndAlertEnrichers runs the actions that only read their event:
// templating with the runner's string.Template rules on a pod and on an alert, links,
// the alert enrichers, echo and report_image_changes.
func TestLocalTemplatesAndAlertEnrichers(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	dir := t.TempDir()
	if err := c.EnsureNamespace(ctx, "h7-tpl"); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "h7-tpl",
		Labels:      map[string]string{"app": "web", "app.kubernetes.io/name": "shop"},
		Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}},
		Spec: corev1.PodSpec{NodeName: "h7-elsewhere", Containers: []corev1.Container{{Name: "w", Image: "nginx"}}}}
	if _, err := c.Client.CoreV1().Pods("h7-tpl").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// template_enricher: plain string.Template, so ${labels.app} is no placeholder and
	// stays; $labels is Python's repr of the dict; unknown names are <missing>.
	f, _ := runLinked(t, env, "local", "run", "template_enricher", "--pod", "h7-tpl/web-1",
		"template=Pod ${name} in $namespace on ${node}: $kind ${labels.app} $$5 $nothing $labels")
	want := "Pod web-1 in h7-tpl on h7-elsewhere: pod ${labels.app} $5 <missing> {'app': 'web', 'app.kubernetes.io/name': 'shop'}"
	if got := onlyBlock(t, f.finding, "markdown"); got != want {
		t.Fatalf("template_enricher:\n got %q\nwant %q", got, want)
	}
	// The runner's manual-trigger form works too (kind, name, namespace params).
	f, _ = runLinked(t, env, "local", "run", "template_enricher", "kind=Pod", "name=web-1", "namespace=h7-tpl", "template=$kind/$name")
	if got := onlyBlock(t, f.finding, "markdown"); got != "pod/web-1" {
		t.Fatalf("manual form: %q", got)
	}

	// button_enricher: a link; unknown names become empty; a blank URL adds nothing.
	f, r := runLinked(t, env, "local", "run", "button_enricher", "--pod", "h7-tpl/web-1",
		"button_text=Open $name", "button_url=https://example.com/?ns=${namespace}&q=$nothing")
	if len(f.Links) != 1 || f.Links[0].Name != "Open web-1" || f.Links[0].URL != "https://example.com/?ns=h7-tpl&q=" || f.Links[0].Type != "" || len(f.Enrichments) != 0 {
		t.Fatalf("button_enricher: %+v\n%s", f, r)
	}
	r = run(t, env, "local", "run", "button_enricher", "--pod", "h7-tpl/web-1", "button_text=Open $name", "button_url=https://example.com/x")
	mustContain(t, r, "stdout", "link Open web-1: https://example.com/x")
	f, r = runLinked(t, env, "local", "run", "button_enricher", "--pod", "h7-tpl/web-1", "button_text=Open", "button_url= $nothing ")
	if len(f.Links) != 0 || !strings.Contains(r.stderr, "the URL came out blank, so no button was added") {
		t.Fatalf("blank URL: %+v\n%s", f, r)
	}
	r = run(t, env, "local", "run", "button_enricher", "--pod", "h7-tpl/web-1", "button_text=Open")
	if r.code != 2 || !strings.Contains(r.stderr, `missing required parameter "button_url"`) {
		t.Fatal(r)
	}

	// On an alert: the alert's labels and annotations are names too, under the
	// subject's own.
	alert := filepath.Join(dir, "alert.json")
	writeJSON(t, alert, map[string]any{"alerts": []any{map[string]any{"status": "firing",
		"labels":       map[string]string{"alertname": "KubePodCrashLooping", "severity": "warning", "pod": "web-1", "namespace": "h7-tpl", "name": "from-label"},
		"annotations":  map[string]string{"summary": "crashing"},
		"generatorURL": "http://prometheus:9090/graph?g0.expr=rate%28restarts_total%5B5m%5D%29+%26gt%3B+0&amp;g0.tab=1"}}})
	f, _ = runLinked(t, env, "local", "run", "template_enricher", "--alert", alert, "template=$alertname on $name ($severity): $summary, ${node}")
	if got := onlyBlock(t, f.finding, "markdown"); got != "KubePodCrashLooping on web-1 (warning): crashing, h7-elsewhere" {
		t.Fatalf("alert template: %q", got)
	}
	if f.Title != "KubePodCrashLooping" || f.Source != "prometheus" {
		t.Fatalf("alert finding: %+v", f)
	}

	// alert_definition_enricher: the PromQL of the generator URL, decoded as the runner does.
	f, _ = runLinked(t, env, "local", "run", "alert_definition_enricher", "--alert", alert)
	if got := onlyBlock(t, f.finding, "markdown"); got != "*Alert definition*\n```\nrate(restarts_total[5m]) &gt; 0\n```" {
		t.Fatalf("alert_definition_enricher: %q", got)
	}
	// alert_explanation_enricher: a block per given text, nothing without them.
	f, _ = runLinked(t, env, "local", "run", "alert_explanation_enricher", "--alert", alert, "alert_explanation=It restarts", "recommended_resolution=Read the logs")
	blocks := f.Enrichments
	if len(blocks) != 1 || len(blocks[0].Blocks) != 2 || blocks[0].Blocks[0].Text != "📘 *Alert Explanation:* It restarts" ||
		blocks[0].Blocks[1].Text != "🛠 *Robusta's Recommendation:* Read the logs" {
		t.Fatalf("alert_explanation_enricher: %+v", f)
	}
	f, _ = runLinked(t, env, "local", "run", "alert_explanation_enricher", "--alert", alert)
	if len(f.Enrichments) != 0 {
		t.Fatalf("no texts: %+v", f)
	}
	r = run(t, env, "local", "run", "alert_definition_enricher", "--pod", "h7-tpl/web-1")
	if r.code != 2 || !strings.Contains(r.stderr, "alert_definition_enricher needs a PrometheusKubernetesAlert, but got a PodEvent") {
		t.Fatal(r)
	}

	// echo says its message (the runner logs it) and adds nothing.
	f, r = runLinked(t, env, "local", "run", "echo", "message=hello there")
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "echo: hello there") {
		t.Fatalf("echo: %+v\n%s", f, r)
	}
	r = run(t, env, "local", "run", "echo")
	if r.code != 2 || !strings.Contains(r.stderr, `missing required parameter "message"`) {
		t.Fatal(r)
	}

	// external_video_enricher: a video link; without a name the runner's Link model
	// refuses it, and so does this.
	f, _ = runLinked(t, env, "local", "run", "external_video_enricher", "url=https://videos.example.com/1", "name=Demo")
	if len(f.Links) != 1 || f.Links[0].URL != "https://videos.example.com/1" || f.Links[0].Name != "Demo" || f.Links[0].Type != "video" {
		t.Fatalf("external_video_enricher: %+v", f)
	}
	r = run(t, env, "local", "run", "external_video_enricher", "url=https://videos.example.com/1")
	if r.code != 2 || !strings.Contains(r.stderr, "name is needed") || strings.Contains(r.stderr, "goroutine") {
		t.Fatal(r)
	}

	// report_image_changes: the deployment's images against the old version's.
	if err := c.EnsureNamespace(ctx, "h7-img"); err != nil {
		t.Fatal(err)
	}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "h7-img"},
		Spec: appsv1.DeploymentSpec{Replicas: int32p(0), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "shop"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.25"}, {Name: "side", Image: "busybox"}}}}}}
	if _, err := c.Client.AppsV1().Deployments("h7-img").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	old := dep.DeepCopy()
	old.Spec.Template.Spec.Containers[0].Image = "nginx:1.24"
	oldFile := filepath.Join(dir, "old.json")
	writeJSON(t, oldFile, old)
	f, _ = runLinked(t, env, "local", "run", "report_image_changes", "--deployment", "h7-img/shop", "--old", oldFile)
	wantJSON := `{"deployment": "shop", "deployment_namespace": "h7-img", "message": "image name: nginx new tag: 1.25 old tag 1.24", "changed_properties": [{"property": "image", "old": "nginx:1.24", "new": "nginx:1.25"}]}`
	if got := onlyBlock(t, f.finding, "json"); got != wantJSON || f.Title != "deployment shop updated in namespace h7-img" ||
		f.AggregationKey != "ReportImageChanges" || f.Severity != "INFO" || f.Source != "kubernetes_api_server" {
		t.Fatalf("report_image_changes: %+v\n got %s\nwant %s", f, got, wantJSON)
	}
	// A container added: the runner's message names both image sets.
	old = dep.DeepCopy()
	old.Spec.Template.Spec.Containers = old.Spec.Template.Spec.Containers[:1]
	writeJSON(t, oldFile, old)
	f, _ = runLinked(t, env, "local", "run", "report_image_changes", "--deployment", "h7-img/shop", "--old", oldFile)
	if got := onlyBlock(t, f.finding, "json"); !strings.Contains(got, `"message": "number or names of images changed: new - {'nginx': '1.25', 'busybox': '<NONE>'} old - {'nginx': '1.25'}", "changed_properties": []`) {
		t.Fatalf("names changed: %s", got)
	}
	// No image changed: no finding content, and the user is told why.
	writeJSON(t, oldFile, dep)
	f, r = runLinked(t, env, "local", "run", "report_image_changes", "--deployment", "h7-img/shop", "--old", oldFile)
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "no image changed") {
		t.Fatalf("unchanged: %+v\n%s", f, r)
	}
	r = run(t, env, "local", "run", "report_image_changes", "--deployment", "h7-img/shop")
	if r.code != 2 || !strings.Contains(r.stderr, "pass the old one with --old FILE") {
		t.Fatal(r)
	}
}

func int32p(n int32) *int32 { return &n }

// dryRunThenApply runs a mutating action twice, as a dry run and with --apply, returning
// both findings; the dry run must say so on stderr.
func dryRunThenApply(t *testing.T, env []string, check func(applied bool), args ...string) (dry, applied finding) {
	t.Helper()
	dry, r := runFinding(t, env, args...)
	if !strings.Contains(r.stderr, "ran as a server-side dry run: nothing changed (pass --apply to") {
		t.Fatalf("dry run note missing: %s", r)
	}
	check(false)
	applied, r = runFinding(t, env, append(args, "--apply")...)
	if strings.Contains(r.stderr, "dry run") {
		t.Fatalf("--apply still a dry run: %s", r)
	}
	check(true)
	return dry, applied
}

// diffRows are the rows of the finding's diffs blocks.
func diffRows(f finding) map[string][2]string {
	out := map[string][2]string{}
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			if b.Type == "diffs" {
				for _, r := range b.Rows {
					out[r[0]] = [2]string{r[1], r[2]}
				}
			}
		}
	}
	return out
}

func customNode(t *testing.T, c *sandbox.Cluster, name string) {
	t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}}}
	if _, err := c.Client.CoreV1().Nodes().Create(context.Background(), node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

func unschedulable(t *testing.T, c *sandbox.Cluster, name string) bool {
	t.Helper()
	n, err := c.Client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n.Spec.Unschedulable
}

func TestLocalCordonUncordon(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	customNode(t, c, "h7-cordon")

	dry, applied := dryRunThenApply(t, env, func(applied bool) {
		if got := unschedulable(t, c, "h7-cordon"); got != applied {
			t.Fatalf("after cordon (applied %v) the node's unschedulable is %v", applied, got)
		}
	}, "local", "run", "cordon", "--node", "h7-cordon")
	if dry.Enrichments[0].Blocks[0].Text != "Dry run: node h7-cordon would be cordoned (nothing changed)" ||
		diffRows(dry)["spec.unschedulable"] != [2]string{"(none)", "true"} {
		t.Fatalf("dry run: %+v", dry)
	}
	if applied.Enrichments[0].Blocks[0].Text != "Node h7-cordon cordoned" || diffRows(applied)["spec.unschedulable"] != [2]string{"(none)", "true"} {
		t.Fatalf("applied: %+v", applied)
	}
	// The runner's check: a cordoned node is left alone.
	f, _ := runFinding(t, env, "local", "run", "cordon", "--node", "h7-cordon")
	if onlyBlock(t, f, "markdown") != "Node h7-cordon already cordoned" {
		t.Fatalf("%+v", f)
	}

	dry, applied = dryRunThenApply(t, env, func(applied bool) {
		if got := unschedulable(t, c, "h7-cordon"); got == applied {
			t.Fatalf("after uncordon (applied %v) the node's unschedulable is %v", applied, got)
		}
	}, "local", "run", "uncordon", "name=h7-cordon")
	if dry.Enrichments[0].Blocks[0].Text != "Dry run: node h7-cordon would be uncordoned (nothing changed)" ||
		diffRows(dry)["spec.unschedulable"] != [2]string{"true", "(none)"} || applied.Enrichments[0].Blocks[0].Text != "Node h7-cordon uncordoned" {
		t.Fatalf("uncordon: %+v\n%+v", dry, applied)
	}
	r := run(t, env, "local", "run", "cordon", "--node", "h7-no-such-node")
	if r.code != 1 || !strings.Contains(r.stderr, "h7-no-such-node") || strings.Contains(r.stderr, "goroutine") {
		t.Fatal(r)
	}
}

// TestLocalDrain drains a node holding a bare pod (deleted), an owned pod (evicted),
// a DaemonSet's pod (skipped) and a running pod whose PodDisruptionBudget allows no
// disruption (the eviction API refuses it).
func TestLocalDrain(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	customNode(t, c, "h7-drain")
	ns := "h7-drain"
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	cm, err := c.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A DaemonSet that schedules nothing (its selector matches no node); the pod names
	// it as an owner, not as its controller, so neither controller touches the pod.
	ds, err := c.Client.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec: corev1.PodSpec{NodeSelector: map[string]string{"h7": "nowhere"}, Containers: []corev1.Container{{Name: "a", Image: "agent"}}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mkPod := func(name string, labels map[string]string, owner *metav1.OwnerReference) {
		t.Helper()
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels,
			Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}},
			Spec: corev1.PodSpec{NodeName: "h7-drain", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = c.Client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		})
	}
	mkPod("bare", nil, nil)
	mkPod("owned", nil, &metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID})
	mkPod("agent-x", nil, &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "DaemonSet", Name: ds.Name, UID: ds.UID})
	mkPod("guarded", map[string]string{"app": "guarded"}, nil)
	// Running: the eviction API ignores budgets for pending pods.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, "guarded", metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Status.Phase = corev1.PodRunning
		_, err = c.Client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	one := intstr.FromInt32(1)
	if _, err := c.Client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "guard"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deleting := func(name string) bool {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true
		}
		if err != nil {
			t.Fatal(err)
		}
		return p.DeletionTimestamp != nil
	}
	summary := "Drain node h7-drain \nEvicting 1 pod(s), deleting 1 pod(s), skipping 1 pod(s) and 1 Error(s)."
	dry, applied := dryRunThenApply(t, env, func(applied bool) {
		if unschedulable(t, c, "h7-drain") != applied || deleting("bare") != applied || deleting("owned") != applied {
			t.Fatalf("after drain (applied %v): unschedulable %v, bare deleting %v, owned deleting %v",
				applied, unschedulable(t, c, "h7-drain"), deleting("bare"), deleting("owned"))
		}
		if deleting("agent-x") || deleting("guarded") {
			t.Fatalf("drain (applied %v) removed the DaemonSet's or the guarded pod", applied)
		}
	}, "local", "run", "drain", "--node", "h7-drain")
	for _, tc := range []struct {
		f       finding
		cordon  string
		summary string
	}{
		{dry, "Dry run: node h7-drain would be cordoned (nothing changed)", "Dry run (nothing was evicted): " + summary},
		{applied, "Node h7-drain cordoned", summary},
	} {
		e := tc.f.Enrichments
		if len(e) != 2 || e[0].Blocks[0].Text != tc.cordon || e[1].Blocks[0].Text != tc.summary || e[1].Blocks[1].Type != "file" ||
			e[1].Blocks[1].Name != "Drain h7-drain report.log" {
			t.Fatalf("drain finding: %+v", tc.f)
		}
		report := string(e[1].Blocks[1].Data)
		for _, want := range []string{"drain node h7-drain \n\n", "Deleting h7-drain/Pod/bare\n", "Evicting h7-drain/Pod/owned\n",
			"Skipping h7-drain/DaemonSet/agent-x\n", "Error evicting h7-drain/Pod/guarded", "disruption budget"} {
			if !strings.Contains(report, want) {
				t.Errorf("report lacks %q:\n%s", want, report)
			}
		}
	}
	// Draining a cordoned node leaves the node as it is and still says it is a dry run.
	f, r := runFinding(t, env, "local", "run", "drain", "--node", "h7-drain")
	if f.Enrichments[0].Blocks[0].Text != "Node h7-drain already cordoned" || !strings.HasPrefix(f.Enrichments[1].Blocks[0].Text, "Dry run (nothing was evicted): ") ||
		!strings.Contains(r.stderr, "drain ran as a server-side dry run: nothing changed (pass --apply to drain)") || deleting("guarded") {
		t.Fatalf("second drain: %+v\n%s", f, r)
	}
}

func TestLocalDeleteJobAndScaleHPA(t *testing.T) {
	ns := "h7-mut"
	c, ctx, env := inNamespace(t, ns)
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "once", Namespace: ns},
		Spec: batchv1.JobSpec{Suspend: new(bool), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}
	*job.Spec.Suspend = true // no pods: the test is about the Job object
	if _, err := c.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dry, applied := dryRunThenApply(t, env, func(applied bool) {
		// Deleted with the API's default propagation for Jobs (orphan, as the runner
		// does), the Job may stay a moment with a deletionTimestamp and the orphan
		// finalizer until the garbage collector lets it go.
		j, err := c.Client.BatchV1().Jobs(ns).Get(ctx, "once", metav1.GetOptions{})
		if gone := apierrors.IsNotFound(err) || (err == nil && j.DeletionTimestamp != nil); gone != applied {
			t.Fatalf("after delete_job (applied %v) the job is gone: %v (%v)", applied, gone, err)
		}
	}, "local", "run", "delete_job", "--job", ns+"/once")
	if onlyBlock(t, dry, "markdown") != "Dry run: job *h7-mut/once* would be deleted (nothing changed)" || onlyBlock(t, applied, "markdown") != "Job *h7-mut/once* deleted" {
		t.Fatalf("delete_job: %+v\n%+v", dry, applied)
	}

	min := int32(2)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &min, MaxReplicas: 5,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}}}
	if _, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	maxOf := func() int32 {
		h, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return h.Spec.MaxReplicas
	}
	dry, applied = dryRunThenApply(t, env, func(applied bool) {
		if want := map[bool]int32{false: 5, true: 8}[applied]; maxOf() != want {
			t.Fatalf("after scale_hpa_callback (applied %v): maxReplicas %d, want %d", applied, maxOf(), want)
		}
	}, "local", "run", "scale_hpa_callback", "--kind", "hpa", "--name", "web", "-n", ns, "max_replicas=8")
	if dry.Title != "Dry run: max replicas for HPA *web* in namespace *h7-mut* would be updated to: *8*" ||
		applied.Title != "Max replicas for HPA *web* in namespace *h7-mut* updated to: *8*" ||
		applied.AggregationKey != "ScaleHpaAction" || applied.Severity != "INFO" ||
		diffRows(dry)["spec.maxReplicas"] != [2]string{"5", "8"} || diffRows(applied)["spec.maxReplicas"] != [2]string{"5", "8"} || len(diffRows(dry)) != 1 {
		t.Fatalf("scale_hpa_callback:\n%+v\n%+v", dry, applied)
	}
	// The server checks the value in the dry run too.
	r := run(t, env, "local", "run", "scale_hpa_callback", "name=web", "namespace="+ns, "max_replicas=1")
	if r.code != 1 || !strings.Contains(r.stderr, "maxReplicas") || maxOf() != 8 {
		t.Fatal(r)
	}
	r = run(t, env, "local", "run", "scale_hpa_callback", "name=web", "namespace="+ns)
	if r.code != 2 || !strings.Contains(r.stderr, `missing required parameter "max_replicas"`) {
		t.Fatal(r)
	}
}

// TestLocalRestartNamedRollout: without Argo's CRD a clear error; with it, the
// Rollout's spec.restartAt is set only with --apply.
func TestLocalRestartNamedRollout(t *testing.T) {
	ns := "h7-argo"
	c, ctx, env := inNamespace(t, ns)
	r := run(t, env, "local", "run", "restart_named_rollout", "name=api", "namespace="+ns)
	if r.code != 1 || !strings.Contains(r.stderr, "the cluster serves no argoproj.io/v1alpha1 rollouts (CRD rollouts.argoproj.io): install Argo Rollouts") {
		t.Fatal(r)
	}

	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "rollouts.argoproj.io"},
		"spec": map[string]any{"group": "argoproj.io", "scope": "Namespaced",
			"names": map[string]any{"plural": "rollouts", "singular": "rollout", "kind": "Rollout", "listKind": "RolloutList"},
			"versions": []any{map[string]any{"name": "v1alpha1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}}
	if _, err := c.Dynamic.Resource(crdGVR).Create(ctx, &unstructured.Unstructured{Object: crd}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Dynamic.Resource(crdGVR).Delete(context.Background(), "rollouts.argoproj.io", metav1.DeleteOptions{})
	})
	rollouts := c.Dynamic.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}).Namespace(ns)
	ro := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": "api"}, "spec": map[string]any{"replicas": int64(1)}}}
	var err error
	waitFor(t, func() bool { _, err = rollouts.Create(ctx, ro, metav1.CreateOptions{}); return err == nil }, &err)

	restartAt := func() string {
		o, err := rollouts.Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s, _, _ := unstructured.NestedString(o.Object, "spec", "restartAt")
		return s
	}
	dry, applied := dryRunThenApply(t, env, func(applied bool) {
		if (restartAt() != "") != applied {
			t.Fatalf("after restart_named_rollout (applied %v): spec.restartAt %q", applied, restartAt())
		}
	}, "local", "run", "restart_named_rollout", "name=api", "namespace="+ns)
	if dry.Enrichments[0].Blocks[0].Text != "Dry run: rollout/h7-argo/api would be restarted (nothing changed)" ||
		applied.Enrichments[0].Blocks[0].Text != "rollout/h7-argo/api restarted" ||
		diffRows(applied)["spec.restartAt"] != [2]string{"(none)", restartAt()} || diffRows(dry)["spec.restartAt"][0] != "(none)" {
		t.Fatalf("restart_named_rollout:\n%+v\n%+v", dry, applied)
	}
	// A missing Rollout: the runner skips it; the user is told.
	f, r := runFinding(t, env, "local", "run", "restart_named_rollout", "name=nope", "namespace="+ns)
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "rollout h7-argo/nope not found, nothing restarted") {
		t.Fatalf("%+v\n%s", f, r)
	}
	r = run(t, env, "local", "run", "restart_named_rollout", "name=api")
	if r.code != 2 || !strings.Contains(r.stderr, `missing required parameter "namespace"`) {
		t.Fatal(r)
	}
}
