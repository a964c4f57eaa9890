package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/engine/serve"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// ServeOptions are the inputs of `local serve`.
type ServeOptions struct {
	IO     *cli.IOStreams
	Kube   func() *kube.Factory
	Listen string
	Apply  bool
}

// NewCmdServe builds `local serve`; runF replaces the run function in tests.
func NewCmdServe(f *cmdutil.Factory, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{IO: f.IOStreams, Kube: f.Kube}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the runner's HTTP API from the local engine",
		Long: `Serve the Robusta runner's HTTP API (/healthz, POST /api/trigger, POST
/api/playbooks/reload) from the local engine, against the current kubeconfig's
cluster: the same requests, replies and error codes as an in-cluster runner. Use it
to try a trigger or a script written for the runner API before the runner has it.
Mutating actions run as a server-side dry run unless --apply. Stops on Ctrl-C.`,
		Example: `  robusta local serve &
  curl -s localhost:5000/api/trigger -d '{"action_name": "pod_issue_investigator",
    "action_params": {"name": "web-1", "namespace": "prod"}, "sync_response": true}'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunServe(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "127.0.0.1:5000", "address to listen on (the runner's port is 5000)")
	cmd.Flags().BoolVar(&opts.Apply, "apply", false, "let mutating actions change the cluster (default: server-side dry run)")
	return cmd
}

// RunServe serves until ctx ends.
func RunServe(ctx context.Context, o *ServeOptions) error {
	kf := o.Kube()
	if _, err := kf.RESTConfig(); err != nil {
		return kf.Explain(err, "", "", "")
	}
	l, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return cli.WithHint(fmt.Errorf("listen on %s: %w", o.Listen, err), "pick another address with --listen")
	}
	srv := &http.Server{Handler: (&serve.Server{KF: kf, Apply: o.Apply, Log: o.IO.ErrOut}).Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(o.IO.ErrOut, "Serving the runner API of the local engine on http://%s (context %q); Ctrl-C stops\n", l.Addr(), kf.ContextName())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
