// Package trigger implements `robusta playbooks trigger ACTION [key=value ...]`.
package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"
	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/actionargs"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/localapi"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
)

// Options for `robusta playbooks trigger`.
type Options struct {
	IO          *cli.IOStreams
	Kube        func() *kube.Factory
	Output      func() cli.OutputFormat
	FindOptions func() kube.FindOptions

	Action     string
	Args       []string
	Object     cmdutil.ObjectFlags
	ParamsFile string
	Sinks      []string
	NoSinks    bool
	Sync       bool
	ShowLogs   bool
	SaveDir    string
	DryRun     bool
	Wait       time.Duration
	Timeout    time.Duration
	ReplyWait  time.Duration
	Runner     cmdutil.RunnerFlags
	Local      bool
	LocalURL   string
	Token      string
	NoCheck    bool
	Getenv     func(string) string

	request playbooks.TriggerRequest
}

// NewCmdTrigger builds the command; runF replaces the run function in tests.
func NewCmdTrigger(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Kube: f.Kube, Output: f.OutputFormat, Getenv: os.Getenv}
	opts.FindOptions = func() kube.FindOptions { return f.FindOptions(opts.Runner) }
	cmd := &cobra.Command{
		Use:   "trigger ACTION [key=value | key:=JSON ...]",
		Short: "Run a playbook action in the Robusta runner",
		Long: `Run a playbook action in the in-cluster Robusta runner, as Robusta's manual trigger does.

Parameters are key=value (split at the first '=', the value sent as a string) or
key:=JSON for a typed value. --pod, --deployment, --job and --node add the name and
namespace parameters the runner needs to build the event.

The request goes through a port-forward to the runner's port 5000 opened with
client-go: no kubectl, no shell, so quotes, $ and unicode in values arrive unchanged.

--local sends the request to 'robusta local serve' on this machine instead
(--local-url, default http://127.0.0.1:5000), with the token from --token,
$ROBUSTA_LOCAL_TOKEN or the file the server wrote
($XDG_CONFIG_HOME/robusta/local-serve.token). Through a port-forward the token is
sent only when given with --token or $ROBUSTA_LOCAL_TOKEN (a pod whose port
forwards to a local server); an in-cluster runner ignores it.

Before anything is contacted, the action and its params are checked against Robusta's
catalogue: the action's name, each param's name and type, the required params and the
event params (name, namespace) the runner builds the event from. --no-check sends them
unchecked, for actions from your own playbook repositories.`,
		Example: `  robusta playbooks trigger pod_bash_enricher --pod default/web-1 bash_command="ps aux"
  robusta playbooks trigger logs_enricher --pod prod/api-7d9 tail:=100 --sync
  robusta playbooks trigger my_action names:='["a","b"]' --sinks main_slack_sink
  robusta playbooks trigger node_running_pods_enricher --node worker-1 --dry-run
  robusta playbooks trigger --local pod_issue_investigator --pod prod/api-7d9 --sync`,
		Args: cmdutil.MinimumArgs(1, "the name of an action"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return actionargs.CompleteArgs(args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Action, opts.Args = args[0], args[1:]
			if opts.Local && cmd.Flags().Changed("show-logs") && opts.ShowLogs {
				return cli.UsageErrorf("--show-logs reads the runner pod's logs; with --local the server prints its log on its own terminal: drop --show-logs")
			}
			if !cmd.Flags().Changed("show-logs") {
				opts.ShowLogs = opts.IO.IsStderrTTY() && !opts.Local
			}
			if cmd.Flags().Changed("local-url") && !opts.Local {
				return cli.UsageErrorf("--local-url is where --local sends the request: add --local")
			}
			if err := opts.Complete(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runTrigger(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	opts.Object.Add(f, cmd, "runs on")
	fl.StringVar(&opts.ParamsFile, "params-file", "", "YAML or JSON file with an object of parameters")
	fl.StringSliceVar(&opts.Sinks, "sinks", nil, "send findings only to these sinks (comma-separated)")
	fl.BoolVar(&opts.NoSinks, "no-sinks", false, "send findings to no sink")
	fl.BoolVar(&opts.Sync, "sync", false, "wait for the findings and print them")
	fl.StringVar(&opts.SaveDir, "save-files", "", "with --sync: write the findings' file blocks (logs, YAML, ...) into this folder")
	fl.BoolVar(&opts.ShowLogs, "show-logs", false, "print the runner's log lines from the request afterwards (default: on when stderr is a terminal)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the request and an equivalent kubectl+curl pair; send nothing")
	fl.DurationVar(&opts.Wait, "wait", 20*time.Second, "how long to wait for a runner that is starting")
	fl.DurationVar(&opts.Timeout, "timeout", 30*time.Second, "how long to keep trying to reach the runner's HTTP server")
	fl.DurationVar(&opts.ReplyWait, "reply-timeout", 5*time.Minute, "how long to wait for the runner's reply once the request is sent")
	fl.BoolVar(&opts.Local, "local", false, "send the request to robusta local serve on this machine, not to the runner")
	fl.StringVar(&opts.LocalURL, "local-url", "http://127.0.0.1:5000", "with --local: the address of robusta local serve")
	fl.BoolVar(&opts.NoCheck, "no-check", false, "send the action and params unchecked (an action from your own playbook repository)")
	fl.StringVar(&opts.Token, "token", "", "bearer token for robusta local serve (default: $"+localapi.TokenEnv+", with --local its token file); a flag shows in the process list, prefer the variable")
	cmdutil.AddRunnerFlags(cmd, &opts.Runner)
	return cmd
}

// Complete builds the request from the arguments and flags; every mistake is a usage
// error, found before anything is contacted.
func (o *Options) Complete() error {
	if strings.TrimSpace(o.Action) == "" || strings.ContainsAny(o.Action, "= \t\n") {
		return cli.UsageErrorf("%q is not an action name: the first argument is the action, then key=value parameters", o.Action)
	}
	params, err := playbooks.ParseParams(o.Args)
	if err != nil {
		return err
	}
	objParams, err := o.objectParams()
	if err != nil {
		return err
	}
	if err := playbooks.MergeParams(params, objParams, "an object flag (--pod/--deployment/--job/--node)", "the command line"); err != nil {
		return err
	}
	if err := playbooks.AddParamsFile(params, o.ParamsFile); err != nil {
		return err
	}
	if o.SaveDir != "" && !o.Sync {
		return cli.UsageErrorf("--save-files saves the findings --sync brings back: add --sync")
	}
	// Checked before the action runs: a missing folder found afterwards loses the files.
	if err := engine.CheckSaveDir(o.SaveDir); err != nil {
		return err
	}
	if o.Local {
		u, err := url.Parse(o.LocalURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return cli.UsageErrorf("--local-url %q is not a server address: use http://HOST:PORT (default http://127.0.0.1:5000)", o.LocalURL)
		}
	}
	if o.NoSinks && len(o.Sinks) > 0 {
		return cli.UsageErrorf("--sinks and --no-sinks contradict each other: use one")
	}
	for _, s := range o.Sinks {
		if strings.TrimSpace(s) == "" {
			return cli.UsageErrorf("--sinks has an empty sink name")
		}
	}
	// Last, so a mistake in the flags is told first; still before anything is contacted.
	if !o.NoCheck {
		if err := o.check(params); err != nil {
			return err
		}
	}
	o.request = playbooks.TriggerRequest{ActionName: o.Action, ActionParams: params,
		Sinks: o.Sinks, NoSinks: o.NoSinks, SyncResponse: o.Sync}
	return nil
}

// objectParams are the name and namespace params the runner's manual trigger takes.
func (o *Options) objectParams() (map[string]any, error) {
	t, err := o.Object.Target()
	if err != nil || t.Kind == "" {
		return map[string]any{}, err
	}
	out := map[string]any{"name": t.Name}
	if t.Namespace != "" {
		out["namespace"] = t.Namespace
	}
	return out, nil
}

func runTrigger(ctx context.Context, o *Options) error {
	body, err := o.request.Body()
	if err != nil {
		return err
	}
	if o.Local {
		return triggerLocal(ctx, o, body)
	}
	kf := o.Kube()
	sp := o.IO.StartSpinner("Looking for the Robusta runner")
	pod, err := kf.WaitForRunner(ctx, o.FindOptions(), o.Wait, func(e error) {
		sp.SetMessage("Waiting for the runner: " + e.Error())
	})
	sp.Stop()
	if err != nil {
		return err
	}
	if o.DryRun {
		return printDryRun(o, pod, body)
	}

	start := time.Now()
	sp = o.IO.StartSpinner(fmt.Sprintf("Triggering %s on %s", o.Action, pod.Ref()))
	resp, err := triggerOnce(ctx, kf, *pod, o)
	sp.Stop()
	if o.ShowLogs {
		defer showLogs(ctx, o, kf, pod, start)
	}
	return report(o, resp, err, "runner "+pod.Ref())
}

// triggerLocal sends the request to `robusta local serve` directly.
func triggerLocal(ctx context.Context, o *Options, body []byte) error {
	base := strings.TrimRight(o.LocalURL, "/")
	if o.DryRun {
		return printLocalDryRun(o, base, body)
	}
	token, err := o.token(true)
	if err != nil {
		return err
	}
	client := playbooks.NewClient(base, o.Timeout)
	client.ReplyTimeout, client.Token = o.ReplyWait, token
	sp := o.IO.StartSpinner(fmt.Sprintf("Triggering %s on the local server %s", o.Action, base))
	resp, err := client.Trigger(ctx, o.request)
	sp.Stop()
	if err != nil && resp == nil && !errors.As(err, new(*playbooks.OutcomeUnknownError)) {
		err = cli.WithHint(err, "is robusta local serve running there? (--local-url)")
	}
	return report(o, resp, err, "the local server "+base)
}

// token is the bearer token to send (localapi.ClientToken).
func (o *Options) token(fromFile bool) (string, error) {
	return localapi.ClientToken(o.Token, o.Getenv, fromFile)
}

// report prints the reply: structured as it came, or the findings as text.
func report(o *Options, resp *playbooks.Response, err error, target string) error {
	if resp != nil && o.Output().Structured() {
		if perr := cli.PrintStructured(o.IO.Out, o.Output(), resp.Raw); perr != nil {
			return perr
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("trigger %s: %w", o.Action, err)
	}
	st := o.IO.Styles()
	fmt.Fprintf(o.IO.Out, "%s Triggered %s on %s\n", st.SuccessIcon(), st.Bold(o.Action), target)
	if o.Sync {
		if len(resp.Findings) == 0 {
			fmt.Fprintln(o.IO.Out, "No findings.")
			return nil
		}
		ro := engine.RenderOptions{SaveDir: o.SaveDir}
		if o.IO.IsStdoutTTY() {
			ro.Width = o.IO.TerminalWidth()
		}
		for _, raw := range resp.Findings {
			fmt.Fprintln(o.IO.Out)
			if err := engine.Render(o.IO.Out, st, o.Output(), engine.FromPlatform(raw), ro); err != nil {
				return err
			}
		}
	}
	return nil
}

func triggerOnce(ctx context.Context, kf *kube.Factory, pod kube.RunnerPod, o *Options) (*playbooks.Response, error) {
	token, err := o.token(false)
	if err != nil {
		return nil, err
	}
	sess, err := playbooks.Connect(ctx, kf, pod, o.Timeout)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	sess.Client.ReplyTimeout = o.ReplyWait
	sess.Client.Token = token
	return sess.Client.Trigger(ctx, o.request)
}

func showLogs(ctx context.Context, o *Options, kf *kube.Factory, pod *kube.RunnerPod, since time.Time) {
	st := o.IO.StderrStyles()
	fmt.Fprintf(o.IO.ErrOut, "\n%s\n", st.Muted(fmt.Sprintf("── runner logs since the request (%s) ──", pod.Ref())))
	var out io.Writer = o.IO.ErrOut
	if o.IO.IsStderrTTY() {
		out = cli.PrintableWriter{W: out}
	}
	err := kf.StreamLogs(ctx, pod.Namespace, pod.Name, kube.LogOptions{Container: kube.RunnerContainer,
		SinceTime: since.Add(-time.Second), Tail: -1}, out)
	if err != nil {
		fmt.Fprintf(o.IO.ErrOut, "%s could not read the runner's logs: %v\n", st.WarningIcon(), err)
	}
	fmt.Fprintln(o.IO.ErrOut, st.Muted("── end of runner logs ──"))
}

func printDryRun(o *Options, pod *kube.RunnerPod, body []byte) error {
	if of := o.Output(); of.Structured() {
		var req any
		_ = json.Unmarshal(body, &req)
		return cli.PrintStructured(o.IO.Out, of, map[string]any{
			"runner": pod.Ref(), "port": kube.RunnerPort, "path": "/api/trigger", "body": req})
	}
	fmt.Fprintf(o.IO.Out, "Runner:  %s (port %d)\nRequest: POST /api/trigger\n%s\n\nThe same by hand:\n", pod.Ref(), kube.RunnerPort, body)
	fmt.Fprintf(o.IO.Out, "  kubectl port-forward -n %s pod/%s 5000:%d &\n", pod.Namespace, pod.Name, kube.RunnerPort)
	fmt.Fprintf(o.IO.Out, "  curl -sS -X POST http://127.0.0.1:5000/api/trigger -H 'Content-Type: application/json' -d %s\n", shellescape.Quote(string(body)))
	return nil
}

func printLocalDryRun(o *Options, base string, body []byte) error {
	if of := o.Output(); of.Structured() {
		var req any
		_ = json.Unmarshal(body, &req)
		return cli.PrintStructured(o.IO.Out, of, map[string]any{"url": base + "/api/trigger", "body": req})
	}
	tokenRef := "$" + localapi.TokenEnv
	if o.Token == "" && o.Getenv(localapi.TokenEnv) == "" {
		if p, err := localapi.TokenPath(o.Getenv); err == nil {
			tokenRef = "$(cat " + shellescape.Quote(p) + ")"
		}
	}
	fmt.Fprintf(o.IO.Out, "Server:  %s (robusta local serve)\nRequest: POST /api/trigger\n%s\n\nThe same by hand:\n", base, body)
	fmt.Fprintf(o.IO.Out, "  curl -sS -X POST %s/api/trigger -H 'Content-Type: application/json' -H \"Authorization: Bearer %s\" -d %s\n", base, tokenRef, shellescape.Quote(string(body)))
	return nil
}
