// Package cmdutil holds what commands are built from: the Factory of injected
// dependencies and small helpers for cobra argument checks.
package cmdutil

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/robusta-dev/robusta-go/internal/build"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/config"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// Factory is handed to every NewCmdX. Its fields are filled before RunE runs: IOStreams
// at start, Settings by the root command once flags are parsed.
type Factory struct {
	IOStreams *cli.IOStreams
	Settings  *config.Settings

	kubeMu sync.Mutex // Kube may be called from concurrent requests (local serve)
	kube   *kube.Factory
}

// New returns a factory on the given streams with default settings.
func New(io *cli.IOStreams) *Factory {
	return &Factory{IOStreams: io, Settings: &config.Settings{Output: "text", RequestTimeout: config.DefaultRequestTimeout}}
}

// Kube returns the Kubernetes client factory for the resolved global flags.
func (f *Factory) Kube() *kube.Factory {
	f.kubeMu.Lock()
	defer f.kubeMu.Unlock()
	if f.kube == nil {
		s := f.Settings
		opts := kube.Options{
			Kubeconfig:     s.Kubeconfig,
			Paths:          kube.DefaultKubeconfigPaths(os.Getenv),
			Context:        s.Context,
			Namespace:      s.Namespace,
			RequestTimeout: s.RequestTimeout,
			UserAgent:      "robusta-cli/" + build.Version,
		}
		if s.Verbose {
			opts.RequestLog = f.IOStreams.ErrOut
		}
		f.kube = kube.NewFactory(opts)
	}
	return f.kube
}

// OutputFormat is the resolved -o value (validated by the root command).
func (f *Factory) OutputFormat() cli.OutputFormat {
	of, err := cli.ParseOutputFormat(f.Settings.Output)
	if err != nil {
		return cli.OutputText
	}
	return of
}

// NoArgs is cobra.NoArgs returning a usage error.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return cli.UsageErrorf("%q takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// ExactArgs is cobra.ExactArgs returning a usage error that names what is expected.
func ExactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return cli.UsageErrorf("%q needs %s (got %d argument(s)); see %s --help", cmd.CommandPath(), what, len(args), cmd.CommandPath())
		}
		return nil
	}
}

// MinimumArgs returns a usage error when fewer than n args are given.
func MinimumArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return cli.UsageErrorf("%q needs %s; see %s --help", cmd.CommandPath(), what, cmd.CommandPath())
		}
		return nil
	}
}

// Pluralize returns "1 pod" or "2 pods".
func Pluralize(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// RunnerFlags locate the runner for commands that talk to it.
type RunnerFlags struct {
	RunnerPod string
}

// AddRunnerFlags registers --runner-pod on cmd.
func AddRunnerFlags(cmd *cobra.Command, r *RunnerFlags) {
	cmd.Flags().StringVar(&r.RunnerPod, "runner-pod", "", "use this runner pod (NAMESPACE/POD) instead of searching for it")
}

// FindOptions combines the runner flags with the global namespace.
func (f *Factory) FindOptions(r RunnerFlags) kube.FindOptions {
	return kube.FindOptions{RunnerPod: r.RunnerPod, Namespace: f.Settings.Namespace}
}

// CheckNegativeDurations refuses a negative value given to any duration flag of cmd
// (--timeout -5s, --request-timeout -1s): a timeout that has passed before the command
// starts is never what the user meant. Flags left at their default are not checked.
func CheckNegativeDurations(cmd *cobra.Command) error {
	var err error
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if err != nil || fl.Value.Type() != "duration" {
			return
		}
		if d, perr := time.ParseDuration(fl.Value.String()); perr == nil && d < 0 {
			err = cli.UsageErrorf("--%s %s: must not be negative", fl.Name, fl.Value.String())
		}
	})
	return err
}

// ParseDuration accepts Go durations (90s, 5m, 1h30m) and a bare number of seconds.
func ParseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}
