package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

// Names the Robusta Helm chart gives the runner (see ROBUSTA.md).
const (
	RunnerLabelKey   = "robustaComponent"
	RunnerLabelValue = "runner"
	RunnerSelector   = RunnerLabelKey + "=" + RunnerLabelValue
	RunnerContainer  = "runner"
	RunnerPort       = 5000
	// DefaultRelease is the Helm release name the docs use.
	DefaultRelease = "robusta"
)

// RunnerPod is a runner pod found in the cluster.
type RunnerPod struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Ready     bool      `json:"ready"`
	State     string    `json:"state"`
	Node      string    `json:"node,omitempty"`
	Created   time.Time `json:"created"`
}

// Ref is "namespace/name".
func (r RunnerPod) Ref() string { return r.Namespace + "/" + r.Name }

// FindOptions say where to look for the runner.
type FindOptions struct {
	// RunnerPod is "NS/NAME" from --runner-pod: no discovery.
	RunnerPod string
	// Namespace is the explicit namespace (flag, env or config); empty searches.
	Namespace string
}

// Search records what discovery looked at, for error messages.
type Search struct {
	Where string      // "all namespaces", `namespace "robusta"`, ...
	Pods  []RunnerPod // every runner pod seen (ready or not)
}

// NoRunnerError means no runner pod exists where we looked.
type NoRunnerError struct{ Where string }

func (e *NoRunnerError) Error() string {
	return fmt.Sprintf("no Robusta runner found in %s (looked for pods labelled %s)", e.Where, RunnerSelector)
}

// NotReadyError means runner pods exist but none is ready.
type NotReadyError struct{ Pods []RunnerPod }

func (e *NotReadyError) Error() string {
	parts := make([]string, len(e.Pods))
	for i, p := range e.Pods {
		parts[i] = fmt.Sprintf("%s is %s", p.Ref(), p.State)
	}
	return "the Robusta runner is not ready: " + strings.Join(parts, "; ")
}

// SeveralRunnersError means runners of more than one install were found.
type SeveralRunnersError struct{ Pods []RunnerPod }

func (e *SeveralRunnersError) Error() string {
	refs := make([]string, len(e.Pods))
	for i, p := range e.Pods {
		refs[i] = p.Ref()
	}
	return "found Robusta runners in several namespaces: " + strings.Join(refs, ", ")
}

// FindRunner locates the one runner pod to talk to. Order: --runner-pod, then the
// explicit namespace, then all namespaces; if listing all namespaces is forbidden, the
// kubeconfig's namespace and the namespaces holding a Helm release named "robusta".
// It never picks among several installs silently.
func (f *Factory) FindRunner(ctx context.Context, opts FindOptions) (*RunnerPod, error) {
	pods, search, err := f.ListRunners(ctx, opts)
	if err != nil {
		return nil, err
	}
	return pickRunner(pods, search)
}

// WaitForRunner is FindRunner that keeps trying while the runner exists but is not
// ready, until timeout. onWait is called with the not-ready error each time it waits.
func (f *Factory) WaitForRunner(ctx context.Context, opts FindOptions, timeout time.Duration, onWait func(error)) (*RunnerPod, error) {
	deadline := time.Now().Add(timeout)
	var r *RunnerPod
	var err error
	pollErr := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		r, err = f.FindRunner(ctx, opts)
		var nr *NotReadyError
		if err == nil || !errors.As(err, &nr) || time.Now().After(deadline) {
			if err != nil && errors.As(err, &nr) && timeout > 0 {
				err = fmt.Errorf("%w (waited %s)", err, timeout.Round(time.Second))
			}
			return true, nil
		}
		if onWait != nil {
			onWait(err)
		}
		return false, nil
	})
	if pollErr != nil {
		return nil, pollErr
	}
	return r, err
}

// ListRunners returns every runner pod where opts say to look, and what was searched.
func (f *Factory) ListRunners(ctx context.Context, opts FindOptions) ([]RunnerPod, *Search, error) {
	cs, err := f.Clientset()
	if err != nil {
		return nil, nil, f.Explain(err, "", "", "")
	}
	if opts.RunnerPod != "" {
		ns, name, ok := strings.Cut(opts.RunnerPod, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return nil, nil, cli.UsageErrorf("--runner-pod %q: use NAMESPACE/POD", opts.RunnerPod)
		}
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil, fmt.Errorf("runner pod %s not found", opts.RunnerPod)
			}
			return nil, nil, f.Explain(err, "get", "pods", ns)
		}
		rp := toRunnerPod(p)
		return []RunnerPod{rp}, &Search{Where: "pod " + opts.RunnerPod, Pods: []RunnerPod{rp}}, nil
	}
	if opts.Namespace != "" {
		pods, err := listRunnerPods(ctx, f, opts.Namespace)
		if err != nil {
			return nil, nil, err
		}
		return pods, &Search{Where: fmt.Sprintf("namespace %q", opts.Namespace), Pods: pods}, nil
	}

	pods, err := listRunnerPods(ctx, f, metav1.NamespaceAll)
	if err == nil {
		return pods, &Search{Where: "all namespaces", Pods: pods}, nil
	}
	if !isForbidden(err) {
		return nil, nil, err
	}
	// Not allowed to list pods cluster-wide: look where the runner usually is.
	namespaces := f.fallbackNamespaces(ctx)
	var all []RunnerPod
	var searched, denied []string
	for _, ns := range namespaces {
		p, err := listRunnerPods(ctx, f, ns)
		if err != nil {
			if isForbidden(err) {
				denied = append(denied, ns)
				continue
			}
			return nil, nil, err
		}
		searched = append(searched, ns)
		all = append(all, p...)
	}
	where := "namespaces " + strings.Join(quoteAll(searched), ", ") + " (listing pods in all namespaces is forbidden"
	if len(searched) == 0 {
		where = "no namespace (listing pods is forbidden"
	}
	if len(denied) > 0 {
		where += "; also forbidden in " + strings.Join(quoteAll(denied), ", ")
	}
	where += ")"
	if len(searched) == 0 {
		return nil, nil, cli.WithHint(fmt.Errorf("cannot look for the Robusta runner: %s", strings.TrimPrefix(where, "no namespace ")),
			"pass --namespace NS (or --runner-pod NS/NAME) where you may list pods")
	}
	return all, &Search{Where: where, Pods: all}, nil
}

func isForbidden(err error) bool {
	return apierrors.IsForbidden(err) || strings.HasPrefix(err.Error(), "forbidden:")
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// fallbackNamespaces: the kubeconfig's namespace, namespaces holding a Helm release
// named "robusta" (if secrets may be listed), and "robusta", the documented default.
func (f *Factory) fallbackNamespaces(ctx context.Context) []string {
	seen := map[string]bool{}
	var out []string
	add := func(ns string) {
		if ns != "" && !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	add(f.KubeconfigNamespace())
	if cs, err := f.Clientset(); err == nil {
		// Helm stores releases as Secrets labelled owner=helm,name=<release>.
		sec, err := cs.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
			LabelSelector: "owner=helm,name=" + DefaultRelease})
		if err == nil {
			for _, s := range sec.Items {
				add(s.Namespace)
			}
		}
	}
	add(DefaultRelease)
	return out
}

func listRunnerPods(ctx context.Context, f *Factory, namespace string) ([]RunnerPod, error) {
	cs, err := f.Clientset()
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: RunnerSelector})
	if err != nil {
		return nil, f.Explain(err, "list", "pods", namespace)
	}
	var out []RunnerPod
	for i := range list.Items {
		p := &list.Items[i]
		if p.DeletionTimestamp != nil {
			continue // on its way out; its replacement is what matters
		}
		out = append(out, toRunnerPod(p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref() < out[j].Ref() })
	return out, nil
}

func pickRunner(pods []RunnerPod, search *Search) (*RunnerPod, error) {
	if len(pods) == 0 {
		return nil, cli.WithHint(&NoRunnerError{Where: search.Where},
			"is Robusta installed in this cluster (context)? If it runs under another label or namespace, pass --namespace NS or --runner-pod NS/NAME")
	}
	namespaces := map[string]bool{}
	for _, p := range pods {
		namespaces[p.Namespace] = true
	}
	if len(namespaces) > 1 {
		return nil, cli.WithHint(&SeveralRunnersError{Pods: pods}, "pick one install with --namespace NS")
	}
	// One install; during a rollout it may have two pods: take the newest ready one.
	var best *RunnerPod
	for i := range pods {
		p := &pods[i]
		if p.Ready && (best == nil || p.Created.After(best.Created)) {
			best = p
		}
	}
	if best == nil {
		return nil, cli.WithHint(&NotReadyError{Pods: pods},
			fmt.Sprintf("check it with: robusta logs -n %s, or kubectl describe pod -n %s %s", pods[0].Namespace, pods[0].Namespace, pods[0].Name))
	}
	return best, nil
}

func toRunnerPod(p *corev1.Pod) RunnerPod {
	rp := RunnerPod{Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName, Created: p.CreationTimestamp.Time}
	rp.Ready, rp.State = podState(p)
	return rp
}

// podState says in a few words why a pod is or is not ready, the way kubectl's STATUS
// column does: CrashLoopBackOff, ImagePullBackOff, Pending (unscheduled), ...
func podState(p *corev1.Pod) (bool, string) {
	if p.DeletionTimestamp != nil {
		return false, "Terminating"
	}
	ready := false
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != RunnerContainer && len(p.Status.ContainerStatuses) > 1 {
			continue
		}
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			s := cs.State.Waiting.Reason
			if cs.RestartCount > 0 {
				s += fmt.Sprintf(" (%d restarts)", cs.RestartCount)
			}
			return false, s
		case cs.State.Terminated != nil:
			return false, "Terminated: " + cs.State.Terminated.Reason
		case cs.State.Running != nil && !cs.Ready:
			return false, "Running, not ready"
		}
	}
	if p.Status.Phase == corev1.PodRunning && ready {
		return true, "Running"
	}
	if p.Status.Phase == corev1.PodPending {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return false, "Pending (unschedulable: " + c.Message + ")"
			}
		}
		return false, "Pending"
	}
	if p.Status.Phase == "" {
		return false, "Pending"
	}
	return ready, string(p.Status.Phase)
}
