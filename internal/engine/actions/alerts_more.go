package actions

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "statefulset_replicas_enricher", Event: engine.AlertEvent,
		Doc: "Add to the alert's description how many of the StatefulSet's replicas were created and are ready", Do: statefulSetReplicas})
	engine.Register(&engine.Action{Name: "hpa_mismatch_enricher", Event: engine.AlertEvent,
		Doc:       "Show the HPA's desired and running replicas, its events, and how to install a missing metrics-server",
		NewParams: func() any { return &hpaMismatchParams{} }, Do: hpaMismatch})
	engine.Register(&engine.Action{Name: "daemonset_misscheduled_analysis_enricher", Event: "DaemonSetEvent",
		Doc: "Recognise the misscheduled-DaemonSet false alarm caused by nodes the cluster autoscaler is removing", Do: daemonSetMisscheduled})
	engine.Register(&engine.Action{Name: "api_service_status_enricher", Event: engine.AlertEvent,
		Doc: "Explain a failing APIService (label name): its missing Service, or its YAML", Do: apiServiceStatus})
	engine.Register(&engine.Action{Name: "prometheus_rules_enricher", Event: engine.AlertEvent,
		Doc: "For a kubelet rule group's failure, name the kubelet Services when there is more than one", Do: prometheusRules})
	engine.Register(&engine.Action{Name: "default_enricher", Event: engine.AlertEvent,
		Doc:       "Attach the alert's labels (and optionally its annotations) and a link to its graph",
		NewParams: func() any { return &defaultEnricherParams{} }, Do: defaultEnricher})
	engine.Register(&engine.Action{Name: "minimal_default_enricher", Event: engine.AlertEvent,
		Doc: "Keep the alert's finding with no labels or annotations attached", Do: minimalDefault})
	engine.Register(&engine.Action{Name: "delete_alert_pod", Event: engine.AlertEvent, Mutating: true,
		Doc:       "Delete the pod the alert names (server-side dry run unless --apply), optionally rate limited by a label",
		NewParams: func() any { return &deleteAlertPodParams{} }, Do: deleteAlertPod})
	engine.Register(&engine.Action{Name: "target_down_dns_enricher", Event: engine.AlertEvent,
		Doc:       "Deprecated: explain a kube-dns TargetDown alert whose Service is missing from kube-system",
		NewParams: func() any { return &timedPrometheusParams{} }, Do: targetDownDNS})
}

// noteSkip records why an action added nothing, as the runner only logs it.
func noteSkip(r *engine.Run, action, why string) {
	r.Notes = append(r.Notes, action+": "+why+", so it added nothing")
}

// labelsSuffix matches the "LABELS = map[...]" Prometheus templates append to a
// description; the runner strips it since the labels are shown apart. Python's $
// also matches before a final newline, which is kept.
var labelsSuffix = regexp.MustCompile(`LABELS = map\[.*\](\n?)\z`)

// alertDescription is the runner's get_description: the description annotation without
// its labels suffix (the summary is not part of it).
func alertDescription(a *engine.Alert) string {
	return labelsSuffix.ReplaceAllString(a.Annotations["description"], "$1")
}

// pyInt renders an integer field of an object as Python prints it: absent is None.
func pyInt(o *unstructured.Unstructured, path ...string) string {
	v, ok, _ := unstructured.NestedFieldNoCopy(o.Object, path...)
	if !ok || v == nil {
		return "None"
	}
	return fmt.Sprint(v)
}

func statefulSetReplicas(_ context.Context, r *engine.Run, _ any) error {
	o := r.Event.Obj
	if r.Event.Kind != "StatefulSet" || o == nil {
		noteSkip(r, "statefulset_replicas_enricher", "the alert names no existing StatefulSet (label statefulset)")
		return nil
	}
	ready, _, _ := unstructured.NestedInt64(o.Object, "status", "readyReplicas")
	readyText := "No replicas are ready."
	if ready > 0 {
		readyText = fmt.Sprintf("Only %d replicas are ready.", ready)
	}
	r.Finding.Description = alertDescription(r.Event.Alert) + fmt.Sprintf(" %s out of %s replicas were created for this Statefulset. ",
		pyInt(o, "status", "replicas"), pyInt(o, "spec", "replicas")) + readyText
	return nil
}

// hpaMismatchParams is Robusta's HPAMismatchParams (EventEnricherParams plus one).
type hpaMismatchParams struct {
	MaxEvents             int64    `param:"max_events" default:"8" doc:"most recent HPA events to show"`
	IncludedTypes         []string `param:"included_types" default:"Warning,Normal" doc:"event types to keep"`
	CheckForMetricsServer bool     `param:"check_for_metrics_server" default:"true" doc:"say how to install metrics-server when its APIService or Deployment is missing"`
}

var apiServicesGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// metricsServerMessage is what the runner says when metrics-server's APIService (any
// whose service name contains metrics-server) or Deployment (label
// k8s-app=metrics-server) is missing; "" when both exist.
func metricsServerMessage(ctx context.Context, r *engine.Run) (string, error) {
	dyn, err := r.KF.Dynamic()
	if err != nil {
		return "", err
	}
	list, err := dyn.Resource(apiServicesGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", r.KF.Explain(err, "list", "apiservices", "")
	}
	hasAPIService := false
	for _, s := range list.Items {
		name, _, _ := unstructured.NestedString(s.Object, "spec", "service", "name")
		hasAPIService = hasAPIService || strings.Contains(name, "metrics-server")
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return "", err
	}
	deps, err := cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=metrics-server"})
	if err != nil {
		return "", r.KF.Explain(err, "list", "deployments", "")
	}
	hasDeployment := len(deps.Items) > 0
	const missing = "The HPA cannot function because a metrics API was not found.\n\n"
	switch {
	case hasAPIService && hasDeployment:
		return "", nil
	case hasDeployment:
		return missing + "You can fix this by deploying metrics-server API service:\n\n" +
			"```kubectl apply -f https://raw.githubusercontent.com/kubernetes-sigs/metrics-server/master/manifests/base/apiservice.yaml```", nil
	}
	return missing + "You can fix this by deploying metrics-server:\n\n" +
		"```kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml```", nil
}

func hpaMismatch(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*hpaMismatchParams)
	o := r.Event.Obj
	if r.Event.Kind != "HorizontalPodAutoscaler" || o == nil {
		noteSkip(r, "hpa_mismatch_enricher", "the alert names no existing HorizontalPodAutoscaler (label horizontalpodautoscaler)")
		return nil
	}
	if params.CheckForMetricsServer {
		msg, err := metricsServerMessage(ctx, r)
		if err != nil {
			return err
		}
		if msg != "" {
			r.Finding.AddEnrichment("", engine.Markdown(msg))
		}
	}
	r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("*Replicas: Desired (%s) --> Running (%s)*",
		pyInt(o, "status", "desiredReplicas"), pyInt(o, "status", "currentReplicas"))))
	return hpaEvents(ctx, r, &eventsParams{MaxEvents: params.MaxEvents, IncludedTypes: params.IncludedTypes})
}

const autoscalerTaint = "ToBeDeletedByClusterAutoscaler"

// knownMisscheduleFalseAlarm is the runner's check for the known false alarm: the
// DaemonSet does not tolerate the autoscaler's taint and one of its pods runs on a node
// that carries it.
func knownMisscheduleFalseAlarm(ctx context.Context, r *engine.Run, o *unstructured.Unstructured) (bool, string, error) {
	tols, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "tolerations")
	for _, t := range tols {
		if m, _ := t.(map[string]any); str(m["key"]) == autoscalerTaint {
			return false, "the DaemonSet tolerates " + autoscalerTaint + ", so the false alarm cannot happen", nil
		}
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return false, "", err
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, "", r.KF.Explain(err, "list", "nodes", "")
	}
	tainted := map[string]bool{}
	known := map[string]bool{}
	for _, n := range nodes.Items {
		known[n.Name] = true
		for _, t := range n.Spec.Taints {
			tainted[n.Name] = tainted[n.Name] || t.Key == autoscalerTaint
		}
	}
	pods, err := cs.CoreV1().Pods(o.GetNamespace()).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, "", r.KF.Explain(err, "list", "pods", o.GetNamespace())
	}
	for _, p := range pods.Items {
		if !ownedBy(&p, o.GetUID()) || !known[p.Spec.NodeName] {
			continue
		}
		if tainted[p.Spec.NodeName] {
			return true, "", nil
		}
	}
	return false, "none of the DaemonSet's pods runs on a node tainted " + autoscalerTaint, nil
}

func ownedBy(p *corev1.Pod, uid types.UID) bool {
	for _, ref := range p.OwnerReferences {
		if ref.UID == uid {
			return true
		}
	}
	return false
}

func daemonSetMisscheduled(ctx context.Context, r *engine.Run, _ any) error {
	found, why, err := knownMisscheduleFalseAlarm(ctx, r, r.Event.Obj)
	if err != nil {
		return err
	}
	if !found {
		noteSkip(r, "daemonset_misscheduled_analysis_enricher", why)
		return nil
	}
	r.Finding.AddEnrichment("",
		engine.Markdown("*Alert Cause*\n This alert is the *known false alarm* of a DaemonSet whose pods run on nodes the "+
			"cluster autoscaler is removing, because the DaemonSet does not ask to keep running while the node shuts down."),
		engine.Markdown("(<https://blog.florentdelannoy.com/blog/2020/kube-daemonset-misscheduled/|Learn more>).\n\n"+
			"*Remediation*\nYou can:\n\n1. Fix the DaemonSet's configuration so the false alarm cannot happen\n"+
			"2. Let Robusta silence the false alarm and still pass real alerts through.\n\nChoose an option below to learn more."),
		button("Fix the Configuration", "daemonset_fix_config"),
		button("Silence the false alarm", "daemonset_silence_false_alarm"))
	return nil
}

func apiServiceStatus(ctx context.Context, r *engine.Run, _ any) error {
	const action = "api_service_status_enricher"
	name := r.Event.Alert.Labels["name"]
	if name == "" {
		noteSkip(r, action, "the alert has no name label naming an APIService")
		return nil
	}
	dyn, err := r.KF.Dynamic()
	if err != nil {
		return err
	}
	list, err := dyn.Resource(apiServicesGVR).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return r.KF.Explain(err, "list", "apiservices", "")
	}
	if len(list.Items) != 1 {
		noteSkip(r, action, fmt.Sprintf("APIService %s not found", name))
		return nil
	}
	s := list.Items[0]
	svcName, _, _ := unstructured.NestedString(s.Object, "spec", "service", "name")
	svcNS, _, _ := unstructured.NestedString(s.Object, "spec", "service", "namespace")
	conds, _, _ := unstructured.NestedSlice(s.Object, "status", "conditions")
	var avail map[string]any
	for _, c := range conds {
		if m, _ := c.(map[string]any); str(m["type"]) == "Available" {
			avail = m
			break
		}
	}
	if avail == nil {
		noteSkip(r, action, fmt.Sprintf("APIService %s has no Available condition", name))
		return nil
	}
	if str(avail["reason"]) == "ServiceNotFound" && str(avail["status"]) != "True" {
		r.Finding.AddEnrichment("",
			engine.Markdown(fmt.Sprintf("The APIServer was extended with APIs from `%s/%s`. However, this service doesn't exist.", pyStrOrNone(svcNS), pyStrOrNone(svcName))),
			engine.Markdown(fmt.Sprintf("To fix this alert, restore that service or remove it from the APIServer by running: ```kubectl delete apiservice %s```", name)))
		return nil
	}
	// The YAML leaves out the noisy managed fields and last-applied annotation.
	obj := s.DeepCopy()
	obj.SetManagedFields(nil)
	unstructured.RemoveNestedField(obj.Object, "metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration")
	b, err := yaml.Marshal(obj.Object)
	if err != nil {
		return fmt.Errorf("rendering APIService %s as YAML: %w", name, err)
	}
	// The runner names the service name/namespace in this order here.
	text := fmt.Sprintf("The APIService %s has an error. ", name)
	if svcName != "" && svcNS != "" {
		text = fmt.Sprintf("The APIServer was extended with APIs from `%s/%s` which has an error. ", svcName, svcNS)
	}
	r.Finding.AddEnrichment("", engine.Markdown(text+"Below is the relevant YAML definition."), engine.File(name+".yaml", b))
	return nil
}

func prometheusRules(ctx context.Context, r *engine.Run, _ any) error {
	const action = "prometheus_rules_enricher"
	group := r.Event.Alert.Labels["rule_group"]
	if !strings.Contains(group, "kubelet") {
		noteSkip(r, action, "the alert's rule_group label does not name a kubelet rule group")
		return nil
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	svcs, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kubelet,app.kubernetes.io/managed-by=prometheus-operator"})
	if err != nil {
		return r.KF.Explain(err, "list", "services", "")
	}
	if len(svcs.Items) <= 1 {
		noteSkip(r, action, fmt.Sprintf("%d kubelet Service(s) found, not several", len(svcs.Items)))
		return nil
	}
	names := make([]string, len(svcs.Items))
	for i, s := range svcs.Items {
		names[i] = s.Namespace + "/" + s.Name
	}
	r.Finding.AddEnrichment("", engine.Markdown("The rule failure might be caused by multiple kubelet services running in your cluster: "+strings.Join(names, ", ")+"."))
	return nil
}

// defaultEnricherParams is Robusta's DefaultEnricherParams.
type defaultEnricherParams struct {
	Annotations   bool `param:"alert_annotations_enrichment" default:"false" doc:"also attach the alert's annotations"`
	GeneratorLink bool `param:"alert_generator_link" default:"true" doc:"link to the alert's graph (its generatorURL)"`
}

// validLinkURL is the runner's check before linking: http or https with a host.
func validLinkURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// sortedPairs is a map as label/value rows. The runner keeps the alert's JSON order;
// the decoded alert here has lost it, so rows are sorted by key.
func sortedPairs(m map[string]string) [][]string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := make([][]string, len(keys))
	for i, k := range keys {
		rows[i] = []string{k, m[k]}
	}
	return rows
}

func defaultEnricher(_ context.Context, r *engine.Run, p any) error {
	params := p.(*defaultEnricherParams)
	a := r.Event.Alert
	if a.GeneratorURL != "" && params.GeneratorLink {
		if validLinkURL(a.GeneratorURL) {
			r.Finding.AddLink(engine.Link{URL: a.GeneratorURL, Name: "View Graph", Type: engine.LinkPrometheusGraph})
		} else {
			r.Notes = append(r.Notes, fmt.Sprintf("default_enricher: generatorURL %q is not an http(s) URL with a host, so it is not linked", a.GeneratorURL))
		}
	}
	r.Finding.AddEnrichment("Alert labels", engine.Table("*Alert labels*", []string{"label", "value"}, sortedPairs(a.Labels)))
	if params.Annotations && len(a.Annotations) > 0 {
		r.Finding.AddEnrichment("Alert annotations", engine.Table("*Alert annotations*", []string{"label", "value"}, sortedPairs(a.Annotations)))
	}
	return nil
}

// minimalDefault adds the runner's empty enrichment: the finding carries only the
// alert's own title and description.
func minimalDefault(_ context.Context, r *engine.Run, _ any) error {
	r.Finding.AddEnrichment("")
	return nil
}

// deleteAlertPodParams is Robusta's DeleteAlertPodParams.
type deleteAlertPodParams struct {
	RateLimit      int64  `param:"rate_limit" doc:"seconds: delete at most once per period for the same value of rate_limit_field"`
	RateLimitField string `param:"rate_limit_field" doc:"the alert label whose value keys the rate limit"`
}

func deleteAlertPod(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*deleteAlertPodParams)
	pod := r.Event.Pod()
	if pod == nil {
		return fmt.Errorf("the alert names no existing pod (labels pod and namespace); give an alert about a pod")
	}
	if params.RateLimit != 0 {
		if params.RateLimitField == "" {
			return &engine.ParamsError{Action: "delete_alert_pod", Err: fmt.Errorf("rate_limit needs rate_limit_field: give rate_limit_field=LABEL")}
		}
		if v, ok := r.Event.Alert.Labels[params.RateLimitField]; !ok {
			r.Notes = append(r.Notes, fmt.Sprintf("delete_alert_pod: the alert has no label %s, so the rate limit is not checked", params.RateLimitField))
		} else {
			key := params.RateLimitField + ":" + v
			if !r.Limiter.MarkAndTest("delete_alert_pod", key, time.Duration(params.RateLimit)*time.Second) {
				r.Notes = append(r.Notes, "delete_alert_pod: rate limited for "+key+", so nothing was deleted")
				return nil
			}
		}
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	dryRun, what := mutation(r, "delete_alert_pod", "Deleted", "delete")
	if err := cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{DryRun: dryRun}); err != nil {
		return r.KF.Explain(err, "delete", "pods", pod.Namespace)
	}
	r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("%s pod %s/%s", what, pod.Namespace, pod.Name)))
	return nil
}

// timedPrometheusParams is the runner's TimedPrometheusParams: PrometheusParams and a
// query duration. target_down_dns_enricher takes them so a runner's config runs, but
// queries nothing, as in the runner.
type timedPrometheusParams struct {
	promConn
	DefaultQueryDuration int64 `param:"default_query_duration" default:"600" doc:"seconds of Prometheus history to query (unused by this action)"`
}

func targetDownDNS(ctx context.Context, r *engine.Run, _ any) error {
	const action = "target_down_dns_enricher"
	r.Notes = append(r.Notes, action+" is deprecated upstream: Robusta's chart handles the TargetDown alert with target_down_dns_silencer instead (a silencer, runner only); its Prometheus params are taken but not used")
	a := r.Event.Alert
	// The runner compares with "corens" (sic), so only kube-dns alerts go on.
	if job := a.Labels["job"]; job != "corens" && job != "kube-dns" {
		noteSkip(r, action, fmt.Sprintf("the alert's job label is %q, and the runner goes on only for kube-dns (and the misspelt corens)", job))
		return nil
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	svcs, err := cs.CoreV1().Services("kube-system").List(ctx, metav1.ListOptions{})
	if err != nil {
		return r.KF.Explain(err, "list", "services", "kube-system")
	}
	for _, s := range svcs.Items {
		if s.Name == a.Labels["service"] {
			noteSkip(r, action, "Service kube-system/"+s.Name+" exists, so the alert is real")
			return nil
		}
	}
	// The runner writes the alert's resolved Job here, which is None unless the alert
	// has a job_name label naming one.
	job := "None"
	if r.Event.Kind == "Job" && r.Event.Obj != nil {
		job = r.Event.Obj.GetName()
	}
	r.Finding.Description = fmt.Sprintf("The Prometheus Stack expects the %s to exist, but it can't be found in kube-system (some cluster managers do not provide this service), "+
		"you can disable it by changing the following values in prometheus stack. ```kube-prometheus-stack:\n\tcoreDns:\n\t\tenabled: false\n\tkubeDns:\n\t\tenabled: true```", job)
	return nil
}
