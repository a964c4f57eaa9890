package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// alertFile writes one Alertmanager alert with the given labels (and annotations) and
// returns its path.
func alertFile(t *testing.T, labels, annotations map[string]string, generatorURL string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "alert.json")
	writeJSON(t, p, map[string]any{"status": "firing", "labels": labels, "annotations": annotations, "generatorURL": generatorURL})
	return p
}

// gone deletes, when the test ends, what it created under fixed names, so the test
// can run again on the same sandbox.
func gone(t *testing.T, c *sandbox.Cluster, ns string, kinds map[string][]string) {
	t.Cleanup(func() {
		ctx, zero := context.Background(), int64(0)
		opts := metav1.DeleteOptions{GracePeriodSeconds: &zero}
		for kind, names := range kinds {
			for _, n := range names {
				switch kind {
				case "statefulset":
					_ = c.Client.AppsV1().StatefulSets(ns).Delete(ctx, n, opts)
				case "daemonset":
					_ = c.Client.AppsV1().DaemonSets(ns).Delete(ctx, n, opts)
				case "hpa":
					_ = c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, n, opts)
				case "service":
					_ = c.Client.CoreV1().Services(ns).Delete(ctx, n, opts)
				case "pod":
					_ = c.Client.CoreV1().Pods(ns).Delete(ctx, n, opts)
				}
			}
		}
	})
}

// TestLocalAlertInputActions runs the third batch (alert-input actions) through the
// built binary against sandbox objects in the state each is about.
func TestLocalAlertInputActions(t *testing.T) {
	ns := "b3-alerts"
	c, ctx, env := inNamespace(t, ns)
	fakeNode(t, c)
	gone(t, c, ns, map[string][]string{"statefulset": {"db"}, "hpa": {"db-hpa"}, "service": {"kubelet-a", "kubelet-b"},
		"pod": {"victim", "agent-old"}, "daemonset": {"agent", "agent-tolerant"}})

	// default_enricher: labels table (sorted), a graph link, annotations on request.
	a := alertFile(t, map[string]string{"alertname": "HighLoad", "severity": "warning", "zone": "a"},
		map[string]string{"summary": "load is high", "description": "over 9 LABELS = map[zone:a]"}, "http://prom:9090/graph?g0.expr=up")
	lf, _ := runLinked(t, env, "local", "run", "default_enricher", "--alert", a)
	f := lf.finding
	b := f.block(t, f.enrichment(t, "Alert labels"), 0)
	if b.Name != "*Alert labels*" || !rowsEqual(b.Rows, [][]string{{"alertname", "HighLoad"}, {"severity", "warning"}, {"zone", "a"}}) || len(f.Enrichments) != 1 {
		t.Fatalf("default_enricher: %+v", f)
	}
	if len(lf.Links) != 1 || lf.Links[0].URL != "http://prom:9090/graph?g0.expr=up" || lf.Links[0].Name != "View Graph" || lf.Links[0].Type != "prometheus_generator_url" {
		t.Fatalf("default_enricher links: %+v", lf.Links)
	}
	lf, _ = runLinked(t, env, "local", "run", "default_enricher", "--alert", a, "alert_annotations_enrichment=true", "alert_generator_link=false")
	f = lf.finding
	b = f.block(t, f.enrichment(t, "Alert annotations"), 0)
	if len(lf.Links) != 0 || !rowsEqual(b.Rows, [][]string{{"description", "over 9 LABELS = map[zone:a]"}, {"summary", "load is high"}}) {
		t.Fatalf("default_enricher with annotations: %+v", f)
	}
	bad := alertFile(t, map[string]string{"alertname": "X"}, nil, "prom:9090/graph")
	lf, r := runLinked(t, env, "local", "run", "default_enricher", "--alert", bad)
	if len(lf.Links) != 0 || !strings.Contains(r.stderr, "is not an http(s) URL") {
		t.Fatalf("invalid generator URL: %+v\n%s", lf, r)
	}

	// minimal_default_enricher: one empty enrichment, the alert's own title.
	f, _ = runFinding(t, env, "local", "run", "minimal_default_enricher", "--alert", a)
	if f.Title != "HighLoad" || len(f.Enrichments) != 1 || len(f.Enrichments[0].Blocks) != 0 {
		t.Fatalf("minimal_default_enricher: %+v", f)
	}

	// statefulset_replicas_enricher: the description gains the replica counts.
	labels := map[string]string{"app": "db"}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
		NodeSelector: map[string]string{"type": "kwok"},
		Tolerations:  []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		Containers:   []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{Replicas: int32p(2), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ss *appsv1.StatefulSet
	waitFor(t, func() bool {
		ss, _ = c.Client.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
		return ss != nil && ss.Status.ReadyReplicas == 2 && ss.Status.Replicas == 2
	}, &ss)
	a = alertFile(t, map[string]string{"alertname": "KubeStatefulSetReplicasMismatch", "statefulset": "db", "namespace": ns},
		map[string]string{"description": "mismatch LABELS = map[a:b]"}, "")
	var desc struct {
		Description string
		Enrichments []any
	}
	rr := run(t, env, "local", "run", "statefulset_replicas_enricher", "--alert", a, "-o", "json")
	decode(t, rr.stdout, &desc)
	if want := "mismatch  2 out of 2 replicas were created for this Statefulset. Only 2 replicas are ready."; desc.Description != want || len(desc.Enrichments) != 0 {
		t.Fatalf("statefulset_replicas_enricher: %q, want %q", desc.Description, want)
	}
	r = run(t, env, "local", "run", "statefulset_replicas_enricher", "--alert", alertFile(t, map[string]string{"alertname": "X", "pod": "nope"}, nil, ""))
	if r.code != 0 || !strings.Contains(r.stderr, "names no existing StatefulSet") {
		t.Fatal(r)
	}

	// hpa_mismatch_enricher: the sandbox has no metrics-server, so the install hint,
	// then the replicas line, then the HPA's events.
	minR := int32(1)
	if _, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "db-hpa"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &minR, MaxReplicas: 3,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	warn(t, c, ns, "HorizontalPodAutoscaler", "db-hpa", "FailedGetScale", "no scale")
	a = alertFile(t, map[string]string{"alertname": "KubeHpaReplicasMismatch", "horizontalpodautoscaler": "db-hpa", "namespace": ns}, nil, "")
	f, _ = runFinding(t, env, "local", "run", "hpa_mismatch_enricher", "--alert", a)
	if len(f.Enrichments) != 3 || !strings.Contains(f.block(t, 0, 0).Text, "releases/latest/download/components.yaml") ||
		!strings.HasPrefix(f.block(t, 1, 0).Text, "*Replicas: Desired (") || f.Enrichments[2].Title != "HPA Events" {
		t.Fatalf("hpa_mismatch_enricher: %+v", f)
	}
	f, _ = runFinding(t, env, "local", "run", "hpa_mismatch_enricher", "--alert", a, "check_for_metrics_server=false", "included_types=Normal")
	if len(f.Enrichments) != 1 || !strings.HasPrefix(f.block(t, 0, 0).Text, "*Replicas: Desired (") {
		t.Fatalf("hpa_mismatch_enricher without the check and with no Normal events: %+v", f)
	}

	// prometheus_rules_enricher: two kubelet Services make the hint; another rule
	// group adds nothing.
	for _, name := range []string{"kubelet-a", "kubelet-b"} {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"k8s-app": "kubelet", "app.kubernetes.io/managed-by": "prometheus-operator"}},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 10250}}}}
		if _, err := c.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	a = alertFile(t, map[string]string{"alertname": "PrometheusRuleFailures", "rule_group": "/etc/rules/kubelet.rules"}, nil, "")
	f, _ = runFinding(t, env, "local", "run", "prometheus_rules_enricher", "--alert", a)
	if got := onlyBlock(t, f, "markdown"); !strings.Contains(got, "multiple kubelet services") || !strings.Contains(got, ns+"/kubelet-a, "+ns+"/kubelet-b.") {
		t.Fatalf("prometheus_rules_enricher: %q", got)
	}
	a = alertFile(t, map[string]string{"alertname": "PrometheusRuleFailures", "rule_group": "node.rules"}, nil, "")
	f, r = runFinding(t, env, "local", "run", "prometheus_rules_enricher", "--alert", a)
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "does not name a kubelet rule group") {
		t.Fatalf("%+v\n%s", f, r)
	}

	// api_service_status_enricher: an APIService whose Service is missing gets the
	// fix; a local one gets its YAML.
	apisvc := schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.b3.example.com"},
		"spec": map[string]any{"group": "b3.example.com", "version": "v1beta1", "groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"insecureSkipTLSVerify": true, "service": map[string]any{"name": "gone", "namespace": ns}}}}
	if _, err := c.Dynamic.Resource(apisvc).Create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Dynamic.Resource(apisvc).Delete(context.Background(), "v1beta1.b3.example.com", metav1.DeleteOptions{})
	})
	waitFor(t, func() bool {
		o, err := c.Dynamic.Resource(apisvc).Get(ctx, "v1beta1.b3.example.com", metav1.GetOptions{})
		if err != nil {
			return false
		}
		conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
		for _, cd := range conds {
			m := cd.(map[string]any)
			if m["type"] == "Available" && m["reason"] == "ServiceNotFound" {
				return true
			}
		}
		return false
	}, "APIService ServiceNotFound")
	a = alertFile(t, map[string]string{"alertname": "KubeAggregatedAPIDown", "name": "v1beta1.b3.example.com"}, nil, "")
	f, _ = runFinding(t, env, "local", "run", "api_service_status_enricher", "--alert", a)
	if len(f.Enrichments) != 1 || f.block(t, 0, 0).Text != "The APIServer was extended with APIs from `"+ns+"/gone`. However, this service doesn't exist." ||
		!strings.Contains(f.block(t, 0, 1).Text, "kubectl delete apiservice v1beta1.b3.example.com") {
		t.Fatalf("api_service_status_enricher missing service: %+v", f)
	}
	a = alertFile(t, map[string]string{"alertname": "KubeAggregatedAPIErrors", "name": "v1.apps"}, nil, "")
	f, _ = runFinding(t, env, "local", "run", "api_service_status_enricher", "--alert", a)
	if len(f.Enrichments) != 1 || f.block(t, 0, 0).Text != "The APIService v1.apps has an error. Below is the relevant YAML definition." ||
		f.block(t, 0, 1).Name != "v1.apps.yaml" || !strings.Contains(string(f.block(t, 0, 1).Data), "group: apps") ||
		strings.Contains(string(f.block(t, 0, 1).Data), "managedFields") {
		t.Fatalf("api_service_status_enricher yaml: %+v", f)
	}

	// target_down_dns_enricher: deprecated, says so; a kube-dns alert whose Service is
	// missing gets the explanation; coredns (the runner checks "corens") gets nothing.
	var tdesc struct{ Description string }
	a = alertFile(t, map[string]string{"alertname": "TargetDown", "job": "kube-dns", "service": "b3-no-such-dns"}, nil, "")
	r = run(t, env, "local", "run", "target_down_dns_enricher", "--alert", a, "-o", "json")
	decode(t, r.stdout, &tdesc)
	if r.code != 0 || !strings.Contains(r.stderr, "deprecated") || !strings.HasPrefix(tdesc.Description, "The Prometheus Stack expects the None to exist, but it can't be found in kube-system") {
		t.Fatalf("target_down_dns_enricher: %q\n%s", tdesc.Description, r)
	}
	a = alertFile(t, map[string]string{"alertname": "TargetDown", "job": "coredns", "service": "b3-no-such-dns"}, nil, "")
	r = run(t, env, "local", "run", "target_down_dns_enricher", "--alert", a, "-o", "json")
	tdesc.Description = ""
	decode(t, r.stdout, &tdesc)
	if r.code != 0 || tdesc.Description != "" || !strings.Contains(r.stderr, `job label is "coredns"`) {
		t.Fatalf("target_down_dns_enricher coredns: %q\n%s", tdesc.Description, r)
	}

	// delete_alert_pod: dry run leaves the pod, --apply deletes it.
	if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "victim"}, Spec: tmpl.Spec}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a = alertFile(t, map[string]string{"alertname": "PodStuck", "pod": "victim", "namespace": ns, "team": "x"}, nil, "")
	exists := func() bool {
		_, err := c.Client.CoreV1().Pods(ns).Get(ctx, "victim", metav1.GetOptions{})
		return err == nil
	}
	r = run(t, env, "local", "run", "delete_alert_pod", "--alert", a, "rate_limit=60")
	if r.code == 0 || !strings.Contains(r.stderr, "rate_limit needs rate_limit_field") || strings.Contains(r.stderr, "goroutine") {
		t.Fatal(r)
	}
	if !exists() {
		t.Fatal("a params error deleted the pod")
	}
	dry, applied := dryRunThenApply(t, env, func(didApply bool) {
		if !didApply && !exists() {
			t.Fatal("the dry run deleted the pod")
		}
	}, "local", "run", "delete_alert_pod", "--alert", a, "rate_limit=60", "rate_limit_field=team")
	if onlyBlock(t, dry, "markdown") != "Dry run: would delete pod "+ns+"/victim" || onlyBlock(t, applied, "markdown") != "Deleted pod "+ns+"/victim" {
		t.Fatalf("%+v\n%+v", dry, applied)
	}
	waitFor(t, func() bool {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, "victim", metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil)
	}, "pod victim deleted")
	// Once gone, the alert names no pod, which the runner reports as an error.
	r = run(t, env, "local", "run", "delete_alert_pod", "--alert", a)
	if r.code == 0 || !strings.Contains(r.stderr, "the alert names no existing pod") {
		t.Fatal(r)
	}

	// daemonset_misscheduled_analysis_enricher: a pod of the DaemonSet on a node the
	// autoscaler is removing is the known false alarm; with the toleration it is not.
	customNode(t, c, "b3-leaving")
	// The node controller writes the node too, so the taint goes on with retries.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := c.Client.CoreV1().Nodes().Get(ctx, "b3-leaving", metav1.GetOptions{})
		if err != nil {
			return err
		}
		node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: "ToBeDeletedByClusterAutoscaler", Value: "1", Effect: corev1.TaintEffectNoSchedule})
		_, err = c.Client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	agent := map[string]string{"app": "agent"}
	dsSpec := appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: agent}, Template: corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: agent},
		Spec:       corev1.PodSpec{NodeSelector: map[string]string{"b3": "none"}, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}
	ds, err := c.Client.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent"}, Spec: dsSpec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A pod the DaemonSet owns (not as controller, so the controller leaves it alone)
	// bound to the leaving node.
	if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "agent-old",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", UID: ds.UID}}},
		Spec: corev1.PodSpec{NodeName: "b3-leaving", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f, _ = runFinding(t, env, "local", "run", "daemonset_misscheduled_analysis_enricher", "--kind", "daemonset", "--name", "agent", "-n", ns)
	if len(f.Enrichments) != 1 || len(f.Enrichments[0].Blocks) != 4 || !strings.Contains(f.block(t, 0, 0).Text, "*known false alarm*") ||
		f.block(t, 0, 2).Type != "callback" || f.block(t, 0, 2).Text != "daemonset_fix_config (runner only: no local command)" ||
		f.block(t, 0, 3).Text != "daemonset_silence_false_alarm (runner only: no local command)" {
		t.Fatalf("daemonset_misscheduled_analysis_enricher: %+v", f)
	}
	dsSpec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "ToBeDeletedByClusterAutoscaler", Operator: corev1.TolerationOpExists}}
	_, err = c.Client.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent-tolerant"}, Spec: dsSpec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, r = runFinding(t, env, "local", "run", "daemonset_misscheduled_analysis_enricher", "--kind", "daemonset", "--name", "agent-tolerant", "-n", ns)
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "tolerates ToBeDeletedByClusterAutoscaler") {
		t.Fatalf("%+v\n%s", f, r)
	}
}

// decode reads the JSON output of a run into v.
func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestLocalForeignLogs fetches the logs of pods found by label selector, templated
// from an alert's subject for alert_foreign_logs_enricher.
func TestLocalForeignLogs(t *testing.T) {
	ns := "b3-logs"
	c, ctx, env := inNamespace(t, ns)
	fakeNode(t, c)
	gone(t, c, ns, map[string][]string{"pod": {"collector"}})
	if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "collector", Labels: map[string]string{"app": "collector"}},
		Spec: corev1.PodSpec{NodeName: sandbox.FakeNodeName, Containers: []corev1.Container{{Name: "main", Image: "collector:1"}},
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "collector.log")
	if err := sandbox.WriteCRILog(logFile, "shipping 12 records", "ERROR: upstream refused"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, "collector", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	}, "pod collector running")
	if err := c.WirePod(ctx, ns, "collector", "main", "", "", logFile, ""); err != nil {
		t.Fatal(err)
	}
	// kwok serves the logs once it has seen the Logs object.
	waitFor(t, func() bool {
		_, err := c.Client.CoreV1().Pods(ns).GetLogs("collector", &corev1.PodLogOptions{Container: "main"}).DoRaw(ctx)
		return err == nil
	}, "logs of collector")

	// The first selector finds nothing, the second the pod; the title is templated
	// from the pod.
	f, _ := runFinding(t, env, "local", "run", "foreign_logs_enricher", "label_selectors=app=nothing-b3,app=collector",
		"title_override=$name in ${namespace} (${labels.app}, ${kind}, $nope)")
	if len(f.Enrichments) != 1 || f.Enrichments[0].Title != "collector in "+ns+" (collector, pod, <missing>)" {
		t.Fatalf("foreign_logs_enricher: %+v", f)
	}
	b := f.block(t, 0, len(f.Enrichments[0].Blocks)-1)
	if b.Name != "collector.log" || string(b.Data) != "shipping 12 records\nERROR: upstream refused\n" {
		t.Fatalf("log block: %+v %q", b, b.Data)
	}
	// filter_regex is the runner's re.findall: the matches, joined by newlines.
	f, _ = runFinding(t, env, "local", "run", "foreign_logs_enricher", "label_selectors=app=collector", "filter_regex=ERROR.*")
	if b := f.block(t, 0, 0); f.Enrichments[0].Title != "Logs" || string(b.Data) != "ERROR: upstream refused" {
		t.Fatalf("filtered: %+v", f)
	}
	f, r := runFinding(t, env, "local", "run", "foreign_logs_enricher", "label_selectors=app=nothing-b3")
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "no pod matches any of the label selectors app=nothing-b3") {
		t.Fatalf("%+v\n%s", f, r)
	}
	r = run(t, env, "local", "run", "foreign_logs_enricher")
	if r.code != 2 || !strings.Contains(r.stderr, "label_selectors") {
		t.Fatal(r)
	}

	// On an alert: ${labels.app} is the label of the pod the alert names.
	a := alertFile(t, map[string]string{"alertname": "CollectorErrors", "pod": "collector", "namespace": ns}, nil, "")
	f, _ = runFinding(t, env, "local", "run", "alert_foreign_logs_enricher", "--alert", a, "label_selectors=app=${labels.app}")
	if len(f.Enrichments) != 1 || f.Enrichments[0].Title != "Logs" || !strings.Contains(string(f.block(t, 0, 0).Data), "upstream refused") {
		t.Fatalf("alert_foreign_logs_enricher: %+v", f)
	}
}
