package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/engine"
)

// execLocal runs `local ARGS...`.
func execLocal(t *testing.T, output string, args ...string) (string, error) {
	t.Helper()
	return execRoot(t, output, append([]string{"local"}, args...)...)
}

// execRoot runs ARGS under a bare root holding `local`, so cobra's __complete works.
func execRoot(t *testing.T, output string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("KUBECONFIG", "/nonexistent") // never the user's
	ios, _, out, _ := cli.Test()
	f := cmdutil.New(ios)
	if output != "" {
		f.Settings.Output = output
	}
	root := &cobra.Command{Use: "robusta", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(NewCmdLocal(f))
	var cobraOut bytes.Buffer
	root.SetOut(&cobraOut)
	root.SetErr(&cobraOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String() + cobraOut.String(), err
}

func TestActionsListsTheWholeCatalogue(t *testing.T) {
	out, err := execLocal(t, "json", "actions")
	if err != nil {
		t.Fatal(err)
	}
	var rows []actionRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(catalogue.Actions()) || len(rows) < 150 {
		t.Fatalf("%d rows, the catalogue has %d actions", len(rows), len(catalogue.Actions()))
	}
	runs := map[string]string{}
	for _, r := range rows {
		runs[r.Name] = r.Runs
	}
	if runs["mention_enricher"] != "runner" || runs["logs_enricher"] != "local" {
		t.Fatalf("mention_enricher %q, logs_enricher %q", runs["mention_enricher"], runs["logs_enricher"])
	}

	out, err = execLocal(t, "json", "actions", "--local-only")
	if err != nil {
		t.Fatal(err)
	}
	rows = nil
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(engine.Names()) {
		t.Fatalf("--local-only: %d rows, the engine has %d actions", len(rows), len(engine.Names()))
	}
	for _, r := range rows {
		if r.Runs != "local" {
			t.Fatalf("--local-only listed %+v", r)
		}
	}
}

func TestDescribeAction(t *testing.T) {
	out, err := execLocal(t, "", "actions", "mention_enricher")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Event:       KubernetesResourceEvent", "Runs:        only in the runner: ", "static_mentions", "message_template",
		"Optional[List[str]]", "'Hey: $mentions'", "robusta playbooks trigger mention_enricher kind=KIND name=NAME", "on_pod_update"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	// A local action shows the engine's side too: its doc and the params it takes
	// where they differ from Robusta's (logs_enricher's tail).
	out, err = execLocal(t, "json", "actions", "logs_enricher")
	if err != nil {
		t.Fatal(err)
	}
	var v actionView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if v.Runs != "local" || v.Local == nil || v.Local.Doc == "" || v.Event != "PodEvent" || len(v.Triggers) == 0 || len(v.Params) == 0 {
		t.Fatalf("%+v", v)
	}
	// An action that cannot be triggered by hand says so.
	out, _ = execLocal(t, "", "actions", "alert_handling_job")
	if !strings.Contains(out, "Manual run:  no: it needs a PrometheusKubernetesAlert") {
		t.Fatal(out)
	}

	_, err = execLocal(t, "", "actions", "node_bash_enricer")
	if err == nil || err.Error() != `unknown action "node_bash_enricer" (did you mean "node_bash_enricher"?); see robusta local actions` || cli.ExitCode(err) != cli.ExitUsage {
		t.Fatal(err)
	}
}

func TestRunRunnerOnlyAction(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  []string
	}{
		{"trigger command", []string{"ask_holmes", "investigation_type=issue", "ask=why is it slow"}, false,
			[]string{"action ask_holmes runs only in the in-cluster runner", "robusta playbooks trigger ask_holmes investigation_type=issue 'ask=why is it slow' --sync"}},
		{"object flag passed on", []string{"fail_krr_scan", "--job", "prod/web-1"}, false,
			[]string{"robusta playbooks trigger fail_krr_scan --job prod/web-1 --sync"}},
		{"namespace from the kubeconfig", []string{"fail_krr_scan", "name=web-1"}, false,
			[]string{"robusta playbooks trigger fail_krr_scan name=web-1 namespace=default --sync"}},
		{"missing param noted", []string{"process_scan", "scan_type=krr", "scan_id=1"}, false,
			[]string{"it still needs: action process_scan needs parameter start_time"}},
		{"not manually runnable", []string{"stack_overflow_enricher"}, false,
			[]string{"runs only in the in-cluster runner", "it takes a PrometheusKubernetesAlert", "on_prometheus_alert"}},
		{"misspelled param", []string{"ask_holmes", "investigation_type=issue", "as=why"}, true,
			[]string{`action ask_holmes has no parameter as (did you mean "ask"?)`}},
		{"unknown action", []string{"node_bash_enricer"}, true,
			[]string{`unknown action "node_bash_enricer" (did you mean "node_bash_enricher"?)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := execLocal(t, "", append([]string{"run"}, tc.args...)...)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			var he *cli.HintError
			if errors.As(err, &he) {
				msg += "\n" + he.Hint
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("no %q in %q", w, msg)
				}
			}
			if got := cli.ExitCode(err) == cli.ExitUsage; got != tc.usage {
				t.Errorf("usage error %v, want %v: %v", got, tc.usage, err)
			}
		})
	}
}

// Completion as the shell asks for it: cobra's hidden __complete command.
func TestCompletion(t *testing.T) {
	complete := func(args ...string) (names []string, directive string) {
		t.Helper()
		out, err := execRoot(t, "", append([]string{"__complete", "local"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			switch {
			case strings.HasPrefix(l, ":"):
				directive = l
			case strings.HasPrefix(l, "Completion ended"):
			default:
				names = append(names, strings.SplitN(l, "\t", 2)[0])
			}
		}
		return names, directive
	}
	all, _ := complete("run", "")
	if len(all) != len(catalogue.Actions()) {
		t.Fatalf("local run offers %d actions, the catalogue has %d", len(all), len(catalogue.Actions()))
	}
	got, _ := complete("run", "node_bash")
	if strings.Join(got, " ") != "node_bash_enricher" {
		t.Fatalf("%q", got)
	}
	keys, directive := complete("run", "node_bash_enricher", "name=w1", "")
	if !contains(keys, "bash_command=") || !contains(keys, "custom_annotations=") || contains(keys, "name=") {
		t.Fatalf("keys %q", keys)
	}
	if directive != ":6" { // NoSpace|NoFileComp: the value follows the '='
		t.Fatalf("directive %s", directive)
	}
	keys, _ = complete("run", "logs_enricher", "na")
	if strings.Join(keys, " ") != "name= namespace=" {
		t.Fatalf("keys %q", keys)
	}
	vals, _ := complete("run", "create_finding", "severity=")
	if !contains(vals, "severity=HIGH") || !contains(vals, "severity=DEBUG") {
		t.Fatalf("values %q", vals)
	}
	// For an action the engine implements, the keys are what local run accepts.
	keys, _ = complete("run", "logs_enricher", "")
	if !contains(keys, "tail=") || !contains(keys, "warn_on_missing_label=") || !contains(keys, "namespace=") {
		t.Fatalf("local run logs_enricher keys %q", keys)
	}
	acts, _ := complete("actions", "pod_")
	if !contains(acts, "pod_issue_investigator") || !contains(acts, "pod_dmesg_enricher") {
		t.Fatalf("%q", acts)
	}
}

func TestPlaybookActionProblem(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"- logs_enricher: {}\n- mention_enricher: {message_template: hi}\n", "action 2: mention_enricher runs only in the in-cluster runner"},
		{"actions:\n- pod_evnts_enricher: {}\n", `action 1: unknown action "pod_evnts_enricher" (did you mean "pod_events_enricher"?)`},
		{"- logs_enricher: {}\n", ""},
		{"not a list", ""},
	} {
		if got := playbookActionProblem([]byte(tc.doc)); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.doc, got, tc.want)
		}
	}
}
