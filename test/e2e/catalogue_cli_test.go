package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
)

// unreachableKubeconfig is a kubeconfig whose server nothing listens on: a command
// that contacts the cluster fails on it, one that stops before does not notice.
func unreachableKubeconfig(t *testing.T) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: gone
  context: {cluster: gone, user: u, namespace: shop}
current-context: gone
`
	if err := writeFile(path, []byte(cfg)); err != nil {
		t.Fatal(err)
	}
	return kubeconfigEnv(path)
}

// `local actions` lists every action of the catalogue, as text and as JSON, and
// --local-only the ones the binary runs.
func TestLocalActionsWholeCatalogue(t *testing.T) {
	env := kubeconfigEnv("/nonexistent")
	r := run(t, env, "local", "actions", "-o", "json")
	if r.code != 0 {
		t.Fatal(r)
	}
	var rows []struct {
		Name, Event, Runs, Summary string
		Mutating                   bool
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(catalogue.Actions()) || len(rows) < 155 {
		t.Fatalf("%d actions listed, the catalogue has %d", len(rows), len(catalogue.Actions()))
	}
	local := 0
	for _, row := range rows {
		a, ok := catalogue.LookupAction(row.Name)
		if !ok || row.Event != a.Event || row.Mutating != a.Mutating || (row.Runs != "local" && row.Runs != "runner") {
			t.Errorf("%+v (catalogue: %+v)", row, a)
		}
		if row.Runs == "local" {
			local++
		}
	}

	r = run(t, env, "local", "actions")
	if r.code != 0 {
		t.Fatal(r)
	}
	if lines := strings.Count(strings.TrimSpace(r.stdout), "\n"); lines != len(rows) { // plus the header
		t.Fatalf("%d table rows, want %d", lines, len(rows))
	}
	mustContain(t, r, "stdout", "node_bash_enricher")

	r = run(t, env, "local", "actions", "--local-only", "-o", "json")
	var localRows []struct{ Name, Runs string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &localRows) != nil {
		t.Fatal(r)
	}
	if len(localRows) != local || local == 0 {
		t.Fatalf("--local-only: %d rows, the full list has %d local", len(localRows), local)
	}
	for _, row := range localRows {
		if row.Runs != "local" {
			t.Errorf("--local-only lists %+v", row)
		}
	}

	r = run(t, env, "local", "actions", "ask_holmes")
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{"ExecutionBaseEvent", "only in the runner", "investigation_type", "robusta playbooks trigger ask_holmes investigation_type=INVESTIGATION_TYPE"} {
		mustContain(t, r, "stdout", want)
	}
	r = run(t, env, "local", "actions", "node_bash_enricer")
	if r.code != 2 || !strings.Contains(r.stderr, `did you mean "node_bash_enricher"?`) {
		t.Fatal(r)
	}
}

// `local run` of an action only the runner runs: exit 1, the reason, and the trigger
// command line that runs it in the cluster, made of what was typed.
func TestLocalRunRunnerOnlyAction(t *testing.T) {
	env := unreachableKubeconfig(t)
	a, _ := catalogue.LookupAction("ask_holmes")
	r := run(t, env, "local", "run", "ask_holmes", "investigation_type=issue", "ask=why is it slow")
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "Error: action ask_holmes runs only in the in-cluster runner, not in robusta local run: "+a.Reason)
	mustContain(t, r, "stderr", "robusta playbooks trigger ask_holmes investigation_type=issue 'ask=why is it slow' --sync")

	// An object flag is passed on as typed.
	r = run(t, env, "local", "run", "fail_krr_scan", "--job", "prod/worker-1")
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "robusta playbooks trigger fail_krr_scan --job prod/worker-1 --sync")

	// name= without namespace=: the namespace is the kubeconfig's, as local run takes it.
	r = run(t, env, "local", "run", "fail_krr_scan", "name=web-1")
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "robusta playbooks trigger fail_krr_scan name=web-1 namespace=shop --sync")

	// The printed command lines run as printed: through the binary they pass the
	// catalogue check and get as far as the cluster.
	for _, args := range [][]string{
		{"ask_holmes", "investigation_type=issue", "ask=why is it slow"},
		{"fail_krr_scan", "--job", "prod/worker-1"},
	} {
		r = run(t, env, append(append([]string{"playbooks", "trigger"}, args...), "--sync", "--wait", "1s")...)
		if r.code != 1 || strings.Contains(r.stderr, "parameter") || strings.Contains(r.stderr, "runs only") {
			t.Fatal(r)
		}
	}

	// Not manually runnable: no trigger command, the triggers that fit instead.
	r = run(t, env, "local", "run", "stack_overflow_enricher")
	if r.code != 1 || strings.Contains(r.stderr, "robusta playbooks trigger") {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "on_prometheus_alert")

	// A misspelled param is a usage error before the suggestion.
	r = run(t, env, "local", "run", "ask_holmes", "investigation_type=issue", "as=why")
	if r.code != 2 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", `action ask_holmes has no parameter as (did you mean "ask"?)`)
	r = run(t, env, "local", "run", "node_bash_enricer")
	if r.code != 2 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", `unknown action "node_bash_enricer" (did you mean "node_bash_enricher"?)`)
}

// `playbooks trigger` checks against the catalogue before any contact with the
// cluster: with a kubeconfig nothing answers, mistakes still get the catalogue's
// message (exit 2), and only a clean command line reaches the point of connecting.
func TestTriggerChecksBeforeContact(t *testing.T) {
	env := unreachableKubeconfig(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"node_bash_enricher", "--node", "w1", "bash_comand=ls"}, `action node_bash_enricher has no parameter bash_comand (did you mean "bash_command"?)`},
		{[]string{"node_bash_enricher", "bash_command=ls"}, "action node_bash_enricher runs on a NodeEvent: give name= (or --node NAME)"},
		{[]string{"logs_enricher", "name=web-1"}, "give namespace="},
		{[]string{"pod_events_enricher", "--pod", "shop/web-1", "max_events=lots"}, `parameter max_events of pod_events_enricher: want a whole number, got "lots"`},
		{[]string{"logs_enrichr", "--pod", "shop/web-1"}, `unknown action "logs_enrichr" (did you mean "logs_enricher"?)`},
		{[]string{"alert_handling_job", "image=busybox", `command:=["ls"]`}, "which the runner cannot build from parameters"},
		{[]string{"argo_app_sync", "argo_url=https://argo", "argo_app_name=web", `argo_token:={"v":"s3cr3t-token"}`}, "it is a secret"},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			r := run(t, env, append([]string{"playbooks", "trigger", "--wait", "1s"}, tc.args...)...)
			if r.code != 2 {
				t.Fatal(r)
			}
			mustContain(t, r, "stderr", tc.want)
			mustContain(t, r, "stderr", "add --no-check")
			if strings.Contains(r.stderr, "127.0.0.1") || strings.Contains(r.stderr, "s3cr3t") {
				t.Fatalf("contacted the cluster or echoed the secret:\n%s", r)
			}
		})
	}
	// The same kubeconfig with a clean command line, or --no-check, does try the
	// cluster: the errors above were not the cluster's.
	for _, args := range [][]string{
		{"node_bash_enricher", "--node", "w1", "bash_command=ls"},
		{"my_custom_action", "anything=1", "--no-check"},
	} {
		r := run(t, env, append([]string{"playbooks", "trigger", "--wait", "1s"}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "127.0.0.1:1") {
			t.Fatalf("%v: %s", args, r)
		}
	}
}

// Completion through the binary, as a shell asks: action names from the whole
// catalogue, then key= for the action's params.
func TestCatalogueCompletion(t *testing.T) {
	env := kubeconfigEnv("/nonexistent")
	for _, cmd := range [][]string{{"playbooks", "trigger"}, {"local", "run"}} {
		r := run(t, env, append(append([]string{"__complete"}, cmd...), "")...)
		if n := strings.Count(r.stdout, "\n") - 1; r.code != 0 || n < len(catalogue.Actions()) {
			t.Fatalf("%v: %d names: %s", cmd, n, r)
		}
		r = run(t, env, append(append([]string{"__complete"}, cmd...), "node_bash_enricher", "")...)
		for _, want := range []string{"name=\t", "bash_command=\t", fmt.Sprintf(":%d\n", 6)} {
			mustContain(t, r, "stdout", want)
		}
	}
}
