// Package logs implements `robusta logs`: the runner's logs through the API server.
package logs

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// Options for `robusta logs`.
type Options struct {
	IO          *cli.IOStreams
	Kube        func() *kube.Factory
	FindOptions func() kube.FindOptions

	Follow       bool
	Since        string
	Tail         int64
	Previous     bool
	Timestamps   bool
	ResourceName string
	Container    string
	Runner       cmdutil.RunnerFlags

	logOpts kube.LogOptions
}

// NewCmdLogs builds the command.
func NewCmdLogs(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Kube: f.Kube}
	opts.FindOptions = func() kube.FindOptions { return f.FindOptions(opts.Runner) }
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Print the Robusta runner's logs",
		Long: `Print the logs of the Robusta runner (found in any namespace), or of another pod or
deployment with --resource-name. -f follows them until Ctrl-C.`,
		Example: `  robusta logs --tail 100
  robusta logs -f --since 5m
  robusta logs --previous
  robusta logs -n robusta --resource-name robusta-forwarder`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Complete(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runLogs(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new lines until Ctrl-C")
	fl.StringVar(&opts.Since, "since", "", "only lines newer than this (e.g. 30s, 5m, 2h)")
	fl.Int64Var(&opts.Tail, "tail", -1, "only the last N lines (default: all)")
	fl.BoolVar(&opts.Previous, "previous", false, "the logs of the previous container (after a restart)")
	fl.BoolVar(&opts.Timestamps, "timestamps", false, "prefix each line with its timestamp")
	fl.StringVar(&opts.ResourceName, "resource-name", "", "a pod or deployment to read instead of the runner")
	fl.StringVarP(&opts.Container, "container", "c", "", "container name (default: runner for the runner pod)")
	cmdutil.AddRunnerFlags(cmd, &opts.Runner)
	return cmd
}

// Complete checks the flags.
func (o *Options) Complete() error {
	o.logOpts = kube.LogOptions{Follow: o.Follow, Tail: o.Tail, Previous: o.Previous, Timestamps: o.Timestamps, Container: o.Container}
	if o.Since != "" {
		d, err := cmdutil.ParseDuration(o.Since)
		if err != nil || d <= 0 {
			return cli.UsageErrorf("--since %q: use a positive duration such as 30s, 5m or 2h", o.Since)
		}
		o.logOpts.Since = d
	}
	if o.Tail < -1 {
		return cli.UsageErrorf("--tail %d: use a number of lines, or -1 for all", o.Tail)
	}
	if o.ResourceName != "" && o.Runner.RunnerPod != "" {
		return cli.UsageErrorf("--resource-name and --runner-pod both name a pod: use one")
	}
	return nil
}

func runLogs(ctx context.Context, o *Options) error {
	kf := o.Kube()
	ns, pod, container, err := o.target(ctx, kf)
	if err != nil {
		return err
	}
	lo := o.logOpts
	if lo.Container == "" {
		lo.Container = container
	}
	out := o.IO.Out
	if o.IO.IsStdoutTTY() {
		// On a terminal, a log line's escape sequences are shown, not obeyed; piped
		// output keeps the bytes.
		out = cli.PrintableWriter{W: out}
	}
	return kf.StreamLogs(ctx, ns, pod, lo, out)
}

// target picks the pod: the runner (even when not ready: that is when its logs
// matter most), or --resource-name in the runner's namespace.
func (o *Options) target(ctx context.Context, kf *kube.Factory) (ns, pod, container string, err error) {
	fo := o.FindOptions()
	if o.ResourceName != "" {
		ns = fo.Namespace
		if ns == "" {
			pods, _, lerr := kf.ListRunners(ctx, fo)
			if lerr == nil && len(pods) > 0 {
				ns = pods[0].Namespace
			} else {
				ns = kf.KubeconfigNamespace()
			}
		}
		pod, err = kf.ResolvePod(ctx, ns, o.ResourceName)
		return ns, pod, "", err
	}
	r, err := kf.FindRunner(ctx, fo)
	var nr *kube.NotReadyError
	if errors.As(err, &nr) && len(nr.Pods) > 0 {
		p := nr.Pods[0]
		fmt.Fprintf(o.IO.ErrOut, "%s runner %s is %s; showing its logs anyway\n", o.IO.StderrStyles().WarningIcon(), p.Ref(), p.State)
		return p.Namespace, p.Name, kube.RunnerContainer, nil
	}
	if err != nil {
		return "", "", "", err
	}
	return r.Namespace, r.Name, kube.RunnerContainer, nil
}
