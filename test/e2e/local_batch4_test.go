package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// description reads the finding's description, which the shared finding type leaves out.
func description(t *testing.T, out string) string {
	t.Helper()
	var v struct{ Description string }
	decode(t, out, &v)
	return v.Description
}

// TestLocalEventReports runs the event-change actions on real events.k8s.io Events:
// the title, severity, aggregation key, subject and description the runner's
// build_event_finding gives, and warning_events_report's first matching group.
func TestLocalEventReports(t *testing.T) {
	ns := "b4-ev"
	c, ctx, env := inNamespace(t, ns)
	mk := func(typ, reason, note string, regarding corev1.ObjectReference) string {
		t.Helper()
		evNS := regarding.Namespace
		if evNS == "" {
			evNS = "default" // events about cluster-scoped objects live there
		}
		ev, err := c.Client.EventsV1().Events(evNS).Create(ctx, &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "b4-", Namespace: evNS},
			EventTime:  metav1.NewMicroTime(time.Now()), Regarding: regarding, Type: typ, Reason: reason, Note: note,
			Action: "Test", ReportingController: "e2e/test", ReportingInstance: "e2e-1",
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ev.Name
	}
	pod := corev1.ObjectReference{Kind: "Pod", Name: "api-1", Namespace: ns}
	backoff := mk("Warning", "BackOff", "Back-off restarting failed container", pod)
	pulled := mk("Normal", "Pulled", "Successfully pulled image", pod)
	nodeEv := mk("Warning", "NodeNotReady", "Node is not ready", corev1.ObjectReference{Kind: "Node", Name: "n-1"})
	evArgs := func(name string) []string {
		evNS := ns
		if name == nodeEv {
			evNS = "default"
		}
		return []string{"--kind", "events.events.k8s.io", "--name", name, "-n", evNS, "--operation", "create"}
	}

	f, r := runFinding(t, env, append([]string{"local", "run", "event_report"}, evArgs(backoff)...)...)
	if f.Title != "BackOff Warning for Pod b4-ev/api-1" || f.Severity != "DEBUG" || f.AggregationKey != "KubernetesWarningEvent" ||
		f.Source != "kubernetes_api_server" || f.Subject["kind"] != "pod" || f.Subject["name"] != "api-1" || f.Subject["namespace"] != ns ||
		description(t, r.stdout) != "Back-off restarting failed container" || len(f.Enrichments) != 0 {
		t.Fatalf("event_report: %+v\n%s", f, r.stdout)
	}
	// A Normal event is INFO; read through core/v1 the note is the event's message.
	f, r = runFinding(t, env, "local", "run", "event_report", "--kind", "event", "--name", pulled, "-n", ns, "--operation", "create")
	if f.Title != "Pulled Normal for Pod b4-ev/api-1" || f.Severity != "INFO" || f.AggregationKey != "KubernetesNormalEvent" ||
		description(t, r.stdout) != "Successfully pulled image" {
		t.Fatalf("event_report, Normal: %+v\n%s", f, r.stdout)
	}
	// A cluster-scoped object: the runner prints Python's None for the namespace, and the
	// node is the subject's node.
	f, _ = runFinding(t, env, append([]string{"local", "run", "event_report"}, evArgs(nodeEv)...)...)
	if f.Title != "NodeNotReady Warning for Node None/n-1" || f.Subject["kind"] != "node" || f.Subject["node"] != "n-1" {
		t.Fatalf("event_report, node: %+v", f)
	}

	f, _ = runFinding(t, env, append([]string{"local", "run", "create_event_finding", "aggregation_key=CrashingPods"}, evArgs(backoff)...)...)
	if f.AggregationKey != "CrashingPods" || f.Title != "BackOff Warning for Pod b4-ev/api-1" {
		t.Fatalf("create_event_finding: %+v", f)
	}
	r = run(t, env, append([]string{"local", "run", "create_event_finding"}, evArgs(backoff)...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "aggregation_key") || strings.Contains(r.stderr, "goroutine") {
		t.Fatal(r)
	}

	// warning_events_report: the first group whose matchers hold the reason wins; its
	// description is templated from the regarded object; no group -> the defaults.
	groups := `warning_event_groups:=[{"matchers":["Pulled","Failed"],"aggregation_key":"first"},` +
		`{"matchers":["BackOff"],"aggregation_key":"RestartingPods","description":"$kind $name in $namespace on ${node} keeps restarting"},` +
		`{"matchers":["BackOff"],"aggregation_key":"never"}]`
	f, r = runFinding(t, env, append([]string{"local", "run", "warning_events_report", groups}, evArgs(backoff)...)...)
	if f.AggregationKey != "RestartingPods" || description(t, r.stdout) != "Pod api-1 in b4-ev on <missing> keeps restarting" {
		t.Fatalf("warning_events_report: %+v\n%s", f, r.stdout)
	}
	f, r = runFinding(t, env, append([]string{"local", "run", "warning_events_report", `warning_event_groups:=[{"matchers":["backoff"],"aggregation_key":"x"}]`}, evArgs(backoff)...)...)
	if f.AggregationKey != "KubernetesWarningEvent" || description(t, r.stdout) != "Back-off restarting failed container" {
		t.Fatalf("warning_events_report, no group (matchers are case-sensitive): %+v", f)
	}
	r = run(t, env, append([]string{"local", "run", "warning_events_report", `warning_event_groups:=[{"aggregation_key":"x"}]`}, evArgs(backoff)...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "matchers") {
		t.Fatal(r)
	}
	// An event action on an object that is not an event is refused before it runs.
	r = run(t, env, "local", "run", "event_report", "--kind", "namespace", "--name", ns)
	if r.code != 2 || !strings.Contains(r.stderr, "EventChangeEvent") {
		t.Fatal(r)
	}
}

// TestLocalNodeHealthWatcher gives node_health_watcher a custom node that went from
// Ready to NotReady (the old version from --old), and versions that do not.
func TestLocalNodeHealthWatcher(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	name := "b4-sick"
	customNode(t, c, name)
	setReady := func(status corev1.ConditionStatus) *corev1.Node {
		t.Helper()
		var out *corev1.Node
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			n.Status.Conditions = []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: status, Reason: "KubeletStatus" + string(status), LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
			}
			out, err = c.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	healthy := setReady(corev1.ConditionTrue)
	oldFile := filepath.Join(t.TempDir(), "old.json")
	writeJSON(t, oldFile, healthy)
	setReady(corev1.ConditionFalse)

	f, _ := runFinding(t, env, "local", "run", "node_health_watcher", "--node", name, "--old", oldFile)
	if f.Title != "Unhealthy node b4-sick" || f.Severity != "HIGH" || f.AggregationKey != "NodeNotReady" || f.Source != "kubernetes_api_server" ||
		f.Subject["kind"] != "node" || f.Subject["name"] != name || f.Subject["node"] != name || len(f.Enrichments) != 2 {
		t.Fatalf("%+v", f)
	}
	diffs := f.block(t, 0, 0)
	var readyChanged bool
	for _, row := range diffs.Rows {
		readyChanged = readyChanged || (strings.Contains(row[0], "conditions") && row[1] == "True" && row[2] == "False")
	}
	if diffs.Type != "diffs" || !readyChanged {
		t.Errorf("the diff does not show Ready going from True to False: %+v", diffs)
	}
	status := f.block(t, f.enrichment(t, "Node status"), 0)
	if !rowsEqual(status.Rows, [][]string{{"Ready", "False", "KubeletStatusFalse", ""}, {"DiskPressure", "False", "KubeletHasNoDiskPressure", ""}}) {
		t.Errorf("node status: %+v", status)
	}

	// Still NotReady (old version NotReady too), and back to Ready: no finding, and why.
	writeJSON(t, oldFile, setReady(corev1.ConditionFalse))
	f, r := runFinding(t, env, "local", "run", "node_health_watcher", "--node", name, "--old", oldFile)
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "there is no finding") {
		t.Fatalf("%+v\n%s", f, r)
	}
	setReady(corev1.ConditionTrue)
	f, r = runFinding(t, env, "local", "run", "node_health_watcher", "--node", name, "--old", oldFile)
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "Ready=False and is Ready=True") {
		t.Fatalf("%+v\n%s", f, r)
	}
	r = run(t, env, "local", "run", "node_health_watcher", "--node", name)
	if r.code == 0 || !strings.Contains(r.stderr, "--old FILE") || strings.Contains(r.stderr, "goroutine") {
		t.Fatal(r)
	}
}

// TestLocalHPAReachedLimit gives alert_on_hpa_reached_limit an autoscaler whose replica
// count grew to its maximum, one that changed below it, and one that did not change.
func TestLocalHPAReachedLimit(t *testing.T) {
	ns := "b4-hpa"
	c, ctx, env := inNamespace(t, ns)
	gone(t, c, ns, map[string][]string{"hpa": {"web"}})
	minR, cpu := int32(1), int32(87)
	hpa, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &minR, MaxReplicas: 5,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setStatus := func(current, desired int32) *autoscalingv2.HorizontalPodAutoscaler {
		t.Helper()
		var out *autoscalingv2.HorizontalPodAutoscaler
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			h, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, hpa.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: current, DesiredReplicas: desired,
				CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType,
					Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: &cpu}}}}}
			out, err = c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).UpdateStatus(ctx, h, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	oldFile := filepath.Join(t.TempDir(), "old.json")
	writeJSON(t, oldFile, setStatus(3, 5))
	setStatus(5, 5)
	args := []string{"local", "run", "alert_on_hpa_reached_limit", "--kind", "hpa", "--name", "web", "-n", ns, "--old", oldFile}

	f, _ := runFinding(t, env, args...)
	if f.Title != "HPA *web* in namespace *b4-hpa* reached max replicas: *5*" || f.Severity != "LOW" || f.AggregationKey != "HpaReachedMaximum" ||
		len(f.Enrichments) != 1 || len(f.Enrichments[0].Blocks) != 2 {
		t.Fatalf("%+v", f)
	}
	md, button := f.block(t, 0, 0), f.block(t, 0, 1)
	// ceil((20+100)*5/100) = 6; with increase_pct=50, ceil(7.5) = 8.
	if md.Text != "On average, pods scaled under this HPA are using *87 %* of the requested cpu." ||
		button.Type != "callback" || button.Name != "Update HPA max replicas to: 6" ||
		button.Text != "robusta local run scale_hpa_callback --kind hpa --name web -n b4-hpa max_replicas=6 --apply" {
		t.Fatalf("%+v / %+v", md, button)
	}
	buttonLine := button.Text
	f, _ = runFinding(t, env, append(args, "increase_pct=50")...)
	if f.block(t, 0, 1).Name != "Update HPA max replicas to: 8" {
		t.Fatalf("%+v", f)
	}

	// Replicas changed but the autoscaler wants fewer than its maximum; then unchanged.
	setStatus(4, 4)
	f, r := runFinding(t, env, args...)
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "desiredReplicas 4 is not maxReplicas 5") {
		t.Fatalf("%+v\n%s", f, r)
	}
	writeJSON(t, oldFile, setStatus(5, 5))
	f, r = runFinding(t, env, args...)
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "currentReplicas is 5 in both versions") {
		t.Fatalf("%+v\n%s", f, r)
	}
	// The button's command line does what the runner's button does: it raises the
	// autoscaler's maximum (not a dry run).
	words := strings.Fields(buttonLine)
	if r := run(t, env, words[1:]...); r.code != 0 {
		t.Fatalf("%q: %s", buttonLine, r)
	}
	if h, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil || h.Spec.MaxReplicas != 6 {
		t.Fatalf("after the button's command line %q: %+v (%v)", buttonLine, h, err)
	}
}

// TestLocalAlertNameAndOldRevision: an alert made on the command line resolves to the
// object its labels name, as an --alert file does; a Deployment's old version comes
// from the ReplicaSet of a revision.
func TestLocalAlertNameAndOldRevision(t *testing.T) {
	ns := "b4-rev"
	c, ctx, env := inNamespace(t, ns)
	f, _ := runFinding(t, env, "local", "run", "default_enricher", "--alert-name", "HighLoad", "--label", "severity=warning", "--label", "zone=a")
	if b := f.block(t, f.enrichment(t, "Alert labels"), 0); !rowsEqual(b.Rows, [][]string{{"alertname", "HighLoad"}, {"severity", "warning"}, {"zone", "a"}}) || f.Title != "HighLoad" {
		t.Fatalf("%+v", f)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-1", Namespace: ns}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gone(t, c, ns, map[string][]string{"pod": {"api-1"}})
	f, _ = runFinding(t, env, "local", "run", "pod_events_enricher", "--alert-name", "KubePodCrashLooping", "--label", "pod=api-1", "--label", "namespace="+ns)
	if f.Title != "KubePodCrashLooping" || f.Subject["kind"] != "pod" || f.Subject["name"] != "api-1" {
		t.Fatalf("%+v", f)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"default_enricher", "--label", "a=b"}, "add --alert-name NAME"},
		{[]string{"default_enricher", "--alert-name", "X", "--label", "nolabel"}, "want key=value"},
		{[]string{"default_enricher", "--alert-name", "X", "--pod", ns + "/api-1"}, "an alert names its own object"},
		{[]string{"report_image_changes", "--pod", ns + "/api-1", "--old-revision", "1"}, "use it with --deployment"},
	} {
		r := run(t, env, append([]string{"local", "run"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: %s", c.args, r)
		}
	}

	// A Deployment rolled out twice: revision 1 holds the old image.
	createShop(t, c, ns)
	revisions := func() int {
		l, err := c.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=shop"})
		if err != nil {
			return 0
		}
		return len(l.Items)
	}
	waitFor(t, func() bool { return revisions() == 1 }, "revision 1")
	setShopImage(t, c, ns, "nginx:1.25")
	waitFor(t, func() bool { return revisions() == 2 }, "revision 2")
	lf, _ := runLinked(t, env, "local", "run", "report_image_changes", "--deployment", ns+"/shop", "--old-revision", "1")
	if got := onlyBlock(t, lf.finding, "json"); !strings.Contains(got, `"message": "image name: nginx new tag: 1.25 old tag 1.24"`) {
		t.Fatalf("%s", got)
	}
	r := run(t, env, "local", "run", "report_image_changes", "--deployment", ns+"/shop", "--old-revision", "7")
	if r.code == 0 || !strings.Contains(r.stderr, "has no revision 7; its ReplicaSets have revisions 1, 2") {
		t.Fatal(r)
	}
}
