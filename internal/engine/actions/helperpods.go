package actions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

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
	params := p.(*podRunningParams)
	pod := helperpod.DebuggerPod(ctx, "dmesg_pod", r.Event.Obj.GetName(), params.CustomAnnotations)
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
