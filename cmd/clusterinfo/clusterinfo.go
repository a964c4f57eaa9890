// Package clusterinfo implements `robusta cluster-info`: which cluster the CLI talks to
// and which Robusta runners it can see there.
package clusterinfo

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// Options for `robusta cluster-info`.
type Options struct {
	IO     *cli.IOStreams
	Kube   func() *kube.Factory
	Output func() cli.OutputFormat
}

// Info is what the command reports.
type Info struct {
	Context       string   `json:"context"`
	Server        string   `json:"server"`
	ServerVersion string   `json:"serverVersion"`
	Namespace     string   `json:"namespace,omitempty"`
	Runners       []string `json:"runners"`
}

// NewCmdClusterInfo builds the command.
func NewCmdClusterInfo(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Kube: f.Kube, Output: f.OutputFormat}
	return &cobra.Command{
		Use:   "cluster-info",
		Short: "Show the cluster robusta talks to and the Robusta runners found there",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runClusterInfo(cmd.Context(), opts)
		},
	}
}

func runClusterInfo(ctx context.Context, opts *Options) error {
	kf := opts.Kube()
	cs, err := kf.Clientset()
	if err != nil {
		return kf.Explain(err, "", "", "")
	}
	info := Info{Context: kf.ContextName(), Server: kf.ServerURL(), Namespace: kf.ExplicitNamespace(), Runners: []string{}}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return kf.Explain(err, "get", "version", "")
	}
	info.ServerVersion = v.GitVersion
	pods, err := cs.CoreV1().Pods(info.Namespace).List(ctx, metav1.ListOptions{LabelSelector: kube.RunnerSelector})
	if err != nil {
		return kf.Explain(err, "list", "pods", info.Namespace)
	}
	for _, p := range pods.Items {
		info.Runners = append(info.Runners, p.Namespace+"/"+p.Name)
	}
	if of := opts.Output(); of.Structured() {
		return cli.PrintStructured(opts.IO.Out, of, info)
	}
	st := opts.IO.Styles()
	fmt.Fprintf(opts.IO.Out, "Context:  %s\nServer:   %s\nVersion:  %s\n", st.Bold(info.Context), info.Server, info.ServerVersion)
	if len(info.Runners) == 0 {
		fmt.Fprintf(opts.IO.Out, "Runners:  %s\n", st.Warning("none found"))
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "Runners:  %s\n", cmdutil.Pluralize(len(info.Runners), "pod"))
	for _, r := range info.Runners {
		fmt.Fprintf(opts.IO.Out, "  %s\n", r)
	}
	return nil
}
