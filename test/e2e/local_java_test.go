package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// Stand-ins for the tools of the debug-toolkit and java-toolkit images. kwok runs the
// command exec'd into a helper pod on this machine, in the test's temporary folder
// with these first on PATH; they only read and write files in that folder.
const (
	fakeDebugToolkit = `#!/bin/sh
# debug-toolkit stand-in: pod-ps prints the process list the test wrote.
echo "$*" >> debug-toolkit.calls
[ "$1" = pod-ps ] || { echo "debug-toolkit stand-in: unexpected $*" >&2; exit 2; }
exec head -c 100000 processes.json
`
	fakeJavaToolkit = `#!/bin/sh
# java-toolkit stand-in: jmap/jstack print a canned dump; pid 66666 fails as an
# unreachable JVM does; pid 77777 hangs.
echo "$*" >> java-toolkit.calls
if [ "$2" = 77777 ]; then
  touch started-77777
  exec sleep 20
fi
if [ "$2" = 66666 ]; then
  echo "66666: Unable to open socket file /proc/66666/root/tmp/.java_pid66666: target process 66666 doesn't respond" >&2
  exit 1
fi
echo "$1 output for pid $2: 2026-11-28 java-stand-in-5531"
`
	javaNS  = "e2e-java"
	javaPod = "orders-1"
)

var gvrKwokExec = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "execs"}

// wireJavaHelperPods gives every helper pod created while the test runs a kwok Exec
// running in dir with dir/bin first on PATH, where the stand-in tools are.
func wireJavaHelperPods(t *testing.T, c *sandbox.Cluster) (dir string) {
	t.Helper()
	dir = t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, script := range map[string]string{"debug-toolkit": fakeDebugToolkit, "java-toolkit": fakeJavaToolkit} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.Client.CoreV1().Pods(helperpod.DefaultNamespace).Watch(ctx, metav1.ListOptions{LabelSelector: helperpod.LabelHelper + "=true"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added {
				continue
			}
			p := ev.Object.(*corev1.Pod)
			obj := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Exec",
				"metadata": map[string]any{"name": p.Name, "namespace": p.Namespace},
				"spec": map[string]any{"execs": []any{map[string]any{
					"containers": []any{"debugger"},
					"local": map[string]any{"workDir": dir, "envs": []any{
						map[string]any{"name": "PATH", "value": bin + ":/usr/bin:/bin"}}},
				}}},
			}}
			if _, err := c.Dynamic.Resource(gvrKwokExec).Namespace(p.Namespace).Create(ctx, obj, metav1.CreateOptions{}); err != nil && ctx.Err() == nil {
				t.Logf("kwok Exec for %s: %v", p.Name, err)
			}
		}
	}()
	t.Cleanup(func() { w.Stop(); cancel(); wg.Wait() })
	return dir
}

// javaTargetPod is a pod on the kwok node with two started containers, its status
// written as a kubelet would (kwok leaves it alone).
func javaTargetPod(t *testing.T, c *sandbox.Cluster) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	if err := c.EnsureNamespace(ctx, javaNS); err != nil {
		t.Fatal(err)
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: javaPod, Namespace: javaNS, Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}},
		Spec: corev1.PodSpec{NodeName: sandbox.FakeNodeName, Containers: []corev1.Container{{Name: "app", Image: "orders:1"}, {Name: "agent", Image: "agent:1"}},
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}}}
	created, err := c.Client.CoreV1().Pods(javaNS).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		zero := int64(0)
		_ = c.Client.CoreV1().Pods(javaNS).Delete(context.Background(), javaPod, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	})
	created.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
		{Name: "app", Image: "orders:1", Ready: true, ContainerID: "containerd://a1b2c3d4e5f6"},
		{Name: "agent", Image: "agent:1", Ready: true, ContainerID: "containerd://0f9e8d7c6b5a"},
	}}
	updated, err := c.Client.CoreV1().Pods(javaNS).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return updated
}

func writeProcesses(t *testing.T, dir string, procs ...map[string]any) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"processes": procs})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "processes.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func proc(pid int, exe string, cmdline ...string) map[string]any {
	return map[string]any{"pid": pid, "exe": exe, "cmdline": cmdline}
}

func readCalls(t *testing.T, dir, tool string) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, tool+".calls"))
	_ = os.Remove(filepath.Join(dir, tool+".calls"))
	return string(b)
}

type javaBlock = struct {
	Type, Name, Text string
	Data             []byte
	Items, Headers   []string
	Rows             [][]string
}

func allBlocks(f finding) []javaBlock {
	var out []javaBlock
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			out = append(out, javaBlock{Type: b.Type, Name: b.Name, Text: b.Text, Data: b.Data, Items: b.Items, Headers: b.Headers, Rows: b.Rows})
		}
	}
	return out
}

// TestLocalJavaDebugger runs the Java debugger actions through the binary against
// the sandbox: the runner's debugger pods are created with --apply only, their
// commands (stand-ins here) produce the process table, buttons and dumps of the
// finding, and every helper pod is gone afterwards, also when the command fails.
func TestLocalJavaDebugger(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	helperPrereqs(t, c)
	target := javaTargetPod(t, c)
	ref := javaNS + "/" + javaPod
	podPs := "pod-ps " + string(target.UID) + " a1b2c3d4e5f6 0f9e8d7c6b5a\n"

	t.Run("dry run", func(t *testing.T) {
		for _, tc := range []struct {
			args  []string
			image string
			exec  string
		}{
			{[]string{"java_process_inspector"}, "mirror.example/robusta/debug-toolkit:v8.0", "debug-toolkit " + strings.TrimSpace(podPs)},
			{[]string{"pod_jmap_pid", "pid=4242"}, "mirror.example/robusta/java-toolkit:v1.0.2", "java-toolkit jmap 4242"},
			{[]string{"pod_jstack_pid", "pid=4242", "jtk_image=registry.local/jtk:dev"}, "registry.local/jtk:dev", "java-toolkit jstack 4242"},
		} {
			args := append([]string{"local", "run"}, tc.args...)
			f, r := runFinding(t, env, append(args, "--pod", ref, "--image-registry", "mirror.example/robusta")...)
			spec := dryRunSpec(t, f, r)
			for _, want := range []string{"image: " + tc.image, "hostPID: true", "privileged: true", "- SYS_PTRACE", "- SYS_ADMIN",
				"nodeName: " + sandbox.FakeNodeName, "namespace: robusta", "serviceAccountName: robusta-runner-service-account",
				"imagePullPolicy: Always", "restartPolicy: OnFailure", "name: debug-" + javaPod + "-"} {
				if !strings.Contains(spec, want) {
					t.Fatalf("%v: spec lacks %q:\n%s", tc.args, want, spec)
				}
			}
			if b, _ := json.Marshal(f); !strings.Contains(string(b), tc.exec) || !strings.Contains(r.stderr, "dry run: helper pod") {
				t.Fatalf("%v: no %q or no dry-run note: %s\n%s", tc.args, tc.exec, b, r)
			}
			if left := helperPodsLeft(t, c); len(left) != 0 {
				t.Fatalf("dry run created pods: %v", left)
			}
		}
	})

	dir := wireJavaHelperPods(t, c)
	writeProcesses(t, dir,
		proc(31001, "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "java", "-Xmx512m", "-jar", "/app/orders.jar"),
		proc(31050, "/usr/bin/dash", "/bin/sh", "-c", "java-health-check"),
		proc(31077, "/opt/java/openjdk/bin/java", "java", "-cp", "/app/lib/*", "com.example.Metrics"))

	t.Run("inspector", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "java_process_inspector", "--pod", ref, "--apply", "--helper-timeout=60s")
		if got := readCalls(t, dir, "debug-toolkit"); got != podPs {
			t.Fatalf("pod-ps called with %q, want %q\n%s", got, podPs, r)
		}
		if f.Title != "Java debugging session on pod "+javaPod+" in namespace "+javaNS+":" || f.AggregationKey != "JavaProcessInspector" {
			t.Fatalf("%+v", f)
		}
		var rows [][]string
		for _, b := range allBlocks(f) {
			if b.Type == "table" {
				rows = b.Rows
				if strings.Join(b.Headers, ",") != "pid,exe,cmdline" {
					t.Fatalf("headers %v", b.Headers)
				}
			}
		}
		wantRows := [][]string{
			{"31001", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "java -Xmx512m -jar /app/orders.jar"},
			{"31077", "/opt/java/openjdk/bin/java", "java -cp /app/lib/* com.example.Metrics"},
		}
		if b, _ := json.Marshal(rows); string(b) != mustJSON(t, wantRows) {
			t.Fatalf("rows %s\n%s", b, r)
		}
		wantButtons := []string{
			"jmap 31001 -> robusta local run pod_jmap_pid --pod " + ref + " pid=31001 --apply",
			"jstack 31001 -> robusta local run pod_jstack_pid --pod " + ref + " pid=31001 --apply",
			"jmap 31077 -> robusta local run pod_jmap_pid --pod " + ref + " pid=31077 --apply",
			"jstack 31077 -> robusta local run pod_jstack_pid --pod " + ref + " pid=31077 --apply",
		}
		if got := buttonLines(f); got != strings.Join(wantButtons, "\n") {
			t.Fatalf("buttons:\n%s", got)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v", left)
		}
		// process_substring narrows the list; the buttons pass on the pid only.
		f, r = runFinding(t, env, "local", "run", "java_process_inspector", "--pod", ref, "--apply", "--helper-timeout=60s", "process_substring=Metrics", "custom_annotations:={\"team\":\"pay\"}")
		readCalls(t, dir, "debug-toolkit")
		b, _ := json.Marshal(f)
		if got := buttonLines(f); strings.Contains(string(b), "31001") || !strings.Contains(got, `jstack 31077 -> robusta local run pod_jstack_pid --pod `+ref+` pid=31077 'custom_annotations:={"team":"pay"}' --apply`) {
			t.Fatalf("%s\n%s", got, r)
		}
		// No Java process: the runner's message.
		f, r = runFinding(t, env, "local", "run", "java_process_inspector", "--pod", ref, "--apply", "--helper-timeout=60s", "process_substring=kafka")
		readCalls(t, dir, "debug-toolkit")
		if bl := allBlocks(f); len(bl) != 1 || bl[0].Text != "No relevant processes found for java debugging." {
			t.Fatalf("%+v\n%s", f, r)
		}
	})

	t.Run("jmap and jstack with a pid", func(t *testing.T) {
		for _, tc := range []struct{ action, tool, key string }{
			{"pod_jmap_pid", "jmap", "PodJmapPid"},
			{"pod_jstack_pid", "jstack", "PodJstackPid"},
		} {
			f, r := runFinding(t, env, "local", "run", tc.action, "--pod", ref, "--apply", "--helper-timeout=60s", "pid=31077")
			if got := readCalls(t, dir, "java-toolkit"); got != tc.tool+" 31077\n" {
				t.Fatalf("java-toolkit called with %q\n%s", got, r)
			}
			if got := readCalls(t, dir, "debug-toolkit"); got != "" {
				t.Fatalf("pod-ps ran although a pid was given: %q", got)
			}
			out, ok := fileBlock(f, tc.key+"_31077.txt")
			if !ok || out != tc.tool+" output for pid 31077: 2026-11-28 java-stand-in-5531\n" {
				t.Fatalf("%s: file %q %v\n%+v\n%s", tc.action, out, ok, f, r)
			}
			if f.Title != tc.tool+" run on pid 31077 in pod "+javaPod+" in namespace "+javaNS+":" || f.AggregationKey != tc.key {
				t.Fatalf("%+v", f)
			}
			if bl := allBlocks(f); bl[0].Text != tc.key+" ran on process 31077" {
				t.Fatalf("%+v", bl)
			}
			if left := helperPodsLeft(t, c); len(left) != 0 {
				t.Fatalf("pods left: %v", left)
			}
		}
	})

	t.Run("jstack finds the single match", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "pod_jstack_pid", "--pod", ref, "--apply", "--helper-timeout=60s", "process_substring=orders.jar")
		if got := readCalls(t, dir, "debug-toolkit"); got != podPs {
			t.Fatalf("pod-ps: %q", got)
		}
		if got := readCalls(t, dir, "java-toolkit"); got != "jstack 31001\n" {
			t.Fatalf("java-toolkit called with %q\n%s", got, r)
		}
		if _, ok := fileBlock(f, "PodJstackPid_31001.txt"); !ok || f.Title != "jstack run on pid 31001 in pod "+javaPod+" in namespace "+javaNS+":" {
			t.Fatalf("%+v\n%s", f, r)
		}
		// Two matches: nothing runs, the choice is offered.
		f, r = runFinding(t, env, "local", "run", "pod_jmap_pid", "--pod", ref, "--apply", "--helper-timeout=60s")
		readCalls(t, dir, "debug-toolkit")
		if got := readCalls(t, dir, "java-toolkit"); got != "" {
			t.Fatalf("java-toolkit ran: %q", got)
		}
		want := "jmap 31001 -> robusta local run pod_jmap_pid --pod " + ref + " pid=31001 --apply\n" +
			"jmap 31077 -> robusta local run pod_jmap_pid --pod " + ref + " pid=31077 --apply\n" +
			"Still can't choose? -> robusta local run java_process_inspector --pod " + ref + " --apply"
		if got := buttonLines(f); got != want || f.Title != "jmap run on pid None in pod "+javaPod+" in namespace "+javaNS+":" ||
			allBlocks(f)[0].Text != "More than one matching process. The matching processes are:" {
			t.Fatalf("%s\n%+v\n%s", got, f, r)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v", left)
		}
	})

	t.Run("failing command", func(t *testing.T) {
		f, r := runFinding(t, env, "local", "run", "pod_jmap_pid", "--pod", ref, "--apply", "--helper-timeout=60s", "pid=66666")
		readCalls(t, dir, "java-toolkit")
		out, ok := fileBlock(f, "PodJmapPid_66666.txt")
		b, _ := json.Marshal(f)
		if !ok || !strings.Contains(out, "Unable to open socket file") || !strings.Contains(string(b), "`java-toolkit jmap 66666` failed with exit code 1 on process 66666") ||
			!strings.Contains(r.stderr, "exited with code 1") {
			t.Fatalf("%s\n%s", b, r)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v", left)
		}
		// pod-ps printing no process list: an error naming the pod, exit 1, pod deleted.
		if err := os.WriteFile(filepath.Join(dir, "processes.json"), []byte("Traceback: no such container\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r = run(t, env, "local", "run", "java_process_inspector", "--pod", ref, "--apply", "--helper-timeout=60s")
		readCalls(t, dir, "debug-toolkit")
		if r.code != 1 || !strings.Contains(r.stderr, "list the processes of pod "+ref+": pod-ps printed no process list: Traceback: no such container") || strings.Contains(r.stderr, "goroutine") {
			t.Fatal(r)
		}
		if left := helperPodsLeft(t, c); len(left) != 0 {
			t.Fatalf("pods left: %v", left)
		}
	})
}

// buttonLines lists the finding's buttons, one "label -> command" a line.
func buttonLines(f finding) string {
	var lines []string
	for _, b := range allBlocks(f) {
		if b.Type == "callback" {
			lines = append(lines, b.Name+" -> "+b.Text)
		}
	}
	return strings.Join(lines, "\n")
}

// Timeout and Ctrl-C while jstack runs: exit non-zero with the reason, no pod left.
func TestLocalJavaDebuggerTimeoutAndInterrupt(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	helperPrereqs(t, c)
	javaTargetPod(t, c)
	ref := javaNS + "/" + javaPod
	dir := wireJavaHelperPods(t, c)

	r := run(t, env, "local", "run", "pod_jstack_pid", "--pod", ref, "--apply", "pid=77777", "--helper-timeout", "3s")
	if r.code == 0 || !strings.Contains(r.stderr, "run jstack on process 77777 of pod "+ref) || !strings.Contains(r.stderr, "timed out") || strings.Contains(r.stderr, "goroutine") {
		t.Fatal(r)
	}
	if left := helperPodsLeft(t, c); len(left) != 0 {
		t.Fatalf("pods left after the timeout: %v", left)
	}

	marker := filepath.Join(dir, "started-77777")
	_ = os.Remove(marker)
	cmd, stderr := startBinary(t, env, "local", "run", "pod_jstack_pid", "--pod", ref, "--apply", "pid=77777")
	interruptOnceStarted(t, cmd, stderr, marker)
	if left := helperPodsLeft(t, c); len(left) != 0 {
		t.Fatalf("pods left after Ctrl-C: %v\n%s", left, stderr)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
