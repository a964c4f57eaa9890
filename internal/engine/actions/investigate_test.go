package actions

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDescribeContainer(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC))
	limits := corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}
	for _, tc := range []struct {
		name string
		cs   corev1.ContainerStatus
		want []string
	}{
		{"healthy", corev1.ContainerStatus{Name: "a", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}, nil},
		{"not ready", corev1.ContainerStatus{Name: "a", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			[]string{"Container a is running but not ready: its readiness probe is failing."}},
		{"crash loop after OOM", corev1.ContainerStatus{Name: "a", RestartCount: 1,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled", FinishedAt: at}}},
			[]string{"Container a is crash looping: it has restarted once and Kubernetes is waiting before starting it again.",
				"Its last run was killed for using more memory than it may (OOMKilled), limit 256Mi at 2026-11-22 05:00:00."}},
		{"config error", corev1.ContainerStatus{Name: "a",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: `secret "db" not found`}}},
			[]string{`Container a cannot start: CreateContainerConfigError: secret "db" not found.`}},
		{"still creating is no problem", corev1.ContainerStatus{Name: "a",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}, nil},
		{"failed with a message", corev1.ContainerStatus{Name: "job",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", Message: "table missing\n"}}},
			[]string{"Container job exited with code 3: table missing."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := describeContainer(tc.cs, limits); strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestPullCause(t *testing.T) {
	for msg, want := range map[string]string{
		`rpc error: code = NotFound desc = failed to pull and unpack image "x:v9": not found`:              "the image or its tag does not exist",
		`failed to resolve reference "ghcr.io/x/y:1": manifest unknown`:                                    "the image or its tag does not exist",
		`pull access denied, repository does not exist or may require authorization: authorization failed`: "the repository does not exist or needs credentials: check the image name and the pod's imagePullSecrets",
		`failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized`:        "the registry refused access: check the image name and the pod's imagePullSecrets",
		`dial tcp: lookup registry.internal on 10.0.0.10:53: no such host`:                                 "the registry could not be reached from the node",
		`couldn't parse image reference "UPPER:case": invalid reference format`:                            "the image name is not valid",
		`something new`: "",
	} {
		if got := pullCause(msg); got != want {
			t.Errorf("%q: got %q, want %q", msg, got, want)
		}
	}
}
