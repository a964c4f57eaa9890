package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// runnerEnv is a runner stand-in reachable through the sandbox: a Deployment whose
// pod's port 5000 forwards to a local StandIn, whose logs are a local file.
type runnerEnv struct {
	c       *sandbox.Cluster
	standIn *sandbox.StandIn
	runner  *sandbox.Runner
	logFile string
	env     []string
}

var defaultActions = map[string]sandbox.StandInAction{
	"my_action":         {},
	"pod_bash_enricher": {NeedsObject: true},
	"node_status":       {NeedsObject: true, Cluster: true},
}

func startRunner(t *testing.T, namespace string, s *sandbox.StandIn, spec sandbox.RunnerSpec) *runnerEnv {
	t.Helper()
	c := sandbox.Get(t)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "runner.log")
	if err := sandbox.WriteCRILog(logFile, "runner started", "loaded 42 playbooks"); err != nil {
		t.Fatal(err)
	}
	if s == nil {
		s = &sandbox.StandIn{}
	}
	if s.Actions == nil {
		s.Actions = defaultActions
	}
	s.LogFile = logFile
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	spec.Namespace = namespace
	spec.ForwardTo = s.Addr()
	spec.LogFile = logFile
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := c.CreateRunner(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.DeleteRunner(context.Background(), r); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return &runnerEnv{c: c, standIn: s, runner: r, logFile: logFile, env: kubeconfigEnv(c.KubeconfigPath)}
}

func (e *runnerEnv) triggerBodies() []string {
	var out []string
	for _, r := range e.standIn.Requests() {
		if r.Path == "/api/trigger" {
			out = append(out, string(r.Body))
		}
	}
	return out
}

func TestTriggerSendsParamsExactly(t *testing.T) {
	e := startRunner(t, "robusta", nil, sandbox.RunnerSpec{})
	r := run(t, e.env, "playbooks", "trigger", "--no-check", "pod_bash_enricher",
		"plain=value",
		"cmd=a=b",
		`quoted=say "hi" 'there' $HOME; echo $(id) \n`,
		"uni=héllo ✓ 日本",
		"multi=line1\nline2",
		"count:=3",
		"enabled:=true",
		`names:=["a","b"]`,
		"--pod", "default/web-1",
		"--sinks", "main_slack_sink,other",
		"--show-logs=false")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "Triggered pod_bash_enricher on runner robusta/"+e.runner.Pod)
	want := `{"action_name":"pod_bash_enricher","action_params":{"cmd":"a=b","count":3,"enabled":true,"multi":"line1\nline2","name":"web-1","names":["a","b"],"namespace":"default","plain":"value","quoted":"say \"hi\" 'there' $HOME; echo $(id) \\n","uni":"héllo ✓ 日本"},"sinks":["main_slack_sink","other"]}`
	bodies := e.triggerBodies()
	if len(bodies) != 1 || bodies[0] != want {
		t.Fatalf("recorded bodies:\n%q\nwant:\n%q", bodies, want)
	}
}

func TestTriggerFlagsMapToRequest(t *testing.T) {
	e := startRunner(t, "robusta", nil, sandbox.RunnerSpec{})
	pf := filepath.Join(t.TempDir(), "params.yaml")
	_ = os.WriteFile(pf, []byte("tail: 50\nname: overridden\n"), 0o600)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"my_action", "--no-sinks", "--sync"}, `{"action_name":"my_action","action_params":{},"no_sinks":true,"sync_response":true}`},
		{[]string{"node_status", "--node", "worker-1"}, `{"action_name":"node_status","action_params":{"name":"worker-1"}}`},
		{[]string{"my_action", "--params-file", pf, "name=cli"}, `{"action_name":"my_action","action_params":{"name":"cli","tail":50}}`},
		{[]string{"my_action", "--deployment", "prod/api"}, `{"action_name":"my_action","action_params":{"name":"api","namespace":"prod"}}`},
	}
	for i, tc := range cases {
		r := run(t, e.env, append([]string{"playbooks", "trigger", "--no-check"}, tc.args...)...)
		if r.code != 0 {
			t.Fatalf("%v: %s", tc.args, r)
		}
		bodies := e.triggerBodies()
		if len(bodies) != i+1 || bodies[i] != tc.want {
			t.Fatalf("%v: body %q, want %q", tc.args, bodies[len(bodies)-1], tc.want)
		}
	}
}

func TestTriggerBadInputSendsNothing(t *testing.T) {
	e := startRunner(t, "robusta", nil, sandbox.RunnerSpec{})
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no equals", []string{"my_action", "k"}, `parameter "k" has no '='`},
		{"empty key", []string{"my_action", "=v"}, `parameter "=v" has an empty key`},
		{"duplicate", []string{"my_action", "a=1", "a=2"}, `parameter "a" is given twice`},
		{"bad json", []string{"my_action", "n:=[1,"}, `is not valid JSON`},
		{"unknown flag", []string{"my_action", "--bogus"}, `unknown flag: --bogus`},
		{"missing params file", []string{"my_action", "--params-file", "/nonexistent/p.yaml"}, `--params-file: open /nonexistent/p.yaml`},
		{"pod without namespace", []string{"my_action", "--pod", "web-1"}, `--pod "web-1": use NAMESPACE/NAME`},
		{"pod and name param", []string{"my_action", "--pod", "a/b", "name=c"}, `parameter "name" is given by both`},
		{"two objects", []string{"my_action", "--pod", "a/b", "--node", "n"}, `only one of --pod`},
		{"sinks and no-sinks", []string{"my_action", "--sinks", "s", "--no-sinks"}, `contradict`},
		{"no action", nil, `needs the name of an action`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, e.env, append([]string{"playbooks", "trigger", "--no-check"}, tc.args...)...)
			if r.code != 2 {
				t.Fatalf("want exit 2\n%s", r)
			}
			mustContain(t, r, "stderr", tc.want)
		})
	}
	if n := len(e.standIn.Requests()); n != 0 {
		t.Fatalf("bad input reached the runner: %d requests", n)
	}
}

func TestTriggerRunnerErrorExplained(t *testing.T) {
	e := startRunner(t, "robusta", nil, sandbox.RunnerSpec{})
	r := run(t, e.env, "playbooks", "trigger", "--no-check", "no_such_action", "--show-logs=false")
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "error 4603")
	mustContain(t, r, "stderr", "External action not found no_such_action")
	mustContain(t, r, "stderr", "no action with this name exists in the runner")

	r = run(t, e.env, "playbooks", "trigger", "--no-check", "pod_bash_enricher", "--show-logs=false")
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "error 4605")
	mustContain(t, r, "stderr", "--pod NS/NAME")

	// -o json prints the runner's reply as it is, and still exits 1.
	r = run(t, e.env, "playbooks", "trigger", "--no-check", "no_such_action", "-o", "json")
	var reply map[string]any
	if r.code != 1 || json.Unmarshal([]byte(r.stdout), &reply) != nil || reply["error_code"] != float64(4603) {
		t.Fatal(r)
	}
}

func TestTriggerOutcomeUnknownIsNotRetried(t *testing.T) {
	e := startRunner(t, "robusta", &sandbox.StandIn{CloseAfterBody: true}, sandbox.RunnerSpec{})
	// kwok's port-forward does not pass the stand-in's close on (SANDBOX.md), so the
	// client sees no reply at all; --reply-timeout ends that wait.
	r := run(t, e.env, "playbooks", "trigger", "--no-check", "my_action", "x=1", "--show-logs=false", "--reply-timeout", "3s")
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "request sent, outcome unknown")
	mustContain(t, r, "stderr", "no reply within 3s")
	if n := len(e.triggerBodies()); n != 1 {
		t.Fatalf("the request was sent %d times, want exactly once", n)
	}
}

func TestTriggerSyncPrintsFindings(t *testing.T) {
	blocks := []any{
		map[string]any{"type": "markdown", "data": "*Pod* web-1 restarted 5 times"},
		map[string]any{"type": "table", "data": map[string]any{"headers": []any{"container", "restarts"}, "rows": []any{[]any{"app", 5}, []any{"sidecar", 0}}}},
		map[string]any{"type": "log", "data": "b'aGVsbG8gd29ybGQ='"},
	}
	data, _ := json.Marshal(blocks)
	reply := map[string]any{"success": true, "findings": []any{map[string]any{
		"title": "Crashing pod web-1", "priority": "HIGH", "subject_type": "pod", "subject_name": "web-1",
		"subject_namespace": "default", "evidence": []any{map[string]any{"data": string(data), "title": "Pod status"}},
	}}}
	e := startRunner(t, "robusta", &sandbox.StandIn{Actions: map[string]sandbox.StandInAction{"report": {Reply: reply}}}, sandbox.RunnerSpec{})
	r := run(t, e.env, "playbooks", "trigger", "--no-check", "report", "--sync", "--show-logs=false")
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{"[HIGH] Crashing pod web-1", "subject: pod default/web-1", "── Pod status",
		"*Pod* web-1 restarted 5 times", "CONTAINER  RESTARTS", "app        5", "sidecar    0", "file file.log (11 B)"} {
		mustContain(t, r, "stdout", want)
	}
	// The same finding as Markdown, file saved where asked.
	saved := t.TempDir()
	r = run(t, e.env, "playbooks", "trigger", "--no-check", "report", "--sync", "--show-logs=false", "-o", "markdown", "--save-files", saved)
	if b, err := os.ReadFile(filepath.Join(saved, "file.log")); err != nil || string(b) != "hello world" {
		t.Fatalf("saved file: %v %q\n%s", err, b, r)
	}
	if r := run(t, e.env, "playbooks", "trigger", "--no-check", "report", "--save-files", saved); r.code != 2 || !strings.Contains(r.stderr, "add --sync") {
		t.Fatal(r)
	}
	for _, want := range []string{"### [HIGH] Crashing pod web-1", "**Subject:** `pod default/web-1`", "#### Pod status",
		"| container | restarts |", "| app | 5 |", "📎 `file.log` (11 B)"} {
		mustContain(t, r, "stdout", want)
	}
	r = run(t, e.env, "playbooks", "trigger", "--no-check", "report", "--sync", "-o", "yaml")
	mustContain(t, r, "stdout", "title: Crashing pod web-1")
}

func TestTriggerDryRunContactsNoRunner(t *testing.T) {
	e := startRunner(t, "robusta", nil, sandbox.RunnerSpec{})
	r := run(t, e.env, "playbooks", "trigger", "--no-check", "my_action", "msg=it's", "--dry-run")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", `{"action_name":"my_action","action_params":{"msg":"it's"}}`)
	mustContain(t, r, "stdout", "kubectl port-forward -n robusta pod/"+e.runner.Pod+" 5000:5000")
	// shellescape's quoting of the quote: '"'"'
	mustContain(t, r, "stdout", `-d '{"action_name":"my_action","action_params":{"msg":"it'"'"'s"}}'`)
	if n := len(e.standIn.Requests()); n != 0 {
		t.Fatalf("--dry-run sent %d requests", n)
	}
}

func TestTriggerShowLogs(t *testing.T) {
	e := startRunner(t, "robusta", nil, sandbox.RunnerSpec{})
	// --show-logs allows a second of clock skew; make the earlier lines older than that.
	time.Sleep(2 * time.Second)
	r := run(t, e.env, "playbooks", "trigger", "--no-check", "my_action", "k=v", "--show-logs")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "runner logs since the request")
	mustContain(t, r, "stderr", "running action my_action with params map[k:v]")
	if strings.Contains(r.stderr, "loaded 42 playbooks") {
		t.Fatalf("--show-logs printed lines from before the request\n%s", r)
	}
}

func TestDiscoveryErrors(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)

	r := run(t, env, "playbooks", "trigger", "--no-check", "my_action")
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "no Robusta runner found in all namespaces")
	mustContain(t, r, "stderr", "--namespace")

	a := startRunner(t, "team-a", nil, sandbox.RunnerSpec{})
	startRunner(t, "team-b", nil, sandbox.RunnerSpec{})
	r = run(t, env, "playbooks", "trigger", "--no-check", "my_action")
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "found Robusta runners in several namespaces")
	mustContain(t, r, "stderr", "team-a/")
	mustContain(t, r, "stderr", "team-b/")
	mustContain(t, r, "stderr", "--namespace")

	r = run(t, env, "playbooks", "trigger", "--no-check", "my_action", "-n", "team-a", "--show-logs=false")
	if r.code != 0 || len(a.triggerBodies()) != 1 {
		t.Fatal(r)
	}
	r = run(t, env, "playbooks", "trigger", "--no-check", "my_action", "--runner-pod", "team-a/"+a.runner.Pod, "--show-logs=false")
	if r.code != 0 || len(a.triggerBodies()) != 2 {
		t.Fatal(r)
	}
}

func TestTriggerWaitsForNotReadyRunner(t *testing.T) {
	e := startRunner(t, "robusta", nil, sandbox.RunnerSpec{Unschedulable: true})
	r := run(t, e.env, "playbooks", "trigger", "--no-check", "my_action", "--wait", "2s")
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "the Robusta runner is not ready: robusta/"+e.runner.Pod+" is Pending")
	mustContain(t, r, "stderr", "(waited 2s)")
	if r.elapsed < 2*time.Second {
		t.Fatalf("did not wait: %s", r.elapsed)
	}
}

func TestReload(t *testing.T) {
	e := startRunner(t, "robusta", nil, sandbox.RunnerSpec{})
	r := run(t, e.env, "playbooks", "reload")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "Playbooks reloaded on runner robusta/"+e.runner.Pod)
	reqs := e.standIn.Requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/api/playbooks/reload" || string(reqs[0].Body) != "{}" {
		t.Fatalf("recorded %+v", reqs)
	}
}

func TestLogsTailAndSince(t *testing.T) {
	e := startRunner(t, "robusta", nil, sandbox.RunnerSpec{})
	_ = sandbox.WriteCRILog(e.logFile, "line three", "line four")
	r := run(t, e.env, "logs", "--tail", "2")
	if r.code != 0 || r.stdout != "line three\nline four\n" {
		t.Fatalf("want the last two lines\n%s", r)
	}
	r = run(t, e.env, "logs")
	if r.code != 0 || r.stdout != "runner started\nloaded 42 playbooks\nline three\nline four\n" {
		t.Fatal(r)
	}
	r = run(t, e.env, "logs", "--since", "soon")
	if r.code != 2 {
		t.Fatal(r)
	}
}

func TestLogsFollowStopsOnInterrupt(t *testing.T) {
	e := startRunner(t, "robusta", nil, sandbox.RunnerSpec{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := startStream(t, ctx, e.env, "logs", "-f")
	cmd := p.cmd
	expect := func(want string) {
		t.Helper()
		p.waitLine(t, want, 20*time.Second)
	}
	expect("loaded 42 playbooks")
	_ = sandbox.WriteCRILog(e.logFile, fmt.Sprintf("appended at %d", 7))
	expect("appended at 7")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("logs -f after Ctrl-C: %v (stderr: %s)", err, p.stderrText())
	}
}

func TestDiscoveryFallsBackWhenClusterWideListIsForbidden(t *testing.T) {
	e := startRunner(t, "robusta", nil, sandbox.RunnerSpec{})
	ctx := context.Background()
	token, err := e.c.ServiceAccountToken(ctx, "e2e-limited", "runner-user")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.GrantRunnerAccess(ctx, "e2e-limited", "runner-user", "robusta"); err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := e.c.WriteTokenKubeconfig(kc, "limited", token); err != nil {
		t.Fatal(err)
	}
	r := run(t, kubeconfigEnv(kc), "playbooks", "trigger", "--no-check", "my_action", "--show-logs=false")
	if r.code != 0 {
		t.Fatal(r)
	}
	if n := len(e.triggerBodies()); n != 1 {
		t.Fatalf("%d requests recorded", n)
	}
	// With the runner gone, the error says where it looked and why.
	if err := e.c.DeleteRunner(ctx, e.runner); err != nil {
		t.Fatal(err)
	}
	r = run(t, kubeconfigEnv(kc), "playbooks", "trigger", "--no-check", "my_action")
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", `no Robusta runner found in namespaces "robusta" (listing pods in all namespaces is forbidden; also forbidden in "default")`)
}
