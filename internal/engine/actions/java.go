package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// The Java debugging actions of Robusta's java_pod_troubleshooting playbooks. The
// runner finds a pod's processes from a privileged debug-toolkit pod on the pod's node
// (`debug-toolkit pod-ps`, which maps the pod's container IDs to host PIDs; the pod
// shares the host's PID namespace) and runs jmap or jstack from a privileged
// java-toolkit pod there. Both pods are created only with --apply.
func init() {
	engine.Register(&engine.Action{Name: "java_process_inspector", Event: "PodEvent", RunsCommands: true,
		Doc:       "List the pod's Java processes from a privileged debugger pod on its node (with --apply; dry run shows the pod), with a jmap and a jstack button per process",
		NewParams: func() any { return &javaParams{} }, Do: javaProcessInspector})
	engine.Register(&engine.Action{Name: "pod_jmap_pid", Event: "PodEvent", RunsCommands: true,
		Doc:       "Run jmap on a Java process of the pod (pid, else the one matching process_substring) from a java-toolkit pod on its node (with --apply) and attach its output",
		NewParams: func() any { return &javaParams{} }, Do: func(ctx context.Context, r *engine.Run, p any) error {
			return runJDKCommand(ctx, r, p.(*javaParams), jmapTool)
		}})
	engine.Register(&engine.Action{Name: "pod_jstack_pid", Event: "PodEvent", RunsCommands: true,
		Doc:       "Run jstack on a Java process of the pod (pid, else the one matching process_substring) from a java-toolkit pod on its node (with --apply) and attach its output",
		NewParams: func() any { return &javaParams{} }, Do: func(ctx context.Context, r *engine.Run, p any) error {
			return runJDKCommand(ctx, r, p.(*javaParams), jstackTool)
		}})
}

// JavaToolkitImage is the runner's default java-toolkit image, under the registry of
// --image-registry (the chart's image.registry).
const JavaToolkitImage = "java-toolkit:v1.0.2"

// javaProcessType is what the runner looks for in a process's executable path.
const javaProcessType = "java"

// javaParams is Robusta's JavaParams: ProcessParams and the java-toolkit image.
type javaParams struct {
	processParams
	JtkImage string `param:"jtk_image" doc:"the java-toolkit image, used as given (default: java-toolkit:v1.0.2 under --image-registry)"`
}

// jdkTool is one of the JDK commands the runner offers: the command java-toolkit runs,
// the action that runs it and the aggregation key of its finding.
type jdkTool struct{ cmd, action, key string }

var (
	jmapTool   = jdkTool{cmd: "jmap", action: "pod_jmap_pid", key: "PodJmapPid"}
	jstackTool = jdkTool{cmd: "jstack", action: "pod_jstack_pid", key: "PodJstackPid"}
)

// waitNotice is what the runner says under its buttons.
const waitNotice = "*After clicking a button please wait up to 120 seconds for a response*"

// process is one entry of `debug-toolkit pod-ps`: a host PID (the debugger pod shares
// the host's PID namespace), the executable's path and the command line.
type process struct {
	Pid     int      `json:"pid"`
	Exe     string   `json:"exe"`
	Cmdline []string `json:"cmdline"`
}

// parseProcessList reads pod-ps's JSON ({"processes": [...]}). The exec's stderr
// follows its stdout, so anything after the JSON document is ignored.
func parseProcessList(out string) ([]process, error) {
	start := strings.Index(out, "{")
	if start < 0 {
		return nil, fmt.Errorf("pod-ps printed no process list: %s", firstLine(out))
	}
	var list struct {
		Processes *[]process `json:"processes"`
	}
	if err := json.NewDecoder(strings.NewReader(out[start:])).Decode(&list); err != nil {
		return nil, fmt.Errorf("pod-ps printed no process list (%v): %s", err, firstLine(out))
	}
	if list.Processes == nil {
		return nil, fmt.Errorf("pod-ps printed no process list (no \"processes\" key): %s", firstLine(out))
	}
	return *list.Processes, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "(no output)"
	}
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 200 {
		line = line[:200] + "..."
	}
	return line
}

// containerIDs are the runtime IDs of the pod's containers (without the runtime://
// prefix), which pod-ps looks for in the host's cgroups. Containers that have not
// started have none and are left out.
func containerIDs(pod *corev1.Pod) ([]string, error) {
	var ids []string
	for _, s := range pod.Status.ContainerStatuses {
		if s.ContainerID == "" {
			continue
		}
		_, id, ok := strings.Cut(s.ContainerID, "://")
		if !ok || id == "" {
			return nil, fmt.Errorf("container %s of pod %s/%s has a container ID without a runtime prefix: %q", s.Name, pod.Namespace, pod.Name, s.ContainerID)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("pod %s/%s has no started container (no container ID in its status), so it has no processes to look at", pod.Namespace, pod.Name)
	}
	return ids, nil
}

// podPsCommand is the runner's process listing command for pod.
func podPsCommand(pod *corev1.Pod) (string, error) {
	ids, err := containerIDs(pod)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("debug-toolkit pod-ps %s %s", pod.UID, strings.Join(ids, " ")), nil
}

// matchProcesses is the runner's ProcessFinder match: the process of params.pid when
// set (none when the pod has no such process), else the processes whose executable
// contains kind and whose command line contains process_substring. The order is the
// list's; a pid listed twice counts once (the later entry), as in the runner's map.
func matchProcesses(all []process, params processParams, kind string) []process {
	byPid := map[int]process{}
	var order []int
	for _, p := range all {
		if _, seen := byPid[p.Pid]; !seen {
			order = append(order, p.Pid)
		}
		byPid[p.Pid] = p
	}
	if params.Pid != 0 {
		if p, ok := byPid[params.Pid]; ok {
			return []process{p}
		}
		return nil
	}
	var out []process
	for _, pid := range order {
		p := byPid[pid]
		if strings.Contains(p.Exe, kind) && strings.Contains(strings.Join(p.Cmdline, " "), params.ProcessSubstring) {
			out = append(out, p)
		}
	}
	return out
}

func processTable(ps []process) engine.Block {
	rows := make([][]string, len(ps))
	for i, p := range ps {
		rows[i] = []string{strconv.Itoa(p.Pid), p.Exe, strings.Join(p.Cmdline, " ")}
	}
	return engine.Table("", []string{"pid", "exe", "cmdline"}, rows)
}

// targetPod is the event's pod, which must be on a node for a debugger pod to join it.
func targetPod(r *engine.Run) (*corev1.Pod, error) {
	pod := r.Event.Pod()
	if pod == nil {
		return nil, errors.New("the event has no pod")
	}
	if pod.Spec.NodeName == "" {
		return nil, fmt.Errorf("pod %s/%s is not scheduled on a node, so no debugger pod can join its processes", pod.Namespace, pod.Name)
	}
	return pod, nil
}

func setJavaFinding(r *engine.Run, title, key string) {
	r.Finding.Title, r.Finding.AggregationKey, r.Finding.Source = title, key, "manual"
	r.Finding.Type = engine.TypeReport
	r.Finding.SetFingerprint()
}

// listProcesses runs pod-ps from the runner's debug-toolkit pod on the pod's node.
func listProcesses(ctx context.Context, r *engine.Run, pod *corev1.Pod, params *javaParams, command string) ([]process, error) {
	dbg := helperpod.DebuggerPod(ctx, pod.Name, pod.Spec.NodeName, params.CustomAnnotations)
	out, err := helperpod.ExecIn(ctx, r.KF, dbg, command)
	var exit *kube.ExitError
	if errors.As(err, &exit) {
		return nil, fmt.Errorf("list the processes of pod %s/%s: `%s` exited with code %d: %s", pod.Namespace, pod.Name, command, exit.Code, firstLine(out))
	}
	if err != nil {
		return nil, fmt.Errorf("list the processes of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	ps, err := parseProcessList(out)
	if err != nil {
		return nil, fmt.Errorf("list the processes of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return ps, nil
}

func javaProcessInspector(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*javaParams)
	pod, err := targetPod(r)
	if err != nil {
		return err
	}
	if !params.Interactive {
		// The runner only offers the buttons; without interaction it does nothing.
		r.Notes = append(r.Notes, "java_process_inspector: interactive is false, and the runner does nothing then (it only offers buttons to choose a process)")
		return nil
	}
	setJavaFinding(r, fmt.Sprintf("Java debugging session on pod %s in namespace %s:", pod.Name, pod.Namespace), "JavaProcessInspector")
	command, err := podPsCommand(pod)
	if err != nil {
		return err
	}
	if !r.Apply {
		return dryRunHelper(r, helperpod.DebuggerPod(ctx, pod.Name, pod.Spec.NodeName, params.CustomAnnotations),
			"exec `/bin/sh -c "+command+"` in it to list the pod's processes")
	}
	all, err := listProcesses(ctx, r, pod, params, command)
	if err != nil {
		return err
	}
	matches := matchProcesses(all, params.processParams, javaProcessType)
	if len(matches) == 0 {
		r.Finding.AddEnrichment("", engine.Markdown("No relevant processes found for java debugging."))
		return nil
	}
	r.Finding.AddEnrichment("", processTable(matches))
	r.Finding.AddEnrichment("", engine.Markdown("Please select a Java troubleshooting choice:"))
	var buttons []engine.Block
	for _, m := range matches {
		for _, tool := range []jdkTool{jmapTool, jstackTool} {
			buttons = append(buttons, engine.Callback(fmt.Sprintf("%s %d", tool.cmd, m.Pid), callbackCommand(tool.action, pod, pidChoice(params, m.Pid))))
		}
	}
	r.Finding.AddEnrichment("", append(buttons, engine.Markdown(waitNotice))...)
	return nil
}

// pidChoice is the params a button passes on: the same, with the pid chosen and no
// substring (the runner's params.copy() with those two changed).
func pidChoice(params *javaParams, pid int) *javaParams {
	c := *params
	c.ProcessSubstring, c.Pid = "", pid
	return &c
}

// runJDKCommand is the runner's run_jdk_command_on_pid: it picks the process (params.pid,
// else the single Java process matching process_substring; several or none add a table
// with buttons to choose instead) and runs `java-toolkit <cmd> <pid>` from a
// java-toolkit pod on the pod's node.
func runJDKCommand(ctx context.Context, r *engine.Run, params *javaParams, tool jdkTool) error {
	pod, err := targetPod(r)
	if err != nil {
		return err
	}
	setJavaFinding(r, jdkTitle(tool, params.Pid, pod), tool.key)
	jtk := javaToolkitPod(ctx, pod, params)
	if !r.Apply {
		if params.Pid == 0 {
			command, err := podPsCommand(pod)
			if err != nil {
				return err
			}
			if err := dryRunHelper(r, helperpod.DebuggerPod(ctx, pod.Name, pod.Spec.NodeName, params.CustomAnnotations),
				"exec `/bin/sh -c "+command+"` in it to find the Java process (no pid given)"); err != nil {
				return err
			}
			return dryRunHelper(r, jtk, fmt.Sprintf("then exec `/bin/sh -c java-toolkit %s PID` in it for the process found", tool.cmd))
		}
		return dryRunHelper(r, jtk, fmt.Sprintf("exec `/bin/sh -c java-toolkit %s %d` in it", tool.cmd, params.Pid))
	}
	pid := params.Pid
	if pid == 0 {
		command, err := podPsCommand(pod)
		if err != nil {
			return err
		}
		all, err := listProcesses(ctx, r, pod, params, command)
		if err != nil {
			return err
		}
		chosen, ok := chooseProcess(r, all, params, tool, pod)
		if !ok {
			return nil
		}
		pid = chosen.Pid
		setJavaFinding(r, jdkTitle(tool, pid, pod), tool.key)
		jtk = javaToolkitPod(ctx, pod, params)
	}
	command := fmt.Sprintf("java-toolkit %s %d", tool.cmd, pid)
	out, err := helperpod.ExecIn(ctx, r.KF, jtk, command)
	var exit *kube.ExitError
	switch {
	case errors.As(err, &exit):
		// The runner keeps what the command printed; the exit code is said beside it.
		r.Finding.AddEnrichment("",
			engine.Markdown(fmt.Sprintf("`%s` failed with exit code %d on process %d", command, exit.Code, pid)),
			engine.File(fmt.Sprintf("%s_%d.txt", tool.key, pid), []byte(out)))
		r.Notes = append(r.Notes, fmt.Sprintf("%s: `%s` exited with code %d (its output is in the finding)", tool.action, command, exit.Code))
		return nil
	case err != nil:
		return fmt.Errorf("run %s on process %d of pod %s/%s: %w", tool.cmd, pid, pod.Namespace, pod.Name, err)
	}
	r.Finding.AddEnrichment("",
		engine.Markdown(fmt.Sprintf("%s ran on process %d", tool.key, pid)),
		engine.File(fmt.Sprintf("%s_%d.txt", tool.key, pid), []byte(out)))
	return nil
}

func jdkTitle(tool jdkTool, pid int, pod *corev1.Pod) string {
	p := "None" // the runner's title before a process is chosen
	if pid != 0 {
		p = strconv.Itoa(pid)
	}
	return fmt.Sprintf("%s run on pid %s in pod %s in namespace %s:", tool.cmd, p, pod.Name, pod.Namespace)
}

// javaToolkitPod is the runner's java debugger pod: the debugger pod with jtk_image as
// given, else the default java-toolkit image under the registry.
func javaToolkitPod(ctx context.Context, pod *corev1.Pod, params *javaParams) *corev1.Pod {
	image := params.JtkImage
	if image == "" {
		image = helperpod.Image(ctx, JavaToolkitImage)
	}
	return helperpod.DebuggerPodWith(ctx, pod.Name, pod.Spec.NodeName, image, nil, false, params.CustomAnnotations)
}

// chooseProcess is the runner's get_match_or_report_error: the single matching Java
// process, or (ok false) blocks saying why there is none, with the processes to choose
// from and, when interactive, a button per process and one back to the inspector.
func chooseProcess(r *engine.Run, all []process, params *javaParams, tool jdkTool, pod *corev1.Pod) (process, bool) {
	matches := matchProcesses(all, params.processParams, javaProcessType)
	if len(matches) == 1 {
		return matches[0], true
	}
	intro, shown := "No matching processes. The processes in the pod are:", all
	if len(matches) > 1 {
		intro, shown = "More than one matching process. The matching processes are:", matches
	}
	blocks := []engine.Block{engine.Markdown(intro)}
	if len(shown) == 0 {
		blocks = append(blocks, engine.Markdown("No processes"))
	} else {
		blocks = append(blocks, processTable(shown))
		if params.Interactive {
			for _, p := range shown {
				blocks = append(blocks, engine.Callback(fmt.Sprintf("%s %d", tool.cmd, p.Pid), callbackCommand(tool.action, pod, pidChoice(params, p.Pid))))
			}
			blocks = append(blocks, engine.Callback("Still can't choose?", callbackCommand("java_process_inspector", pod, params)), engine.Markdown(waitNotice))
		}
	}
	r.Finding.AddEnrichment("", blocks...)
	return process{}, false
}

// callbackCommand is the command line that does locally what the runner's button does:
// run action on the pod with params (those differing from the defaults). The
// buttons' actions start helper pods, so the line carries --apply, as a click in
// Robusta's UI runs the action.
func callbackCommand(action string, pod *corev1.Pod, p *javaParams) string {
	args := []string{"--pod", pod.Namespace + "/" + pod.Name}
	if p.Pid != 0 {
		args = append(args, "pid="+strconv.Itoa(p.Pid))
	}
	if p.ProcessSubstring != "" {
		args = append(args, "process_substring="+p.ProcessSubstring)
	}
	if !p.Interactive {
		args = append(args, "interactive=false")
	}
	if p.JtkImage != "" {
		args = append(args, "jtk_image="+p.JtkImage)
	}
	if len(p.CustomAnnotations) > 0 {
		// encoding/json sorts map keys, so the line is stable.
		b, _ := json.Marshal(p.CustomAnnotations)
		args = append(args, "custom_annotations:="+string(b))
	}
	return buttonCommand(action, args...)
}

// shellWord quotes s for a POSIX shell when it holds anything but plain characters.
func shellWord(s string) string {
	plain := true
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./=:,@%+", c)) {
			plain = false
			break
		}
	}
	if plain && s != "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
