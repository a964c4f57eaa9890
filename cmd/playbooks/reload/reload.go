// Package reload implements `robusta playbooks reload`.
package reload

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/localapi"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
)

// Options for `robusta playbooks reload`.
type Options struct {
	IO          *cli.IOStreams
	Kube        func() *kube.Factory
	Output      func() cli.OutputFormat
	FindOptions func() kube.FindOptions

	Timeout time.Duration
	Runner  cmdutil.RunnerFlags
	// Token is sent as a bearer token (--token, else $ROBUSTA_LOCAL_TOKEN): what
	// `robusta local serve` behind a runner-shaped pod asks for; a real runner ignores it.
	Token  string
	Getenv func(string) string
}

// NewCmdReload builds the command.
func NewCmdReload(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Kube: f.Kube, Output: f.OutputFormat, Getenv: os.Getenv}
	opts.FindOptions = func() kube.FindOptions { return f.FindOptions(opts.Runner) }
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Ask the runner to reload its playbooks configuration",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runReload(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 30*time.Second, "how long to keep trying to reach the runner's HTTP server")
	cmd.Flags().StringVar(&opts.Token, "token", "", "bearer token for robusta local serve (default: $"+localapi.TokenEnv+")")
	cmdutil.AddRunnerFlags(cmd, &opts.Runner)
	return cmd
}

func runReload(ctx context.Context, o *Options) error {
	token, err := localapi.ClientToken(o.Token, o.Getenv, false)
	if err != nil {
		return err
	}
	kf := o.Kube()
	pod, err := kf.FindRunner(ctx, o.FindOptions())
	if err != nil {
		return err
	}
	sp := o.IO.StartSpinner("Reloading playbooks on " + pod.Ref())
	sess, err := playbooks.Connect(ctx, kf, *pod, o.Timeout)
	var resp *playbooks.Response
	if err == nil {
		sess.Client.Token = token
		resp, err = sess.Client.Reload(ctx)
		sess.Close()
	}
	sp.Stop()
	if resp != nil && o.Output().Structured() {
		if perr := cli.PrintStructured(o.IO.Out, o.Output(), resp.Raw); perr != nil {
			return perr
		}
	}
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if !o.Output().Structured() {
		fmt.Fprintf(o.IO.Out, "%s Playbooks reloaded on runner %s\n", o.IO.Styles().SuccessIcon(), pod.Ref())
	}
	return nil
}
