package cmdutil

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/config"
)

// ObjectFlags are --pod, --deployment, --job and --node: the object an action runs on,
// shared by `playbooks trigger` and `local run` so one command line works for both.
type ObjectFlags struct {
	Pod, Deployment, Job, Node string
}

// Target is the object the flags name.
type Target struct {
	Kind      string // Pod, Deployment, Job or Node; empty when no flag was given
	Namespace string
	Name      string
}

// Add registers the flags on cmd, with completion of names from the cluster.
func (o *ObjectFlags) Add(f *Factory, cmd *cobra.Command, verb string) {
	fl := cmd.Flags()
	fl.StringVar(&o.Pod, "pod", "", "the pod the action "+verb+" (NAMESPACE/NAME)")
	fl.StringVar(&o.Deployment, "deployment", "", "the deployment the action "+verb+" (NAMESPACE/NAME)")
	fl.StringVar(&o.Job, "job", "", "the job the action "+verb+" (NAMESPACE/NAME)")
	fl.StringVar(&o.Node, "node", "", "the node the action "+verb+" (NAME)")
	for flag, kind := range map[string]string{"pod": "pods", "deployment": "deployments", "job": "jobs", "node": "nodes"} {
		_ = cmd.RegisterFlagCompletionFunc(flag, CompleteObjects(f, kind))
	}
}

// Target checks the flags: at most one, namespaced ones as NAMESPACE/NAME.
func (o *ObjectFlags) Target() (Target, error) {
	var t Target
	set := 0
	for _, c := range []struct{ flag, kind, val string }{{"--pod", "Pod", o.Pod}, {"--deployment", "Deployment", o.Deployment}, {"--job", "Job", o.Job}} {
		if c.val == "" {
			continue
		}
		set++
		ns, name, ok := strings.Cut(c.val, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return t, cli.UsageErrorf("%s %s: use NAMESPACE/NAME", c.flag, cli.Quote(c.val))
		}
		t = Target{Kind: c.kind, Namespace: ns, Name: name}
	}
	if o.Node != "" {
		set++
		if strings.Contains(o.Node, "/") {
			return t, cli.UsageErrorf("--node %s: nodes have no namespace, give just the name", cli.Quote(o.Node))
		}
		t = Target{Kind: "Node", Name: o.Node}
	}
	if set > 1 {
		return Target{}, cli.UsageErrorf("give only one of --pod, --deployment, --job and --node")
	}
	return t, nil
}

// completable are the resources CompleteObjects knows.
var completable = map[string]schema.GroupVersionResource{
	"pods":        {Version: "v1", Resource: "pods"},
	"deployments": {Group: "apps", Version: "v1", Resource: "deployments"},
	"jobs":        {Group: "batch", Version: "v1", Resource: "jobs"},
	"nodes":       {Version: "v1", Resource: "nodes"},
}

// CompleteObjects completes object names from the cluster: NAMESPACE/NAME for
// namespaced kinds (all namespaces, or the one already typed), NAME for nodes. It
// fails quietly: completion must never print errors into a shell.
func CompleteObjects(f *Factory, resource string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if s, err := config.Load(cmd.Flags()); err == nil {
			f.Settings = s
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
		defer cancel()
		ns := ""
		if before, _, ok := strings.Cut(toComplete, "/"); ok && resource != "nodes" {
			ns = before
		}
		dyn, err := f.Kube().Dynamic()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		list, err := dyn.Resource(completable[resource]).Namespace(ns).List(ctx, metav1.ListOptions{Limit: 500})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, o := range list.Items {
			v := o.GetName()
			if o.GetNamespace() != "" {
				v = o.GetNamespace() + "/" + v
			}
			if strings.HasPrefix(v, toComplete) {
				names = append(names, v)
			}
		}
		sort.Strings(names)
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
