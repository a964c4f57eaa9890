// Package doctor implements `robusta doctor`: one report on everything robusta and
// the Robusta runner depend on, with the fix for each problem.
package doctor

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/build"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/doctor"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

// Options for `robusta doctor`.
type Options struct {
	IO     *cli.IOStreams
	F      *cmdutil.Factory
	Output func() cli.OutputFormat

	Runner      cmdutil.RunnerFlags
	StoragePath string
	Timeout     time.Duration
	ActionsFrom []string
}

// NewCmdDoctor builds the command.
func NewCmdDoctor(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, F: f, Output: f.OutputFormat}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the cluster, your rights and the Robusta install, with a fix for each problem",
		Long: `Check, one line each, what robusta and the Robusta runner depend on:

  kubeconfig and API server   loaded, reachable, round-trip time
  RBAC                        each right robusta's commands need (SelfSubjectAccessReview),
                              and which commands a missing one affects
  runner                      found, ready, restarts; /healthz through a port-forward;
                              runner image vs the chart's appVersion vs this CLI
  config Secret               parses and passes the checks of 'playbooks validate'
  storage PVC                 present and Bound when playbookRepos point at the storage
  playbookRepos               each local entry present in the runner
  Helm release                deployed, not stuck in pending-*
  sinks                       at least one configured
  Prometheus, Alertmanager    found by the runner's label selectors or globalConfig

Green is fine, yellow works with limits, red is broken. Independent checks run in
parallel, each within --timeout. Exit code 1 when any check is red.`,
		Example: `  robusta doctor
  robusta doctor -n monitoring -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDoctor(cmd.Context(), opts)
		},
	}
	cmdutil.AddRunnerFlags(cmd, &opts.Runner)
	cmd.Flags().StringVar(&opts.StoragePath, "storage-path", playbooks.DefaultStoragePath, "the playbook storage folder in the runner container")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 15*time.Second, "time each check may take")
	cmd.Flags().StringArrayVar(&opts.ActionsFrom, "actions-from", nil, "also know the actions of this playbook repository when validating the config (repeatable)")
	return cmd
}

func runDoctor(ctx context.Context, o *Options) error {
	if o.Timeout <= 0 {
		return cli.UsageErrorf("--timeout %s: must be positive", o.Timeout)
	}
	storage, err := playbooks.ValidateStoragePath(o.StoragePath)
	if err != nil {
		return err
	}
	var known *pbconfig.Known
	for _, dir := range o.ActionsFrom {
		k, err := pbconfig.LoadActions(dir)
		if err != nil {
			return cli.UsageErrorf("--actions-from: %v", err)
		}
		if known == nil {
			known = k
			continue
		}
		// A later repository wins, as a later playbook package does in the runner.
		for n, a := range k.Actions {
			known.Actions[n] = a
		}
		for n, m := range k.Models {
			known.Models[n] = m
		}
		for n, src := range k.Sources {
			known.Sources[n] = src
		}
	}
	rep := doctor.Run(ctx, doctor.Options{KF: o.F.Kube(), Find: o.F.FindOptions(o.Runner), StoragePath: storage,
		Timeout: o.Timeout, CLIVersion: build.Version, Known: known})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if of := o.Output(); of.Structured() {
		if err := cli.PrintStructured(o.IO.Out, of, rep); err != nil {
			return err
		}
	} else {
		printReport(o.IO.Out, o.IO.Styles(), rep)
	}
	if rep.Failed() {
		return fmt.Errorf("%s red: see the fixes above", cmdutil.Pluralize(rep.Summary.Red, "check"))
	}
	return nil
}

func printReport(w io.Writer, s *cli.Styles, rep *doctor.Report) {
	if rep.Context != "" {
		fmt.Fprintf(w, "Context %s, server %s", s.Bold(cli.Printable(rep.Context)), cli.Printable(rep.Server))
		if rep.Runner != "" {
			fmt.Fprintf(w, ", runner %s", cli.Printable(rep.Runner))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
	}
	width := 0
	for _, c := range rep.Checks {
		width = max(width, len(c.Name))
	}
	for _, c := range rep.Checks {
		icon := s.Muted("-")
		switch c.Status {
		case doctor.Green:
			icon = s.SuccessIcon()
		case doctor.Yellow:
			icon = s.WarningIcon()
		case doctor.Red:
			icon = s.FailureIcon()
		}
		msg := cli.Printable(c.Message)
		if c.Status == doctor.Skipped {
			msg = s.Muted(msg)
		}
		fmt.Fprintf(w, "%s %-*s  %s\n", icon, width, c.Name, msg)
		pad := fmt.Sprintf("  %-*s  ", width, "")
		for _, d := range c.Details {
			fmt.Fprintf(w, "%s%s\n", pad, s.Muted(cli.Printable(d)))
		}
		if c.Fix != "" && (c.Status == doctor.Red || c.Status == doctor.Yellow) {
			fmt.Fprintf(w, "%s%s %s\n", pad, s.Bold("fix:"), cli.Printable(c.Fix))
		}
	}
	sum := rep.Summary
	fmt.Fprintf(w, "\n%s, %s, %s", s.Success(fmt.Sprintf("%d green", sum.Green)), s.Warning(fmt.Sprintf("%d yellow", sum.Yellow)), s.Error(fmt.Sprintf("%d red", sum.Red)))
	if sum.Skipped > 0 {
		fmt.Fprintf(w, ", %d skipped", sum.Skipped)
	}
	fmt.Fprintln(w)
}
