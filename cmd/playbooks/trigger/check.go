package trigger

import (
	"github.com/robusta-dev/robusta-go/internal/actionargs"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/engine"
	_ "github.com/robusta-dev/robusta-go/internal/engine/actions" // --local asks the engine which actions it runs
)

// noCheckHint is said with every catalogue finding: the catalogue knows Robusta's
// actions, not those of the user's own playbook repositories.
const noCheckHint = "for an action from your own playbook repository, add --no-check"

// check holds the request up against Robusta's catalogue (actionargs.Check), so a typo
// costs no round trip to the cluster.
func (o *Options) check(params map[string]any) error {
	a, err := actionargs.Lookup(o.Action)
	if err != nil {
		return cli.WithHint(cli.UsageErrorf("%v", err), "robusta local actions lists them; "+noCheckHint)
	}
	_, local := engine.Lookup(a.Name)
	if o.Local {
		if !local {
			msg := "action " + a.Name + " runs only in the in-cluster runner, not in robusta local serve"
			if a.Reason != "" {
				msg += ": " + a.Reason
			}
			return cli.UsageErrorf("%s; drop --local to send it to the runner", msg)
		}
		// The local server checks the params against the engine's own (which takes a
		// few Robusta does not, such as logs_enricher's tail) and answers without
		// touching the cluster: no round trip to save.
		return nil
	}
	if problems := actionargs.Check(a, params, true); len(problems) > 0 {
		hint := "robusta local actions " + a.Name + " lists its params"
		if problems[0].Kind == actionargs.NotManual {
			hint = "robusta local actions " + a.Name + " lists the triggers that fit"
		}
		return cli.WithHint(cli.UsageErrorf("%v", problems), hint+"; "+noCheckHint)
	}
	return nil
}
