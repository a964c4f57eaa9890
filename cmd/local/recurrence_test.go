package local

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
)

// --recurrence makes the scheduled event of run N (from 0) for on_schedule actions;
// config_ab_testing gets one without it (run 0), and its name/namespace are its own
// params, not the object of a manual trigger.
func TestRunRecurrence(t *testing.T) {
	ab := []string{"config_ab_testing", "kind=Deployment", "name=web", "namespace=prod", "grafana_api_key=k", "grafana_dashboard_uid=d",
		`configuration_sets:=[{"config_set_name":"a"},{"config_set_name":"b"}]`}
	for _, tc := range []struct {
		name  string
		args  []string
		class string
		rec   int
		err   string
	}{
		{"default run 0", ab, "ScheduledExecutionEvent", 0, ""},
		{"run 1", append([]string{"--recurrence", "1"}, ab...), "ScheduledExecutionEvent", 1, ""},
		{"base action on a scheduled run", []string{"create_finding", "title=x", "--recurrence", "2"}, "ScheduledExecutionEvent", 2, ""},
		{"base action alone", []string{"create_finding", "title=x"}, "ExecutionBaseEvent", 0, ""},
		{"negative", append([]string{"--recurrence", "-1"}, ab...), "", 0, "--recurrence -1: runs are counted from 0"},
		{"with an object", append([]string{"--recurrence", "1", "--pod", "default/p"}, ab...), "", 0, "which has no object"},
		{"pod action", []string{"logs_enricher", "--recurrence", "1"}, "", 0, "logs_enricher takes a PodEvent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", "/nonexistent")
			ios, _, _, _ := cli.Test()
			f := cmdutil.New(ios)
			var got *RunOptions
			cmd := NewCmdRun(f, func(_ context.Context, o *RunOptions) error { got = o; return nil })
			root := &cobra.Command{Use: "robusta", SilenceErrors: true, SilenceUsage: true}
			root.AddCommand(cmd)
			root.SetArgs(append([]string{"run"}, tc.args...))
			err := root.Execute()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || cli.ExitCode(err) != cli.ExitUsage {
					t.Fatalf("error %v, want a usage error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.manual {
				t.Error("name=/namespace= were taken as the object of a manual trigger")
			}
			evs, err := got.events(context.Background(), nil)
			if err != nil || len(evs) != 1 || evs[0].Class != tc.class || evs[0].Recurrence != tc.rec {
				t.Fatalf("events %+v %v, want a %s of run %d", evs, err, tc.class, tc.rec)
			}
			if tc.class == "ScheduledExecutionEvent" && got.steps[0].Params["namespace"] != "prod" && got.steps[0].Action.Name == "config_ab_testing" {
				t.Errorf("params %v", got.steps[0].Params)
			}
		})
	}
}
