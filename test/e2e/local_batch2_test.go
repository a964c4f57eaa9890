package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/actions"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// block returns block i of enrichment e, failing when absent.
func (f finding) block(t *testing.T, e, i int) struct {
	Type, Name, Text string
	Data             []byte
	Items, Headers   []string
	Rows             [][]string
	Truncated        int
} {
	t.Helper()
	if e >= len(f.Enrichments) || i >= len(f.Enrichments[e].Blocks) {
		t.Fatalf("no block %d of enrichment %d in %+v", i, e, f)
	}
	return f.Enrichments[e].Blocks[i]
}

func rowsEqual(a, b [][]string) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestLocalStatusActions runs the status actions on a Deployment and a DaemonSet the
// controllers brought up on the kwok node, and the listing actions on them.
func TestLocalStatusActions(t *testing.T) {
	ns := "b2-work"
	c, ctx, env := inNamespace(t, ns)
	fakeNode(t, c)
	labels := map[string]string{"app": "web"}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
		NodeSelector: map[string]string{"type": "kwok"},
		Tolerations:  []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		Containers:   []corev1.Container{{Name: "c", Image: "busybox"}}}}
	_, err := c.Client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: int32p(2), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	agent := map[string]string{"app": "agent"}
	tmpl.Labels = agent
	_, err = c.Client.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: agent}, Template: tmpl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "plain"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var dep *appsv1.Deployment
	waitFor(t, func() bool {
		dep, err = c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && dep.Status.AvailableReplicas == 2 && len(dep.Status.Conditions) == 2
	}, &dep)
	var ds *appsv1.DaemonSet
	waitFor(t, func() bool {
		ds, err = c.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		return err == nil && ds.Status.DesiredNumberScheduled > 0 && ds.Status.NumberAvailable == ds.Status.DesiredNumberScheduled
	}, &ds)
	dep, _ = c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})

	// status_enricher: one row per condition, the message only with show_details.
	var short, long [][]string
	for _, cond := range dep.Status.Conditions {
		short = append(short, []string{string(cond.Type), string(cond.Status)})
		long = append(long, []string{string(cond.Type), string(cond.Status), cond.Message})
	}
	f, _ := runFinding(t, env, "local", "run", "status_enricher", "--deployment", ns+"/web")
	b := f.block(t, 0, 0)
	if len(f.Enrichments) != 1 || b.Type != "table" || b.Name != "Deployment status details" ||
		strings.Join(b.Headers, ",") != "Type,Status" || !rowsEqual(b.Rows, short) {
		t.Fatalf("%+v\nwant rows %q", f, short)
	}
	f, _ = runFinding(t, env, "local", "run", "status_enricher", "--deployment", ns+"/web", "show_details=true")
	if b := f.block(t, 0, 0); strings.Join(b.Headers, ",") != "Type,Status,Message" || !rowsEqual(b.Rows, long) {
		t.Fatalf("%+v\nwant rows %q", f, long)
	}
	// An object without conditions: nothing added, and the user is told why.
	f, r := runFinding(t, env, "local", "run", "status_enricher", "--kind", "configmap", "--name", "plain", "-n", ns)
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "ConfigMap plain has no status conditions") {
		t.Fatalf("%+v\n%s", f, r)
	}

	// deployment_status_enricher: a heading, then "*reason -* message" per condition.
	f, _ = runFinding(t, env, "local", "run", "deployment_status_enricher", "--deployment", ns+"/web")
	blocks := f.Enrichments[0].Blocks
	if len(blocks) != 1+len(dep.Status.Conditions) || blocks[0].Text != "*Deployment status details:*" {
		t.Fatalf("%+v", f)
	}
	for i, cond := range dep.Status.Conditions {
		if want := fmt.Sprintf("*%s -* %s", cond.Reason, cond.Message); blocks[i+1].Type != "markdown" || blocks[i+1].Text != want {
			t.Errorf("block %d: %q, want %q", i+1, blocks[i+1].Text, want)
		}
	}

	// daemonset_status_enricher: the four counters as the live object has them.
	ds, _ = c.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
	f, _ = runFinding(t, env, "local", "run", "daemonset_status_enricher", "--kind", "daemonset", "--name", "agent", "-n", ns)
	want := [][]string{
		{"status.desiredNumberScheduled", fmt.Sprint(ds.Status.DesiredNumberScheduled)},
		{"status.currentNumberScheduled", fmt.Sprint(ds.Status.CurrentNumberScheduled)},
		{"status.numberAvailable", fmt.Sprint(ds.Status.NumberAvailable)},
		{"status.numberMisscheduled", fmt.Sprint(ds.Status.NumberMisscheduled)},
	}
	if b0, b1, b2 := f.block(t, 0, 0), f.block(t, 0, 1), f.block(t, 0, 2); b0.Text != "*Daemonset Stats for agent*" ||
		b1.Type != "kubernetes_fields" || !rowsEqual(b1.Rows, want) || b2.Type != "markdown" || !strings.Contains(b2.Text, "misscheduled") {
		t.Fatalf("%+v\nwant %q", f, want)
	}
	r = run(t, env, "local", "run", "daemonset_status_enricher", "--deployment", ns+"/web")
	if r.code != 2 || !strings.Contains(r.stderr, "daemonset_status_enricher needs a DaemonSetEvent, but got a DeploymentEvent") {
		t.Fatal(r)
	}

	// fetch_resource_yaml: the object by kind and name, without managedFields.
	f, _ = runFinding(t, env, "local", "run", "fetch_resource_yaml", "kind=deploy", "name=web", "namespace="+ns)
	b = f.block(t, 0, 0)
	if f.Title != "YAML for deploy/web" || f.AggregationKey != "fetch_resource_yaml" || b.Type != "file" || b.Name != ns+"_deploy_web.yaml" ||
		!strings.Contains(string(b.Data), "kind: Deployment") || !strings.Contains(string(b.Data), "name: web") || strings.Contains(string(b.Data), "managedFields") {
		t.Fatalf("%+v\n%s", f, b.Data)
	}
	// Without a namespace param the kubeconfig's namespace is used, and the file name has none.
	f, _ = runFinding(t, env, "local", "run", "fetch_resource_yaml", "kind=Node", "name="+sandbox.FakeNodeName)
	if b := f.block(t, 0, 0); b.Name != "Node_"+sandbox.FakeNodeName+".yaml" || !strings.Contains(string(b.Data), "kind: Node") {
		t.Fatalf("%+v", f)
	}

	// list_pods: a case-insensitive substring of the name, at most limit pods.
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("%v %v", err, pods)
	}
	f, _ = runFinding(t, env, "local", "run", "list_pods", "name=WEB-", "namespace="+ns)
	b = f.block(t, 0, 0)
	var names []string
	for _, row := range b.Rows {
		names = append(names, row[1]+"/"+row[0]+" on "+row[2]+" "+row[3])
	}
	sort.Strings(names)
	var wantNames []string
	for _, p := range pods.Items {
		wantNames = append(wantNames, ns+"/"+p.Name+" on "+p.Spec.NodeName+" "+string(p.Status.Phase))
	}
	sort.Strings(wantNames)
	if b.Type != "table" || b.Headers[0] != "name" || strings.Join(names, ",") != strings.Join(wantNames, ",") {
		t.Fatalf("%+v\nwant %q", f, wantNames)
	}
	f, _ = runFinding(t, env, "local", "run", "list_pods", "name=web", "limit:=1")
	if rows := f.block(t, 0, 0).Rows; len(rows) != 1 || !strings.Contains(rows[0][0], "web") {
		t.Fatalf("%+v", f)
	}
	r = run(t, env, "local", "run", "list_pods", "namespace="+ns)
	if r.code != 2 || !strings.Contains(r.stderr, `missing required parameter "name"`) {
		t.Fatal(r)
	}

	// list_resource_names: the names of a kind, as a list.
	f, _ = runFinding(t, env, "local", "run", "list_resource_names", "kind=deployment", "namespace="+ns)
	if b := f.block(t, 0, 0); b.Type != "list" || strings.Join(b.Items, ",") != "web" {
		t.Fatalf("%+v", f)
	}
	r = run(t, env, "local", "run", "list_resource_names", "kind=configmaps", "namespace="+ns)
	mustContain(t, r, "stdout", "plain")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list_resource_names", "kind=node", "namespace=" + ns}, "list_resource_names: Node is not namespaced: drop the namespace parameter"},
		{[]string{"list_resource_names", "kind=gizmo"}, `list_resource_names: parameter "kind": the server has no resource kind "gizmo"`},
		{[]string{"fetch_resource_yaml", "kind=gizmo", "name=x"}, `fetch_resource_yaml: parameter "kind": the server has no resource kind "gizmo"`},
		{[]string{"fetch_resource_yaml", "kind=deploy"}, `missing required parameter "name"`},
	} {
		r := run(t, env, append([]string{"local", "run"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("%v: %s", tc.args, r)
		}
	}
	r = run(t, env, "local", "run", "fetch_resource_yaml", "kind=deploy", "name=nope", "namespace="+ns)
	if r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Fatal(r)
	}
}

// TestLocalNodeCapacityAndEviction puts pods on a node kwok leaves alone, one of them
// evicted, and runs the node and eviction actions.
func TestLocalNodeCapacityAndEviction(t *testing.T) {
	ns, nodeName := "b2-node", "evict-node"
	c, ctx, env := inNamespace(t, ns)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName, Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}}}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Client.CoreV1().Nodes().Delete(context.Background(), nodeName, metav1.DeleteOptions{}) })
	rl := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110")}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status = corev1.NodeStatus{Capacity: rl, Allocatable: rl, Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue, Reason: "KubeletHasInsufficientMemory", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
		}}
		_, err = c.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	requests := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")}
	for _, p := range []struct {
		name   string
		req    corev1.ResourceList
		status corev1.PodStatus
	}{
		{"busy", requests, corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}},
		{"lazy", nil, corev1.PodStatus{Phase: corev1.PodRunning}},
		{"waiting", nil, corev1.PodStatus{Phase: corev1.PodPending}},
		{"evicted", requests, corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "The node was low on resource: memory."}},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: ns}, Spec: corev1.PodSpec{NodeName: nodeName,
			Containers: []corev1.Container{{Name: "c", Image: "busybox", Resources: corev1.ResourceRequirements{Requests: p.req}}}}}
		created, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created.Status = p.status
		if _, err := c.Client.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// Two running pods count (not the pending or failed one); one lacks both requests.
	f, _ := runFinding(t, env, "local", "run", "node_pods_capacity_enricher", "--node", nodeName)
	want := "*On the node evict-node, there are currently 2 pods running and the maximum capacity for pods on this node is 110.*\n" +
		"1 pods don't have cpu request. 1 pods don't have memory request. "
	if b := f.block(t, 0, 0); b.Type != "markdown" || b.Text != want {
		t.Fatalf("%q\nwant %q", b.Text, want)
	}

	n, err := c.Client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var conds [][]string
	for _, cond := range n.Status.Conditions {
		conds = append(conds, []string{string(cond.Type), string(cond.Status)})
	}
	f, _ = runFinding(t, env, "local", "run", "pod_evicted_enricher", "--pod", ns+"/evicted")
	if f.Title != "Pod evicted in namespace b2-node was Evicted" || f.Severity != "HIGH" || f.AggregationKey != "PodEvictedTriggered" || len(f.Enrichments) != 2 {
		t.Fatalf("%+v", f)
	}
	info := f.enrichment(t, "Node Info")
	general, status, alloc := f.block(t, info, 0), f.block(t, info, 1), f.block(t, info, 2)
	if general.Name != "Node general info" || !rowsEqual(general.Rows, [][]string{{"Node Name", nodeName}}) {
		t.Errorf("general: %+v", general)
	}
	if status.Name != "Node status details" || strings.Join(status.Headers, ",") != "Type,Status" || !rowsEqual(status.Rows, conds) {
		t.Errorf("status: %+v, want %q", status, conds)
	}
	if alloc.Name != "Node Allocatable Resources" || !rowsEqual(alloc.Rows, [][]string{{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}}) {
		t.Errorf("allocatable: %+v", alloc)
	}
	podsTable := f.block(t, 1, 0)
	wantPods := [][]string{{ns, "busy", "true"}, {ns, "evicted", "false"}, {ns, "lazy", "false"}, {ns, "waiting", "false"}}
	if podsTable.Name != "Pods running on the node" || strings.Join(podsTable.Headers, ",") != "namespace,name,ready" || !rowsEqual(podsTable.Rows, wantPods) {
		t.Errorf("pods: %+v", podsTable)
	}

	// enrich_pod_with_node_events: the node's events, newest first, filtered and capped.
	// The node controller may add its own RegisteredNode event at any moment; ours are
	// dated ahead so that they stay the newest, and rows of other events are left out.
	now := time.Now()
	for i, ev := range []struct{ typ, reason, msg string }{
		{"Warning", "NodeHasInsufficientMemory", "memory is low"},
		{"Normal", "NodeReady", "node is ready"},
		{"Warning", "EvictionThresholdMet", "attempting to reclaim memory"},
	} {
		_, err := c.Client.CoreV1().Events("default").Create(ctx, &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{GenerateName: "node-ev-", Namespace: "default"},
			InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: nodeName},
			Type:           ev.typ, Reason: ev.reason, Message: ev.msg,
			LastTimestamp: metav1.NewTime(now.Add(time.Duration(i+1) * time.Minute)),
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	f, _ = runFinding(t, env, "local", "run", "enrich_pod_with_node_events", "--pod", ns+"/busy")
	b := f.block(t, f.enrichment(t, "Node Events"), 0)
	ours := map[string]bool{"NodeHasInsufficientMemory": true, "NodeReady": true, "EvictionThresholdMet": true}
	var reasons []string
	for _, row := range b.Rows {
		if ours[row[0]] {
			reasons = append(reasons, row[0]+" "+row[1]+" "+row[3])
		}
	}
	if b.Name != "Node Events" || strings.Join(b.Headers, ",") != "reason,type,time,message" || strings.Join(reasons, "|") !=
		"EvictionThresholdMet Warning attempting to reclaim memory|NodeReady Normal node is ready|NodeHasInsufficientMemory Warning memory is low" {
		t.Fatalf("%+v", b)
	}
	if b.Rows[0][2] != now.Add(3*time.Minute).UTC().Format("2006-01-02 15:04:05") {
		t.Errorf("time %q", b.Rows[0][2])
	}
	f, _ = runFinding(t, env, "local", "run", "enrich_pod_with_node_events", "--pod", ns+"/busy", "included_types=normal")
	if rows := f.block(t, 0, 0).Rows; len(rows) == 0 || rows[0][0] != "NodeReady" || len(rows) > 2 || (len(rows) == 2 && rows[1][0] != "RegisteredNode") {
		t.Fatalf("%+v", f)
	}
	f, _ = runFinding(t, env, "local", "run", "enrich_pod_with_node_events", "--pod", ns+"/busy", "max_events:=1")
	if b := f.block(t, 0, 0); len(b.Rows) != 1 || b.Rows[0][0] != "EvictionThresholdMet" || (b.Truncated != 2 && b.Truncated != 3) {
		t.Fatalf("%+v", f)
	}
	// A pod on a node without events: nothing added, and a note says so.
	ghost := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "ghost", Namespace: ns}, Spec: corev1.PodSpec{NodeName: "ghost-node",
		Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, ghost, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f, r := runFinding(t, env, "local", "run", "enrich_pod_with_node_events", "--pod", ns+"/ghost")
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "no events of Node ghost-node") {
		t.Fatalf("%+v\n%s", f, r)
	}
}

// TestLocalEventActions reads events through events.k8s.io/v1: events written through
// that API and through core/v1 about one pod, an event change, and an HPA's alert.
func TestLocalEventActions(t *testing.T) {
	ns := "b2-ev"
	c, ctx, env := inNamespace(t, ns)
	now := time.Now()
	regarding := corev1.ObjectReference{Kind: "Pod", Name: "api-1", Namespace: ns}
	var first string
	for i, ev := range []struct{ typ, reason, note string }{
		{"Warning", "BackOff", "Back-off restarting failed container"},
		{"Normal", "Pulled", "Successfully pulled image"},
	} {
		created, err := c.Client.EventsV1().Events(ns).Create(ctx, &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "api-", Namespace: ns},
			EventTime:  metav1.NewMicroTime(now.Add(time.Duration(i-3) * time.Minute)),
			Regarding:  regarding, Type: ev.typ, Reason: ev.reason, Note: ev.note, Action: "Test",
			ReportingController: "e2e/test", ReportingInstance: "e2e-1",
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = created.Name
		}
	}
	warn(t, c, ns, "Pod", "api-1", "Failed", "Error: ImagePullBackOff") // core/v1, newest
	warn(t, c, ns, "Pod", "api-2", "Failed", "another pod")             // not about api-1

	f, _ := runFinding(t, env, "local", "run", "fetch_resource_events", "kind=pod", "name=api-1", "namespace="+ns)
	e := f.enrichment(t, "Resource Events")
	b := f.block(t, e, 0)
	var got []string
	for _, row := range b.Rows {
		got = append(got, row[0]+" "+row[1]+" "+row[3])
	}
	if f.Title != "Events for pod/api-1" || f.AggregationKey != "fetch_resource_events" || b.Name != "Resource Events" ||
		strings.Join(got, "|") != "Failed Warning Error: ImagePullBackOff|Pulled Normal Successfully pulled image|BackOff Warning Back-off restarting failed container" {
		t.Fatalf("%+v", f)
	}
	// Without a namespace the name is matched in every namespace, as in the runner.
	f, _ = runFinding(t, env, "local", "run", "fetch_resource_events", "kind=Pod", "name=api-2")
	if rows := f.block(t, 0, 0).Rows; len(rows) != 1 || rows[0][3] != "another pod" {
		t.Fatalf("%+v", f)
	}
	f, r := runFinding(t, env, "local", "run", "fetch_resource_events", "kind=Pod", "name=nothing-here", "namespace="+ns)
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "no events of Pod b2-ev/nothing-here") {
		t.Fatalf("%+v\n%s", f, r)
	}

	// event_resource_events on an event change: all events of the object it is about,
	// whether the event is read through core/v1 or events.k8s.io/v1.
	for _, kind := range []string{"event", "events.events.k8s.io"} {
		f, _ = runFinding(t, env, "local", "run", "event_resource_events", "--kind", kind, "--name", first, "-n", ns, "--operation", "create")
		b = f.block(t, f.enrichment(t, "Related Events"), 0)
		if b.Name != "Related Events" || len(b.Rows) != 3 || b.Rows[0][0] != "Failed" || b.Rows[2][0] != "BackOff" {
			t.Fatalf("%s: %+v", kind, f)
		}
	}
	r = run(t, env, "local", "run", "event_resource_events", "--kind", "event", "--name", first, "-n", ns)
	if r.code != 2 || !strings.Contains(r.stderr, "needs a EventChangeEvent") {
		t.Fatal(r)
	}

	// hpa_events_enricher on an alert that names an HPA.
	minR := int32(1)
	_, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web-hpa"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &minR, MaxReplicas: 3,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	warn(t, c, ns, "HorizontalPodAutoscaler", "web-hpa", "FailedGetResourceMetric", "no metrics returned")
	alert := filepath.Join(t.TempDir(), "alert.json")
	writeJSON(t, alert, map[string]any{"status": "firing", "labels": map[string]string{
		"alertname": "KubernetesHpaMaxedOut", "horizontalpodautoscaler": "web-hpa", "namespace": ns}})
	f, _ = runFinding(t, env, "local", "run", "hpa_events_enricher", "--alert", alert, "included_types=Warning")
	b = f.block(t, f.enrichment(t, "HPA Events"), 0)
	found := false
	for _, row := range b.Rows {
		if row[1] != "Warning" {
			t.Errorf("a %s event passed included_types=Warning: %q", row[1], row)
		}
		found = found || (row[0] == "FailedGetResourceMetric" && row[3] == "no metrics returned")
	}
	if f.Title != "KubernetesHpaMaxedOut" || b.Name != "HPA events" || !found {
		t.Fatalf("%+v", f)
	}
	podAlert := filepath.Join(t.TempDir(), "pod-alert.json")
	writeJSON(t, podAlert, map[string]any{"status": "firing", "labels": map[string]string{"alertname": "X", "namespace": ns, "pod": "api-1"}})
	f, r = runFinding(t, env, "local", "run", "hpa_events_enricher", "--alert", podAlert)
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "names no HorizontalPodAutoscaler") {
		t.Fatalf("%+v\n%s", f, r)
	}
}

// TestLocalCRDActions lists a CRD with two versions and its instances across
// namespaces through discovery and the dynamic client.
func TestLocalCRDActions(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	version := func(name string, storage bool, cols []any) map[string]any {
		v := map[string]any{"name": name, "served": true, "storage": storage,
			"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}
		if cols != nil {
			v["additionalPrinterColumns"] = cols
		}
		return v
	}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.b2.example.com"},
		"spec": map[string]any{"group": "b2.example.com", "scope": "Namespaced",
			"names": map[string]any{"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
			"versions": []any{
				version("v1alpha1", false, nil),
				version("v1", true, []any{map[string]any{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}}),
			}},
	}}
	if _, err := c.Dynamic.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Dynamic.Resource(crdGVR).Delete(context.Background(), "widgets.b2.example.com", metav1.DeleteOptions{})
	})
	widgets := schema.GroupVersionResource{Group: "b2.example.com", Version: "v1", Resource: "widgets"}
	for _, ns := range []string{"b2-cr", "b2-cr2"} {
		if err := c.EnsureNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []struct {
		ns, name string
		size     int64
		ready    string
	}{{"b2-cr", "small", 1, "True"}, {"b2-cr", "big", 9, "False"}, {"b2-cr2", "other", 3, "True"}} {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "b2.example.com/v1", "kind": "Widget",
			"metadata": map[string]any{"name": w.name, "namespace": w.ns},
			"spec":     map[string]any{"size": w.size},
			"status": map[string]any{"conditions": []any{
				map[string]any{"type": "Synced", "status": "True"}, map[string]any{"type": "Ready", "status": w.ready}}},
		}}
		var err error
		// The new resource is served a moment after the CRD is established.
		waitFor(t, func() bool {
			_, err = c.Dynamic.Resource(widgets).Namespace(w.ns).Create(ctx, obj, metav1.CreateOptions{})
			return err == nil
		}, &err)
	}

	f, _ := runFinding(t, env, "local", "run", "fetch_crds")
	b := f.block(t, 0, 0)
	var crds []struct {
		APIVersion, Kind, Plural, Scope, CreatedAt string
		AdditionalPrinterColumns                   []map[string]string
	}
	if err := json.Unmarshal([]byte(b.Text), &crds); err != nil || f.Title != "Custom Resource Definitions" || f.AggregationKey != "fetch_crds" || b.Type != "json" {
		t.Fatalf("%v: %+v", err, f)
	}
	var widget int = -1
	for i, x := range crds {
		if i > 0 && crds[i-1].Kind > x.Kind {
			t.Errorf("not sorted by kind: %s before %s", crds[i-1].Kind, x.Kind)
		}
		if x.Kind == "Widget" {
			widget = i
		}
	}
	if widget < 0 {
		t.Fatalf("no Widget in %s", b.Text)
	}
	w := crds[widget]
	if w.APIVersion != "b2.example.com/v1" || w.Plural != "widgets" || w.Scope != "Namespaced" || w.CreatedAt == "" ||
		len(w.AdditionalPrinterColumns) != 1 || w.AdditionalPrinterColumns[0]["name"] != "Size" ||
		w.AdditionalPrinterColumns[0]["type"] != "integer" || w.AdditionalPrinterColumns[0]["jsonPath"] != ".spec.size" {
		t.Fatalf("%+v", w)
	}

	fields := `fields:=["spec.size", "status.conditions[?(@.type == 'Ready')].status", "spec.missing"]`
	f, _ = runFinding(t, env, "local", "run", "fetch_cr_instances", "kind=widgets", fields)
	b = f.block(t, 0, 0)
	var items []map[string]any
	if err := json.Unmarshal([]byte(b.Text), &items); err != nil || f.Title != "Instances of widgets" || f.AggregationKey != "fetch_cr_instances" {
		t.Fatalf("%v: %+v", err, f)
	}
	var gotItems []string
	for _, it := range items {
		gotItems = append(gotItems, fmt.Sprintf("%v/%v size=%v ready=%v missing=%v", it["namespace"], it["name"], it["spec.size"],
			it["status.conditions[?(@.type == 'Ready')].status"], it["spec.missing"]))
	}
	sort.Strings(gotItems)
	if strings.Join(gotItems, "|") != "b2-cr/big size=9 ready=False missing=<nil>|b2-cr/small size=1 ready=True missing=<nil>|b2-cr2/other size=3 ready=True missing=<nil>" {
		t.Fatalf("%q\n%s", gotItems, b.Text)
	}
	// The keys keep the runner's order: name, namespace, then the fields as asked.
	if i, j, k := strings.Index(b.Text, `"name"`), strings.Index(b.Text, `"namespace"`), strings.Index(b.Text, `"spec.size"`); !(i < j && j < k) {
		t.Fatalf("key order:\n%s", b.Text)
	}
	f, _ = runFinding(t, env, "local", "run", "fetch_cr_instances", "kind=Widget", "namespace=b2-cr")
	items = nil
	if err := json.Unmarshal([]byte(f.block(t, 0, 0).Text), &items); err != nil || len(items) != 2 || len(items[0]) != 2 {
		t.Fatalf("%v %+v", err, items)
	}
	r := run(t, env, "local", "run", "fetch_cr_instances", "kind=gadgets")
	if r.code != 2 || !strings.Contains(r.stderr, `fetch_cr_instances: parameter "kind": the server has no resource kind "gadgets"`) {
		t.Fatal(r)
	}
	// Text output shows the JSON as it is.
	r = run(t, env, "local", "run", "fetch_cr_instances", "kind=widget", "namespace=b2-cr2")
	mustContain(t, r, "stdout", `"name": "other"`)
}

// TestLocalEventHistory sweeps the cluster's events: more Warning events than one page
// holds, so the whole history is there only when the sweep follows continue tokens.
func TestLocalEventHistory(t *testing.T) {
	ns := "b2-hist"
	c, ctx, env := inNamespace(t, ns)
	now := time.Now()
	event := func(kind, name, typ, reason, msg string, at time.Time) error {
		_, err := c.Client.CoreV1().Events(ns).Create(ctx, &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{GenerateName: "hist-", Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: ns},
			Type:           typ, Reason: reason, Message: msg, LastTimestamp: metav1.NewTime(at),
		}, metav1.CreateOptions{})
		return err
	}
	for i, ev := range []struct{ kind, name, typ, reason, msg string }{
		{"Pod", "hist-a", "Normal", "Scheduled", "assigned"},
		{"Pod", "hist-a", "Warning", "BackOff", "restarting"},
		{"Pod", "hist-a", "Normal", "Pulled", "pulled"},
		{"Deployment", "hist-calm", "Normal", "ScalingReplicaSet", "scaled up"},
	} {
		if err := event(ev.kind, ev.name, ev.typ, ev.reason, ev.msg, now.Add(time.Duration(i-10)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	const noisy = 2100 // more than one page (eventPageSize) of Warnings
	errs := make(chan error, noisy)
	work := make(chan int)
	for w := 0; w < 8; w++ {
		go func() {
			for i := range work {
				errs <- event("Pod", "hist-noisy", "Warning", "Unhealthy", fmt.Sprintf("probe failed %d", i), now.Add(-time.Duration(i)*time.Second))
			}
		}()
	}
	for i := 0; i < noisy; i++ {
		work <- i
	}
	close(work)
	for i := 0; i < noisy; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	f, _ := runFinding(t, env, "local", "run", "event_history")
	if !strings.HasPrefix(f.Title, "Event history: ") {
		t.Fatalf("title %q", f.Title)
	}
	a := f.enrichment(t, "BackOff Warning for Pod b2-hist/hist-a")
	if b := f.block(t, a, 0); b.Type != "markdown" || b.Text != "restarting" {
		t.Errorf("description %+v", b)
	}
	b := f.block(t, a, 1)
	var got []string
	for _, row := range b.Rows {
		got = append(got, row[0])
	}
	if b.Name != "Resource events" || strings.Join(got, ",") != "Pulled,BackOff,Scheduled" {
		t.Errorf("hist-a: %+v", b)
	}
	n := f.enrichment(t, "Unhealthy Warning for Pod b2-hist/hist-noisy")
	if rows := f.block(t, n, 1).Rows; len(rows) != noisy || rows[0][3] != "probe failed 0" || rows[noisy-1][3] != fmt.Sprintf("probe failed %d", noisy-1) {
		t.Errorf("hist-noisy: %d rows, first %q", len(rows), rows[0])
	}
	for _, e := range f.Enrichments {
		if strings.Contains(e.Title, "hist-calm") {
			t.Errorf("an object without Warning events is in the history: %q", e.Title)
		}
	}
	r := run(t, env, "local", "run", "event_history", "x=1")
	if r.code != 2 || !strings.Contains(r.stderr, "takes no parameters, got x") {
		t.Fatal(r)
	}
}

// TestLocalHelmStatusEnricher installs a chart into the sandbox with the Helm SDK and
// runs helm_status_enricher on the release's event. local run cannot build a
// HelmReleasesEvent from its flags yet, so the test builds it with the exported
// builder the command will use, against the same cluster.
func TestLocalHelmStatusEnricher(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	ns := "b2-helm"
	dir := t.TempDir()
	files := map[string]string{
		"Chart.yaml":          "apiVersion: v2\nname: tiny\nversion: 0.3.1\n",
		"templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tiny-{{ .Release.Name }}\ndata:\n  size: {{ .Values.size | quote }}\n",
		"templates/NOTES.txt": "Tiny is up.\nEnjoy.\n",
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.HelmInstall(ctx, "tiny", ns, dir, map[string]any{"size": 1}); err != nil {
		t.Fatal(err)
	}
	kf := kube.NewFactory(kube.Options{Kubeconfig: c.KubeconfigPath})
	runHelm := func() *engine.Finding {
		t.Helper()
		ev, err := actions.HelmReleaseEvent(ctx, kf, ns, "tiny")
		if err != nil {
			t.Fatal(err)
		}
		a, ok := engine.Lookup("helm_status_enricher")
		if !ok {
			t.Fatal("helm_status_enricher is not registered")
		}
		r := &engine.Run{Event: ev, Finding: engine.NewFinding(ev, "helm_status_enricher"), KF: kf}
		if err := a.Execute(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		return r.Finding
	}
	f := runHelm()
	text := f.Enrichments[0].Blocks[0].Text
	for _, want := range []string{"Helm release `b2-helm/tiny` is currently in the `deployed` status", "● *Revision*: `1`",
		"● *Description*: `Install complete`", "● *Notes*: `Tiny is up.Enjoy.`", "● *Name*: `tiny`", "● *Version*: `0.3.1`"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	if f.Title != "Helm release b2-helm/tiny - version: 0.3.1 - status: deployed" || f.Severity != engine.Info ||
		f.AggregationKey != "Helm Release Info" || f.Source != "helm_release" || f.Subject.Name != "" {
		t.Fatalf("%+v", f)
	}

	// After an upgrade the event is about the newest revision.
	if _, err := c.HelmUpgrade(ctx, "tiny", ns, dir, map[string]any{"size": 2}); err != nil {
		t.Fatal(err)
	}
	if text := runHelm().Enrichments[0].Blocks[0].Text; !strings.Contains(text, "● *Revision*: `2`") || !strings.Contains(text, "`Upgrade complete`") {
		t.Fatalf("%s", text)
	}
	if _, err := actions.HelmReleaseEvent(ctx, kf, ns, "nope"); err == nil || !strings.Contains(err.Error(), "no Helm release nope in namespace b2-helm") {
		t.Fatalf("%v", err)
	}
	// Through the binary, the release's Secret is a SecretEvent, which the action
	// refuses naming the class it needs.
	r := run(t, kubeconfigEnv(c.KubeconfigPath), "local", "run", "helm_status_enricher", "--kind", "secret", "--name", "sh.helm.release.v1.tiny.v2", "-n", ns)
	if r.code != 2 || !strings.Contains(r.stderr, "helm_status_enricher needs a HelmReleasesEvent, but got a SecretEvent") {
		t.Fatal(r)
	}
	// --helm-release builds the release's event, as the runner's helm triggers do.
	r = run(t, kubeconfigEnv(c.KubeconfigPath), "local", "run", "helm_status_enricher", "--helm-release", ns+"/tiny", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, "Helm release b2-helm/tiny - version: 0.3.1 - status: deployed") || !strings.Contains(r.stdout, "Revision*: `2`") {
		t.Fatal(r)
	}
	r = run(t, kubeconfigEnv(c.KubeconfigPath), "local", "run", "helm_status_enricher", "--helm-release", "tiny", "-n", ns, "--pod", ns+"/x")
	if r.code != 2 || !strings.Contains(r.stderr, "--helm-release names its own release") {
		t.Fatal(r)
	}
	r = run(t, kubeconfigEnv(c.KubeconfigPath), "local", "run", "helm_status_enricher", "--helm-release", ns+"/nope")
	if r.code == 0 || !strings.Contains(r.stderr, "no Helm release nope in namespace b2-helm") {
		t.Fatal(r)
	}
}
