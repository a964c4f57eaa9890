package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"
	"sigs.k8s.io/yaml"
)

var uiToken = base64.StdEncoding.EncodeToString([]byte(`{"account_id":"acc-e2e","session_token":"s"}`))

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGenConfigFlags(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "generated_values.yaml")
	kc := filepath.Join(dir, "kubeconfig")
	_ = os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: kind-dev\n  cluster: {server: 'https://127.0.0.1:1'}\ncontexts:\n- name: kind-dev\n  context: {cluster: kind-dev, user: u}\nusers:\n- name: u\n  user: {token: x}\ncurrent-context: kind-dev\n"), 0o600)
	env := kubeconfigEnv(kc)

	r := run(t, env, "gen-config", "--no-input", "--output-path", out, "--slack-api-key", "xoxb-secret-1234", "--slack-channel", "#ops", "--skip-verify")
	if r.code != 0 {
		t.Fatal(r)
	}
	st, _ := os.Stat(out)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o, want 0600", st.Mode().Perm())
	}
	v := readValues(t, out)
	// Defaults from the kube context: cluster name and small-cluster guess.
	if v["clusterName"] != "kind-dev" || v["isSmallCluster"] != true || v["playbooksPersistentVolume"] != true {
		t.Fatalf("values: %v", v)
	}
	if strings.Contains(r.stdout+r.stderr, "xoxb-secret-1234") {
		t.Fatalf("the Slack key was printed in full\n%s", r)
	}
	mustContain(t, r, "stdout", "Slack #ops (key ********1234)")
	gc := v["globalConfig"].(map[string]any)
	signing := gc["signing_key"]

	// Existing file: refused without --force, nothing changed.
	before, _ := os.ReadFile(out)
	r = run(t, env, "gen-config", "--no-input", "--output-path", out)
	if r.code != 1 || !strings.Contains(r.stderr, "already exists") || !strings.Contains(r.stderr, "--force") {
		t.Fatal(r)
	}
	after, _ := os.ReadFile(out)
	if string(before) != string(after) {
		t.Fatal("the existing file changed")
	}

	// --update keeps the signing key and the Slack sink, adds Teams.
	r = run(t, env, "gen-config", "--no-input", "--output-path", out, "--update", "--msteams-webhook", "https://example.webhook.office.com/abc")
	if r.code != 0 {
		t.Fatal(r)
	}
	v = readValues(t, out)
	sinks := v["sinksConfig"].([]any)
	if v["globalConfig"].(map[string]any)["signing_key"] != signing || len(sinks) != 2 || v["isSmallCluster"] != true {
		t.Fatalf("update lost keys: %v", v)
	}

	// To stdout.
	r = run(t, env, "gen-config", "--no-input", "--cluster-name", "piped", "--robusta-api-key", uiToken, "--output-path", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "account_id: acc-e2e") || !strings.Contains(r.stdout, "robusta_ui_sink") || !strings.Contains(r.stderr, "Wrote Helm values to stdout") {
		t.Fatal(r)
	}
}

func TestGenConfigBadInputWritesNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "values.yaml")
	env := kubeconfigEnv(filepath.Join(dir, "none"))
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--robusta-api-key", "not-a-token!"}, 2, "--robusta-api-key: the Robusta UI token is not base64"},
		{[]string{"--msteams-webhook", "http://insecure.example"}, 2, "--msteams-webhook must be an https:// URL"},
		{[]string{"--slack-api-key", "xoxb-1"}, 2, "pass --slack-channel"},
		{[]string{"--cluster-name", "Not Valid"}, 2, "lower-case letters"},
		{[]string{}, 2, "no cluster name: pass --cluster-name"},
		{[]string{"--output-path", filepath.Join(dir, "missing", "v.yaml")}, 2, "does not exist"},
	}
	for _, tc := range cases {
		args := append([]string{"gen-config", "--no-input", "--output-path", out, "--cluster-name", "c"}, tc.args...)
		if len(tc.args) == 0 {
			args = []string{"gen-config", "--no-input", "--output-path", out}
		}
		r := run(t, env, args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %s", tc.args, r)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("bad input left files: %v", entries)
	}
	// An unwritable folder.
	ro := filepath.Join(dir, "ro")
	_ = os.Mkdir(ro, 0o500)
	if os.Geteuid() != 0 { // root writes anywhere
		r := run(t, env, "gen-config", "--no-input", "--cluster-name", "c", "--output-path", filepath.Join(ro, "v.yaml"))
		if r.code == 0 || !strings.Contains(r.stderr, "cannot write") {
			t.Fatal(r)
		}
	}
}

// wizard runs gen-config on a pseudo-terminal and lets script answer like a person.
func wizard(t *testing.T, dir string, args []string, script func(c *expect.Console)) (int, string) {
	t.Helper()
	return wizardEnv(t, dir, nil, args, script)
}

// wizardEnv is wizard with more environment variables.
func wizardEnv(t *testing.T, dir string, env, args []string, script func(c *expect.Console)) (int, string) {
	t.Helper()
	return onTerminal(t, 15*time.Second, func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, binary, append([]string{"gen-config"}, args...)...)
		cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "TERM=xterm-256color", "KUBECONFIG=" + filepath.Join(dir, "none")}
		cmd.Env = append(cmd.Env, env...)
		cmd.Dir = dir
		return cmd
	}, script)
}

func TestGenConfigWizard(t *testing.T) {
	dir := t.TempDir()
	var failures []string
	// Answer only once survey has put the terminal in raw mode (it then asks for the
	// cursor position, ESC[6n), as a person answers once the prompt is drawn; typed
	// earlier, the terminal itself would echo the keys.
	check := func(_ string, err error) {
		if err != nil {
			failures = append(failures, err.Error())
		}
	}
	prompt := func(c *expect.Console, text string) {
		if _, err := c.ExpectString(text); err != nil {
			failures = append(failures, text+": "+err.Error())
		}
		if _, err := c.ExpectString("\x1b[?25h\x1b[6n"); err != nil {
			failures = append(failures, text+" (raw mode): "+err.Error())
		}
		// The terminal emulator answers survey's cursor query asynchronously; keys sent
		// before that answer would be mixed into it. A person is slower than this anyway.
		time.Sleep(100 * time.Millisecond)
	}
	slackAPI := newSlackStandIn(t, map[string]string{"alerts": ""})
	code, screen := wizardEnv(t, dir, []string{"ROBUSTA_SLACK_API_URL=" + slackAPI.URL}, nil, func(c *expect.Console) {
		prompt(c, "Cluster name")
		c.SendLine("my-cluster")
		prompt(c, "small or local cluster")
		c.SendLine("n")
		prompt(c, "Slack?")
		c.SendLine("y")
		prompt(c, "Slack bot token")
		c.SendLine("xoxb-typed-secret-9876")
		prompt(c, "Slack channel")
		c.SendLine("#alerts")
		prompt(c, "MS Teams?")
		c.SendLine("y")
		prompt(c, "MS Teams webhook URL")
		c.SendLine("http://not-https.example")
		check(c.ExpectString("must be an https:// URL"))
		prompt(c, "MS Teams webhook URL")
		c.SendLine("https://example.webhook.office.com/ok")
		prompt(c, "Discord?")
		c.SendLine("n")
		prompt(c, "generic webhook?")
		c.SendLine("n")
		prompt(c, "Robusta UI")
		c.SendLine("n")
		prompt(c, "Prometheus stack?")
		c.SendLine("y")
		prompt(c, "persistent volume")
		c.SendLine("")
		prompt(c, "exception reports")
		c.SendLine("n")
		check(c.ExpectString("Wrote Helm values"))
		check(c.ExpectEOF())
	})
	if code != 0 || len(failures) > 0 {
		t.Fatalf("exit %d, %v\nscreen:\n%s", code, failures, screen)
	}
	if strings.Contains(screen, "xoxb-typed-secret-9876") {
		t.Fatalf("the typed token was echoed:\n%s", screen)
	}
	v := readValues(t, filepath.Join(dir, "generated_values.yaml"))
	sinks := v["sinksConfig"].([]any)
	if v["clusterName"] != "my-cluster" || v["enablePrometheusStack"] != true || v["playbooksPersistentVolume"] != true || len(sinks) != 2 {
		t.Fatalf("values: %v", v)
	}
	slack := sinks[0].(map[string]any)["slack_sink"].(map[string]any)
	if slack["slack_channel"] != "alerts" || slack["api_key"] != "xoxb-typed-secret-9876" {
		t.Fatalf("slack sink: %v", slack)
	}
}

func TestGenConfigWizardCtrlCLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	code, screen := wizard(t, dir, []string{"--cluster-name", "x"}, func(c *expect.Console) {
		_, _ = c.ExpectString("small or local cluster")
		_, _ = c.ExpectString("\x1b[?25h\x1b[6n")
		time.Sleep(100 * time.Millisecond)
		_, _ = c.Send("\x03")
		_, _ = c.ExpectEOF()
	})
	if code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, screen)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("Ctrl-C left files: %v", entries)
	}
}

// --update on a file whose keys have the wrong type stops, naming the key, and writes
// nothing: neither the sinks nor the global config are silently replaced.
func TestGenConfigUpdateRefusesWrongTypes(t *testing.T) {
	dir := t.TempDir()
	env := kubeconfigEnv(filepath.Join(dir, "none"))
	for _, tc := range []struct{ content, want string }{
		{"clusterName: c\nglobalConfig: \"a string\"\nsinksConfig:\n- slack_sink: {name: mine, slack_channel: c, api_key: k}\n",
			"line 2: globalConfig is a string, but the Robusta chart expects a mapping: fix or remove it (nothing was written)"},
		{"clusterName: c\nglobalConfig:\n  signing_key: keep\nsinksConfig: 5\n",
			"line 4: sinksConfig is a number, but the Robusta chart expects a list: fix or remove it (nothing was written)"},
	} {
		path := filepath.Join(dir, "values.yaml")
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		r := run(t, env, "gen-config", "--update", "--no-input", "--output-path", path, "--msteams-webhook", "https://example.webhook.office.com/x")
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Fatalf("want one line %q\n%s", tc.want, r)
		}
		if b, _ := os.ReadFile(path); string(b) != tc.content {
			t.Fatalf("the file changed:\n%s", b)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("left files: %v", entries)
		}
	}
}

// Through a symlink (or two), gen-config updates the target and keeps the links.
func TestGenConfigFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	env := kubeconfigEnv(filepath.Join(dir, "none"))
	real := filepath.Join(dir, "config", "values.yaml")
	if err := os.Mkdir(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("clusterName: prod\nglobalConfig:\n  signing_key: keep-me\n  account_id: acc-keep\nsinksConfig:\n- datadog_sink: {name: dd, api_key: ddkey}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// generated_values.yaml -> config/values.yaml through a relative and an absolute link.
	mid := filepath.Join(dir, "mid.yaml")
	link := filepath.Join(dir, "generated_values.yaml")
	if err := os.Symlink("config/values.yaml", mid); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(mid, link); err != nil {
		t.Fatal(err)
	}

	r := run(t, env, "gen-config", "--update", "--no-input", "--output-path", link, "--msteams-webhook", "https://example.webhook.office.com/x")
	if r.code != 0 {
		t.Fatal(r)
	}
	for path, dest := range map[string]string{link: mid, mid: "config/values.yaml"} {
		st, err := os.Lstat(path)
		if err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("%s is no longer a symlink: %v %v", path, st.Mode(), err)
		}
		if got, _ := os.Readlink(path); got != dest {
			t.Fatalf("%s now points at %s", path, got)
		}
	}
	st, err := os.Stat(real)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("target mode %v, want 0600 (%v)", st.Mode().Perm(), err)
	}
	v := readValues(t, real)
	gc, _ := v["globalConfig"].(map[string]any)
	sinks := fmt.Sprint(v["sinksConfig"])
	if v["clusterName"] != "prod" || gc["signing_key"] != "keep-me" || gc["account_id"] != "acc-keep" ||
		!strings.Contains(sinks, "datadog_sink") || !strings.Contains(sinks, "main_ms_teams_sink") {
		t.Fatalf("target values: %v", v)
	}
	for _, d := range []string{dir, filepath.Dir(real)} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Fatalf("temp file left in %s: %s", d, e.Name())
			}
		}
	}

	// A link whose target does not exist yet: the target is created, the link kept.
	dangling := filepath.Join(dir, "new-link.yaml")
	newTarget := filepath.Join(dir, "config", "new.yaml")
	if err := os.Symlink(newTarget, dangling); err != nil {
		t.Fatal(err)
	}
	r = run(t, env, "gen-config", "--no-input", "--cluster-name", "fresh", "--output-path", dangling)
	if r.code != 0 {
		t.Fatal(r)
	}
	if st, err := os.Lstat(dangling); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v", err)
	}
	if v := readValues(t, newTarget); v["clusterName"] != "fresh" {
		t.Fatalf("new target: %v", v)
	}
}
