package e2e

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

func chartDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "charts", "robusta")
}

// installRobusta installs the test chart as release "robusta" in namespace and wires
// the runner pod's exec (and port-forward to s, when given).
func installRobusta(t *testing.T, namespace string, values map[string]any, s *sandbox.StandIn) (*sandbox.Cluster, *sandbox.Runner, string) {
	t.Helper()
	c := sandbox.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.HelmInstall(ctx, "robusta", namespace, chartDir(), values); err != nil {
		t.Fatal(err)
	}
	execDir := t.TempDir()
	spec := sandbox.RunnerSpec{ExecDir: execDir}
	if s != nil {
		if err := s.Start(""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		spec.ForwardTo = s.Addr()
	}
	r, err := c.WireRunner(ctx, namespace, "robusta-runner", spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.HelmUninstall("robusta", namespace)
		_ = c.DeleteRunner(context.Background(), r)
	})
	return c, r, execDir
}

func TestPushWarnsAboutHelmValues(t *testing.T) {
	src := sampleRepo(t, "helm_repo")

	// A release without the persistent volume and without playbookRepos: two warnings
	// with the snippets to add.
	c, _, execDir := installRobusta(t, "helm-bare", map[string]any{}, nil)
	storage := filepath.Join(execDir, "storage")
	env := kubeconfigEnv(c.KubeconfigPath)
	r := run(t, env, "playbooks", "push", src, "-n", "helm-bare", "--storage-path", storage)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "release robusta has playbooksPersistentVolume off")
	mustContain(t, r, "stderr", "playbooksPersistentVolume: true")
	mustContain(t, r, "stderr", "no playbookRepos entry of release robusta points at file://"+storage+"/helm_repo")
	mustContain(t, r, "stderr", "  playbookRepos:\n    helm_repo:\n      url: \"file://"+storage+"/helm_repo\"")

	// A release set up for it: no warning.
	url := "file://" + storage + "/helm_repo"
	c, _, execDir2 := installRobusta(t, "helm-ready", map[string]any{
		"playbooksPersistentVolume": true,
		"playbookRepos":             map[string]any{"helm_repo": map[string]any{"url": url}},
	}, nil)
	_ = execDir2
	r = run(t, env, "playbooks", "push", src, "-n", "helm-ready", "--storage-path", storage)
	if r.code != 0 {
		t.Fatal(r)
	}
	if strings.Contains(r.stderr, "playbooksPersistentVolume") || strings.Contains(r.stderr, "playbookRepos") {
		t.Fatalf("warned for a release that has both\n%s", r)
	}
}
