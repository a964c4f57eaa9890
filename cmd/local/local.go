// Package local implements `robusta local ...`: actions run by this binary against the
// current kubeconfig, as the runner would run them.
package local

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/actionargs"
	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/actions" // also registers the built-in actions
	"github.com/robusta-dev/robusta-go/internal/fileio"
	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
)

// NewCmdLocal builds the group.
func NewCmdLocal(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "local", Short: "Run playbook actions locally against your cluster", Args: cmdutil.NoArgs}
	cmd.AddCommand(NewCmdRun(f, nil), NewCmdActions(f, nil), NewCmdServe(f, nil), NewCmdWatch(f, nil))
	return cmd
}

// RunOptions are the inputs of `local run`.
type RunOptions struct {
	IO     *cli.IOStreams
	Kube   func() *kube.Factory
	Output func() cli.OutputFormat

	Action     string
	Args       []string
	Playbook   string
	Object     cmdutil.ObjectFlags
	Kind, Name string
	Old        string
	Operation  string
	Alert      string
	// AlertName and Labels synthesize an alert (--alert-name, --label k=v).
	AlertName string
	Labels    []string
	// OldRevision rebuilds a Deployment's old version from its ReplicaSet of that
	// revision (--old-revision N).
	OldRevision int
	synth       *engine.Alert
	// HelmRelease is NS/NAME of a Helm release, for helm_status_enricher.
	HelmRelease string
	SaveDir     string
	ParamsFile  string
	Apply       bool
	// URLs of Prometheus, Alertmanager and Grafana; empty ones are found in the cluster.
	Monitoring monitoring.URLs
	// Helper pods (node_bash_enricher and the like): registry and timeout.
	ImageRegistry string
	HelperTimeout time.Duration
	// Find is where the runner pod is (-n NS, --runner-pod NS/POD), for the actions
	// that reach it (report_rendering_task's grafana-renderer).
	Find kube.FindOptions
	// Recurrence is the run number of a scheduled event (--recurrence N, from 0), for
	// actions on ScheduledExecutionEvent such as config_ab_testing.
	Recurrence    int
	recurrenceSet bool

	steps  []engine.Step
	target cmdutil.Target
	manual bool // the object is named by params, as in a manual trigger

	releaseNS, releaseName string // from --helm-release
	// runnerOnly is a catalogue action the local engine does not implement.
	runnerOnly *catalogue.Action
}

// NewCmdRun builds `local run`; runF replaces the run function in tests.
func NewCmdRun(f *cmdutil.Factory, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IOStreams, Kube: f.Kube, Output: f.OutputFormat}
	var rf cmdutil.RunnerFlags
	cmd := &cobra.Command{
		Use:   "run (ACTION [key=value | key:=JSON ...] | --playbook FILE)",
		Short: "Run one action against a live object and print the finding",
		Long: `Run one action against a live object and print the finding.

The event is built from the object as the runner's manual trigger builds it, so the
same command line works for 'robusta playbooks trigger': the object comes from --pod
(--deployment, ...) or from name=NAME namespace=NS params, its kind from the action.

Mutating actions run as a server-side dry run unless --apply is given.
--old FILE runs a change-event action: the object changed from FILE to its live version.
--alert FILE runs on a Prometheus alert (one alert, or an Alertmanager webhook body),
resolved to the object its labels name.
--playbook FILE runs a playbook's actions in order into one finding, as the runner does
(a list like "- logs_enricher: {tail: 10}", or a playbook with an actions list).
--recurrence N runs an action on the scheduled event of an on_schedule playbook's run N
(counted from 0, as the runner counts): config_ab_testing applies configuration set N.
Actions that reach the runner pod (report_rendering_task's grafana-renderer) use the
runner that --runner-pod NS/POD or -n NS names, found as 'robusta playbooks list'
finds it.`,
		Example: `  robusta local run logs_enricher --pod default/web-1 tail:=100
  robusta local run logs_enricher name=web-1 namespace=default tail:=100
  robusta local run create_finding --pod prod/api-1 title='Pod $name restarted'
  robusta local run resource_events_enricher --kind hpa --name web -n prod
  robusta local run resource_babysitter --deployment prod/api --old api-before.yaml
  robusta local run pod_issue_investigator --alert alert.json
  robusta local run --playbook crash-playbook.yaml --pod prod/api-1
  robusta local run delete_pod --pod default/web-1            # server-side dry run
  robusta local run delete_pod --pod default/web-1 --apply
  robusta local run config_ab_testing --params-file ab.yaml --recurrence 1 --apply`,
		Args: cobra.ArbitraryArgs,
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if cmd.Flags().Changed("playbook") {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeRunArgs(args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.Action, opts.Args = args[0], args[1:]
			}
			opts.recurrenceSet = cmd.Flags().Changed("recurrence")
			opts.Find = f.FindOptions(rf)
			if err := opts.Complete(f.Kube().ExplicitNamespace(), f.Kube().Namespace); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	opts.Object.Add(f, cmd, "runs on")
	fl.StringVar(&opts.Kind, "kind", "", "the kind of the object (any kind the server knows: hpa, statefulset, ...), with --name")
	fl.StringVar(&opts.Name, "name", "", "the object's name, with --kind (its namespace from -n)")
	fl.StringVarP(&opts.Playbook, "playbook", "f", "", "YAML file of actions to run in order (instead of ACTION)")
	fl.StringVar(&opts.Old, "old", "", "YAML or JSON of the object's old version, for change-event actions")
	fl.StringVar(&opts.Operation, "operation", "", "make a change event: create, update (needs --old) or delete (the object from --old, else the live one); default update with --old")
	fl.StringVar(&opts.Alert, "alert", "", "YAML or JSON of a Prometheus alert (or an Alertmanager webhook body)")
	fl.StringVar(&opts.AlertName, "alert-name", "", "run on a firing alert of this name made here, with the labels of --label (instead of --alert FILE)")
	fl.StringArrayVar(&opts.Labels, "label", nil, "a label of the --alert-name alert, k=v (repeatable), e.g. --label pod=api-1 --label namespace=prod")
	fl.IntVar(&opts.OldRevision, "old-revision", 0, "for a Deployment: its old version rebuilt from the ReplicaSet of this revision (instead of --old FILE)")
	fl.StringVar(&opts.HelmRelease, "helm-release", "", "NAMESPACE/NAME of a Helm release (Secret storage): runs on its newest revision, as the runner's helm triggers do")
	fl.StringVar(&opts.SaveDir, "save-files", "", "write file blocks into this folder")
	fl.StringVar(&opts.ParamsFile, "params-file", "", "YAML or JSON file with an object of parameters")
	fl.BoolVar(&opts.Apply, "apply", false, "let mutating actions change the cluster (default: server-side dry run)")
	fl.StringVar(&opts.Monitoring.Prometheus, "prometheus-url", "", "Prometheus URL for Prometheus actions (default: found in the cluster and port-forwarded)")
	fl.StringVar(&opts.Monitoring.Alertmanager, "alertmanager-url", "", "Alertmanager URL (default: found in the cluster and port-forwarded)")
	fl.StringVar(&opts.Monitoring.Grafana, "grafana-url", "", "Grafana URL (default: found in the cluster and port-forwarded)")
	fl.StringVar(&opts.ImageRegistry, "image-registry", "", "registry of helper pod images, as the chart's image.registry (default robustadev)")
	fl.IntVar(&opts.Recurrence, "recurrence", 0, "run on a scheduled event of this run number, counted from 0 (for on_schedule actions such as config_ab_testing)")
	cmdutil.AddRunnerFlags(cmd, &rf)
	fl.DurationVar(&opts.HelperTimeout, "helper-timeout", 0, "how long a helper pod or Job may take before it is deleted (default: the runner's limit for the action, 6m for debugger pods)")
	_ = cmd.RegisterFlagCompletionFunc("kind", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"pod", "deployment", "job", "node", "daemonset", "statefulset", "replicaset", "service", "hpa", "pvc", "configmap", "event"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// Complete checks everything that needs no cluster: the action, params and flags.
// explicitNS is -n when given; defaultNS the kubeconfig's namespace.
func (o *RunOptions) Complete(explicitNS string, defaultNS func() string) error {
	if err := o.completeSteps(); err != nil {
		return err
	}
	if o.runnerOnly != nil {
		return o.runnerOnlyError(explicitNS, defaultNS)
	}
	var err error
	if o.target, err = o.Object.Target(); err != nil {
		return err
	}
	switch {
	case (o.Kind == "") != (o.Name == ""):
		return cli.UsageErrorf("--kind and --name go together: give both")
	case o.Kind != "" && o.target.Kind != "":
		return cli.UsageErrorf("give either --kind/--name or one of --pod, --deployment, --job and --node")
	case o.Kind != "":
		o.target = cmdutil.Target{Kind: o.Kind, Namespace: namespace(explicitNS, defaultNS), Name: o.Name}
	}
	if err := o.targetFromParams(namespace(explicitNS, defaultNS)); err != nil {
		return err
	}
	if err := o.completeAlertName(); err != nil {
		return err
	}
	if err := o.completeRecurrence(); err != nil {
		return err
	}
	if o.OldRevision != 0 {
		switch {
		case o.OldRevision < 0:
			return cli.UsageErrorf("--old-revision %d: revisions start at 1", o.OldRevision)
		case o.Old != "":
			return cli.UsageErrorf("give either --old FILE or --old-revision N")
		case !strings.EqualFold(o.target.Kind, "deployment") && !strings.EqualFold(o.target.Kind, "deployments") && !strings.EqualFold(o.target.Kind, "deploy"):
			return cli.UsageErrorf("--old-revision rebuilds a Deployment's old version: use it with --deployment NS/NAME")
		case o.Operation != "" && o.Operation != "update":
			return cli.UsageErrorf("--old-revision makes an update event: drop --operation %s", o.Operation)
		}
		o.Operation = "update"
	}
	switch o.Operation {
	case "":
		if o.Old != "" {
			o.Operation = "update"
		}
	case "update":
		if o.Old == "" && o.OldRevision == 0 {
			return cli.UsageErrorf("--operation update compares two versions: give the old one with --old FILE")
		}
	case "create":
		if o.Old != "" {
			return cli.UsageErrorf("--operation create has no old version: drop --old")
		}
	case "delete":
	default:
		return cli.UsageErrorf("--operation %q: use create, update or delete", o.Operation)
	}
	switch {
	case o.HelmRelease != "" && (o.Alert != "" || o.target.Kind != "" || o.Old != "" || o.Operation != "" || o.manual):
		return cli.UsageErrorf("--helm-release names its own release: drop the object flags, --alert, --old and --operation")
	case o.HelmRelease != "":
		var err error
		if o.releaseNS, o.releaseName, err = splitRelease(o.HelmRelease, explicitNS, defaultNS); err != nil {
			return err
		}
	case o.Alert != "" && o.synth != nil:
		return cli.UsageErrorf("give either --alert FILE or --alert-name NAME")
	case (o.Alert != "" || o.synth != nil) && (o.target.Kind != "" || o.Old != "" || o.Operation != ""):
		return cli.UsageErrorf("an alert names its own object: drop the object flags, --old and --operation")
	case o.manual && (o.Old != "" || o.Operation != ""):
		return cli.UsageErrorf("name=/namespace= make a manual-trigger event, which has no old version: use --pod (--deployment, ...) with --old")
	case o.manual:
	case o.synth != nil:
	case o.Alert == "" && o.target.Kind == "" && o.Old == "" && o.Operation == "" && needsNoObject(o.steps):
		// Actions on the base event (create_finding) run on no object, as the
		// runner's on_manual_trigger does.
	case o.Alert == "" && o.target.Kind == "":
		return cli.UsageErrorf("say which object the action runs on: --pod NS/NAME, --deployment NS/NAME, --job NS/NAME, --node NAME, --kind KIND --name NAME, or --alert FILE")
	}
	// Before the action runs: found missing while rendering, the files would be lost.
	return engine.CheckSaveDir(o.SaveDir)
}

// completeRecurrence checks --recurrence: a scheduled event has no object, so it goes
// with actions that need none only.
func (o *RunOptions) completeRecurrence() error {
	if !o.recurrenceSet {
		return nil
	}
	switch {
	case o.Recurrence < 0:
		return cli.UsageErrorf("--recurrence %d: runs are counted from 0 (the first run)", o.Recurrence)
	case o.Alert != "" || o.AlertName != "" || o.target.Kind != "" || o.Old != "" || o.Operation != "" || o.HelmRelease != "" || o.manual:
		return cli.UsageErrorf("--recurrence makes a scheduled event, which has no object: drop the object flags, --alert, --old and --helm-release")
	case !needsNoObject(o.steps):
		for _, s := range o.steps {
			if !isScheduledOrBase(s.Action.Event) {
				return cli.UsageErrorf("--recurrence makes a scheduled event, and %s takes a %s: use it with on_schedule actions such as config_ab_testing", s.Action.Name, s.Action.Event)
			}
		}
	}
	return nil
}

// completeAlertName builds the --alert-name alert: firing, its labels from --label.
func (o *RunOptions) completeAlertName() error {
	if o.AlertName == "" {
		if len(o.Labels) > 0 {
			return cli.UsageErrorf("--label gives labels of an --alert-name alert: add --alert-name NAME")
		}
		return nil
	}
	labels := map[string]string{}
	for _, l := range o.Labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return cli.UsageErrorf("--label %q: want key=value, e.g. --label pod=api-1", l)
		}
		labels[k] = v
	}
	if n, ok := labels["alertname"]; ok && n != o.AlertName {
		return cli.UsageErrorf("--label alertname=%s disagrees with --alert-name %s: drop the label", n, o.AlertName)
	}
	labels["alertname"] = o.AlertName
	o.synth = &engine.Alert{Status: "firing", Labels: labels, Annotations: map[string]string{}}
	return nil
}

func (o *RunOptions) completeSteps() error {
	if o.Playbook != "" {
		if o.Action != "" || o.ParamsFile != "" {
			return cli.UsageErrorf("--playbook holds the actions and their params: drop ACTION, key=value and --params-file")
		}
		b, err := fileio.ReadFile(o.Playbook, fileio.MaxConfig)
		if err != nil {
			return cli.UsageErrorf("--playbook: %v", err)
		}
		steps, err := engine.ParseSteps(b)
		if err != nil {
			if why := playbookActionProblem(b); why != "" {
				return cli.UsageErrorf("--playbook %s: %s", o.Playbook, why)
			}
			return cli.UsageErrorf("--playbook %s: %v", o.Playbook, err)
		}
		o.steps = steps
		return nil
	}
	if o.Action == "" {
		return cli.UsageErrorf("name an action (see robusta local actions), or give --playbook FILE")
	}
	a, ok := engine.Lookup(o.Action)
	if !ok {
		ca, err := actionargs.Lookup(o.Action, engine.Names()...)
		if err != nil {
			return cli.UsageErrorf("%v; see robusta local actions", err)
		}
		o.runnerOnly = ca
		return nil
	}
	params, err := playbooks.ParseParams(o.Args)
	if err != nil {
		return err
	}
	if err := playbooks.AddParamsFile(params, o.ParamsFile); err != nil {
		return err
	}
	o.steps = []engine.Step{{Action: a, Params: params}}
	return nil
}

// targetFromParams notes that the object comes from name/namespace (and kind) params,
// as in the runner's manual trigger, so a `playbooks trigger` command line runs locally
// unchanged. The event is built by engine.ManualEvent, the runner's rule, when the
// cluster is asked; here only the command line is checked. A missing namespace is
// taken from -n or the kubeconfig (ns).
func (o *RunOptions) targetFromParams(ns string) error {
	// An alert's object comes from its labels; name= and namespace= are then the
	// action's own params (alert_handling_job's Job name and namespace).
	if len(o.steps) != 1 || isScheduledOrBase(o.steps[0].Action.Event) || o.steps[0].Action.Event == engine.AlertEvent {
		return nil
	}
	params := o.steps[0].Params
	_, hasName := params["name"]
	_, hasNS := params["namespace"]
	if !hasName && !hasNS {
		return nil
	}
	if o.target.Kind != "" || o.Alert != "" {
		return cli.UsageErrorf("name=/namespace= and an object flag both name the object: give one of them")
	}
	if !hasNS {
		params["namespace"] = ns
	}
	o.manual = true
	return nil
}

// RunRun builds the event(s), runs the actions and prints each finding. Several
// events (a webhook body with several alerts) give several findings: one after the
// other as text, a list with -o json/yaml.
func RunRun(ctx context.Context, o *RunOptions) error {
	kf := o.Kube()
	events, err := o.events(ctx, kf)
	if err != nil {
		return err
	}
	limiter := engine.NewRateLimiter()
	// One port-forward per monitoring service for the whole run, opened on first use.
	conn := monitoring.NewConnector(kf, o.Monitoring)
	defer conn.Close()
	ctx = monitoring.WithConnector(ctx, conn)
	hp := helperpod.Options{ImageRegistry: o.ImageRegistry, Timeout: o.HelperTimeout}
	if o.IO.IsStderrTTY() {
		hp.Progress = o.IO.ErrOut
	}
	ctx = helperpod.WithOptions(ctx, hp)
	var findings []*engine.Finding
	for _, ev := range events {
		title := engine.StepNames(o.steps)
		if ev.Obj != nil {
			title += " on " + ev.Obj.GetName()
		}
		run := &engine.Run{Event: ev, Finding: engine.NewFinding(ev, title), KF: kf, Runner: o.Find, Apply: o.Apply, Limiter: limiter}
		ran, err := engine.RunChain(ctx, run, o.steps)
		if err != nil {
			var inc *engine.IncompatibleError
			var pe *engine.ParamsError
			if errors.As(err, &inc) || errors.As(err, &pe) {
				return cli.UsageErrorf("%v", err)
			}
			return fmt.Errorf("%s: %w", o.steps[ran].Action.Name, err)
		}
		if ran < len(o.steps) {
			run.Notes = append(run.Notes, fmt.Sprintf("%s stopped the playbook: %d of %d actions ran", o.steps[ran-1].Action.Name, ran, len(o.steps)))
		}
		run.Finding.SetFingerprint()
		for _, n := range run.Notes {
			fmt.Fprintf(o.IO.ErrOut, "%s %s\n", o.IO.StderrStyles().WarningIcon(), n)
		}
		findings = append(findings, run.Finding)
	}
	of := o.Output()
	if of.Structured() && len(findings) > 1 {
		return cli.PrintStructured(o.IO.Out, of, findings)
	}
	ro := engine.RenderOptions{SaveDir: o.SaveDir}
	if o.IO.IsStdoutTTY() {
		ro.Width = o.IO.TerminalWidth()
	}
	for i, f := range findings {
		if i > 0 {
			fmt.Fprintln(o.IO.Out)
		}
		if err := engine.Render(o.IO.Out, o.IO.Styles(), of, f, ro); err != nil {
			return err
		}
	}
	return nil
}

// namespace is -n when given, else the kubeconfig's namespace.
func namespace(explicitNS string, defaultNS func() string) string {
	if explicitNS != "" {
		return explicitNS
	}
	return defaultNS()
}

// needsNoObject reports whether every step takes the base event or a scheduled one.
func needsNoObject(steps []engine.Step) bool {
	for _, s := range steps {
		if !isScheduledOrBase(s.Action.Event) {
			return false
		}
	}
	return len(steps) > 0
}

// isScheduledOrBase: events of these classes carry no object (a scheduled event only
// its run number).
func isScheduledOrBase(class string) bool {
	return class == "ExecutionBaseEvent" || class == "ScheduledExecutionEvent"
}

func (o *RunOptions) events(ctx context.Context, kf *kube.Factory) ([]*engine.Event, error) {
	if o.manual {
		ev, rest, err := engine.ManualEvent(ctx, kf, o.steps[0].Action, o.steps[0].Params)
		var te *engine.TriggerError
		if errors.As(err, &te) {
			switch te.Code {
			case engine.CodeEventParams, engine.CodeNotManual:
				return nil, cli.UsageErrorf("%s", te.Msg)
			case engine.CodeEventNotBuilt, engine.CodeNotPermitted:
				return nil, errors.New(te.Msg)
			}
		}
		if err != nil {
			return nil, err
		}
		o.steps[0].Params = rest
		return []*engine.Event{ev}, nil
	}
	if o.HelmRelease != "" {
		ev, err := actions.HelmReleaseEvent(ctx, kf, o.releaseNS, o.releaseName)
		if err != nil {
			return nil, kf.Explain(err, "list", "secrets", o.releaseNS)
		}
		return []*engine.Event{ev}, nil
	}
	if o.Alert == "" && o.synth == nil && o.target.Kind == "" {
		// A scheduled event when asked for or needed (config_ab_testing): run 0, the
		// first, unless --recurrence says which.
		for _, s := range o.steps {
			if s.Action.Event == "ScheduledExecutionEvent" || o.recurrenceSet {
				return []*engine.Event{{Class: "ScheduledExecutionEvent", Recurrence: o.Recurrence}}, nil
			}
		}
		return []*engine.Event{{Class: "ExecutionBaseEvent"}}, nil
	}
	dyn, err := kf.Dynamic()
	if err != nil {
		return nil, kf.Explain(err, "", "", "")
	}
	if o.Alert != "" || o.synth != nil {
		alerts := []*engine.Alert{o.synth}
		if o.Alert != "" {
			if alerts, err = readAlerts(o.Alert); err != nil {
				return nil, err
			}
		}
		var out []*engine.Event
		for _, a := range alerts {
			ev, note, err := engine.ResolveAlert(ctx, dyn, a)
			if err != nil {
				_, kind, ns, _ := engine.AlertTarget(a)
				return nil, kf.Explain(err, "get", strings.ToLower(kind)+"s", ns)
			}
			if note != "" {
				fmt.Fprintf(o.IO.ErrOut, "%s alert %s: %s\n", o.IO.StderrStyles().WarningIcon(), a.Name(), note)
			}
			out = append(out, ev)
		}
		return out, nil
	}
	res, err := kf.ResolveKind(o.target.Kind)
	var unknown *kube.UnknownKindError
	if errors.As(err, &unknown) {
		return nil, cli.WithHint(err, "use --pod, --deployment, --job, --node or --kind with a kind the server has")
	}
	if err != nil {
		return nil, err
	}
	ns := o.target.Namespace
	if !res.Namespaced {
		ns = ""
	}
	var old *unstructured.Unstructured
	if o.Old != "" {
		if old, err = readObject(o.Old); err != nil {
			return nil, err
		}
		if k := old.GetKind(); k != "" && k != res.Kind {
			return nil, cli.UsageErrorf("--old %s holds a %s, but the object is a %s", o.Old, k, res.Kind)
		}
		if n := old.GetName(); n != "" && n != o.target.Name {
			return nil, cli.UsageErrorf("--old %s holds %s %s, not %s", o.Old, strings.ToLower(res.Kind), n, o.target.Name)
		}
	}
	if o.Operation == "delete" && old != nil {
		// A deleted object is gone from the cluster: the event carries its last version.
		return []*engine.Event{engine.ChangeEvent(res.Kind, "delete", nil, old)}, nil
	}
	obj, err := dyn.Resource(res.GVR).Namespace(ns).Get(ctx, o.target.Name, metav1.GetOptions{})
	if err != nil {
		return nil, kf.Explain(err, "get", res.GVR.Resource, ns)
	}
	if o.OldRevision > 0 {
		if old, err = actions.DeploymentAtRevision(ctx, kf, obj, o.OldRevision); err != nil {
			return nil, err
		}
	}
	if old != nil && old.GetKind() == "" {
		// A saved object without its type (client-go's typed Get leaves it out) is the
		// same kind: its missing type is not a change.
		old.SetAPIVersion(obj.GetAPIVersion())
		old.SetKind(obj.GetKind())
	}
	switch o.Operation {
	case "":
		return []*engine.Event{engine.ResourceEvent(res.Kind, obj)}, nil
	case "update":
		return []*engine.Event{engine.ChangeEvent(res.Kind, "update", old, obj)}, nil
	}
	return []*engine.Event{engine.ChangeEvent(res.Kind, o.Operation, nil, obj)}, nil
}

func readObject(path string) (*unstructured.Unstructured, error) {
	b, err := fileio.ReadFile(path, fileio.MaxInput)
	if err != nil {
		return nil, cli.UsageErrorf("--old: %v", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil || m == nil {
		return nil, cli.UsageErrorf("--old %s: not a YAML or JSON object", path)
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// readAlerts reads one alert, or the alerts of an Alertmanager webhook body.
func readAlerts(path string) ([]*engine.Alert, error) {
	b, err := fileio.ReadFile(path, fileio.MaxInput)
	if err != nil {
		return nil, cli.UsageErrorf("--alert: %v", err)
	}
	var body struct {
		Alerts []*engine.Alert `json:"alerts"`
		engine.Alert
	}
	if err := yaml.Unmarshal(b, &body); err != nil {
		return nil, cli.UsageErrorf("--alert %s: not a YAML or JSON alert: %v", path, cli.DecodeError(err))
	}
	alerts := body.Alerts
	if len(alerts) == 0 && len(body.Labels) > 0 {
		alerts = []*engine.Alert{&body.Alert}
	}
	if len(alerts) == 0 {
		return nil, cli.UsageErrorf("--alert %s: no alert in it (want an object with labels, or a webhook body with alerts)", path)
	}
	for _, a := range alerts {
		if a.Name() == "" {
			return nil, cli.UsageErrorf("--alert %s: an alert has no alertname label", path)
		}
	}
	return alerts, nil
}

// completeRunArgs completes `local run ACTION key=value ...`: for an action the engine
// implements, its keys are the engine's params (what local run accepts), else Robusta's.
func completeRunArgs(args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return actionargs.CompleteArgs(args, toComplete, engine.Names()...)
	}
	e, local := engine.Lookup(args[0])
	a, known := catalogue.LookupAction(args[0])
	if !local || !known {
		return actionargs.CompleteArgs(args, toComplete)
	}
	var params []catalogue.Param
	if e.NewParams != nil {
		for _, p := range engine.Params(e.NewParams()) {
			cp := catalogue.Param{Name: p.Name, Python: p.Type, Type: catalogue.Type{Kind: catalogue.String},
				Required: p.Required, Enum: p.Enum, Summary: p.Doc}
			if p.Type == "bool" {
				cp.Type.Kind = catalogue.Bool
			}
			params = append(params, cp)
		}
	}
	return actionargs.CompleteParams(a, params, args, toComplete)
}

// playbookActionProblem explains the first action of a --playbook file the engine does
// not implement: one only the runner runs (and why), or an unknown name with the
// nearest known one. "" when every action is the engine's or the file is not a list of
// actions (engine.ParseSteps says what is wrong then).
func playbookActionProblem(data []byte) string {
	var doc any
	if yaml.Unmarshal(data, &doc) != nil {
		return ""
	}
	if m, ok := doc.(map[string]any); ok {
		doc = m["actions"]
	}
	list, _ := doc.([]any)
	for i, item := range list {
		m, _ := item.(map[string]any)
		if len(m) != 1 {
			return ""
		}
		for name := range m {
			if _, ok := engine.Lookup(name); ok {
				continue
			}
			a, err := actionargs.Lookup(name, engine.Names()...)
			if err != nil {
				return fmt.Sprintf("action %d: %v; see robusta local actions", i+1, err)
			}
			msg := fmt.Sprintf("action %d: %s runs only in the in-cluster runner, not in robusta local run", i+1, a.Name)
			if a.Reason != "" {
				msg += ": " + a.Reason
			}
			return msg + "; a playbook holding it runs there (robusta local actions --local-only lists what runs here)"
		}
	}
	return ""
}

// splitRelease reads NAMESPACE/NAME, or NAME in the namespace of -n or the kubeconfig.
func splitRelease(s, explicitNS string, defaultNS func() string) (string, string, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		ns, name = namespace(explicitNS, defaultNS), s
	}
	if ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", cli.UsageErrorf("--helm-release %q: give NAMESPACE/NAME, e.g. --helm-release monitoring/robusta", s)
	}
	return ns, name, nil
}
