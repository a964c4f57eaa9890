package actions

import (
	"context"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
)

func javaTarget() *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders-7d9f", UID: "5f2b3c1e-0000-4a7b-9c1d-2e3f4a5b6c7d"},
		Spec:       corev1.PodSpec{NodeName: "worker-3", Containers: []corev1.Container{{Name: "app", Image: "orders:1"}, {Name: "sidecar", Image: "envoy"}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", ContainerID: "containerd://9a8b7c6d5e4f"},
			{Name: "sidecar", ContainerID: "containerd://1122334455aa"},
		}},
	}
}

// The debugger pods are the runner's create_debugger_pod: privileged, hostPID, the
// ptrace and admin capabilities, pinned to the target's node, in the runner's
// namespace under its service account, no command of their own (commands are exec'd
// into them), named after the target pod. The images: debug-toolkit for pod-ps,
// java-toolkit under the registry for jmap and jstack, jtk_image used as given.
func TestJavaDebuggerPodSpecs(t *testing.T) {
	target := javaTarget()
	mirror := helperpod.WithOptions(context.Background(), helperpod.Options{ImageRegistry: "mirror.example/robusta/"})
	annotations := map[string]string{"team": "payments"}
	for _, tc := range []struct {
		name  string
		pod   *corev1.Pod
		image string
	}{
		{"pod-ps", helperpod.DebuggerPod(context.Background(), target.Name, target.Spec.NodeName, annotations), "robustadev/debug-toolkit:v8.0"},
		{"pod-ps, --image-registry", helperpod.DebuggerPod(mirror, target.Name, target.Spec.NodeName, annotations), "mirror.example/robusta/debug-toolkit:v8.0"},
		{"java-toolkit", javaToolkitPod(context.Background(), target, &javaParams{processParams: processParams{CustomAnnotations: annotations}}), "robustadev/java-toolkit:v1.0.2"},
		{"java-toolkit, --image-registry", javaToolkitPod(mirror, target, &javaParams{processParams: processParams{CustomAnnotations: annotations}}), "mirror.example/robusta/java-toolkit:v1.0.2"},
		{"jtk_image as given", javaToolkitPod(mirror, target, &javaParams{processParams: processParams{CustomAnnotations: annotations}, JtkImage: "registry.local/jtk:dev"}), "registry.local/jtk:dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pod
			if len(p.Spec.Containers) != 1 {
				t.Fatalf("containers: %+v", p.Spec.Containers)
			}
			c := p.Spec.Containers[0]
			sc := c.SecurityContext
			got := map[string]any{
				"image":              c.Image,
				"container":          c.Name,
				"command":            c.Command,
				"args":               c.Args,
				"imagePullPolicy":    c.ImagePullPolicy,
				"privileged":         sc != nil && sc.Privileged != nil && *sc.Privileged,
				"capabilities":       sc.Capabilities.Add,
				"hostPID":            p.Spec.HostPID,
				"nodeName":           p.Spec.NodeName,
				"restartPolicy":      p.Spec.RestartPolicy,
				"namespace":          p.Namespace,
				"serviceAccountName": p.Spec.ServiceAccountName,
				"annotations":        p.Annotations,
				"volumes":            len(p.Spec.Volumes) + len(c.VolumeMounts),
				"namePrefix":         strings.HasPrefix(p.Name, "debug-orders-7d9f-") && len(p.Name) <= 63,
			}
			want := map[string]any{
				"image":              tc.image,
				"container":          "debugger",
				"command":            []string(nil),
				"args":               []string(nil),
				"imagePullPolicy":    corev1.PullAlways,
				"privileged":         true,
				"capabilities":       []corev1.Capability{"SYS_PTRACE", "SYS_ADMIN"},
				"hostPID":            true,
				"nodeName":           "worker-3",
				"restartPolicy":      corev1.RestartPolicyOnFailure,
				"namespace":          "robusta",
				"serviceAccountName": "robusta-runner-service-account",
				"annotations":        map[string]string{"team": "payments"},
				"volumes":            0,
				"namePrefix":         true,
			}
			for k, w := range want {
				if !reflect.DeepEqual(got[k], w) {
					t.Errorf("%s: got %#v, want %#v (pod %s)", k, got[k], w, p.Name)
				}
			}
		})
	}
}

// What debug-toolkit pod-ps prints: pydantic's JSON of the process list, host PIDs,
// the executable's resolved path and the argv; the exec's stderr follows it.
const podPsOutput = `{"processes": [{"pid": 48211, "exe": "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "cmdline": ["java", "-Xmx512m", "-jar", "/app/orders.jar"]}, {"pid": 48302, "exe": "/usr/bin/dash", "cmdline": ["/bin/sh", "-c", "java-health-check"]}, {"pid": 48377, "exe": "/opt/java/openjdk/bin/java", "cmdline": ["java", "-cp", "/app/lib/*", "com.example.Metrics"]}, {"pid": 48400, "exe": "/usr/local/bin/envoy", "cmdline": ["envoy", "-c", "/etc/envoy.yaml"]}]}
`

func TestParseProcessList(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		pids      []int
		err       string
	}{
		{"real shape", podPsOutput, []int{48211, 48302, 48377, 48400}, ""},
		{"stderr after the JSON", podPsOutput + "WARNING: could not read /proc/1/cgroup\n", []int{48211, 48302, 48377, 48400}, ""},
		{"a warning before the JSON", "warning: cgroup v1\n" + podPsOutput, []int{48211, 48302, 48377, 48400}, ""},
		{"no processes", `{"processes": []}`, []int{}, ""},
		{"not JSON", "sh: 1: debug-toolkit: not found\n", nil, "pod-ps printed no process list: sh: 1: debug-toolkit: not found"},
		{"other JSON", `{"error": "container not found"}`, nil, `no "processes" key`},
		{"cut short", `{"processes": [{"pid": 1,`, nil, "pod-ps printed no process list ("},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := parseProcessList(tc.out)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pids := []int{}
			for _, p := range ps {
				pids = append(pids, p.Pid)
			}
			if !reflect.DeepEqual(pids, tc.pids) {
				t.Fatalf("pids %v, want %v", pids, tc.pids)
			}
		})
	}
	ps, _ := parseProcessList(podPsOutput)
	if ps[0].Exe != "/usr/lib/jvm/java-17-openjdk-amd64/bin/java" || strings.Join(ps[0].Cmdline, " ") != "java -Xmx512m -jar /app/orders.jar" {
		t.Fatalf("%+v", ps[0])
	}
}

// The runner's ProcessFinder: "java" in the executable path (not the command line) and
// process_substring in the joined command line; a pid picks exactly that process.
func TestMatchProcesses(t *testing.T) {
	all, err := parseProcessList(podPsOutput)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		params processParams
		want   []int
	}{
		{"all java", processParams{}, []int{48211, 48377}},
		{"substring", processParams{ProcessSubstring: "-jar /app"}, []int{48211}},
		{"substring in a non-java process only", processParams{ProcessSubstring: "health"}, nil},
		{"no match", processParams{ProcessSubstring: "kafka"}, nil},
		{"pid", processParams{Pid: 48400}, []int{48400}}, // a pid is taken as given, Java or not
		{"pid beats substring", processParams{Pid: 48377, ProcessSubstring: "orders"}, []int{48377}},
		{"unknown pid", processParams{Pid: 7}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			for _, p := range matchProcesses(all, tc.params, javaProcessType) {
				got = append(got, p.Pid)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	dup := append([]process{{Pid: 5, Exe: "/bin/java", Cmdline: []string{"old"}}}, process{Pid: 5, Exe: "/bin/java", Cmdline: []string{"new"}})
	if m := matchProcesses(dup, processParams{}, javaProcessType); len(m) != 1 || m[0].Cmdline[0] != "new" {
		t.Fatalf("duplicate pid: %+v", m)
	}
}

func TestPodPsCommand(t *testing.T) {
	pod := javaTarget()
	cmd, err := podPsCommand(pod)
	if err != nil || cmd != "debug-toolkit pod-ps 5f2b3c1e-0000-4a7b-9c1d-2e3f4a5b6c7d 9a8b7c6d5e4f 1122334455aa" {
		t.Fatalf("%q %v", cmd, err)
	}
	for _, tc := range []struct {
		name     string
		statuses []corev1.ContainerStatus
		want     string
	}{
		{"one not started", []corev1.ContainerStatus{{Name: "a"}, {Name: "b", ContainerID: "docker://ffee"}}, "debug-toolkit pod-ps 5f2b3c1e-0000-4a7b-9c1d-2e3f4a5b6c7d ffee"},
		{"none started", []corev1.ContainerStatus{{Name: "a"}}, "error: has no started container"},
		{"no status", nil, "error: has no started container"},
		{"no runtime prefix", []corev1.ContainerStatus{{Name: "a", ContainerID: "ffee"}}, "error: without a runtime prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pod.DeepCopy()
			p.Status.ContainerStatuses = tc.statuses
			got, err := podPsCommand(p)
			if err != nil {
				got = "error: " + err.Error()
			}
			if !strings.HasPrefix(tc.want, "error: ") && got != tc.want || strings.HasPrefix(tc.want, "error: ") && !strings.Contains(got, strings.TrimPrefix(tc.want, "error: ")) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// shellWords splits a command line the way a POSIX shell does for the words
// callbackCommand writes (plain words, single-quoted parts and backslash escapes).
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted, escaped := false, false, false
	for _, c := range line {
		switch {
		case escaped:
			cur.WriteRune(c)
			escaped = false
		case quoted && c == '\'':
			quoted = false
		case quoted:
			cur.WriteRune(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == '\\':
			escaped, inWord = true, true
		case c == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// A button's command line carries what the runner's CallbackChoice carries: the
// action, the pod and the params copied with the pid chosen and process_substring
// cleared. Typed back in, it decodes to exactly those params.
func TestJavaCallbackCommands(t *testing.T) {
	pod := javaTarget()
	pod.Namespace, pod.Name = "shop floor", "orders-7d9f"
	params := &javaParams{processParams: processParams{CustomAnnotations: map[string]string{"team": "pay ments", "b": "it's"}, ProcessSubstring: "-jar /app", Interactive: true}, JtkImage: "registry.local/jtk:dev"}
	for _, tc := range []struct {
		name, action string
		params       *javaParams
		want         javaParams
	}{
		{"jmap button", "pod_jmap_pid", pidChoice(params, 48211),
			javaParams{processParams: processParams{CustomAnnotations: params.CustomAnnotations, Pid: 48211, Interactive: true}, JtkImage: "registry.local/jtk:dev"}},
		{"jstack button", "pod_jstack_pid", pidChoice(params, 48377),
			javaParams{processParams: processParams{CustomAnnotations: params.CustomAnnotations, Pid: 48377, Interactive: true}, JtkImage: "registry.local/jtk:dev"}},
		{"still can't choose", "java_process_inspector", params, *params},
		{"defaults", "pod_jmap_pid", pidChoice(&javaParams{processParams: processParams{Interactive: true}}, 9),
			javaParams{processParams: processParams{Pid: 9, Interactive: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := callbackCommand(tc.action, pod, tc.params)
			words := shellWords(t, line)
			if len(words) < 7 || strings.Join(words[:4], " ") != "robusta local run "+tc.action || words[4] != "--pod" || words[5] != "shop floor/orders-7d9f" || words[len(words)-1] != "--apply" {
				t.Fatalf("command line %q -> %q", line, words)
			}
			raw, err := playbooks.ParseParams(words[6 : len(words)-1])
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			var got javaParams
			if err := engine.Decode(raw, &got); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("%q decodes to %+v, want %+v", line, got, tc.want)
			}
		})
	}
	if params.Pid != 0 || params.ProcessSubstring != "-jar /app" {
		t.Fatalf("pidChoice changed the params it copied: %+v", params)
	}
}

func finding(t *testing.T, action string, pod *corev1.Pod, apply bool, params map[string]any, ctx context.Context) (*engine.Run, error) {
	t.Helper()
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod)
	if err != nil {
		t.Fatal(err)
	}
	ev := engine.ResourceEvent("Pod", &unstructured.Unstructured{Object: obj})
	a, ok := engine.Lookup(action)
	if !ok {
		t.Fatalf("%s not registered", action)
	}
	r := &engine.Run{Event: ev, Finding: engine.NewFinding(ev, "t"), Apply: apply}
	return r, a.Execute(ctx, r, params)
}

// Without --apply nothing is contacted: the finding holds the manifest of each pod
// the action would create and what it would exec in it.
func TestJavaDryRun(t *testing.T) {
	ctx := helperpod.WithOptions(context.Background(), helperpod.Options{ImageRegistry: "mirror.example"})
	for _, tc := range []struct {
		action string
		params map[string]any
		title  string
		images []string
		execs  []string
	}{
		{"java_process_inspector", map[string]any{}, "Java debugging session on pod orders-7d9f in namespace shop:",
			[]string{"mirror.example/debug-toolkit:v8.0"}, []string{"debug-toolkit pod-ps 5f2b3c1e-0000-4a7b-9c1d-2e3f4a5b6c7d 9a8b7c6d5e4f 1122334455aa"}},
		{"pod_jmap_pid", map[string]any{"pid": "48211"}, "jmap run on pid 48211 in pod orders-7d9f in namespace shop:",
			[]string{"mirror.example/java-toolkit:v1.0.2"}, []string{"java-toolkit jmap 48211"}},
		{"pod_jstack_pid", map[string]any{"pid": 48211, "jtk_image": "jtk:mine"}, "jstack run on pid 48211 in pod orders-7d9f in namespace shop:",
			[]string{"jtk:mine"}, []string{"java-toolkit jstack 48211"}},
		{"pod_jstack_pid", map[string]any{"process_substring": "orders"}, "jstack run on pid None in pod orders-7d9f in namespace shop:",
			[]string{"mirror.example/debug-toolkit:v8.0", "mirror.example/java-toolkit:v1.0.2"}, []string{"debug-toolkit pod-ps ", "java-toolkit jstack PID"}},
	} {
		t.Run(tc.action, func(t *testing.T) {
			r, err := finding(t, tc.action, javaTarget(), false, tc.params, ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.Finding.Title != tc.title {
				t.Errorf("title %q", r.Finding.Title)
			}
			if len(r.Finding.Enrichments) != len(tc.images) {
				t.Fatalf("enrichments: %+v", r.Finding.Enrichments)
			}
			for i, e := range r.Finding.Enrichments {
				if len(e.Blocks) != 2 || !strings.Contains(e.Blocks[0].Text, tc.execs[i]) || e.Blocks[1].Type != engine.BlockFile {
					t.Fatalf("enrichment %d: %+v", i, e)
				}
				var p corev1.Pod
				if err := yaml.Unmarshal(e.Blocks[1].Data, &p); err != nil {
					t.Fatal(err)
				}
				if p.Spec.Containers[0].Image != tc.images[i] || p.Spec.NodeName != "worker-3" || !p.Spec.HostPID {
					t.Fatalf("pod %d: %s", i, e.Blocks[1].Data)
				}
			}
			if len(r.Notes) != len(tc.images) || !strings.Contains(r.Notes[0], "dry run") {
				t.Fatalf("notes %q", r.Notes)
			}
		})
	}
}

func TestJavaRefusals(t *testing.T) {
	unscheduled := javaTarget()
	unscheduled.Spec.NodeName = ""
	notStarted := javaTarget()
	notStarted.Status.ContainerStatuses = nil
	for _, tc := range []struct {
		action string
		pod    *corev1.Pod
		params map[string]any
		err    string
	}{
		{"java_process_inspector", unscheduled, nil, "pod shop/orders-7d9f is not scheduled on a node"},
		{"pod_jmap_pid", unscheduled, map[string]any{"pid": 3}, "is not scheduled on a node"},
		{"java_process_inspector", notStarted, nil, "has no started container"},
		{"pod_jstack_pid", notStarted, nil, "has no started container"},
		{"pod_jmap_pid", javaTarget(), map[string]any{"pid": "x"}, `parameter "pid"`},
	} {
		t.Run(tc.action, func(t *testing.T) {
			_, err := finding(t, tc.action, tc.pod, true, tc.params, context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
	// interactive=false: the runner's inspector does nothing, and says so only in its log.
	r, err := finding(t, "java_process_inspector", javaTarget(), true, map[string]any{"interactive": false}, context.Background())
	if err != nil || len(r.Finding.Enrichments) != 0 || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "interactive is false") {
		t.Fatalf("%v %+v %q", err, r.Finding, r.Notes)
	}
}

// The runner's get_match_or_report_error: the single match, else the list to choose
// from with a button per process and one back to the inspector.
func TestChooseProcess(t *testing.T) {
	all, _ := parseProcessList(podPsOutput)
	pod := javaTarget()
	for _, tc := range []struct {
		name    string
		all     []process
		params  javaParams
		pid     int
		intro   string
		rows    []string
		buttons []string
	}{
		{"one match", all, javaParams{processParams: processParams{ProcessSubstring: "Metrics", Interactive: true}}, 48377, "", nil, nil},
		{"several", all, javaParams{processParams: processParams{Interactive: true}}, 0, "More than one matching process. The matching processes are:",
			[]string{"48211", "48377"}, []string{"jmap 48211", "jmap 48377", "Still can't choose?"}},
		{"none: all shown", all, javaParams{processParams: processParams{ProcessSubstring: "kafka", Interactive: true}}, 0, "No matching processes. The processes in the pod are:",
			[]string{"48211", "48302", "48377", "48400"}, []string{"jmap 48211", "jmap 48302", "jmap 48377", "jmap 48400", "Still can't choose?"}},
		{"not interactive: no buttons", all, javaParams{processParams: processParams{}}, 0, "More than one matching process. The matching processes are:",
			[]string{"48211", "48377"}, nil},
		{"no processes at all", nil, javaParams{processParams: processParams{Interactive: true}}, 0, "No matching processes. The processes in the pod are:", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &engine.Event{Kind: "Pod"}
			r := &engine.Run{Event: ev, Finding: engine.NewFinding(ev, "t")}
			p, ok := chooseProcess(r, tc.all, &tc.params, jmapTool, pod)
			if tc.pid != 0 {
				if !ok || p.Pid != tc.pid || len(r.Finding.Enrichments) != 0 {
					t.Fatalf("%v %+v %+v", ok, p, r.Finding.Enrichments)
				}
				return
			}
			if ok || len(r.Finding.Enrichments) != 1 {
				t.Fatalf("%v %+v", ok, r.Finding.Enrichments)
			}
			blocks := r.Finding.Enrichments[0].Blocks
			if blocks[0].Text != tc.intro {
				t.Fatalf("intro %q", blocks[0].Text)
			}
			var rows, buttons []string
			for _, b := range blocks[1:] {
				switch b.Type {
				case engine.BlockTable:
					for _, row := range b.Rows {
						rows = append(rows, row[0])
					}
				case engine.BlockCallback:
					buttons = append(buttons, b.Name)
				}
			}
			if !reflect.DeepEqual(rows, tc.rows) || !reflect.DeepEqual(buttons, tc.buttons) {
				t.Fatalf("rows %v buttons %v", rows, buttons)
			}
			if tc.all == nil && (len(blocks) != 2 || blocks[1].Text != "No processes") {
				t.Fatalf("%+v", blocks)
			}
			if len(tc.buttons) > 0 {
				last := blocks[len(blocks)-1]
				back := blocks[len(blocks)-2]
				want := "robusta local run java_process_inspector --pod shop/orders-7d9f --apply"
				if tc.params.ProcessSubstring != "" {
					want = "robusta local run java_process_inspector --pod shop/orders-7d9f process_substring=" + tc.params.ProcessSubstring + " --apply"
				}
				if last.Text != waitNotice || back.Text != want {
					t.Fatalf("%+v %+v", back, last)
				}
			}
		})
	}
}
