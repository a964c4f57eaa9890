package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

const goodValues = `customPlaybooks:
- name: job-failures
  triggers:
  - on_job_failure: {}
  actions:
  - create_finding: {title: "Job Failed", aggregation_key: job_failure}
  - job_info_enricher: {}
  sinks: [main_slack_sink]
sinksConfig:
- slack_sink:
    name: main_slack_sink
    slack_channel: alerts
    api_key: xoxb-very-secret-4321
`

const badValues = `customPlaybooks:
- triggers:
  - on_prometheus_alert: {alert_name: X}
  actions:
  - resource_babysitter: {}
  sinks: [nowhere]
sinksConfig:
- slack_sink: {name: s1, slack_channel: c, api_key: k}
`

func secretContent(t *testing.T, ns string) (string, string) {
	t.Helper()
	c := sandboxCluster(t)
	s, err := c.Client.CoreV1().Secrets(ns).Get(context.Background(), pbconfig.SecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(s.Data[pbconfig.SecretKey]), s.ResourceVersion
}

func TestConfigureThroughHelmAndSecret(t *testing.T) {
	ns := "cfg-ns"
	c, _, _ := installRobusta(t, ns, map[string]any{
		"customPlaybooks": []any{map[string]any{"name": "old-one", "triggers": []any{map[string]any{"on_pod_update": map[string]any{}}}, "actions": []any{map[string]any{"pod_events_enricher": map[string]any{}}}}},
		"sinksConfig":     []any{map[string]any{"robusta_sink": map[string]any{"name": "robusta_ui_sink", "token": "tok-abcdefgh1234"}}},
		"testHooks":       true,
	}, nil)
	env := append(kubeconfigEnv(c.KubeconfigPath), "ROBUSTA_NAMESPACE="+ns)
	dir := t.TempDir()

	r := run(t, env, "playbooks", "list")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "old-one")
	mustContain(t, r, "stdout", "pod_events_enricher")
	r = run(t, env, "playbooks", "show-config")
	if r.code != 0 || strings.Contains(r.stdout, "abcdefgh1234") || !strings.Contains(r.stdout, "token: tok-…(masked)") {
		t.Fatalf("secrets not masked\n%s", r)
	}
	if r = run(t, env, "playbooks", "show-config", "--show-secrets"); !strings.Contains(r.stdout, "tok-abcdefgh1234") {
		t.Fatal(r)
	}

	// An invalid file is refused and nothing changes.
	before, rvBefore := secretContent(t, ns)
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte(badValues), 0o644)
	r = run(t, env, "playbooks", "configure", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatal(r)
	}
	if after, rv := secretContent(t, ns); after != before || rv != rvBefore {
		t.Fatal("a refused configure changed the Secret")
	}

	// Through Helm: a new revision renders the new playbooks into the Secret.
	good := filepath.Join(dir, "good.yaml")
	_ = os.WriteFile(good, []byte(goodValues), 0o644)
	r = run(t, env, "playbooks", "configure", good, "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "would change customPlaybooks, sinksConfig") {
		t.Fatal(r)
	}
	r = run(t, env, "playbooks", "configure", good)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "Upgraded Helm release cfg-ns/robusta to revision 2")
	// The chart's upgrade hook is neither applied nor part of the manifest; it is
	// recorded as a hook, as Helm records it, and the user is told it did not run.
	mustContain(t, r, "stderr", "the chart's upgrade hooks were not run (configmap/robusta-upgrade-hook)")
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), "robusta-upgrade-hook", metav1.GetOptions{}); err == nil {
		t.Fatal("the hook ConfigMap was applied")
	}
	// Helm itself sees the new revision: history has 1 superseded, 2 deployed.
	hcfg, err := c.HelmConfig(ns)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := action.NewHistory(hcfg).Run("robusta")
	if err != nil || len(hist) != 2 || hist[0].Info.Status != release.StatusSuperseded || hist[1].Info.Status != release.StatusDeployed {
		t.Fatalf("helm history: %v %+v", err, hist)
	}
	if len(hist[1].Hooks) != 1 || hist[1].Hooks[0].Name != "robusta-upgrade-hook" || strings.Contains(hist[1].Manifest, "upgrade-hook") ||
		!strings.Contains(hist[1].Manifest, "kind: Deployment") {
		t.Fatalf("revision 2: hooks %+v, manifest:\n%s", hist[1].Hooks, hist[1].Manifest)
	}
	after, _ := secretContent(t, ns)
	if !strings.Contains(after, "job-failures") || strings.Contains(after, "old-one") || !strings.Contains(after, "main_slack_sink") {
		t.Fatalf("Secret after the upgrade:\n%s", after)
	}

	// Directly through the Secret: content replaced, runner pods annotated, backup kept.
	direct := filepath.Join(dir, "direct.yaml")
	_ = os.WriteFile(direct, []byte(strings.Replace(goodValues, "job-failures", "direct-one", 1)), 0o644)
	backups := filepath.Join(dir, "backups")
	r = run(t, env, "playbooks", "configure", direct, "--secret", "--backup-dir", backups)
	if r.code != 0 {
		t.Fatal(r)
	}
	now, _ := secretContent(t, ns)
	if !strings.Contains(now, "direct-one") {
		t.Fatalf("Secret:\n%s", now)
	}
	files, _ := os.ReadDir(backups)
	if len(files) != 1 {
		t.Fatalf("backups: %v", files)
	}
	saved, _ := os.ReadFile(filepath.Join(backups, files[0].Name()))
	if string(saved) != after {
		t.Fatal("the backup does not hold the previous content")
	}
	pods, _ := c.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "robustaComponent=runner"})
	annotated := 0
	for _, p := range pods.Items {
		if p.Annotations[pbconfig.ReloadAnnotation] != "" {
			annotated++
		}
	}
	if annotated == 0 {
		t.Fatal("no runner pod annotated")
	}

	// A concurrent change between read and write is reported, not overwritten.
	_, staleRV := secretContent(t, ns)
	s, _ := c.Client.CoreV1().Secrets(ns).Get(context.Background(), pbconfig.SecretName, metav1.GetOptions{})
	s.Data[pbconfig.SecretKey] = []byte("active_playbooks: []\n# changed by someone else\n")
	if _, err := c.Client.CoreV1().Secrets(ns).Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = pbconfig.WriteSecret(context.Background(), c.Client, ns, staleRV, []byte("mine"), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "changed since it was read") {
		t.Fatalf("want a conflict, got %v", err)
	}
	if cur, _ := secretContent(t, ns); !strings.Contains(cur, "changed by someone else") {
		t.Fatal("the concurrent change was overwritten")
	}
}

func TestEditConfigWithFakeEditor(t *testing.T) {
	ns := "edit-ns"
	c, _, _ := installRobusta(t, ns, map[string]any{
		"customPlaybooks": []any{map[string]any{"name": "old-one", "triggers": []any{map[string]any{"on_pod_update": map[string]any{}}}, "actions": []any{map[string]any{"pod_events_enricher": map[string]any{}}}}},
	}, nil)
	base := append(kubeconfigEnv(c.KubeconfigPath), "ROBUSTA_NAMESPACE="+ns)
	backups := t.TempDir()

	before, rv := secretContent(t, ns)
	// Without a cache directory for the backup (no $HOME) the editor does not even open.
	r := run(t, append(base, "HOME=", "EDITOR=echo EDITOR-RAN"), "playbooks", "edit-config")
	if r.code != 1 || !strings.Contains(r.stderr, "no cache directory for the backup") || !strings.Contains(r.stderr, "--backup-dir") || strings.Contains(r.stdout, "EDITOR-RAN") {
		t.Fatal(r)
	}
	// An edited file that cannot be read back is an error, not an empty config.
	r = run(t, append(base, "EDITOR=rm -f"), "playbooks", "edit-config", "--backup-dir", backups)
	if r.code != 1 || !strings.Contains(r.stderr, "read the edited config back (nothing was changed)") {
		t.Fatal(r)
	}
	if after, rv2 := secretContent(t, ns); after != before || rv2 != rv {
		t.Fatal("a failed edit changed the Secret")
	}
	r = run(t, append(base, "EDITOR=true"), "playbooks", "edit-config", "--backup-dir", backups)
	if r.code != 0 || !strings.Contains(r.stdout, "nothing to update") {
		t.Fatal(r)
	}
	r = run(t, append(base, "EDITOR=sed -i s/on_pod_update/on_pod_updat/"), "playbooks", "edit-config", "--backup-dir", backups)
	if r.code != 1 || !strings.Contains(r.stderr, `unknown trigger "on_pod_updat"`) || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatal(r)
	}
	if after, rv2 := secretContent(t, ns); after != before || rv2 != rv {
		t.Fatal("an invalid edit changed the Secret")
	}
	r = run(t, append(base, "EDITOR=sed -i s/old-one/edited-one/"), "playbooks", "edit-config", "--backup-dir", backups)
	if r.code != 0 {
		t.Fatal(r)
	}
	if after, _ := secretContent(t, ns); !strings.Contains(after, "edited-one") || strings.Contains(after, "old-one") {
		t.Fatalf("Secret after edit:\n%s", after)
	}
}
