package local

import (
	"fmt"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/actionargs"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
)

// RunnerOnlyError is `local run` of an action only the in-cluster runner runs: it says
// why, and (in Hint) how to run it there.
type RunnerOnlyError struct {
	Action  string
	Reason  string
	Command string // the `robusta playbooks trigger` command line, "" when not manually runnable
}

func (e *RunnerOnlyError) Error() string {
	msg := fmt.Sprintf("action %s runs only in the in-cluster runner, not in robusta local run", e.Action)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// runnerOnlyError checks the command line of a runner-only action as `playbooks
// trigger` would (its mistakes are usage errors: the printed command would fail on them
// too), then fails with the reason and the trigger command line that runs the action
// in the cluster, made of what was given here.
func (o *RunOptions) runnerOnlyError(explicitNS string, defaultNS func() string) error {
	a := o.runnerOnly
	base := &RunnerOnlyError{Action: a.Name, Reason: a.Reason}
	if !a.ManualRunnable {
		return cli.WithHint(base, "it "+strings.TrimPrefix(actionargs.NotManualMessage(a), "action "+a.Name+" ")+
			" (robusta local actions "+a.Name+" lists them)")
	}
	if o.Alert != "" || o.Old != "" || o.Operation != "" {
		return cli.WithHint(base, "the runner's manual trigger builds the event from name= and namespace=: --alert, --old and --operation have no equivalent there")
	}
	params, err := playbooks.ParseParams(o.Args)
	if err != nil {
		return err
	}
	if err := playbooks.AddParamsFile(params, o.ParamsFile); err != nil {
		return err
	}
	words := append([]string(nil), o.Args...)
	var flags []string
	t, err := o.Object.Target()
	if err != nil {
		return err
	}
	switch {
	case t.Kind != "" && (o.Kind != "" || o.Name != ""):
		return cli.UsageErrorf("give either --kind/--name or one of --pod, --deployment, --job and --node")
	case t.Kind != "":
		flag := "--" + strings.ToLower(t.Kind)
		val := t.Name
		if t.Namespace != "" {
			val = t.Namespace + "/" + t.Name
			params["namespace"] = t.Namespace
		}
		params["name"] = t.Name
		flags = append(flags, flag, val)
	case (o.Kind == "") != (o.Name == ""):
		return cli.UsageErrorf("--kind and --name go together: give both")
	case o.Kind != "":
		params["kind"], params["name"] = o.Kind, o.Name
		words = append(words, "kind="+o.Kind, "name="+o.Name)
		if _, ok := params["namespace"]; !ok {
			ns := namespace(explicitNS, defaultNS)
			params["namespace"] = ns
			words = append(words, "namespace="+ns)
		}
	}
	// As local run does, a name without a namespace is in -n's or the kubeconfig's.
	if _, hasName := params["name"]; hasName && needsNamespace(a.ManualParams) {
		if _, ok := params["namespace"]; !ok {
			ns := namespace(explicitNS, defaultNS)
			params["namespace"] = ns
			words = append(words, "namespace="+ns)
		}
	}
	problems := actionargs.Check(a, params, true)
	if bad := problems.Only(actionargs.UnknownParam, actionargs.BadValue); len(bad) > 0 {
		return cli.UsageErrorf("%v; see robusta local actions %s", bad, a.Name)
	}
	if o.ParamsFile != "" {
		flags = append(flags, "--params-file", o.ParamsFile)
	}
	flags = append(flags, "--sync")
	if o.SaveDir != "" {
		flags = append(flags, "--save-files", o.SaveDir)
	}
	cmd, hidden := actionargs.TriggerCommand(a.Name, words, flags...)
	base.Command = cmd
	hint := "run it in the cluster with: " + cmd
	if len(hidden) > 0 {
		hint += fmt.Sprintf(" (put the value of %s in place of %s)", strings.Join(hidden, ", "), actionargs.Hidden)
	}
	if missing := problems.Only(actionargs.MissingParam, actionargs.MissingEventParam); len(missing) > 0 {
		hint += "; it still needs: " + missing.Error()
	}
	if a.Mutating {
		hint += "; in the runner it changes the cluster (no dry run there)"
	}
	return cli.WithHint(base, hint)
}

func needsNamespace(lists ...[]string) bool {
	for _, l := range lists {
		for _, k := range l {
			if k == "namespace" {
				return true
			}
		}
	}
	return false
}
