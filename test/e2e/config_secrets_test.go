package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// everySecretFile is a values file with one secret of every kind robusta masks; every
// secret holds the marker S3CR3T (987654 is a numeric password).
func everySecretFile(t *testing.T) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "internal", "playbooks", "config", "testdata", "every-secret.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustMatch(t *testing.T, r result, re string) {
	t.Helper()
	if !regexp.MustCompile(re).MatchString(r.stdout) {
		t.Fatalf("stdout does not match %s\n%s", re, r)
	}
}

func noSecretShown(t *testing.T, what string, r result) {
	t.Helper()
	for _, s := range []string{"S3CR3T", "987654"} {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			t.Fatalf("%s shows a secret (%s):\n%s", what, s, r)
		}
	}
}

// Every command and output format that prints configuration masks every secret;
// --show-secrets is the only way to see them.
func TestEverySecretMaskedEverywhere(t *testing.T) {
	ns := "mask-ns"
	data := everySecretFile(t)
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	c, _, _ := installRobusta(t, ns, values, nil)
	env := append(kubeconfigEnv(c.KubeconfigPath), "ROBUSTA_NAMESPACE="+ns)
	dir := t.TempDir()
	if cur, _ := secretContent(t, ns); !strings.Contains(cur, "S3CR3T-datadog-key") {
		t.Fatalf("the chart did not render the secrets:\n%s", cur)
	}

	for _, args := range [][]string{
		{"playbooks", "list"}, {"playbooks", "list", "-o", "json"}, {"playbooks", "list", "-o", "yaml"},
		{"playbooks", "show-config"}, {"playbooks", "show-config", "-o", "json"}, {"playbooks", "show-config", "-o", "yaml"},
	} {
		r := run(t, env, args...)
		if r.code != 0 {
			t.Fatalf("%v: %s", args, r)
		}
		noSecretShown(t, strings.Join(args, " "), r)
		if args[1] == "show-config" || len(args) > 2 {
			mustContain(t, r, "stdout", "masked")
			mustContain(t, r, "stdout", "{{ env.SLACK_API_KEY }}") // from the environment: not a secret
		}
	}
	for _, args := range [][]string{{"playbooks", "list", "-o", "json", "--show-secrets"}, {"playbooks", "show-config", "--show-secrets"}} {
		if r := run(t, env, args...); r.code != 0 || !strings.Contains(r.stdout, "S3CR3T-datadog-key") {
			t.Fatalf("%v does not show the secrets: %s", args, r)
		}
	}

	// A new file with changed secrets: the diffs say they changed, masked.
	changed := filepath.Join(dir, "changed.yaml")
	_ = os.WriteFile(changed, []byte(strings.ReplaceAll(string(data), "S3CR3T-", "S3CR3T-new-")), 0o600)
	r := run(t, env, "playbooks", "validate", changed, "-o", "json")
	noSecretShown(t, "validate", r)
	r = run(t, env, "playbooks", "configure", changed, "--dry-run") // the Helm path
	if r.code != 0 {
		t.Fatal(r)
	}
	noSecretShown(t, "configure --dry-run", r)
	mustMatch(t, r, `(?m)^-\s+api_key: xoxb-…\(masked \d+\)$`)
	mustMatch(t, r, `(?m)^\+\s+api_key: xoxb-…\(masked \d+\)$`)
	for _, extra := range [][]string{{"--dry-run"}, nil} {
		r = run(t, env, append([]string{"playbooks", "configure", changed, "--secret", "--backup-dir", filepath.Join(dir, "b")}, extra...)...)
		if r.code != 0 {
			t.Fatal(r)
		}
		noSecretShown(t, "configure --secret", r)
		mustMatch(t, r, `(?m)^-\s+api_key: xoxb-…\(masked \d+\)$`)
		mustMatch(t, r, `(?m)^\+\s+api_key: xoxb-…\(masked \d+\)$`)
	}
	if cur, _ := secretContent(t, ns); !strings.Contains(cur, "S3CR3T-new-datadog-key") {
		t.Fatalf("configure --secret did not write:\n%s", cur)
	}
	r = run(t, append(env, "EDITOR=sed -i s/S3CR3T-new-datadog-key/S3CR3T-edited/"), "playbooks", "edit-config", "--backup-dir", filepath.Join(dir, "b"))
	if r.code != 0 {
		t.Fatal(r)
	}
	noSecretShown(t, "edit-config", r)
	mustMatch(t, r, `(?m)^\+\s+api_key: …\(masked \d+\)$`)
	if cur, _ := secretContent(t, ns); !strings.Contains(cur, "S3CR3T-edited") {
		t.Fatalf("edit-config did not write:\n%s", cur)
	}
	// An edit that breaks the file: the error names no secret either.
	r = run(t, append(env, "EDITOR=sed -i s/slack_channel:/slack_channel: [/"), "playbooks", "edit-config", "--backup-dir", filepath.Join(dir, "b"))
	if r.code != 1 {
		t.Fatal(r)
	}
	noSecretShown(t, "edit-config error", r)
}

const keptValues = `customPlaybooks:
- name: new-custom
  triggers:
  - on_pod_update: {}
  actions:
  - pod_events_enricher: {}
`

func activeOf(t *testing.T, ns string) map[string]any {
	t.Helper()
	cur, _ := secretContent(t, ns)
	var m map[string]any
	if err := yaml.Unmarshal([]byte(cur), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func namesOf(m map[string]any) string {
	var out []string
	pbs, _ := m["active_playbooks"].([]any)
	for _, p := range pbs {
		pm, _ := p.(map[string]any)
		out = append(out, pm["name"].(string))
	}
	return strings.Join(out, ",")
}

func sinkNames(m map[string]any) string {
	var out []string
	sinks, _ := m["sinks_config"].([]any)
	for _, s := range sinks {
		for _, params := range s.(map[string]any) {
			out = append(out, params.(map[string]any)["name"].(string))
		}
	}
	return strings.Join(out, ",")
}

// configure --secret changes only what the file holds: sinks, cluster_name, signing_key
// and the chart's built-in playbooks stay.
func TestConfigureSecretKeepsTheRest(t *testing.T) {
	ns := "keep-ns"
	c, _, _ := installRobusta(t, ns, map[string]any{
		"clusterName":     "prod-cluster",
		"globalConfig":    map[string]any{"signing_key": "sk-S3CR3T-keep"},
		"customPlaybooks": []any{map[string]any{"name": "old-one", "triggers": []any{map[string]any{"on_pod_update": map[string]any{}}}, "actions": []any{map[string]any{"pod_events_enricher": map[string]any{}}}}},
		"sinksConfig":     []any{map[string]any{"robusta_sink": map[string]any{"name": "robusta_ui_sink", "token": "tok-S3CR3T-1234"}}},
	}, nil)
	env := append(kubeconfigEnv(c.KubeconfigPath), "ROBUSTA_NAMESPACE="+ns)
	dir := t.TempDir()
	backups := filepath.Join(dir, "backups")
	if got := namesOf(activeOf(t, ns)); got != "old-one,builtin-crash-loop" {
		t.Fatalf("installed: %s", got)
	}

	file := filepath.Join(dir, "custom.yaml")
	_ = os.WriteFile(file, []byte(keptValues), 0o600)
	before, rv := secretContent(t, ns)
	r := run(t, env, "playbooks", "configure", file, "--secret", "--dry-run")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "Would change Secret keep-ns/robusta-playbooks-config-secret key active_playbooks.yaml (customPlaybooks)")
	mustMatch(t, r, `(?m)^-\s+name: old-one$`)
	mustMatch(t, r, `(?m)^\+\s+- name: new-custom$`)
	if after, rv2 := secretContent(t, ns); after != before || rv2 != rv {
		t.Fatal("--dry-run changed the Secret")
	}
	r = run(t, env, "playbooks", "configure", file, "--secret", "--backup-dir", backups)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustMatch(t, r, `(?m)^\+\s+- name: new-custom$`)
	noSecretShown(t, "configure --secret", r)
	m := activeOf(t, ns)
	gc, _ := m["global_config"].(map[string]any)
	if namesOf(m) != "new-custom,builtin-crash-loop" || sinkNames(m) != "robusta_ui_sink" ||
		gc["cluster_name"] != "prod-cluster" || gc["signing_key"] != "sk-S3CR3T-keep" {
		t.Fatalf("after configure --secret: playbooks %s, sinks %s, global %v", namesOf(m), sinkNames(m), gc)
	}

	// Then only sinks: the playbooks written before are kept (recorded on the Secret).
	sinks := filepath.Join(dir, "sinks.yaml")
	_ = os.WriteFile(sinks, []byte("sinksConfig:\n- slack_sink: {name: main_slack_sink, slack_channel: c, api_key: xoxb-S3CR3T-000000000}\nglobalConfig: {cluster_name: ignored}\n"), 0o600)
	r = run(t, env, "playbooks", "configure", sinks, "--secret", "--backup-dir", backups)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "globalConfig in "+sinks+" not applied")
	noSecretShown(t, "configure --secret sinks", r)
	m = activeOf(t, ns)
	gc, _ = m["global_config"].(map[string]any)
	if namesOf(m) != "new-custom,builtin-crash-loop" || sinkNames(m) != "main_slack_sink" || gc["cluster_name"] != "prod-cluster" {
		t.Fatalf("after the sinks: playbooks %s, sinks %s, global %v", namesOf(m), sinkNames(m), gc)
	}
	// The same again changes nothing.
	_, rv = secretContent(t, ns)
	if r = run(t, env, "playbooks", "configure", sinks, "--secret", "--backup-dir", backups); r.code != 0 || !strings.Contains(r.stdout, "No changes") {
		t.Fatal(r)
	}
	if _, rv2 := secretContent(t, ns); rv2 != rv {
		t.Fatal("an unchanged configure wrote the Secret")
	}
}

// Without a Helm release, configure falls back to the Secret with the same rule; what it
// cannot know (which playbooks came from customPlaybooks) it says, and keeps.
func TestConfigureFallbackWithoutHelm(t *testing.T) {
	ns := "nohelm-ns"
	c := sandbox.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	initial := `playbook_repos: {}
sinks_config:
- robusta_sink: {name: robusta_ui_sink, token: tok-S3CR3T-99999}
global_config: {cluster_name: argo-cluster, signing_key: sk-S3CR3T-2}
active_playbooks:
- name: rendered-builtin
  triggers: [{on_pod_crash_loop: {restart_reason: CrashLoopBackOff}}]
  actions: [{report_crash_loop: {}}]
`
	_, err := c.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: pbconfig.SecretName, Namespace: ns},
		Data:       map[string][]byte{pbconfig.SecretKey: []byte(initial)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rn, err := c.CreateRunner(ctx, sandbox.RunnerSpec{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteRunner(context.Background(), rn) })
	env := append(kubeconfigEnv(c.KubeconfigPath), "ROBUSTA_NAMESPACE="+ns)
	dir := t.TempDir()
	file := filepath.Join(dir, "custom.yaml")
	_ = os.WriteFile(file, []byte(keptValues), 0o600)

	r := run(t, env, "playbooks", "configure", file, "--backup-dir", filepath.Join(dir, "b"))
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "no Helm release owns runner")
	mustContain(t, r, "stderr", "all are kept, yours are added before them")
	m := activeOf(t, ns)
	gc, _ := m["global_config"].(map[string]any)
	if namesOf(m) != "new-custom,rendered-builtin" || sinkNames(m) != "robusta_ui_sink" || gc["cluster_name"] != "argo-cluster" || gc["signing_key"] != "sk-S3CR3T-2" {
		t.Fatalf("playbooks %s, sinks %s, global %v", namesOf(m), sinkNames(m), gc)
	}
	// The second time the record says which is custom: it is replaced, not added.
	_ = os.WriteFile(file, []byte(strings.ReplaceAll(keptValues, "new-custom", "newer-custom")), 0o600)
	r = run(t, env, "playbooks", "configure", file, "--backup-dir", filepath.Join(dir, "b"))
	if r.code != 0 || strings.Contains(r.stderr, "all are kept") {
		t.Fatal(r)
	}
	if got := namesOf(activeOf(t, ns)); got != "newer-custom,rendered-builtin" {
		t.Fatalf("second configure: %s", got)
	}
}
