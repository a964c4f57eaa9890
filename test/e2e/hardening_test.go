package e2e

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// mkfifo makes a named pipe nobody writes to: a read of it would block forever.
func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// noStackTrace fails when stderr looks like a Go panic or a goroutine dump.
func noStackTrace(t *testing.T, r result) {
	t.Helper()
	for _, s := range []string{"goroutine ", "panic:", ".go:"} {
		if strings.Contains(r.stderr, s) {
			t.Fatalf("stderr holds %q\n%s", s, r)
		}
	}
}

// TestFileInputsAreBounded gives every file input a device, a FIFO or a file over the
// cap: each must be refused at once with a one-line error, never read without end.
func TestFileInputsAreBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := mkfifo(t)
	config := filepath.Join(dir, "values.yaml")
	if err := writeFile(config, []byte("customPlaybooks: []\n# "+strings.Repeat("x", 2000)+"\n")); err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(dir, "repo")
	if err := os.MkdirAll(filepath.Join(repoDir, "repo"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(repoDir, "pyproject.toml")); err != nil {
		t.Fatal(err)
	}
	goodKubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeFile(goodKubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: a, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: a, context: {cluster: a, user: u}}]\ncurrent-context: a\n")); err != nil {
		t.Fatal(err)
	}
	none := kubeconfigEnv(filepath.Join(dir, "none"))
	cases := []struct {
		name string
		env  []string
		args []string
		code int // 0: any non-zero
		want string
	}{
		{"validate a device", nil, []string{"playbooks", "validate", "/dev/zero"}, 2, "/dev/zero is a character device, not a regular file"},
		{"validate a FIFO", nil, []string{"playbooks", "validate", fifo}, 2, "is a FIFO (named pipe), not a regular file"},
		{"validate over --max-file-size", nil, []string{"--max-file-size", "1Ki", "playbooks", "validate", config}, 2, "over the 1.0 KiB cap for this kind of file"},
		{"validate over ROBUSTA_MAX_FILE_SIZE", []string{"ROBUSTA_MAX_FILE_SIZE=100"}, []string{"playbooks", "validate", config}, 2, "over the 100 B cap"},
		{"--params-file a device", none, []string{"local", "run", "logs_enricher", "--params-file", "/dev/zero"}, 2, "--params-file: /dev/zero is a character device"},
		{"--params-file a FIFO", none, []string{"local", "run", "logs_enricher", "--params-file", fifo}, 2, "a FIFO"},
		{"--playbook a FIFO", none, []string{"local", "run", "--playbook", fifo}, 2, "--playbook: " + fifo + " is a FIFO"},
		{"--config a FIFO", nil, []string{"--config", fifo, "version"}, 2, "read config file: " + fifo + " is a FIFO"},
		{"ROBUSTA_CONFIG a device", []string{"ROBUSTA_CONFIG=/dev/zero"}, []string{"version"}, 2, "read config file: /dev/zero is a character device"},
		{"--kubeconfig a device", nil, []string{"--kubeconfig", "/dev/zero", "cluster-info"}, 0, "/dev/zero is a character device"},
		{"a FIFO in the KUBECONFIG list", kubeconfigEnv(goodKubeconfig + string(os.PathListSeparator) + fifo), []string{"cluster-info"}, 0, fifo + " is a FIFO"},
		{"gen-config --update on a device", none, []string{"gen-config", "--update", "--no-input", "--cluster-name", "c", "--output-path", "/dev/zero"}, 0, "/dev/zero is a character device"},
		{"pyproject.toml linked to /dev/zero", nil, []string{"playbooks", "validate-repo", repoDir}, 0, "pyproject.toml is a character device"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.env, tc.args...)
			if r.code == 0 || (tc.code != 0 && r.code != tc.code) {
				t.Fatalf("want exit %d\n%s", tc.code, r)
			}
			mustContain(t, r, "stderr", tc.want)
			if r.elapsed > 10*time.Second {
				t.Fatalf("took %s", r.elapsed)
			}
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 1 {
				t.Fatalf("more than an error and a hint\n%s", r)
			}
			noStackTrace(t, r)
		})
	}
	// Raising the cap lets the same file through.
	r := run(t, []string{"ROBUSTA_MAX_FILE_SIZE=100"}, "--max-file-size", "64Ki", "playbooks", "validate", config)
	if strings.Contains(r.stderr, "cap") {
		t.Fatalf("the flag did not raise the cap\n%s", r)
	}
}

// TestAlertFileIsBounded needs a cluster: local run reads --alert once connected.
func TestAlertFileIsBounded(t *testing.T) {
	c := sandbox.Get(t)
	fifo := mkfifo(t)
	list := filepath.Join(t.TempDir(), "alert.json")
	if err := writeFile(list, []byte(`{"alerts": {"labels": {"alertname": "x"}}}`)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{"/dev/zero", "--alert: /dev/zero is a character device"},
		{fifo, "--alert: " + fifo + " is a FIFO"},
		{list, `field "alerts": expected a list, got an object`},
	} {
		r := run(t, kubeconfigEnv(c.KubeconfigPath), "local", "run", "pod_issue_investigator", "--alert", tc.file)
		if r.code != 2 || r.elapsed > 10*time.Second {
			t.Fatal(r)
		}
		mustContain(t, r, "stderr", tc.want)
		if strings.Contains(r.stderr, "Go value") || strings.Contains(r.stderr, "struct") {
			t.Fatalf("Go type names leak\n%s", r)
		}
	}
}

// TestSmallMessages covers issue 12's small ones through the binary.
func TestSmallMessages(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "params.json")
	if err := writeFile(list, []byte(`[1, 2]`)); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("y", 5000)
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"mistyped playbooks subcommand", nil, []string{"playbooks", "trigerr"}, 2, `unknown command "trigerr" for robusta playbooks; did you mean trigger?`},
		{"mistyped local subcommand", nil, []string{"local", "rnu"}, 2, `unknown command "rnu" for robusta local; did you mean run?`},
		{"params file of the wrong type", kubeconfigEnv(filepath.Join(dir, "none")), []string{"local", "run", "logs_enricher", "--params-file", list}, 2, "not a YAML or JSON object: the top level: expected an object, got a list"},
		{"long argument cut", nil, []string{"playbooks", "trigger", "--no-check", "a", long + "=1", "--pod", long}, 2, strings.Repeat("y", 100) + `…"`},
		{"long command cut", nil, []string{long}, 2, strings.Repeat("y", 100) + `…"`},
		{"negative --tail", nil, []string{"logs", "--tail", "-5"}, 2, "--tail -5"},
		{"negative --since", nil, []string{"logs", "--since", "-1h"}, 2, "--since"},
		{"negative --request-timeout", nil, []string{"--request-timeout", "-1s", "cluster-info"}, 2, "request-timeout must be positive"},
		{"negative --timeout", nil, []string{"playbooks", "reload", "--timeout", "-5s"}, 2, "--timeout -5s: must not be negative"},
		{"negative --wait", nil, []string{"playbooks", "trigger", "--no-check", "a", "--wait", "-1s"}, 2, "--wait -1s: must not be negative"},
		{"KUBECONFIG names the paths tried", []string{"KUBECONFIG=/nonexistent" + string(os.PathListSeparator) + "/nonexistent2"}, []string{"cluster-info"}, 1, "no kubeconfig found (looked in /nonexistent, /nonexistent2)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.env, tc.args...)
			if r.code != tc.code {
				t.Fatalf("want exit %d\n%s", tc.code, r)
			}
			mustContain(t, r, "stderr", tc.want)
			if strings.Contains(r.stderr, strings.Repeat("y", 101)) {
				t.Fatalf("user input echoed in full\n%s", r)
			}
			noStackTrace(t, r)
		})
	}
}

// TestVerboseLogsRequests: -v logs each API request (never the credentials) and the
// total time, on stderr; stdout is unchanged.
func TestVerboseLogsRequests(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	quiet := run(t, env, "cluster-info")
	r := run(t, env, "-v", "cluster-info")
	if r.code != 0 || quiet.code != 0 {
		t.Fatal(r)
	}
	if strings.Contains(quiet.stderr, "API ") {
		t.Fatalf("requests logged without -v\n%s", quiet)
	}
	mustContain(t, r, "stderr", "API GET /version 200 OK (")
	mustContain(t, r, "stderr", "robusta: finished in ")
	kc, err := os.ReadFile(c.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(kc), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok && (strings.Contains(k, "token") || strings.Contains(k, "key-data")) && len(v) > 8 && strings.Contains(r.stderr, v) {
			t.Fatalf("-v shows the credential %s", k)
		}
	}
}

// TestSignalsEndLongCommands sends SIGTERM and SIGINT to a following logs stream and to
// a trigger waiting for a runner that never becomes ready: each must end promptly,
// with no stack trace.
func TestSignalsEndLongCommands(t *testing.T) {
	e := startRunner(t, "robusta", nil, sandbox.RunnerSpec{})
	pending := startRunner(t, "robusta-pending", nil, sandbox.RunnerSpec{Unschedulable: true})
	cases := []struct {
		name     string
		env      []string
		args     []string
		ready    string // a stdout line that says the command is under way ("" : wait 2 s)
		sig      syscall.Signal
		code     int
		inStderr string
	}{
		{"logs -f, SIGTERM", e.env, []string{"-n", "robusta", "logs", "-f"}, "loaded 42 playbooks", syscall.SIGTERM, 0, ""},
		{"logs -f, SIGINT", e.env, []string{"-n", "robusta", "logs", "-f"}, "loaded 42 playbooks", syscall.SIGINT, 0, ""},
		{"trigger waiting for a runner, SIGTERM", pending.env, []string{"-n", "robusta-pending", "playbooks", "trigger", "--no-check", "my_action", "--wait", "5m"}, "", syscall.SIGTERM, 130, "interrupted"},
		{"trigger waiting for a runner, SIGINT", pending.env, []string{"-n", "robusta-pending", "playbooks", "trigger", "--no-check", "my_action", "--wait", "5m"}, "", syscall.SIGINT, 130, "interrupted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p := startStream(t, ctx, tc.env, tc.args...)
			cmd := p.cmd
			if tc.ready == "" {
				time.Sleep(2 * time.Second)
			} else {
				p.waitLine(t, tc.ready, 20*time.Second)
			}
			sent := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			took := time.Since(sent)
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			r := result{stderr: p.stderrText(), code: code}
			if took > 3*time.Second {
				t.Fatalf("ended %s after the signal\n%s", took, r)
			}
			if code != tc.code || !strings.Contains(r.stderr, tc.inStderr) {
				t.Fatalf("want exit %d and %q\n%s", tc.code, tc.inStderr, r)
			}
			noStackTrace(t, r)
		})
	}
}

// TestPortForwardForbiddenFailsFast: a user who may list pods but not port-forward or exec gets
// the forbidden error at once (apierrors.IsForbidden through the explained error), not
// after retrying for the whole --timeout.
func TestPortForwardForbiddenFailsFast(t *testing.T) {
	e := startRunner(t, "robusta-pf", nil, sandbox.RunnerSpec{})
	ctx := context.Background()
	token, err := e.c.ServiceAccountToken(ctx, "e2e-nopf", "lister")
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "list-only", Namespace: "robusta-pf"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list"}}},
	}
	if _, err := e.c.Client.RbacV1().Roles("robusta-pf").Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "list-only", Namespace: "robusta-pf"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "list-only"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "lister", Namespace: "e2e-nopf"}},
	}
	if _, err := e.c.Client.RbacV1().RoleBindings("robusta-pf").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := e.c.WriteTokenKubeconfig(kc, "lister", token); err != nil {
		t.Fatal(err)
	}
	r := run(t, kubeconfigEnv(kc), "-n", "robusta-pf", "playbooks", "trigger", "--no-check", "my_action", "--timeout", "60s", "--show-logs=false")
	if r.code != 1 || r.elapsed > 20*time.Second {
		t.Fatalf("want a prompt failure\n%s\n(took %s)", r, r.elapsed)
	}
	mustContain(t, r, "stderr", "forbidden")
	mustContain(t, r, "stderr", "pods/portforward")
	if n := len(e.triggerBodies()); n != 0 {
		t.Fatalf("%d requests reached the runner", n)
	}
	// Exec is refused the same way, and explained.
	r = run(t, kubeconfigEnv(kc), "-n", "robusta-pf", "playbooks", "list-dirs")
	if r.code != 1 || r.elapsed > 20*time.Second {
		t.Fatalf("want a prompt failure\n%s", r)
	}
	mustContain(t, r, "stderr", `forbidden: user "system:serviceaccount:e2e-nopf:lister" cannot create pods/exec`)
}

// TestSignalEndsAPromptWithinGrace: gen-config waits on the terminal, where no context
// reaches; SIGTERM must still end it (after the grace period) with exit 130, and leave
// no values file behind.
func TestSignalEndsAPromptWithinGrace(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "gen-config")
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "TERM=xterm-256color", "KUBECONFIG=" + filepath.Join(dir, "none")}
	cmd.Dir = dir
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	go func() { _, _ = io.Copy(io.Discard, tty) }()
	time.Sleep(2 * time.Second) // the wizard is up and reading the terminal
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("gen-config still runs 20 s after SIGTERM")
	}
	took := time.Since(sent)
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v", err)
	}
	if took > 8*time.Second {
		t.Fatalf("ended %s after SIGTERM", took)
	}
	if _, err := os.Stat(filepath.Join(dir, "generated_values.yaml")); err == nil {
		t.Fatal("a values file was written")
	}
}
