package local

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/actionargs"
	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/engine"
)

// ActionsOptions are the inputs of `local actions`.
type ActionsOptions struct {
	IO     *cli.IOStreams
	Output func() cli.OutputFormat

	Action    string
	LocalOnly bool
}

// NewCmdActions builds `local actions`; runF replaces the run function in tests.
func NewCmdActions(f *cmdutil.Factory, runF func(*ActionsOptions) error) *cobra.Command {
	opts := &ActionsOptions{IO: f.IOStreams, Output: f.OutputFormat}
	cmd := &cobra.Command{
		Use:   "actions [ACTION]",
		Short: "List every Robusta action and where it runs, or describe one",
		Long: `List every Robusta action: its event, whether it changes the cluster, and where it
runs: "local" (this binary implements it: robusta local run) or "runner" (only the
in-cluster runner can: robusta playbooks trigger, or a playbook).

With an ACTION, describe it: its params as Robusta declares them, the triggers whose
events it takes, how to run it by hand, and for a local action what the local engine
takes.`,
		Example: `  robusta local actions
  robusta local actions --local-only
  robusta local actions node_bash_enricher
  robusta local actions -o json`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return actionargs.CompleteArgs(nil, toComplete, engine.Names()...)
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Action = args[0]
				if opts.LocalOnly {
					return cli.UsageErrorf("--local-only filters the list: drop it, or the action name")
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return runActions(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.LocalOnly, "local-only", false, "list only the actions robusta local run implements")
	return cmd
}

// actionRow is one line of the list.
type actionRow struct {
	Name           string `json:"name"`
	Event          string `json:"event"`
	Mutating       bool   `json:"mutating"`
	RunsCommands   bool   `json:"runs_commands,omitempty"`
	Runs           string `json:"runs"` // local or runner
	Reason         string `json:"reason,omitempty"`
	Class          string `json:"class,omitempty"`
	ManualRunnable bool   `json:"manual_runnable"`
	Deprecated     string `json:"deprecated,omitempty"`
	Summary        string `json:"summary"`
}

// where is "local" when this build implements the action, else "runner". The engine
// decides, not the catalogue's Local note: what local run accepts is what is listed.
func where(name string) string {
	if _, ok := engine.Lookup(name); ok {
		return "local"
	}
	return "runner"
}

func allRows(localOnly bool) []actionRow {
	var rows []actionRow
	seen := map[string]bool{}
	for _, a := range catalogue.Actions() {
		seen[a.Name] = true
		r := actionRow{Name: a.Name, Event: a.Event, Mutating: a.Mutating, Runs: where(a.Name), Class: string(a.Class),
			ManualRunnable: a.ManualRunnable, Deprecated: a.Deprecated, Summary: firstLine(a.Summary)}
		if r.Runs == "runner" {
			r.Reason = a.Reason
		}
		if e, ok := engine.Lookup(a.Name); ok {
			r.RunsCommands = e.RunsCommands
			if r.Summary == "" {
				r.Summary = firstLine(e.Doc)
			}
		}
		rows = append(rows, r)
	}
	// An engine action the catalogue does not know still runs locally: list it.
	for _, n := range engine.Names() {
		if !seen[n] {
			e, _ := engine.Lookup(n)
			rows = append(rows, actionRow{Name: n, Event: e.Event, Mutating: e.Mutating, RunsCommands: e.RunsCommands,
				Runs: "local", ManualRunnable: true, Summary: firstLine(e.Doc)})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	if localOnly {
		kept := rows[:0]
		for _, r := range rows {
			if r.Runs == "local" {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	return rows
}

func runActions(o *ActionsOptions) error {
	if o.Action != "" {
		return describeAction(o)
	}
	rows := allRows(o.LocalOnly)
	of := o.Output()
	if of.Structured() {
		return cli.PrintStructured(o.IO.Out, of, rows)
	}
	t := cli.NewTable(o.IO.Out, "name", "event", "mutating", "runs", "summary")
	if o.IO.IsStdoutTTY() {
		t.Width = o.IO.TerminalWidth()
	}
	for _, r := range rows {
		mut := yesNo(r.Mutating)
		if r.RunsCommands {
			mut = "runs commands"
		}
		summary := r.Summary
		if r.Deprecated != "" {
			summary = "(deprecated) " + summary
		}
		t.Row(r.Name, r.Event, mut, r.Runs, summary)
	}
	return t.Flush()
}

// paramView is a param as `local actions ACTION` shows it.
type paramView struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Default    string   `json:"default,omitempty"`
	Required   bool     `json:"required"`
	Enum       []string `json:"enum,omitempty"`
	Deprecated string   `json:"deprecated,omitempty"`
	Summary    string   `json:"summary,omitempty"`
}

// actionView is the description of one action.
type actionView struct {
	Name           string      `json:"name"`
	Summary        string      `json:"summary,omitempty"`
	Event          string      `json:"event"`
	Class          string      `json:"class,omitempty"`
	ClassMeaning   string      `json:"class_meaning,omitempty"`
	Mutating       bool        `json:"mutating"`
	Deprecated     string      `json:"deprecated,omitempty"`
	Runs           string      `json:"runs"`
	Reason         string      `json:"reason,omitempty"`
	ManualRunnable bool        `json:"manual_runnable"`
	EventParams    []string    `json:"event_params,omitempty"`
	EventOptional  []string    `json:"event_params_optional,omitempty"`
	Triggers       []string    `json:"triggers"`
	Source         string      `json:"source,omitempty"`
	Params         []paramView `json:"params"`
	ExtraAllowed   bool        `json:"extra_params_allowed,omitempty"`
	// Local is what the local engine adds for an action it implements.
	Local *localView `json:"local,omitempty"`
}

type localView struct {
	Doc          string            `json:"doc"`
	RunsCommands bool              `json:"runs_commands,omitempty"`
	Params       []engine.ParamDoc `json:"params"`
}

var classMeaning = map[catalogue.Class]string{
	catalogue.ClassKubeAPI:  "needs only the Kubernetes API",
	catalogue.ClassHelper:   "starts a helper pod, Job or privileged node pod",
	catalogue.ClassService:  "talks to Prometheus, Alertmanager, Grafana or another service",
	catalogue.ClassPlatform: "needs the Robusta platform, a sink, or the runner's own state",
}

func viewOf(name string) (*actionView, error) {
	e, local := engine.Lookup(name)
	a, ok := catalogue.LookupAction(name)
	if !ok && !local {
		_, err := actionargs.Lookup(name, engine.Names()...)
		return nil, cli.UsageErrorf("%v; see robusta local actions", err)
	}
	v := &actionView{Name: name, Runs: where(name), Params: []paramView{}}
	if ok {
		v.Summary, v.Event, v.Class, v.ClassMeaning = a.Summary, a.Event, string(a.Class), classMeaning[a.Class]
		v.Mutating, v.Deprecated, v.ManualRunnable = a.Mutating, a.Deprecated, a.ManualRunnable
		v.EventParams, v.EventOptional = a.ManualParams, a.ManualOptional
		if a.Source != "" {
			v.Source = "robusta-dev/robusta@" + catalogue.RobustaCommit[:8] + " " + a.Source
		}
		if v.Runs == "runner" {
			v.Reason = a.Reason
		}
		if m, found := catalogue.LookupModel(a.Params); found {
			v.ExtraAllowed = m.ExtraAllowed
			for _, p := range m.Params {
				typ := p.Python
				if typ == "" {
					typ = string(p.Type.Kind)
				}
				v.Params = append(v.Params, paramView{Name: p.Name, Type: typ, Default: p.Default, Required: p.Required,
					Enum: p.Enum, Deprecated: p.Deprecated, Summary: p.Summary})
			}
		}
	} else {
		v.Event, v.Mutating, v.ManualRunnable = e.Event, e.Mutating, true
	}
	v.Triggers = catalogue.TriggersFor(v.Event)
	if v.Triggers == nil {
		v.Triggers = []string{}
	}
	if local {
		lv := &localView{Doc: e.Doc, RunsCommands: e.RunsCommands, Params: []engine.ParamDoc{}}
		if e.NewParams != nil {
			lv.Params = engine.Params(e.NewParams())
		}
		v.Local = lv
		if v.Summary == "" {
			v.Summary = e.Doc
		}
	}
	return v, nil
}

func describeAction(o *ActionsOptions) error {
	v, err := viewOf(o.Action)
	if err != nil {
		return err
	}
	if of := o.Output(); of.Structured() {
		return cli.PrintStructured(o.IO.Out, of, v)
	}
	w := o.IO.Out
	st := o.IO.Styles()
	fmt.Fprintln(w, st.Bold(v.Name))
	if v.Summary != "" {
		fmt.Fprintf(w, "  %s\n", cli.Printable(v.Summary))
	}
	fmt.Fprintln(w)
	field := func(k, val string) {
		if val != "" {
			fmt.Fprintf(w, "  %-12s %s\n", k+":", val)
		}
	}
	field("Event", v.Event)
	if v.Class != "" {
		field("Class", v.Class+" ("+v.ClassMeaning+")")
	}
	field("Mutating", yesNo(v.Mutating))
	if v.Deprecated != "" {
		field("Deprecated", v.Deprecated)
	}
	switch {
	case v.Runs == "local":
		field("Runs", "locally (robusta local run) and in the runner")
	case v.Reason != "":
		field("Runs", "only in the runner: "+v.Reason)
	default:
		field("Runs", "only in the runner")
	}
	field("Manual run", manualLine(v))
	field("Triggers", triggersLine(v.Triggers))
	field("Source", v.Source)
	if v.Local != nil {
		fmt.Fprintf(w, "  %-12s %s\n", "Locally:", cli.Printable(v.Local.Doc))
		if v.Local.RunsCommands {
			fmt.Fprintf(w, "  %-12s %s\n", "", "runs commands in the pod (local serve needs --allow-exec)")
		}
	}
	fmt.Fprintln(w)
	if _, known := catalogue.LookupAction(v.Name); known {
		if err := paramsTable(o, w, "Parameters (as the runner takes them)", v.Params); err != nil {
			return err
		}
		if v.ExtraAllowed {
			fmt.Fprintln(w, "  Other keys are passed to the action as well.")
		}
	}
	if v.Local != nil && !sameParams(v.Params, v.Local.Params) {
		fmt.Fprintln(w)
		var lp []paramView
		for _, p := range v.Local.Params {
			lp = append(lp, paramView{Name: p.Name, Type: p.Type, Default: p.Default, Required: p.Required, Enum: p.Enum, Summary: p.Doc})
		}
		return paramsTable(o, w, "Parameters robusta local run takes", lp)
	}
	return nil
}

func paramsTable(o *ActionsOptions, w io.Writer, title string, params []paramView) error {
	if len(params) == 0 {
		fmt.Fprintf(w, "%s: none.\n", title)
		return nil
	}
	fmt.Fprintf(w, "%s:\n", title)
	// The enum and deprecated columns only when some param has one.
	var hasEnum, hasDeprecated bool
	for _, p := range params {
		hasEnum = hasEnum || len(p.Enum) > 0
		hasDeprecated = hasDeprecated || p.Deprecated != ""
	}
	headers := []string{"param", "type", "default", "required"}
	if hasEnum {
		headers = append(headers, "enum")
	}
	if hasDeprecated {
		headers = append(headers, "deprecated")
	}
	t := cli.NewTable(w, append(headers, "summary")...)
	if o.IO.IsStdoutTTY() {
		t.Width = o.IO.TerminalWidth()
	}
	for _, p := range params {
		cells := []string{p.Name, p.Type, p.Default, yesNo(p.Required)}
		if hasEnum {
			cells = append(cells, strings.Join(p.Enum, "|"))
		}
		if hasDeprecated {
			cells = append(cells, p.Deprecated)
		}
		t.Row(append(cells, firstLine(p.Summary))...)
	}
	return t.Flush()
}

// sameParams reports whether the engine takes exactly Robusta's param names.
func sameParams(robusta []paramView, local []engine.ParamDoc) bool {
	if len(robusta) != len(local) {
		return false
	}
	names := map[string]bool{}
	for _, p := range robusta {
		names[p.Name] = true
	}
	for _, p := range local {
		if !names[p.Name] {
			return false
		}
	}
	return true
}

func manualLine(v *actionView) string {
	if !v.ManualRunnable {
		return "no: it needs a " + v.Event + ", which only a playbook trigger gives"
	}
	words := []string{"robusta playbooks trigger", v.Name}
	for _, k := range v.EventParams {
		words = append(words, k+"="+strings.ToUpper(k))
	}
	for _, k := range v.EventOptional {
		if k != "named_sinks" { // --sinks fills it
			words = append(words, "["+k+"="+strings.ToUpper(k)+"]")
		}
	}
	for _, p := range v.Params {
		if p.Required && p.Default == "" && !actionargs.FromGlobalConfig(p.Name) && !contains(v.EventParams, p.Name) {
			words = append(words, p.Name+"="+strings.ToUpper(p.Name))
		}
	}
	return strings.Join(words, " ")
}

func triggersLine(ts []string) string {
	switch {
	case len(ts) == 0:
		return "none"
	case len(ts) == len(catalogue.Triggers()):
		return fmt.Sprintf("every trigger (%d)", len(ts))
	}
	return fmt.Sprintf("%s (%d)", strings.Join(ts, ", "), len(ts))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}
