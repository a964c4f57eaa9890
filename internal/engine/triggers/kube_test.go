package triggers

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/engine"
)

func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func params(t *testing.T, y string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const deploy = `
kind: Deployment
metadata: {name: api-server, namespace: prod-eu, labels: {app: api, tier: web}, annotations: {team: core}}
spec: {replicas: 2, template: {spec: {containers: [{name: web, image: "nginx:1.25"}]}}}
status: {readyReplicas: 2}
`

const deployOld = `
kind: Deployment
metadata: {name: api-server, namespace: prod-eu, labels: {app: api, tier: web}, annotations: {team: core}}
spec: {replicas: 1, template: {spec: {containers: [{name: web, image: "nginx:1.24"}]}}}
status: {readyReplicas: 1}
`

func TestKubeTriggers(t *testing.T) {
	upd := &Incoming{Event: &engine.Event{Kind: "Deployment", Operation: "update", Obj: obj(t, deploy), Old: obj(t, deployOld)}}
	create := &Incoming{Event: &engine.Event{Kind: "Deployment", Operation: "create", Obj: obj(t, deploy)}}
	node := &Incoming{Event: &engine.Event{Kind: "Node", Operation: "update", Obj: obj(t, "kind: Node\nmetadata: {name: n1}"), Old: obj(t, "kind: Node\nmetadata: {name: n1}")}}
	cases := []struct {
		key, params string
		in          *Incoming
		want        bool
	}{
		{"on_deployment_update", "{}", upd, true},
		{"on_deployment_update", "{}", create, false},
		{"on_deployment_create", "{}", create, true},
		{"on_deployment_all_changes", "{}", create, true},
		{"on_pod_update", "{}", upd, false},
		{"on_kubernetes_any_resource_update", "{}", upd, true},
		{"on_deployment_update", "{name_prefix: api}", upd, true},
		{"on_deployment_update", "{name_prefix: server}", upd, false},
		{"on_deployment_update", "{namespace_prefix: prod}", upd, true},
		{"on_node_update", "{namespace_prefix: prod}", node, false}, // cluster-scoped: no namespace
		{"on_node_update", "{}", node, true},
		{"on_deployment_update", "{labels_selector: 'app=api,tier=web'}", upd, true},
		{"on_deployment_update", "{labels_selector: 'app=api,tier=db'}", upd, false},
		// scope: full-match regexes, exclude first, label terms with !=, attributes
		{"on_deployment_update", "{scope: {include: [{namespace: prod}]}}", upd, false},
		{"on_deployment_update", "{scope: {include: [{namespace: 'prod-.*'}]}}", upd, true},
		{"on_deployment_update", "{scope: {include: [{namespace: [dev, 'prod-eu']}]}}", upd, true},
		{"on_deployment_update", "{scope: {include: [{namespace: 'prod-.*', name: 'x.*'}]}}", upd, false},
		{"on_deployment_update", "{scope: {include: [{name: '.*'}], exclude: [{labels: 'tier=web'}]}}", upd, false},
		{"on_deployment_update", "{scope: {exclude: [{labels: 'tier!=web'}]}}", upd, true},
		{"on_deployment_update", "{scope: {include: [{labels: 'app=a.*, tier!=db'}]}}", upd, true},
		{"on_deployment_update", "{scope: {include: [{labels: 'missing!=x'}]}}", upd, false},
		{"on_deployment_update", "{scope: {include: [{annotations: 'team=core'}]}}", upd, true},
		{"on_deployment_update", "{scope: {include: [{attributes: 'spec.template.spec.containers[0].name=WEB'}]}}", upd, true},
		{"on_deployment_update", "{scope: {include: [{attributes: 'spec.replicas!=2'}]}}", upd, false},
		{"on_deployment_update", "{scope: {include: [{attributes: 'spec.nothing!=2'}]}}", upd, false},
		// change_filters: include substrings, ignore paths, nothing left -> no fire
		{"on_deployment_update", "{change_filters: {include: [image]}}", upd, true},
		{"on_deployment_update", "{change_filters: {include: [labels]}}", upd, false},
		{"on_deployment_update", "{change_filters: {ignore: [spec, status]}}", upd, false},
		{"on_deployment_update", "{change_filters: {ignore: [status, spec.replicas], include: [spec]}}", upd, true},
		{"on_deployment_create", "{change_filters: {include: [labels]}}", create, true},
		// on_kubernetes_resource_operation: resources, operations, its default filters
		{"on_kubernetes_resource_operation", "{resources: [Deployment], operations: [update]}", upd, true},
		{"on_kubernetes_resource_operation", "{resources: [job]}", upd, false},
		{"on_kubernetes_resource_operation", "{operations: [create]}", upd, false},
	}
	for _, c := range cases {
		tr, err := Compile(context.Background(), c.key, params(t, c.params))
		if err != nil {
			t.Fatalf("%s %s: %v", c.key, c.params, err)
		}
		if got := tr.Matches(c.in); got != c.want {
			t.Errorf("%s %s on %s %s: %v, want %v", c.key, c.params, c.in.Event.Kind, c.in.Event.Operation, got, c.want)
		}
	}
	// The default change filters ignore spec.replicas and status: a scale alone does not fire.
	scaled := &Incoming{Event: &engine.Event{Kind: "Deployment", Operation: "update", Obj: obj(t, deploy),
		Old: obj(t, strings.Replace(deploy, "replicas: 2", "replicas: 5", 1))}}
	tr, _ := Compile(context.Background(), "on_kubernetes_resource_operation", nil)
	if tr.Matches(scaled) {
		t.Error("on_kubernetes_resource_operation fired on a scale")
	}
}

func TestPodAndJobTriggers(t *testing.T) {
	pod := func(waiting string, restarts int, started time.Duration) *Incoming {
		y := `kind: Pod
metadata: {name: api-1, namespace: prod, ownerReferences: [{name: api-rs, kind: ReplicaSet, apiVersion: apps/v1, uid: x}]}
status:
  startTime: ` + time.Now().Add(-started).UTC().Format(time.RFC3339) + `
  containerStatuses: [{name: c, restartCount: ` + strconv.Itoa(restarts) + `, state: {waiting: {reason: ` + waiting + `}}}]`
		o := obj(t, y)
		return &Incoming{Event: &engine.Event{Kind: "Pod", Operation: "update", Obj: o, Old: o}}
	}
	cases := []struct {
		key, params string
		in          *Incoming
		want        bool
	}{
		{"on_pod_crash_loop", "{}", pod("CrashLoopBackOff", 2, time.Hour), true},
		{"on_pod_crash_loop", "{}", pod("CrashLoopBackOff", 1, time.Hour), false},
		{"on_pod_crash_loop", "{restart_count: 1}", pod("CrashLoopBackOff", 1, time.Hour), true},
		{"on_pod_crash_loop", "{restart_reason: CrashLoop}", pod("CrashLoopBackOff", 3, time.Hour), true},
		{"on_pod_crash_loop", "{restart_reason: OOM}", pod("CrashLoopBackOff", 3, time.Hour), false},
		{"on_image_pull_backoff", "{}", pod("ImagePullBackOff", 0, time.Hour), true},
		{"on_image_pull_backoff", "{}", pod("ImagePullBackOff", 0, time.Second), false}, // fire_delay 120 s
		{"on_image_pull_backoff", "{fire_delay: 0}", pod("ImagePullBackOff", 0, time.Second), true},
		{"on_image_pull_backoff", "{}", pod("CrashLoopBackOff", 5, time.Hour), false},
	}
	for _, c := range cases {
		tr, err := Compile(context.Background(), c.key, params(t, c.params))
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.Matches(c.in); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.key, c.params, got, c.want)
		}
	}
	tr, _ := Compile(context.Background(), "on_pod_crash_loop", map[string]any{"rate_limit": 60})
	key, period, ok := tr.(RateLimited).RateLimit(pod("CrashLoopBackOff", 2, time.Hour))
	if !ok || key != "prod:api-rs" || period != time.Minute {
		t.Errorf("rate limit %q %v %v", key, period, ok)
	}

	job := func(failed bool) *unstructured.Unstructured {
		if failed {
			return obj(t, "kind: Job\nmetadata: {name: j}\nstatus: {conditions: [{type: Failed, status: 'True'}]}")
		}
		return obj(t, "kind: Job\nmetadata: {name: j}\nstatus: {active: 1}")
	}
	tr, _ = Compile(context.Background(), "on_job_failure", nil)
	for _, c := range []struct {
		old, now, want bool
	}{{false, true, true}, {true, true, false}, {false, false, false}} {
		in := &Incoming{Event: &engine.Event{Kind: "Job", Operation: "update", Obj: job(c.now), Old: job(c.old)}}
		if tr.Matches(in) != c.want {
			t.Errorf("on_job_failure old failed %v, now %v: want %v", c.old, c.now, c.want)
		}
	}
}

func TestKubeTriggerErrors(t *testing.T) {
	for _, c := range []struct{ key, params, want string }{
		{"on_deployment_update", "{labels_selector: 'app'}", "not key=value"},
		{"on_deployment_update", "{scope: {include: [{name: '(?<=x)y'}]}}", "RE2"},
		{"on_deployment_update", "{scope: {}}", "include or exclude"},
		{"on_nothing_update", "{}", "not a Kubernetes trigger"},
		{"on_pod_crash_loop", "{restart_count: many}", "whole number"},
	} {
		_, err := Compile(context.Background(), c.key, params(t, c.params))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want %q", c.key, c.params, err, c.want)
		}
	}
}

func TestAlertTrigger(t *testing.T) {
	alert := func(status string, labels map[string]string) *Incoming {
		return &Incoming{Event: &engine.Event{Class: engine.AlertEvent, Alert: &engine.Alert{Status: status, Labels: labels,
			Annotations: map[string]string{"summary": "x"}}}}
	}
	crash := map[string]string{"alertname": "KubePodCrashLooping", "pod": "api-1", "namespace": "prod", "severity": "warning"}
	noPod := map[string]string{"alertname": "KubePodCrashLooping", "namespace": "prod"}
	cases := []struct {
		params string
		in     *Incoming
		want   bool
	}{
		{"{}", alert("firing", crash), true},
		{"{}", alert("resolved", crash), false}, // status defaults to firing
		{"{status: all}", alert("resolved", crash), true},
		{"{status: resolved}", alert("resolved", crash), true},
		{"{alert_name: KubePodCrashLooping}", alert("firing", crash), true},
		{"{alert_name: KubePodNotReady}", alert("firing", crash), false},
		{"{pod_name_prefix: api}", alert("firing", crash), true},
		{"{pod_name_prefix: web}", alert("firing", crash), false},
		{"{pod_name_prefix: api}", alert("firing", noPod), false}, // a prefix never matches a missing label
		{"{namespace_prefix: pro}", alert("firing", crash), true},
		{"{instance_name_prefix: node}", alert("firing", crash), false},
		{"{scope: {include: [{labels: 'severity=warn.*'}]}}", alert("firing", crash), true},
		{"{scope: {exclude: [{labels: 'namespace=prod'}]}}", alert("firing", crash), false},
		{"{scope: {include: [{annotations: 'summary=x'}]}}", alert("firing", crash), true},
		{"{scope: {include: [{namespace: prod}]}}", alert("firing", crash), false}, // alerts give labels and annotations only
	}
	for _, c := range cases {
		tr, err := Compile(context.Background(), "on_prometheus_alert", params(t, c.params))
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.Matches(c.in); got != c.want {
			t.Errorf("%s on %s %v: %v, want %v", c.params, c.in.Event.Alert.Status, c.in.Event.Alert.Labels, got, c.want)
		}
	}
	// A Kubernetes trigger never fires on an alert, even one resolved to a pod.
	in := alert("firing", crash)
	in.Event.Kind, in.Event.Obj = "Pod", obj(t, "kind: Pod\nmetadata: {name: api-1, namespace: prod}")
	tr, _ := Compile(context.Background(), "on_pod_all_changes", nil)
	if tr.Matches(in) {
		t.Error("on_pod_all_changes fired on an alert")
	}
}

func TestOOMEvictedWarningTriggers(t *testing.T) {
	pod := func(name, containerReason, podReason string) *Incoming {
		o := obj(t, `kind: Pod
metadata: {name: `+name+`, namespace: prod}
status:
  reason: `+podReason+`
  containerStatuses:
  - {name: app, state: {terminated: {reason: `+containerReason+`}}}
  - {name: sidecar, state: {running: {}}, lastState: {terminated: {reason: OOMKilled}}}`)
		return &Incoming{Event: &engine.Event{Kind: "Pod", Operation: "update", Obj: o, Old: o}}
	}
	ev := func(op, typ, reason, note string) *Incoming {
		o := obj(t, `kind: Event
metadata: {name: e1, namespace: prod}
type: `+typ+`
reason: `+reason+`
note: "`+note+`"
regarding: {kind: Pod, name: api-1, namespace: prod}`)
		return &Incoming{Event: &engine.Event{Kind: "Event", Operation: op, Obj: o}}
	}
	cases := []struct {
		key, params string
		in          *Incoming
		want        bool
	}{
		{"on_pod_oom_killed", "{}", pod("api-1", "OOMKilled", "x"), true},
		{"on_pod_oom_killed", "{}", pod("api-1", "Error", "x"), false}, // lastState OOM does not count
		{"on_pod_oom_killed", "{exclude: [{name: api}]}", pod("api-1", "OOMKilled", "x"), false},
		{"on_pod_oom_killed", "{exclude: [{namespace: prod}]}", pod("api-1", "OOMKilled", "x"), false},
		{"on_pod_oom_killed", "{exclude: [{namespace: dev, name: api}]}", pod("api-1", "OOMKilled", "x"), true},
		{"on_container_oom_killed", "{exclude: [{name: app}]}", pod("api-1", "OOMKilled", "x"), false},
		{"on_container_oom_killed", "{exclude: [{name: side}]}", pod("api-1", "OOMKilled", "x"), true},
		{"on_pod_evicted", "{}", pod("api-1", "Error", "Evicted"), true},
		{"on_pod_evicted", "{}", pod("api-1", "Error", "Failed"), false},
		{"on_kubernetes_warning_event", "{}", ev("create", "Warning", "BackOff", "Back-off restarting"), true},
		{"on_kubernetes_warning_event", "{}", ev("create", "Normal", "Pulled", "pulled"), false},
		{"on_kubernetes_warning_event", "{operations: [update]}", ev("create", "Warning", "BackOff", "x"), false},
		{"on_kubernetes_warning_event_create", "{}", ev("update", "Warning", "BackOff", "x"), false},
		{"on_kubernetes_warning_event_create", "{include: [RESTARTING]}", ev("create", "Warning", "BackOff", "Back-off restarting"), true},
		{"on_kubernetes_warning_event_create", "{include: [mount]}", ev("create", "Warning", "BackOff", "Back-off restarting"), false},
		{"on_kubernetes_warning_event_create", "{exclude: [backoff]}", ev("create", "Warning", "BackOff", "x"), false},
	}
	for _, c := range cases {
		tr, err := Compile(context.Background(), c.key, params(t, c.params))
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.Matches(c.in); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.key, c.params, got, c.want)
		}
	}
	tr, _ := Compile(context.Background(), "on_kubernetes_warning_event_create", nil)
	if key, period, _ := tr.(RateLimited).RateLimit(ev("create", "Warning", "BackOff", "x")); key != "BackOff/prod:api-1" || period != time.Hour {
		t.Errorf("warning rate limit %q %v", key, period)
	}
}

// Every trigger key of the catalogue compiles with its required params.
func TestEveryCatalogueTrigger(t *testing.T) {
	for _, ct := range catalogue.Triggers() {
		params := map[string]any{}
		switch ct.Key {
		case "on_schedule":
			params["fixed_delay_repeat"] = map[string]any{"seconds_delay": 60}
		case "on_helm_release_unhealthy":
			params["rate_limit"] = 3600
		}
		if _, err := Compile(context.Background(), ct.Key, params); err != nil {
			t.Errorf("%s: %v", ct.Key, err)
		}
	}
}

// The differences a trigger hands to its actions are its change_filters' result, with
// both values; none without change_filters and none for creates, as the runner's
// filtered_diffs.
func TestTriggerDiffs(t *testing.T) {
	upd := func() *Incoming {
		return &Incoming{Event: &engine.Event{Kind: "Deployment", Operation: "update", Obj: obj(t, deploy), Old: obj(t, deployOld)}}
	}
	cases := []struct {
		params string
		in     *Incoming
		want   []engine.Diff
	}{
		{"{}", upd(), nil},
		{"{change_filters: {include: [image]}}", upd(), []engine.Diff{
			{Path: "Deployment.spec.template.spec.containers[0].image", Old: "nginx:1.24", New: "nginx:1.25", Type: "change"}}},
		{"{change_filters: {ignore: [status, spec.template]}}", upd(), []engine.Diff{
			{Path: "Deployment.spec.replicas", Old: "1", New: "2", Type: "change"}}},
		{"{change_filters: {include: [image]}}", &Incoming{Event: &engine.Event{Kind: "Deployment", Operation: "create", Obj: obj(t, deploy)}}, nil},
		{"{change_filters: {include: [labels]}}", &Incoming{Event: &engine.Event{Kind: "Deployment", Operation: "update", Obj: obj(t, deploy),
			Old: obj(t, strings.Replace(deploy, "tier: web", "tier: web, extra: x", 1))}}, []engine.Diff{
			{Path: "Deployment.metadata.labels.extra", Old: "x", New: "None", Type: "removed"}}},
	}
	for _, c := range cases {
		tr, err := Compile(context.Background(), "on_deployment_all_changes", params(t, c.params))
		if err != nil {
			t.Fatal(err)
		}
		if !tr.Matches(c.in) && c.want != nil {
			t.Fatalf("%s: did not match", c.params)
		}
		got := tr.(Differ).Diffs(c.in)
		if len(got) != len(c.want) {
			t.Fatalf("%s: %+v, want %+v", c.params, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: %+v, want %+v", c.params, got[i], c.want[i])
			}
		}
	}
}
