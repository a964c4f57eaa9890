package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/engine/serve"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/localapi"
)

// ServeOptions are the inputs of `local serve`.
type ServeOptions struct {
	IO     *cli.IOStreams
	Kube   func() *kube.Factory
	Getenv func(string) string

	Listen    string
	Apply     bool
	AllowExec bool
	NoAuth    bool
	ListenAny bool
}

// NewCmdServe builds `local serve`; runF replaces the run function in tests.
func NewCmdServe(f *cmdutil.Factory, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{IO: f.IOStreams, Kube: f.Kube, Getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the runner's HTTP API from the local engine",
		Long: `Serve the Robusta runner's HTTP API (/healthz, POST /api/trigger, POST
/api/playbooks/reload) from the local engine, against the current kubeconfig's
cluster: the same requests, replies and error codes as an in-cluster runner. Use it
to try a trigger or a script written for the runner API before the runner has it.
Mutating actions run as a server-side dry run unless --apply. Stops on Ctrl-C.

The server acts with your cluster credentials, so it only answers requests that
carry its token ("Authorization: Bearer TOKEN"), have Content-Type
application/json, come from no other web origin and name localhost, a loopback
address or the listen address as their Host. The token is new at every start,
printed once and written (mode 0600) to $XDG_CONFIG_HOME/robusta/local-serve.token,
which 'robusta playbooks trigger --local' reads; it is removed on exit.
Actions that run commands in pods (pod_bash_enricher, pod_ps) need --allow-exec.
GET /healthz answers without a token and says nothing but OK.`,
		Example: `  robusta local serve &
  robusta playbooks trigger --local pod_issue_investigator --pod prod/web-1 --sync
  curl -s localhost:5000/api/trigger -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $(cat ~/.config/robusta/local-serve.token)" \
    -d '{"action_name": "pod_issue_investigator",
    "action_params": {"name": "web-1", "namespace": "prod"}, "sync_response": true}'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Complete(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunServe(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Listen, "listen", "127.0.0.1:5000", "address to listen on (the runner's port is 5000)")
	fl.BoolVar(&opts.Apply, "apply", false, "let mutating actions change the cluster (default: server-side dry run)")
	fl.BoolVar(&opts.AllowExec, "allow-exec", false, "let actions that run commands in pods (pod_bash_enricher, pod_ps) run")
	fl.BoolVar(&opts.NoAuth, "no-auth", false, "accept requests without the token (any local process or user can then use your credentials)")
	fl.BoolVar(&opts.ListenAny, "listen-any", false, "allow --listen on an address other machines can reach (the token is then required)")
	return cmd
}

// Complete checks the flags before anything listens.
func (o *ServeOptions) Complete() error {
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		return cli.UsageErrorf("--listen %q is not HOST:PORT (for example 127.0.0.1:5000)", o.Listen)
	}
	if localapi.IsLoopback(o.Listen) {
		return nil
	}
	if !o.ListenAny {
		return cli.UsageErrorf("--listen %s accepts connections from other machines, which could then act with your cluster credentials: listen on 127.0.0.1, or add --listen-any if that is what you want", o.Listen)
	}
	if o.NoAuth {
		return cli.UsageErrorf("--no-auth on %s would let any machine that reaches it act with your cluster credentials: drop --no-auth (callers send the token)", o.Listen)
	}
	return nil
}

// RunServe serves until ctx ends.
func RunServe(ctx context.Context, o *ServeOptions) error {
	kf := o.Kube()
	if _, err := kf.RESTConfig(); err != nil {
		return kf.Explain(err, "", "", "")
	}
	srv := &serve.Server{KF: kf, Apply: o.Apply, AllowExec: o.AllowExec, Log: o.IO.ErrOut}
	return o.serve(ctx, func(g localapi.Guard) http.Handler { srv.Guard = g; return srv.Handler() }, "local engine")
}

// serve listens, makes the handler with a guard holding a new token (unless
// --no-auth) and serves until ctx ends; what names the server in the start-up line.
func (o *ServeOptions) serve(ctx context.Context, handler func(localapi.Guard) http.Handler, what string) error {
	kf := o.Kube()
	l, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return cli.WithHint(fmt.Errorf("listen on %s: %w", o.Listen, err), "pick another address with --listen")
	}
	defer l.Close()
	st := o.IO.StderrStyles()
	guard := localapi.Guard{Listen: l.Addr().String()}
	var tokenPath string
	if o.NoAuth {
		fmt.Fprintf(o.IO.ErrOut, "%s %s\n", st.WarningIcon(), st.Warning("WARNING: --no-auth: any process or user on this machine can use this server, and through it your cluster credentials"))
	} else {
		if guard.Token, err = localapi.NewToken(); err != nil {
			return err
		}
		if tokenPath, err = localapi.TokenPath(o.Getenv); err != nil {
			return err
		}
		if err := localapi.WriteToken(tokenPath, guard.Token); err != nil {
			return err
		}
		defer func() {
			if err := localapi.RemoveToken(tokenPath, guard.Token); err != nil {
				fmt.Fprintf(o.IO.ErrOut, "%s could not remove the token file: %v\n", st.WarningIcon(), err)
			}
		}()
	}
	if !localapi.IsLoopback(o.Listen) {
		fmt.Fprintf(o.IO.ErrOut, "%s %s\n", st.WarningIcon(), st.Warning("WARNING: listening on "+l.Addr().String()+": other machines can reach this server (they need the token)"))
	}
	srv := &http.Server{Handler: handler(guard), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(o.IO.ErrOut, "Serving the runner API of the %s on http://%s (context %q); Ctrl-C stops\n", what, l.Addr(), kf.ContextName())
	if tokenPath != "" {
		fmt.Fprintf(o.IO.ErrOut, "Token (send as \"Authorization: Bearer TOKEN\"; also in %s until the server stops):\n  %s\n", tokenPath, guard.Token)
	}
	if !o.AllowExec {
		fmt.Fprintln(o.IO.ErrOut, "Actions that run commands in pods (pod_bash_enricher, pod_ps) are refused: start with --allow-exec to allow them")
	}
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
