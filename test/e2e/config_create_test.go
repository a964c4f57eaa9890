package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// onPTY runs the binary with args on a pseudo-terminal and lets script answer.
func onPTY(t *testing.T, env, args []string, script func(c *expect.Console)) (int, string) {
	t.Helper()
	home := t.TempDir()
	return onTerminal(t, 20*time.Second, func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, binary, args...)
		cmd.Env = append([]string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "PATH=" + os.Getenv("PATH"), "TERM=xterm-256color"}, env...)
		return cmd
	}, script)
}

// answerConfirm waits for the question, then for survey's raw mode (its cursor query),
// and answers.
func answerConfirm(t *testing.T, c *expect.Console, question, answer string) {
	if _, err := c.ExpectString(question); err != nil {
		t.Errorf("%s: %v", question, err)
		return
	}
	if _, err := c.ExpectString("\x1b[?25h\x1b[6n"); err != nil {
		t.Errorf("%s (raw mode): %v", question, err)
	}
	time.Sleep(100 * time.Millisecond)
	c.SendLine(answer)
	_, _ = c.ExpectEOF()
}

const createValues = `customPlaybooks:
- name: created-custom
  triggers:
  - on_pod_update: {}
  actions:
  - pod_events_enricher: {}
sinksConfig:
- robusta_sink: {name: robusta_ui_sink, token: tok-CREATE-S3CR3T}
globalConfig: {cluster_name: made-here, signing_key: 6b1e3e9a-51b4-4c3c-9c1e-0d0f2d8f7a10}
clusterName: ignored-here
`

func TestConfigureSecretCreatesAMissingSecret(t *testing.T) {
	ns := "create-cfg-ns"
	c := sandbox.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	rn, err := c.CreateRunner(ctx, sandbox.RunnerSpec{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.DeleteRunner(context.Background(), rn)
		_ = c.Client.CoreV1().Secrets(ns).Delete(context.Background(), pbconfig.SecretName, metav1.DeleteOptions{})
	})
	env := append(kubeconfigEnv(c.KubeconfigPath), "ROBUSTA_NAMESPACE="+ns)
	dir := t.TempDir()
	file := filepath.Join(dir, "values.yaml")
	_ = os.WriteFile(file, []byte(createValues), 0o600)
	args := []string{"playbooks", "configure", file, "--secret", "--backup-dir", filepath.Join(dir, "b")}
	absent := func(when string) {
		t.Helper()
		if _, err := c.Client.CoreV1().Secrets(ns).Get(ctx, pbconfig.SecretName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("%s: the Secret exists (%v)", when, err)
		}
	}

	// No terminal, no --yes: a one-line refusal naming --yes.
	r := run(t, env, args...)
	if r.code != 2 || !strings.Contains(r.stderr, "Secret "+ns+"/"+pbconfig.SecretName+" does not exist; pass --yes") {
		t.Fatal(r)
	}
	absent("no --yes")
	// --dry-run shows what would be created, secrets masked.
	r = run(t, env, append(args, "--dry-run")...)
	if r.code != 0 || !strings.Contains(r.stdout, "Would create Secret") || !strings.Contains(r.stdout, "created-custom") || strings.Contains(r.stdout, "tok-CREATE-S3CR3T") {
		t.Fatal(r)
	}
	absent("--dry-run")
	mustContain(t, r, "stderr", "clusterName in "+file+" not applied")

	// On a terminal: "no" creates nothing, "yes" creates it.
	code, screen := onPTY(t, env, args, func(cx *expect.Console) { answerConfirm(t, cx, "Create Secret "+ns+"/", "n") })
	if code == 0 || !strings.Contains(screen, "aborted") {
		t.Fatalf("exit %d\n%s", code, screen)
	}
	absent(`answered "no"`)
	code, screen = onPTY(t, env, args, func(cx *expect.Console) { answerConfirm(t, cx, "Create Secret "+ns+"/", "y") })
	if code != 0 || !strings.Contains(screen, "Created Secret "+ns+"/"+pbconfig.SecretName) {
		t.Fatalf("exit %d\n%s", code, screen)
	}
	s, err := c.Client.CoreV1().Secrets(ns).Get(ctx, pbconfig.SecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != corev1.SecretTypeOpaque || len(s.Data) != 1 || len(s.Labels) != 0 || s.Annotations["meta.helm.sh/release-name"] != "" {
		t.Fatalf("Secret: type %s, %d keys, labels %v, annotations %v", s.Type, len(s.Data), s.Labels, s.Annotations)
	}
	m := activeOf(t, ns)
	gc, _ := m["global_config"].(map[string]any)
	if namesOf(m) != "created-custom" || sinkNames(m) != "robusta_ui_sink" || gc["cluster_name"] != "made-here" || gc["signing_key"] == nil || m["playbook_repos"] != nil && len(m["playbook_repos"].(map[string]any)) != 0 {
		t.Fatalf("created config: %v", m)
	}
	pod, err := c.Client.CoreV1().Pods(ns).Get(ctx, rn.Pod, metav1.GetOptions{})
	if err != nil || pod.Annotations[pbconfig.ReloadAnnotation] == "" {
		t.Fatalf("runner pod not annotated: %v %v", pod.Annotations, err)
	}

	// The record written with it lets the next configure replace the playbook.
	_ = os.WriteFile(file, []byte(strings.ReplaceAll(createValues, "created-custom", "replaced-custom")), 0o600)
	r = run(t, env, args...)
	if r.code != 0 || strings.Contains(r.stderr, "all are kept") {
		t.Fatal(r)
	}
	if got := namesOf(activeOf(t, ns)); got != "replaced-custom" {
		t.Fatalf("second configure: %s", got)
	}
}

// TestConfigureSecretCreatedUnderHelmIsAdopted: under a Helm release, the created
// Secret carries the marks Helm puts on what it creates, and the release's next
// upgrade goes through and renders it again.
func TestConfigureSecretCreatedUnderHelmIsAdopted(t *testing.T) {
	ns := "create-helm-ns"
	c, _, _ := installRobusta(t, ns, map[string]any{"testHooks": true}, nil)
	ctx := context.Background()
	if err := c.Client.CoreV1().Secrets(ns).Delete(ctx, pbconfig.SecretName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env := append(kubeconfigEnv(c.KubeconfigPath), "ROBUSTA_NAMESPACE="+ns)
	dir := t.TempDir()
	file := filepath.Join(dir, "values.yaml")
	_ = os.WriteFile(file, []byte(createValues), 0o600)
	r := run(t, env, "playbooks", "configure", file, "--secret", "--yes", "--backup-dir", filepath.Join(dir, "b"))
	if r.code != 0 {
		t.Fatal(r)
	}
	s, err := c.Client.CoreV1().Secrets(ns).Get(ctx, pbconfig.SecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Labels["app.kubernetes.io/managed-by"] != "Helm" || s.Annotations["meta.helm.sh/release-name"] != "robusta" || s.Annotations["meta.helm.sh/release-namespace"] != ns {
		t.Fatalf("labels %v annotations %v", s.Labels, s.Annotations)
	}
	if _, err := c.HelmUpgrade(ctx, "robusta", ns, chartDir(), map[string]any{"testHooks": true}); err != nil {
		t.Fatalf("helm upgrade after the Secret was created: %v", err)
	}
	if got := namesOf(activeOf(t, ns)); strings.Contains(got, "created-custom") {
		t.Fatalf("the upgrade did not render the Secret again: %s", got)
	}
}
