// Package root assembles the robusta command tree and runs it.
package root

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/cmd/clusterinfo"
	"github.com/robusta-dev/robusta-go/cmd/completion"
	"github.com/robusta-dev/robusta-go/cmd/genconfig"
	"github.com/robusta-dev/robusta-go/cmd/local"
	"github.com/robusta-dev/robusta-go/cmd/logs"
	"github.com/robusta-dev/robusta-go/cmd/playbooks"
	"github.com/robusta-dev/robusta-go/cmd/version"
	"github.com/robusta-dev/robusta-go/internal/build"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/config"
)

// NewCmdRoot builds the whole command tree on f.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "robusta",
		Short: "Robusta from the command line: configure, trigger and ship playbooks",
		Long: `robusta works with Robusta, the Kubernetes troubleshooting and alerting platform.

It generates Helm values, talks to the in-cluster runner without kubectl, ships
playbook repositories to the runner and runs actions locally against your cluster.`,
		Version:       build.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			s, err := config.Load(cmd.Flags())
			if err != nil {
				return &cli.UsageError{Err: err}
			}
			if _, err := cli.ParseOutputFormat(s.Output); err != nil {
				return err
			}
			f.Settings = s
			if s.NoColor {
				f.IOStreams.SetColorDisabled(true)
			}
			return nil
		},
	}
	cmd.SetVersionTemplate("robusta {{.Version}}\n")
	config.AddGlobalFlags(cmd.PersistentFlags())
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return cli.WithHint(&cli.UsageError{Err: err}, "see "+c.CommandPath()+" --help")
	})
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetIn(f.IOStreams.In)

	cmd.AddCommand(version.NewCmdVersion(f, nil))
	cmd.AddCommand(completion.NewCmdCompletion(f))
	cmd.AddCommand(clusterinfo.NewCmdClusterInfo(f, nil))
	cmd.AddCommand(playbooks.NewCmdPlaybooks(f))
	cmd.AddCommand(logs.NewCmdLogs(f, nil))
	cmd.AddCommand(genconfig.NewCmdGenConfig(f, nil))
	cmd.AddCommand(local.NewCmdLocal(f))
	return cmd
}

// Main runs robusta with os.Args and returns the exit code.
func Main() int {
	ios := cli.System()
	f := cmdutil.New(ios)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Execute(ctx, f, os.Args[1:])
}

// Execute runs the command tree with args and reports errors on f's stderr.
func Execute(ctx context.Context, f *cmdutil.Factory, args []string) int {
	cmd := NewCmdRoot(f)
	cmd.SetArgs(args)
	_, err := cmd.ExecuteContextC(ctx)
	if err == nil {
		return cli.ExitOK
	}
	if isCobraUsageError(err) {
		err = cli.WithHint(&cli.UsageError{Err: err}, "see robusta --help")
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// Ctrl-C: the user knows; say nothing more than a short note.
		cli.PrintError(f.IOStreams.ErrOut, f.IOStreams.StderrStyles(), errors.New("interrupted"))
		return cli.ExitAborted
	}
	cli.PrintError(f.IOStreams.ErrOut, f.IOStreams.StderrStyles(), err)
	return cli.ExitCode(err)
}

// cobra reports unknown commands and some argument errors as plain errors.
func isCobraUsageError(err error) bool {
	var ue *cli.UsageError
	if errors.As(err, &ue) {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "invalid argument", "accepts ", "requires at least", "flag needs an argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
