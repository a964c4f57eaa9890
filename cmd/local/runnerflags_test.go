package local

import (
	"context"
	"testing"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// -n (the global namespace) and --runner-pod become the runner search that `local
// run` hands to the actions, as `playbooks list` would search.
func TestRunRunnerFlags(t *testing.T) {
	base := []string{"run", "report_rendering_task", "grafana_api_key=k", "delays:=[60]", `reports_panel_urls:=["http://g/d-solo/x"]`}
	for _, tc := range []struct {
		name string
		ns   string
		args []string
		want kube.FindOptions
	}{
		{"neither", "", nil, kube.FindOptions{}},
		{"-n", "robusta-b", nil, kube.FindOptions{Namespace: "robusta-b"}},
		{"--runner-pod", "", []string{"--runner-pod", "mon/robusta-runner-1"}, kube.FindOptions{RunnerPod: "mon/robusta-runner-1"}},
		{"both", "x", []string{"--runner-pod", "mon/r"}, kube.FindOptions{Namespace: "x", RunnerPod: "mon/r"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", "/nonexistent")
			ios, _, _, _ := cli.Test()
			f := cmdutil.New(ios)
			f.Settings.Namespace = tc.ns
			var got *RunOptions
			root := &cobra.Command{Use: "robusta", SilenceErrors: true, SilenceUsage: true}
			root.AddCommand(NewCmdRun(f, func(_ context.Context, o *RunOptions) error { got = o; return nil }))
			root.SetArgs(append(append([]string{}, base...), tc.args...))
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			if got.Find != tc.want {
				t.Fatalf("runner search %+v, want %+v", got.Find, tc.want)
			}
		})
	}
}
