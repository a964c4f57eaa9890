package actions

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

func init() {
	engine.Register(&engine.Action{Name: "pod_bash_enricher", Event: "PodEvent", RunsCommands: true,
		Doc:       "Run a shell command in the pod and attach its output",
		NewParams: func() any { return &bashParams{} }, Do: podBash})
	engine.Register(&engine.Action{Name: "pod_ps", Event: "PodEvent", RunsCommands: true,
		Doc: "Attach the pod's process list (ps aux)", Do: func(ctx context.Context, r *engine.Run, _ any) error {
			return execInto(ctx, r, "ps aux", "Processes")
		}})
	engine.Register(&engine.Action{Name: "resource_babysitter", Event: "KubernetesAnyChangeEvent",
		Doc:       "Show what changed between the old and the new object",
		NewParams: func() any { return &babysitterParams{} }, Do: babysitter})
}

type bashParams struct {
	Command string `param:"bash_command" required:"true" doc:"the command, run with sh -c"`
}

func podBash(ctx context.Context, r *engine.Run, p any) error {
	cmd := p.(*bashParams).Command
	return execInto(ctx, r, cmd, "Command results for "+cmd)
}

func execInto(ctx context.Context, r *engine.Run, command, title string) error {
	pod := r.Event.Pod()
	container := ""
	if len(pod.Spec.Containers) > 0 {
		container = pod.Spec.Containers[0].Name
	}
	out := &capWriter{max: MaxLogBytes}
	var stderr bytes.Buffer
	err := r.KF.Exec(ctx, kube.ExecOptions{Namespace: pod.Namespace, Pod: pod.Name, Container: container,
		Command: []string{"sh", "-c", command}, Stdout: out, Stderr: &stderr})
	text := string(out.Bytes()) + stderr.String()
	if err != nil {
		if _, ok := err.(*kube.ExitError); !ok {
			return err
		}
		text += fmt.Sprintf("\n(%v)", err)
	}
	r.Finding.AddEnrichment(title, engine.Markdown("```\n"+strings.TrimRight(text, "\n")+"\n```"))
	return nil
}

type babysitterParams struct {
	FieldsToMonitor []string `param:"fields_to_monitor" doc:"only report changes under these paths (e.g. spec.replicas, image)"`
	OmittedFields   []string `param:"omitted_fields" default:"status,metadata.resourceVersion,metadata.generation,metadata.managedFields" doc:"paths never reported"`
}

func babysitter(_ context.Context, r *engine.Run, p any) error {
	params := p.(*babysitterParams)
	if r.Event.Operation != "update" || r.Event.Old == nil {
		// Robusta's babysitter reports creations and deletions as such, without a diff.
		verb := map[string]string{"create": "created", "delete": "deleted"}[r.Event.Operation]
		if verb == "" {
			verb = "changed (no old version to compare)"
		}
		r.Finding.Title = fmt.Sprintf("%s %s %s", r.Event.Kind, r.Event.Obj.GetName(), verb)
		r.Finding.Severity = engine.Low
		return nil
	}
	changes := map[string][2]string{}
	diff("", r.Event.Old.Object, r.Event.Obj.Object, changes)
	var paths []string
	for path := range changes {
		if matchesAny(path, params.OmittedFields) {
			continue
		}
		if len(params.FieldsToMonitor) > 0 && !containsAny(path, params.FieldsToMonitor) {
			continue
		}
		paths = append(paths, path)
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		// The runner sends nothing then; a note tells a local run's user why.
		r.Notes = append(r.Notes, "resource_babysitter: no monitored field changed, so there is no finding")
		r.Stop = true
		return nil
	}
	rows := make([][]string, len(paths))
	for i, path := range paths {
		rows[i] = []string{path, changes[path][0], changes[path][1]}
	}
	r.Finding.Title = fmt.Sprintf("%s %s changed", r.Event.Kind, r.Event.Obj.GetName())
	r.Finding.Severity = engine.Low
	r.Finding.AddEnrichment("Changes", engine.Diffs(rows))
	return nil
}

func matchesAny(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}

func containsAny(path string, parts []string) bool {
	for _, p := range parts {
		if strings.Contains(path, p) {
			return true
		}
	}
	return false
}

// diff records leaf paths whose values differ between old and new.
func diff(path string, old, new any, out map[string][2]string) {
	om, ok1 := old.(map[string]any)
	nm, ok2 := new.(map[string]any)
	if ok1 && ok2 {
		keys := map[string]bool{}
		for k := range om {
			keys[k] = true
		}
		for k := range nm {
			keys[k] = true
		}
		for k := range keys {
			diff(join(path, k), om[k], nm[k], out)
		}
		return
	}
	ol, ok1 := old.([]any)
	nl, ok2 := new.([]any)
	if ok1 && ok2 && len(ol) == len(nl) {
		for i := range ol {
			diff(fmt.Sprintf("%s[%d]", path, i), ol[i], nl[i], out)
		}
		return
	}
	if !reflect.DeepEqual(old, new) {
		out[path] = [2]string{show(old), show(new)}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func show(v any) string {
	if v == nil {
		return "(none)"
	}
	return fmt.Sprint(v)
}
