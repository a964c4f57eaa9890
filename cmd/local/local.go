// Package local implements `robusta local ...`: actions run by this binary against the
// current kubeconfig, as the runner would run them.
package local

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/engine"
	_ "github.com/robusta-dev/robusta-go/internal/engine/actions" // registers the built-in actions
	"github.com/robusta-dev/robusta-go/internal/playbooks"
)

// NewCmdLocal builds the group.
func NewCmdLocal(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "local", Short: "Run playbook actions locally against your cluster", Args: cmdutil.NoArgs}
	cmd.AddCommand(newCmdRun(f), newCmdActions(f))
	return cmd
}

var kinds = map[string]struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
}{
	"pod":        {schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "Pod", true},
	"deployment": {schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "Deployment", true},
	"job":        {schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, "Job", true},
	"node":       {schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, "Node", false},
}

func newCmdRun(f *cmdutil.Factory) *cobra.Command {
	var pod, deployment, job, node, old, saveDir, paramsFile string
	var apply bool
	cmd := &cobra.Command{
		Use:   "run ACTION [key=value | key:=JSON ...]",
		Short: "Run one action against a live object and print the finding",
		Example: `  robusta local run logs_enricher --pod default/web-1 tail:=100
  robusta local run create_finding --pod prod/api-1 title='Pod $name restarted'
  robusta local run delete_pod --pod default/web-1            # server-side dry run
  robusta local run delete_pod --pod default/web-1 --apply`,
		Args: cmdutil.MinimumArgs(1, "the name of an action (see robusta local actions)"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return engine.Names(), cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, ok := engine.Lookup(args[0])
			if !ok {
				return cli.UsageErrorf("unknown action %q%s; see robusta local actions", args[0], suggest(args[0]))
			}
			params, err := playbooks.ParseParams(args[1:])
			if err != nil {
				return err
			}
			if err := playbooks.AddParamsFile(params, paramsFile); err != nil {
				return err
			}
			kindName, ref := "", ""
			for _, c := range []struct{ k, v string }{{"pod", pod}, {"deployment", deployment}, {"job", job}, {"node", node}} {
				if c.v != "" {
					if kindName != "" {
						return cli.UsageErrorf("give only one of --pod, --deployment, --job and --node")
					}
					kindName, ref = c.k, c.v
				}
			}
			if kindName == "" {
				return cli.UsageErrorf("say which object the action runs on: --pod NS/NAME, --deployment NS/NAME, --job NS/NAME or --node NAME")
			}
			ev, err := buildEvent(ctx, f, kindName, ref, old)
			if err != nil {
				return err
			}
			run := &engine.Run{Event: ev, Finding: engine.NewFinding(ev, a.Name+" on "+ev.Obj.GetName()), KF: f.Kube(), Apply: apply}
			if err := a.Execute(ctx, run, params); err != nil {
				if strings.Contains(err.Error(), "needs a") || strings.Contains(err.Error(), "parameter") {
					return cli.UsageErrorf("%v", err)
				}
				return err
			}
			run.Finding.SetFingerprint()
			for _, n := range run.Notes {
				fmt.Fprintf(f.IOStreams.ErrOut, "%s %s\n", f.IOStreams.StderrStyles().WarningIcon(), n)
			}
			if of := f.OutputFormat(); of.Structured() {
				return cli.PrintStructured(f.IOStreams.Out, of, run.Finding)
			}
			return engine.RenderText(f.IOStreams.Out, f.IOStreams.Styles(), run.Finding, saveDir)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&pod, "pod", "", "the pod (NAMESPACE/NAME)")
	fl.StringVar(&deployment, "deployment", "", "the deployment (NAMESPACE/NAME)")
	fl.StringVar(&job, "job", "", "the job (NAMESPACE/NAME)")
	fl.StringVar(&node, "node", "", "the node (NAME)")
	fl.StringVar(&old, "old", "", "YAML of the object's old version, for change-event actions")
	fl.StringVar(&saveDir, "save-files", "", "write file blocks into this folder")
	fl.StringVar(&paramsFile, "params-file", "", "YAML or JSON file with an object of parameters")
	fl.BoolVar(&apply, "apply", false, "let mutating actions change the cluster (default: server-side dry run)")
	return cmd
}

func buildEvent(ctx context.Context, f *cmdutil.Factory, kindName, ref, oldFile string) (*engine.Event, error) {
	k := kinds[kindName]
	ns, name := "", ref
	if k.namespaced {
		var ok bool
		ns, name, ok = strings.Cut(ref, "/")
		if !ok || ns == "" || name == "" {
			return nil, cli.UsageErrorf("--%s %q: use NAMESPACE/NAME", kindName, ref)
		}
	}
	dyn, err := f.Kube().Dynamic()
	if err != nil {
		return nil, f.Kube().Explain(err, "", "", "")
	}
	var ri = dyn.Resource(k.gvr).Namespace(ns)
	obj, err := ri.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, f.Kube().Explain(err, "get", k.gvr.Resource, ns)
	}
	ev := &engine.Event{Class: k.kind + "Event", Kind: k.kind, Obj: obj}
	if oldFile != "" {
		b, err := os.ReadFile(oldFile)
		if err != nil {
			return nil, cli.UsageErrorf("--old: %v", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil || m == nil {
			return nil, cli.UsageErrorf("--old %s: not a YAML object", oldFile)
		}
		ev.Old = &unstructured.Unstructured{Object: m}
		ev.Class, ev.Operation = k.kind+"ChangeEvent", "update"
	}
	return ev, nil
}

func suggest(name string) string {
	for _, n := range engine.Names() {
		if strings.Contains(n, name) || strings.Contains(name, strings.TrimSuffix(n, "_enricher")) {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return ""
}

func newCmdActions(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "actions [ACTION]",
		Short: "List the actions the local engine implements, or describe one",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			of := f.OutputFormat()
			if len(args) == 1 {
				a, ok := engine.Lookup(args[0])
				if !ok {
					return cli.UsageErrorf("unknown action %q%s", args[0], suggest(args[0]))
				}
				var params []engine.ParamDoc
				if a.NewParams != nil {
					params = engine.Params(a.NewParams())
				}
				if of.Structured() {
					return cli.PrintStructured(f.IOStreams.Out, of, map[string]any{"name": a.Name, "event": a.Event, "mutating": a.Mutating, "doc": a.Doc, "params": params})
				}
				fmt.Fprintf(f.IOStreams.Out, "%s (%s)%s\n  %s\n", a.Name, a.Event, map[bool]string{true: ", mutating"}[a.Mutating], a.Doc)
				t := cli.NewTable(f.IOStreams.Out, "param", "type", "default", "required", "doc")
				for _, p := range params {
					t.Row(p.Name, p.Type, p.Default, fmt.Sprint(p.Required), p.Doc)
				}
				return t.Flush()
			}
			type row struct {
				Name     string `json:"name"`
				Event    string `json:"event"`
				Mutating bool   `json:"mutating"`
				Doc      string `json:"doc"`
			}
			var rows []row
			for _, n := range engine.Names() {
				a, _ := engine.Lookup(n)
				rows = append(rows, row{a.Name, a.Event, a.Mutating, a.Doc})
			}
			if of.Structured() {
				return cli.PrintStructured(f.IOStreams.Out, of, rows)
			}
			t := cli.NewTable(f.IOStreams.Out, "name", "event", "mutating", "doc")
			for _, r := range rows {
				t.Row(r.Name, r.Event, fmt.Sprint(r.Mutating), r.Doc)
			}
			return t.Flush()
		},
	}
}
