package actions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// Actions the runner implements with a helper pod on a node. They create that pod
// only with --apply; the dry run shows the manifest it would create.
func init() {
	engine.Register(&engine.Action{Name: "node_bash_enricher", Event: "NodeEvent", RunsCommands: true,
		Doc:       "Run a shell command on the node from a privileged debugger pod (with --apply; dry run shows the pod) and attach its output",
		NewParams: func() any { return &nodeBashParams{} }, Do: nodeBash})
	engine.Register(&engine.Action{Name: "node_dmesg_enricher", Event: "NodeEvent", RunsCommands: true,
		Doc:       "Attach the node's kernel log (dmesg) read from a privileged debugger pod (with --apply; dry run shows the pod)",
		NewParams: func() any { return &podRunningParams{} }, Do: nodeDmesg})
	engine.Register(&engine.Action{Name: "pod_dmesg_enricher", Event: "PodEvent", RunsCommands: true,
		Doc:       "Attach the kernel log (dmesg) of the pod's node, read from a privileged debugger pod (with --apply; dry run shows the pod)",
		NewParams: func() any { return &podRunningParams{} }, Do: podDmesg})
	for _, d := range deprecatedDebuggers {
		d := d
		engine.Register(&engine.Action{Name: d.name, Event: "PodEvent",
			Doc:       "Deprecated: " + d.what + "; does nothing (the runner runs it only with the old debug-toolkit v6.0 image)",
			NewParams: d.params, Do: func(ctx context.Context, r *engine.Run, p any) error { return runDeprecatedDebugger(r, d) }})
	}
}

type podRunningParams struct {
	CustomAnnotations map[string]string `param:"custom_annotations" doc:"annotations for the helper pod"`
}

type nodeBashParams struct {
	Command           string            `param:"bash_command" required:"true" doc:"the command, run with /bin/sh -c in the debugger pod"`
	CustomAnnotations map[string]string `param:"custom_annotations" doc:"annotations for the helper pod"`
}

func nodeBash(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*nodeBashParams)
	pod := helperpod.DebuggerPod(ctx, "node-bash-pod", r.Event.Obj.GetName(), params.CustomAnnotations)
	out, ran, err := execHelper(ctx, r, pod, params.Command)
	if err != nil || !ran {
		return err
	}
	r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("Command results for *%s:*", params.Command)), engine.Markdown(out))
	return nil
}

func nodeDmesg(ctx context.Context, r *engine.Run, p any) error {
	return dmesgOn(ctx, r, r.Event.Obj.GetName(), p.(*podRunningParams))
}

// podDmesg reads the kernel log of the node the pod runs on; a pod not (or no longer)
// on a node that exists gets nothing, as in the runner.
func podDmesg(ctx context.Context, r *engine.Run, p any) error {
	pod := r.Event.Pod()
	if pod == nil || pod.Spec.NodeName == "" {
		r.Notes = append(r.Notes, "the pod is not scheduled on a node: no kernel log to read")
		return nil
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			r.Notes = append(r.Notes, fmt.Sprintf("node %s of pod %s not found: no kernel log to read", pod.Spec.NodeName, pod.Name))
			return nil
		}
		return fmt.Errorf("read node %s: %w", pod.Spec.NodeName, err)
	}
	return dmesgOn(ctx, r, pod.Spec.NodeName, p.(*podRunningParams))
}

func dmesgOn(ctx context.Context, r *engine.Run, node string, params *podRunningParams) error {
	pod := helperpod.DebuggerPod(ctx, "dmesg_pod", node, params.CustomAnnotations)
	// The runner enters the host's namespaces (pid 1) to read the host's kernel log.
	out, ran, err := execHelper(ctx, r, pod, `nsenter -t 1 -a "dmesg"`)
	if err != nil || !ran {
		return err
	}
	if out != "" {
		r.Finding.AddEnrichment("DMESG Info", engine.File("dmesg.log", []byte(out)))
	}
	return nil
}

// execHelper runs command in pod with --apply; without it, it attaches the pod's
// manifest and says nothing ran (ran false). A command exiting non-zero keeps its
// output, followed by the exit status, as the runner's exec returns it.
func execHelper(ctx context.Context, r *engine.Run, pod *corev1.Pod, command string) (out string, ran bool, err error) {
	if !r.Apply {
		return "", false, dryRunHelper(r, pod, "exec `/bin/sh -c "+command+"` in it")
	}
	out, err = helperpod.ExecIn(ctx, r.KF, pod, command)
	var exit *kube.ExitError
	if errors.As(err, &exit) {
		return strings.TrimRight(out, "\n") + fmt.Sprintf("\n(%v)", err), true, nil
	}
	return out, err == nil, err
}

func dryRunHelper(r *engine.Run, pod *corev1.Pod, then string) error {
	spec, err := helperpod.YAML(pod)
	if err != nil {
		return err
	}
	r.Finding.AddEnrichment("Helper pod (dry run)",
		engine.Markdown(fmt.Sprintf("With --apply this creates the pod below on node %s, %s, and deletes it afterwards.", pod.Spec.NodeName, then)),
		engine.File(pod.Name+".yaml", []byte(spec)))
	r.Notes = append(r.Notes, fmt.Sprintf("dry run: helper pod %s/%s not created (pass --apply to run it)", pod.Namespace, pod.Name))
	return nil
}

// processParams is Robusta's ProcessParams (PodRunningParams plus the process choice).
type processParams struct {
	CustomAnnotations map[string]string `param:"custom_annotations" doc:"annotations for the helper pod"`
	ProcessSubstring  string            `param:"process_substring" doc:"choose the process whose command line contains this"`
	Pid               int               `param:"pid" doc:"choose the process by pid"`
	Interactive       bool              `param:"interactive" default:"true" doc:"offer a choice of processes when several match"`
}

type deprecatedDebugger struct {
	name, what string
	params     func() any
}

// The runner's python debugger actions log that they are deprecated and return
// unless its PYTHON_DEBUGGER_IMAGE is debug-toolkit:v6.0; the chart ships v8.0, so
// they do nothing. Their params are kept so configs that name them still load.
var deprecatedDebuggers = []deprecatedDebugger{
	{"python_profiler", "profile a Python process in the pod", func() any {
		return &struct {
			CustomAnnotations map[string]string `param:"custom_annotations" doc:"annotations for the helper pod"`
			Seconds           int               `param:"seconds" default:"2" doc:"profiling time"`
			ProcessName       string            `param:"process_name" doc:"process to profile"`
			IncludeIdle       bool              `param:"include_idle" doc:"include idle threads"`
		}{}
	}},
	{"python_memory", "trace the memory allocations of a Python process in the pod", func() any {
		return &struct {
			processParams
			Seconds int `param:"seconds" default:"60" doc:"tracing time"`
		}{}
	}},
	{"debugger_stack_trace", "print the stack traces of a Python process in the pod", func() any {
		return &struct {
			processParams
			Port           int `param:"port" default:"5678" doc:"debugger port"`
			TracesAmount   int `param:"traces_amount" default:"1" doc:"how many traces"`
			SleepDurationS int `param:"sleep_duration_s" default:"1" doc:"seconds between traces"`
		}{}
	}},
	{"python_process_inspector", "inspect a Python process in the pod", func() any {
		return &struct {
			processParams
			Port int `param:"port" default:"5678" doc:"debugger port"`
		}{}
	}},
	{"python_debugger", "attach a remote debugger to a Python process in the pod", func() any {
		return &struct {
			processParams
			Port int `param:"port" default:"5678" doc:"debugger port"`
		}{}
	}},
}

func runDeprecatedDebugger(r *engine.Run, d deprecatedDebugger) error {
	msg := d.name + " is deprecated in Robusta: the runner runs it only when its PYTHON_DEBUGGER_IMAGE is debug-toolkit:v6.0 (the chart ships v8.0), so it does nothing and nothing was run here. " +
		"There is no replacement action; to look at the pod's processes use pod_ps, and to run a tool such as py-spy that is in the pod's image use pod_bash_enricher."
	r.Finding.AddEnrichment("Deprecated action", engine.Markdown(msg))
	r.Notes = append(r.Notes, d.name+" is deprecated upstream and does nothing: see pod_ps or pod_bash_enricher")
	return nil
}
