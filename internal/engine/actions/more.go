package actions

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/triggers"
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

// bashParams is the runner's BashParams. custom_annotations (from PodRunningParams)
// annotate the helper pods other actions create; pod_bash_enricher runs in the pod
// itself and creates none, so the runner does not use them here, nor does this.
type bashParams struct {
	Command           string            `param:"bash_command" required:"true" doc:"the command, run with sh -c"`
	CustomAnnotations map[string]string `param:"custom_annotations" doc:"taken for the runner's configs; unused, as no pod is created"`
}

func podBash(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*bashParams)
	cmd := params.Command
	if len(params.CustomAnnotations) > 0 {
		r.Notes = append(r.Notes, "pod_bash_enricher: custom_annotations are not used: the command runs in the pod itself and no pod is created (the runner ignores them too)")
	}
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
	IgnoredNamespaces []string `param:"ignored_namespaces" doc:"namespaces whose changes are not reported"`
}

// localRunIgnores are left out of the differences a local run computes itself (there
// is no trigger then): what changes on every write without anyone changing the object.
var localRunIgnores = []string{"status", "metadata.generation", "metadata.resourceVersion", "metadata.managedFields"}

// babysitter reports an object's change as the runner's resource_babysitter does: the
// differences are the trigger's change_filters result (none without change_filters),
// the title names the object's manifest and the operation.
func babysitter(_ context.Context, r *engine.Run, p any) error {
	params := p.(*babysitterParams)
	e := r.Event
	if e.Obj == nil || e.Operation == "" {
		return fmt.Errorf("resource_babysitter needs a change event (create, update or delete of an object)")
	}
	for _, ns := range params.IgnoredNamespaces {
		if e.Obj.GetNamespace() == ns {
			r.Notes = append(r.Notes, "resource_babysitter: namespace "+ns+" is in ignored_namespaces, so there is no finding")
			return nil
		}
	}
	diffs := e.Diffs
	if !e.Triggered {
		diffs = triggers.EventDiffs(e, localRunIgnores)
		r.Notes = append(r.Notes, "resource_babysitter: no trigger filtered the differences, so every one outside status and metadata bookkeeping is shown (in the watch, a trigger's change_filters choose them)")
	}
	hasOld, hasNew := e.Old != nil, true
	switch e.Operation {
	case "delete":
		hasOld, hasNew = true, false
	case "create":
		hasOld = false
	}
	kind := e.Obj.GetKind()
	if kind == "" {
		kind = e.Kind
	}
	resource := manifestName(kind, e.Obj.GetNamespace(), e.Obj.GetName())
	r.Finding.Title = fmt.Sprintf("%s %sd", resource, e.Operation)
	r.Finding.AggregationKey = "ConfigurationChange/KubernetesResource/Change"
	r.Finding.Type = engine.TypeConfChange
	r.Finding.Source = "kubernetes_api_server"
	switch {
	case !hasOld:
		r.Finding.Description = kind + " created"
	case !hasNew:
		r.Finding.Description = kind + " deleted"
	default:
		r.Finding.Description = kind + " updated" + attributesLine(diffs)
	}
	rows := make([][]string, len(diffs))
	for i, d := range diffs {
		rows[i] = []string{d.Path, d.Old, d.New}
	}
	r.Finding.AddEnrichment("Kubernetes Manifest Change", engine.Diffs(rows))
	return nil
}

// manifestName is the runner's resource name of a diff: kind/namespace/name.yaml.
func manifestName(kind, namespace, name string) string {
	out := ""
	if kind != "" {
		out += strings.ToLower(kind) + "/"
	}
	if namespace != "" {
		out += namespace + "/"
	}
	return out + name + ".yaml"
}

// attributesLine names the changed fields (the last non-index part of each path), five
// at most, as the runner's diff description does.
func attributesLine(diffs []engine.Diff) string {
	var fields []string
	for _, d := range diffs {
		parts := strings.FieldsFunc(d.Path, func(c rune) bool { return c == '.' || c == '[' || c == ']' })
		for i := len(parts) - 1; i >= 0; i-- {
			if _, err := strconv.Atoi(parts[i]); err != nil {
				fields = append(fields, parts[i])
				break
			}
		}
	}
	if len(fields) == 0 {
		return ""
	}
	const shown = 5
	if len(fields) < shown {
		return "\n ● Attributes: " + strings.Join(fields, ", ")
	}
	return fmt.Sprintf("\n ● Attributes: %s ... (and %d more)", strings.Join(fields[:shown], ", "), len(fields)-shown)
}

func matchesAny(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
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
