// Package root assembles the robusta command tree and runs it.
package root

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/cmd/auth"
	"github.com/robusta-dev/robusta-go/cmd/clusterinfo"
	"github.com/robusta-dev/robusta-go/cmd/completion"
	"github.com/robusta-dev/robusta-go/cmd/demo"
	"github.com/robusta-dev/robusta-go/cmd/doctor"
	"github.com/robusta-dev/robusta-go/cmd/genconfig"
	"github.com/robusta-dev/robusta-go/cmd/integrations"
	"github.com/robusta-dev/robusta-go/cmd/local"
	"github.com/robusta-dev/robusta-go/cmd/logs"
	"github.com/robusta-dev/robusta-go/cmd/playbooks"
	"github.com/robusta-dev/robusta-go/cmd/selfhost"
	"github.com/robusta-dev/robusta-go/cmd/version"
	"github.com/robusta-dev/robusta-go/internal/build"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/config"
	"github.com/robusta-dev/robusta-go/internal/fileio"
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
			fileio.SetMax(s.MaxFileSize)
			return cmdutil.CheckNegativeDurations(cmd)
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
	cmd.AddCommand(selfhost.NewCmdSelfHost(f, nil))
	cmd.AddCommand(integrations.NewCmdIntegrations(f))
	cmd.AddCommand(auth.NewCmdAuth(f))
	cmd.AddCommand(demo.NewCmdDemo(f, nil))
	cmd.AddCommand(demo.NewCmdDemoAlert(f, nil))
	cmd.AddCommand(doctor.NewCmdDoctor(f, nil))
	return cmd
}

// Main runs robusta with os.Args and returns the exit code.
func Main() int {
	ios := cli.System()
	f := cmdutil.New(ios)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go exitAfterGrace(ctx, stop, done, ios.ErrOut)
	code := Execute(ctx, f, os.Args[1:])
	close(done)
	return code
}

// interruptGrace is how long a command has to wind down after Ctrl-C or SIGTERM.
const interruptGrace = 5 * time.Second

// exitAfterGrace ends the process when the command has not returned interruptGrace
// after the signal: a read that cannot see the context (a prompt waiting on the
// terminal) must not keep it alive. A second signal ends it at once: after the first,
// the default handlers are back.
func exitAfterGrace(ctx context.Context, stop func(), done <-chan struct{}, stderr io.Writer) {
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	stop()
	select {
	case <-done:
	case <-time.After(interruptGrace):
		fmt.Fprintln(stderr, "Error: interrupted")
		os.Exit(cli.ExitAborted)
	}
}

// Execute runs the command tree with args and reports errors on f's stderr.
func Execute(ctx context.Context, f *cmdutil.Factory, args []string) int {
	cmd := NewCmdRoot(f)
	if isKubectlPlugin(os.Args[0]) {
		// Run by kubectl (krew installs the binary as kubectl-robusta): help and usage
		// lines show the command as typed.
		cmd.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl robusta"}
	}
	cmd.SetArgs(args)
	start := time.Now()
	err := unknownSubcommand(cmd, args)
	if err == nil {
		_, err = cmd.ExecuteContextC(ctx)
	}
	if f.Settings.Verbose {
		fmt.Fprintf(f.IOStreams.ErrOut, "robusta: finished in %s\n", time.Since(start).Round(time.Millisecond))
	}
	if err == nil {
		return cli.ExitOK
	}
	if isCobraUsageError(err) {
		err = cli.WithHint(&cli.UsageError{Err: errors.New(shortenQuoted(err.Error()))}, "see robusta --help")
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// Ctrl-C: the user knows; say nothing more than a short note.
		cli.PrintError(f.IOStreams.ErrOut, f.IOStreams.StderrStyles(), errors.New("interrupted"))
		return cli.ExitAborted
	}
	cli.PrintError(f.IOStreams.ErrOut, f.IOStreams.StderrStyles(), err)
	return cli.ExitCode(err)
}

// isKubectlPlugin says whether the binary was started under its kubectl plugin name.
func isKubectlPlugin(argv0 string) bool {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	return base == "kubectl-robusta"
}

// unknownSubcommand catches `robusta playbooks nope`: cobra checks the words after a
// command group only at the root, and elsewhere prints the group's help and exits 0.
func unknownSubcommand(root *cobra.Command, args []string) error {
	c, rest, err := root.Find(args)
	if err != nil || c == root || c.Runnable() || !c.HasSubCommands() {
		return nil
	}
	// A group has only the global flags, all scalars: parsing them here is harmless.
	if err := c.ParseFlags(rest); err != nil {
		return nil
	}
	words := c.Flags().Args()
	if len(words) == 0 || words[0] == "help" {
		return nil
	}
	msg := fmt.Sprintf("unknown command %s for %s", cli.Quote(words[0]), c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, set only on the root
	}
	if s := c.SuggestionsFor(words[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return cli.WithHint(&cli.UsageError{Err: errors.New(msg)}, "see "+c.CommandPath()+" --help")
}

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// shortenQuoted cuts each quoted piece of user input in a cobra message (unknown
// command "...", invalid argument "...") to cli.MaxQuoted characters.
func shortenQuoted(msg string) string {
	return quoted.ReplaceAllStringFunc(msg, func(q string) string {
		s, err := strconv.Unquote(q)
		if err != nil {
			return q
		}
		return cli.Quote(s)
	})
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
