// Package dev implements `robusta playbooks dev DIR`: the inner loop of a playbook
// author. It pushes the repository, and on every save pushes it again when its content
// changed, reloads the runner, shows what the runner logged about it and can trigger
// an action after each reload.
package dev

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
)

// Options for `robusta playbooks dev`.
type Options struct {
	IO *cli.IOStreams
	F  *cmdutil.Factory

	Dir         string
	Name        string
	Runner      cmdutil.RunnerFlags
	StoragePath string
	Trigger     string
	Params      []string
	Debounce    time.Duration
	LogWait     time.Duration
}

// NewCmdDev builds `robusta playbooks dev DIR [k=v ...]`.
func NewCmdDev(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, F: f}
	cmd := &cobra.Command{
		Use:   "dev DIR [k=v ...]",
		Short: "Push a playbook repository on every save, reload the runner and show what it logged",
		Long: `The edit-push-reload loop for playbook authors.

DIR is checked (as validate-repo does) and pushed to the runner's storage (as push does:
only changed files sent, swapped in atomically). Then every change under DIR (debounced,
--debounce) is looked at: when the content of the repository (paths, modes and file
contents) is the same as the last push, nothing is sent; otherwise it is pushed again.
After each push the runner is asked to reload its playbooks, and the lines of its log
about the repository are shown, with import errors highlighted. With --trigger ACTION
the action runs after each reload, with the k=v (or k:=JSON) params given after DIR.

A change that does not validate, or a push that fails, is reported and the last good
push stays live. Ctrl-C stops watching and leaves the last good push in place.`,
		Example: `  robusta playbooks dev ./my_playbooks
  robusta playbooks dev ./my_playbooks --trigger my_action name=web-1 namespace=prod`,
		Args: cmdutil.MinimumArgs(1, "the repository folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir, opts.Params = args[0], args[1:]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDev(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "folder name in the storage (default: the repository folder's name)")
	cmdutil.AddRunnerFlags(cmd, &opts.Runner)
	cmd.Flags().StringVar(&opts.StoragePath, "storage-path", playbooks.DefaultStoragePath, "the playbook storage folder in the runner container")
	cmd.Flags().StringVar(&opts.Trigger, "trigger", "", "run this action in the runner after each reload (params as k=v after DIR)")
	cmd.Flags().DurationVar(&opts.Debounce, "debounce", 300*time.Millisecond, "wait this long after the last change before looking at the tree")
	cmd.Flags().DurationVar(&opts.LogWait, "log-wait", 2*time.Second, "how long to follow the runner's log after each reload")
	return cmd
}

func runDev(ctx context.Context, o *Options) error {
	if len(o.Params) > 0 && o.Trigger == "" {
		return cli.UsageErrorf("params %s given without --trigger ACTION: they are the trigger's params", cli.Quote(o.Params[0]))
	}
	params, err := playbooks.ParseParams(o.Params)
	if err != nil {
		return err
	}
	if o.Debounce <= 0 {
		return cli.UsageErrorf("--debounce %s: must be positive", o.Debounce)
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return cli.UsageErrorf("%s is not a folder: pass the playbook repository's folder", cli.Quote(o.Dir))
	}
	name := o.Name
	if name == "" {
		name = filepath.Base(abs)
	}
	if err := playbooks.CheckName(name); err != nil {
		return cli.WithHint(err, "pass --name NAME")
	}
	storage, err := playbooks.ValidateStoragePath(o.StoragePath)
	if err != nil {
		return err
	}
	kf := o.F.Kube()
	// The runner must be there before watching starts: nothing to do without it.
	if _, err := kf.FindRunner(ctx, o.F.FindOptions(o.Runner)); err != nil {
		return err
	}
	l := &loop{io: o.IO, kf: kf, find: o.F.FindOptions(o.Runner), dir: abs, name: name, storage: storage,
		trigger: o.Trigger, params: params, logWait: o.LogWait}
	defer l.close()

	changes, err := watchTree(ctx, abs, o.Debounce, func(format string, a ...any) {
		fmt.Fprintf(o.IO.ErrOut, "%s %s\n", o.IO.StderrStyles().WarningIcon(), fmt.Sprintf(format, a...))
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "Watching %s (Ctrl-C to stop)\n", abs)
	l.cycle(ctx)
	for {
		select {
		case <-ctx.Done():
			l.stopped()
			return nil
		case <-changes:
			l.cycle(ctx)
		}
	}
}
