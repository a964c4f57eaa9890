// Package demo implements `robusta demo` (a crash-looping demo Deployment) and
// `robusta demo-alert` (a test alert sent to the cluster's Alertmanager).
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/demo"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// Options for `robusta demo`.
type Options struct {
	IO   *cli.IOStreams
	Kube func() *kube.Factory

	NoWait  bool
	Timeout time.Duration
	Cleanup bool
	Delete  bool
	// Poll is how often the pod's state is read while waiting.
	Poll time.Duration
}

// cleanupWait bounds the wait for the demo's pods to go after --cleanup or --delete.
const cleanupWait = 60 * time.Second

// interruptCleanup bounds the deletion after Ctrl-C: the root command ends the process
// 5 s after the signal, whatever the command is doing.
const interruptCleanup = 4 * time.Second

// NewCmdDemo builds `robusta demo`.
func NewCmdDemo(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Kube: f.Kube, Poll: time.Second}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Deploy a crash-looping pod to see Robusta's crash report in your sinks",
		Long: `Deploy the demo Deployment "crashpod" (one busybox container that exits at once, so
Kubernetes keeps restarting it) into the current namespace, wait until it
crash-loops and say what Robusta sends about it.

The manifest is built into robusta: nothing is downloaded. Ctrl-C while waiting
removes what this run created. Remove the demo later with robusta demo --delete.`,
		Example: `  robusta demo                 # deploy, wait for the crash loop, leave it running
  robusta demo --cleanup       # deploy, wait, then remove it
  robusta demo --no-wait -n dev
  robusta demo --delete`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Delete && (opts.Cleanup || opts.NoWait) {
				return cli.UsageErrorf("--delete removes the demo and cannot be combined with --cleanup or --no-wait")
			}
			if opts.Cleanup && opts.NoWait {
				return cli.UsageErrorf("--cleanup waits for the crash loop before removing the demo; it cannot be combined with --no-wait")
			}
			if opts.Timeout <= 0 {
				return cli.UsageErrorf("--timeout must be positive, got %s", opts.Timeout)
			}
			if runF != nil {
				return runF(opts)
			}
			return runDemo(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.NoWait, "no-wait", false, "deploy and return without waiting for the crash loop")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 3*time.Minute, "how long to wait for the crash loop")
	cmd.Flags().BoolVar(&opts.Cleanup, "cleanup", false, "remove the demo once it has crash-looped")
	cmd.Flags().BoolVar(&opts.Delete, "delete", false, "remove a demo deployed earlier and exit")
	return cmd
}

func runDemo(ctx context.Context, opts *Options) error {
	kf := opts.Kube()
	cs, err := kf.Clientset()
	if err != nil {
		return kf.Explain(err, "", "", "")
	}
	ns := kf.Namespace()
	out, st := opts.IO.Out, opts.IO.Styles()
	ref := ns + "/" + demo.Name

	if opts.Delete {
		return deleteDemo(ctx, opts, kf, ns)
	}

	created, err := demo.Create(ctx, cs, ns)
	if err != nil {
		if ctx.Err() != nil {
			// Ctrl-C during the create: it may have reached the server all the same.
			removeAfterInterrupt(opts, kf, ns)
			return ctx.Err()
		}
		var no *demo.NotOursError
		if errors.As(err, &no) {
			return cli.WithHint(no, "pick another namespace with -n NAMESPACE")
		}
		return kf.Explain(err, "create", "deployments", ns)
	}
	if created {
		fmt.Fprintf(out, "%s Deployed deployment %s (a container that exits at once)\n", st.SuccessIcon(), ref)
	} else {
		fmt.Fprintf(out, "%s Deployment %s is already there (from an earlier robusta demo); using it\n", st.SuccessIcon(), ref)
	}
	if opts.NoWait {
		fmt.Fprintf(out, "Not waiting. Watch it with: kubectl get pods -n %s -l %s\n", ns, demo.Selector)
		fmt.Fprintf(out, "Remove it with: robusta demo --delete -n %s\n", ns)
		return nil
	}

	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	sp := opts.IO.StartSpinner("waiting for " + ref + " to crash-loop")
	state, err := demo.WaitCrashLoop(wctx, cs, ns, opts.Poll, func(s demo.PodState) {
		sp.SetMessage(fmt.Sprintf("waiting for %s to crash-loop: pod %s %s", ref, s.Pod, describe(s)))
	})
	sp.Stop()
	if err != nil {
		if ctx.Err() != nil {
			if created {
				removeAfterInterrupt(opts, kf, ns)
			} else {
				fmt.Fprintf(opts.IO.ErrOut, "Deployment %s was there before this run and is left in place; remove it with robusta demo --delete -n %s\n", ref, ns)
			}
			return ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			seen := "no pod yet"
			if state.Pod != "" {
				seen = "pod " + state.Pod + " " + describe(state)
			}
			timedOut := fmt.Errorf("deployment %s did not crash-loop within %s (%s)", ref, opts.Timeout, seen)
			if opts.Cleanup {
				// --cleanup promises nothing is left, also when the wait fails.
				if derr := deleteDemo(ctx, opts, kf, ns); derr != nil {
					return fmt.Errorf("%w; removing it failed too: %v", timedOut, derr)
				}
				return cli.WithHint(timedOut, "wait longer with --timeout")
			}
			return cli.WithHint(timedOut,
				fmt.Sprintf("wait longer with --timeout, check the pod with kubectl describe pod -n %s -l %s, remove it with robusta demo --delete", ns, demo.Selector))
		}
		return kf.Explain(err, "list", "pods", ns)
	}
	fmt.Fprintf(out, "%s Pod %s/%s is crash-looping (%s)\n", st.SuccessIcon(), ns, state.Pod, describe(state))
	printWhatToLookFor(opts, ns, state)

	if opts.Cleanup {
		return deleteDemo(ctx, opts, kf, ns)
	}
	fmt.Fprintf(out, "\nRemove the demo with: robusta demo --delete -n %s\n", ns)
	return nil
}

func describe(s demo.PodState) string {
	what := string(s.Phase)
	if s.Reason != "" {
		what = s.Reason
	}
	if what == "" {
		what = "starting"
	}
	return fmt.Sprintf("%s, %s", what, cmdutil.Pluralize(int(s.Restarts), "restart"))
}

func printWhatToLookFor(opts *Options, ns string, s demo.PodState) {
	out, st := opts.IO.Out, opts.IO.Styles()
	fmt.Fprintln(out)
	fmt.Fprintln(out, st.Bold("What to look for in your sinks (Slack, MS Teams, the Robusta UI, ...):"))
	fmt.Fprintf(out, "  - a crash report for pod %s in namespace %s: its container crashpod is in CrashLoopBackOff,\n", s.Pod, ns)
	fmt.Fprintln(out, "    with the logs of its last run (\"going to crash. This is the crash log\")")
	fmt.Fprintln(out, "  - Robusta's default playbook sends it once the pod has restarted twice (on_pod_crash_loop with")
	fmt.Fprintln(out, "    report_crash_loop), at most once every 4 hours for the same Deployment")
	fmt.Fprintln(out, "  - nothing arrives? check the runner: robusta logs")
}

func deleteDemo(ctx context.Context, opts *Options, kf *kube.Factory, ns string) error {
	cs, err := kf.Clientset()
	if err != nil {
		return kf.Explain(err, "", "", "")
	}
	ref := ns + "/" + demo.Name
	sp := opts.IO.StartSpinner("removing " + ref)
	err = demo.Delete(ctx, cs, ns, cleanupWait)
	sp.Stop()
	var no *demo.NotOursError
	switch {
	case err == nil:
		fmt.Fprintf(opts.IO.Out, "%s Removed deployment %s and its pods\n", opts.IO.Styles().SuccessIcon(), ref)
		return nil
	case errors.Is(err, demo.ErrNotDeployed):
		return cli.WithHint(fmt.Errorf("no demo to remove: deployment %s does not exist", ref),
			"the demo is in the namespace it was deployed to: pass it with -n NAMESPACE")
	case errors.As(err, &no):
		return no
	case errors.Is(err, demo.ErrStillThere):
		return fmt.Errorf("deployment %s: %w after %s; check with kubectl get all -n %s -l %s", ref, err, cleanupWait, ns, demo.Selector)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return kf.Explain(err, "delete", "deployments", ns)
}

// removeAfterInterrupt deletes what this run created, with a context of its own: the
// command's context is already cancelled by the signal.
func removeAfterInterrupt(opts *Options, kf *kube.Factory, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), interruptCleanup)
	defer cancel()
	cs, err := kf.Clientset()
	if err == nil {
		err = demo.Delete(ctx, cs, ns, interruptCleanup-time.Second)
	}
	ref := ns + "/" + demo.Name
	switch {
	case err == nil:
		fmt.Fprintf(opts.IO.ErrOut, "Interrupted: removed deployment %s\n", ref)
	case errors.Is(err, demo.ErrNotDeployed):
		fmt.Fprintf(opts.IO.ErrOut, "Interrupted: deployment %s was not created, nothing left behind\n", ref)
	case errors.Is(err, demo.ErrStillThere):
		fmt.Fprintf(opts.IO.ErrOut, "Interrupted: deployment %s deleted, its pods are going away\n", ref)
	default:
		fmt.Fprintf(opts.IO.ErrOut, "Interrupted: could not remove deployment %s (%v); remove it with robusta demo --delete -n %s\n", ref, err, ns)
	}
}
