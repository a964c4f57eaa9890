package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// finishHelperPods reports every helper pod as Succeeded once kwok has it running,
// as a kubelet would when the image's own command exits (kwok never ends a pod that
// no Job owns). Its "output" is the ClusterLogs file.
func finishHelperPods(t *testing.T, c *sandbox.Cluster) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			pods, err := c.Client.CoreV1().Pods(helperpod.DefaultNamespace).List(ctx, metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"})
			if err == nil {
				for i := range pods.Items {
					p := &pods.Items[i]
					if p.Status.Phase != corev1.PodRunning || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Running == nil {
						continue
					}
					p.Status.Phase = corev1.PodSucceeded
					now := metav1.Now()
					p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", FinishedAt: now}}
					_, _ = c.Client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func TestLocalHelperPodsDiskAnalyzer(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	helperPrereqs(t, c)
	appPod(t, c, "e2e-disk-app", "disk-app-1")
	app, err := c.Client.CoreV1().Pods("e2e-disk-app").Get(context.Background(), "disk-app-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("dry run", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "node_disk_analyzer", "--node", sandbox.FakeNodeName, "--image-registry", "mirror.example")
		spec := dryRunSpec(t, f, r)
		for _, want := range []string{"image: mirror.example/disk-tools:1.8", "mountPath: /host", "path: /\n", "type: Directory", "name: CURRENT_POD_UID",
			"fieldPath: metadata.uid", "hostPID: true", "privileged: true", "nodeName: " + sandbox.FakeNodeName, "name: debug-" + sandbox.FakeNodeName} {
			if !strings.Contains(spec, want) {
				t.Fatalf("spec lacks %q:\n%s", want, spec)
			}
		}
		if strings.Contains(spec, "command:") {
			t.Fatalf("the image's own command runs, none is set:\n%s", spec)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("dry run created pods: %v", left)
		}
	})
	t.Run("apply", func(t *testing.T) {
		logFile := wireJobLogs(t, c, helperpod.DefaultNamespace)
		// What disk-tools prints: the app pod (by uid) with two containers, an unknown pod.
		out := fmt.Sprintf(`{"disk_stats":{"used":%d,"total":%d},"pods_disk_info":{"pods_distribution":[`+
			`{"pod_uid":"unknown-uid","containers":[{"container_id":"c9","disk_size":1024}]},`+
			`{"pod_uid":"%s","containers":[{"container_id":"c1","disk_size":3145728},{"container_id":"c2","disk_size":1048576}]}],`+
			`"warnings":["container c3: no overlay dir"]}}`, 4<<30, 8<<30, app.UID)
		setJobLog(t, logFile, out)
		finishHelperPods(t, c)
		f, r := runFinding(t, env, "local", "run", "node_disk_analyzer", "--node", sandbox.FakeNodeName, "--apply", "show_containers=true")
		b, _ := json.Marshal(f)
		for _, want := range []string{
			"Disk analysis for node " + sandbox.FakeNodeName + " follows.",
			"The used disk space is currently at 4.0 GiB out of 8.0 GiB (50.0%).",
			"Of this space, 4.0 MiB is used by pods and the rest (4.0 GiB) is consumed by the node.",
			`["e2e-disk-app","disk-app-1","4.0 MiB"]`, `["","unknown-uid","1.0 KiB"]`,
			`["e2e-disk-app","disk-app-1","c1","3.0 MiB"]`,
			"Encountered the following warnings while trying to get disk information of some containers:\ncontainer c3: no overlay dir",
		} {
			if !strings.Contains(string(b), strings.ReplaceAll(strings.ReplaceAll(want, "\n", `\n`), `"`, `"`)) {
				t.Fatalf("finding lacks %s:\n%s\n%s", want, b, r)
			}
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v", left)
		}
	})
}
