package actions

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func at(h, m, s int) metav1.Time { return metav1.NewTime(time.Date(2026, 1, 2, h, m, s, 0, time.UTC)) }

// relatedFixture is a pod with one container with resources, a port and an OOM kill
// behind it, and one crash-looping container without resources.
func relatedFixture() corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", CreationTimestamp: at(3, 4, 5)},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{
			{Name: "app", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: "TCP"}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("128Mi")}}},
			{Name: "side"},
		}},
		Status: corev1.PodStatus{Phase: "Running", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "side", RestartCount: 3, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off"}}},
				{Name: "app", RestartCount: 2, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at(3, 5, 0)}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137, StartedAt: at(3, 1, 0), FinishedAt: at(3, 4, 59)}}},
			}},
	}
}

func TestRelatedPodRows(t *testing.T) {
	p := relatedFixture()
	bare := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: "shop"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}},
		Status: corev1.PodStatus{Phase: "Failed", Reason: "Evicted"}}
	got := relatedPodRows([]corev1.Pod{p, bare}, "ctx")
	want := [][]string{
		{"web-1", "shop", "ctx", "n1", "1.0", "0.25", "128", "64", "2026-01-02 03:04:05+00:00", "5", "10.0.0.1,10.0.0.2", "2", "Running", ""},
		{"bare", "shop", "ctx", "", "0.0", "0.0", "0", "0", "", "0", "", "1", "Failed", "Evicted"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows", len(got))
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
	if len(relatedPodHeaders) != len(want[0]) {
		t.Errorf("%d headers for %d columns", len(relatedPodHeaders), len(want[0]))
	}
}

// The JSON output is byte for byte what the runner's json.dumps of its RelatedPod
// objects gives for the same pod.
func TestRelatedPodsJSON(t *testing.T) {
	want := `[{"name": "web-1", "namespace": "shop", "node": "n1", "clusterName": "ctx", "cpuLimit": 1.0, "cpuRequest": 0.25, ` +
		`"memoryLimit": 128, "memoryRequest": 64, "creationTime": "2026-01-02 03:04:05+00:00", "restarts": 5, "addresses": "10.0.0.1,10.0.0.2", ` +
		`"containers": [{"name": "app", "cpuLimit": 1.0, "cpuRequest": 0.25, "memoryLimit": 128, "memoryRequest": 64, "restarts": 2, ` +
		`"status": "running", "created": "2026-01-02 03:05:00+00:00", "ports": [{"container_port": 8080, "host_ip": null, "host_port": null, "name": "http", "protocol": "TCP"}], ` +
		`"statusMessage": null, "statusReason": null, "terminatedReason": "OOMKilled", "terminatedExitCode": 137, ` +
		`"terminatedStarted": "2026-01-02 03:01:00+00:00", "terminatedFinished": "2026-01-02 03:04:59+00:00"}, ` +
		`{"name": "side", "cpuLimit": 0.0, "cpuRequest": 0.0, "memoryLimit": 0, "memoryRequest": 0, "restarts": 3, "status": "waiting", ` +
		`"created": null, "ports": [], "statusMessage": "back-off", "statusReason": "CrashLoopBackOff", "terminatedReason": null, ` +
		`"terminatedExitCode": null, "terminatedStarted": null, "terminatedFinished": null}], "status": "Running", "statusReason": null, "raw_data": null}]`
	if got := relatedPodsJSON([]corev1.Pod{relatedFixture()}, "ctx", false); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	withRaw := relatedPodsJSON([]corev1.Pod{relatedFixture()}, "ctx", true)
	for _, s := range []string{
		`"raw_data": {"api_version": null, "kind": null, "metadata": {"annotations": null, `,
		`"creation_timestamp": "2026-01-02 03:04:05+00:00", `,
		`"pod_i_ps": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]`,
		`"resources": {"claims": null, "limits": {"cpu": "1", "memory": "128Mi"}, "requests": {"cpu": "250m", "memory": "64Mi"}}`,
		`"restart_count": 3`,
	} {
		if !strings.Contains(withRaw, s) {
			t.Errorf("raw_data lacks %s:\n%s", s, withRaw)
		}
	}
	if got := relatedPodsJSON(nil, "ctx", false); got != "[]" {
		t.Errorf("no pods: %s", got)
	}
}

func TestPyClientDict(t *testing.T) {
	probe := corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}, HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}},
		PeriodSeconds: 10}
	got := pyDumps(pyClientDict(&probe))
	for _, s := range []string{`"_exec": {"command": ["true"]}`, `"period_seconds": 10`, `"failure_threshold": null`, `"port": "http"`, `"grpc": null`} {
		if !strings.Contains(got, s) {
			t.Errorf("%s lacks %s", got, s)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"podIPs", "pod_i_ps"}, {"hostIP", "host_ip"}, {"containerPort", "container_port"}, {"exec", "_exec"},
		{"qosClass", "qos_class"}, {"apiVersion", "api_version"}, {"terminationGracePeriodSeconds", "termination_grace_period_seconds"},
	} {
		if got := pyAttr(tc.in); got != tc.want {
			t.Errorf("pyAttr(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestPyParseCPU(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{{"250m", 0.25}, {"1", 1}, {"1500m", 1.5}, {"2k", 2000}, {"0.0005", 0.001}, {"1234567n", 0.001}} {
		q := resource.MustParse(tc.in)
		if got := pyParseCPU(tc.in, q.AsApproximateFloat64()); got != tc.want {
			t.Errorf("parse_cpu(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRelatedPodsKinds(t *testing.T) {
	for _, kind := range []string{"Service", "ConfigMap"} {
		o := &unstructured.Unstructured{Object: map[string]any{"kind": kind, "metadata": map[string]any{"name": "x", "namespace": "n"}}}
		e := &engine.Event{Class: "KubernetesResourceEvent", Kind: kind, Obj: o}
		_, err := relatedPodList(context.Background(), &engine.Run{Event: e}, 0)
		if err == nil || !strings.Contains(err.Error(), "related_pods supports Pod, Deployment") || !strings.Contains(err.Error(), "not "+kind) {
			t.Errorf("%s: %v", kind, err)
		}
		err = resourceEvents(context.Background(), &engine.Run{Event: e, Finding: engine.NewFinding(e, "t")}, &extendedEventsParams{})
		if err == nil || !strings.Contains(err.Error(), "use fetch_resource_events") {
			t.Errorf("resource_events_enricher on a %s: %v", kind, err)
		}
	}
}
