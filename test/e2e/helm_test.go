package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

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

const upgradeValues = `customPlaybooks:
- name: new-one
  triggers:
  - on_job_failure: {}
  actions:
  - job_info_enricher: {}
sinksConfig:
- robusta_sink:
    name: robusta_ui_sink
    token: tok-new
`

// history is the release's revisions, oldest first, read through Helm's own storage.
func history(t *testing.T, c *sandbox.Cluster, ns string) []*release.Release {
	t.Helper()
	hcfg, err := c.HelmConfig(ns)
	if err != nil {
		t.Fatal(err)
	}
	h, err := action.NewHistory(hcfg).Run("robusta")
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(h, func(i, j int) bool { return h[i].Version < h[j].Version })
	return h
}

func statuses(h []*release.Release) string {
	var s []string
	for _, r := range h {
		s = append(s, fmt.Sprintf("%d:%s", r.Version, r.Info.Status))
	}
	return strings.Join(s, " ")
}

var alertRules = schema.GroupVersionResource{Group: "monitoring.test.robusta.dev", Version: "v1", Resource: "alertrules"}

// configure against a chart laid out like the real one (NOTES.txt, _helpers.tpl, a
// vendored subchart, a hook, a CRD and a custom resource of it), installed with Helm's
// install action as users install it.
func TestConfigureUpgradesARealLayoutChart(t *testing.T) {
	ns := "helm-up"
	c, _, _ := installRobusta(t, ns, map[string]any{"clusterName": "e2e", "testHooks": true}, nil)
	ctx := context.Background()
	env := append(kubeconfigEnv(c.KubeconfigPath), "ROBUSTA_NAMESPACE="+ns)
	file := filepath.Join(t.TempDir(), "values.yaml")
	if err := writeFile(file, []byte(upgradeValues)); err != nil {
		t.Fatal(err)
	}

	r := run(t, env, "playbooks", "configure", file)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "Upgraded Helm release "+ns+"/robusta to revision 2")

	h := history(t, c, ns)
	if statuses(h) != "1:superseded 2:deployed" {
		t.Fatalf("history %s", statuses(h))
	}
	rev2 := h[1]
	// NOTES.txt is the release's notes (rendered with the new sinks), not a manifest.
	if !strings.Contains(rev2.Info.Notes, "Thank you for installing") || !strings.Contains(rev2.Info.Notes, "Visit the web UI") || strings.Contains(rev2.Manifest, "NOTES.txt") {
		t.Fatalf("notes %q\nmanifest:\n%s", rev2.Info.Notes, rev2.Manifest)
	}
	// The subchart's objects stay in the manifest and in the cluster, with the values
	// they were rendered with from its own scope.
	if !strings.Contains(rev2.Manifest, "# Source: robusta/charts/holmes/templates/holmes.yaml") {
		t.Fatalf("the subchart's objects left the manifest:\n%s", rev2.Manifest)
	}
	cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "robusta-holmes-config", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the subchart's ConfigMap: %v", err)
	}
	if cm.Data["memory-request"] != "2048Mi" || cm.Data["cpu-request"] != "100m" {
		t.Fatalf("holmes ConfigMap: %v", cm.Data)
	}
	if _, err := c.Client.CoreV1().Services(ns).Get(ctx, "robusta-holmes", metav1.GetOptions{}); err != nil {
		t.Fatalf("the subchart's Service: %v", err)
	}
	// The custom resource of the chart's CRD is still there; the CRD was not touched.
	if _, err := c.Dynamic.Resource(alertRules).Namespace(ns).Get(ctx, "robusta-rules", metav1.GetOptions{}); err != nil {
		t.Fatalf("the AlertRule: %v", err)
	}
	// The new configuration is live, and what configure applied carries Helm's ownership
	// metadata.
	content, _ := secretContent(t, ns)
	if !strings.Contains(content, "new-one") || !strings.Contains(content, "cluster_name: 'e2e'") {
		t.Fatalf("Secret:\n%s", content)
	}
	dep, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "robusta-runner", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if dep.Labels["app.kubernetes.io/managed-by"] != "Helm" || dep.Annotations["meta.helm.sh/release-name"] != "robusta" || dep.Annotations["meta.helm.sh/release-namespace"] != ns {
		t.Fatalf("deployment metadata: %v %v", dep.Labels, dep.Annotations)
	}

	// Helm carries on from there: its own upgrade, with the chart, succeeds.
	uctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if _, err := c.HelmUpgrade(uctx, "robusta", ns, chartDir(), map[string]any{"clusterName": "e2e"}); err != nil {
		t.Fatalf("helm upgrade after configure: %v", err)
	}
	if s := statuses(history(t, c, ns)); s != "1:superseded 2:superseded 3:deployed" {
		t.Fatalf("history %s", s)
	}
}

// An apply that fails halfway (a user who may change Secrets but not Deployments)
// leaves the new revision failed and the previous one deployed, says what was applied
// and how to recover; a later run recovers.
func TestConfigureFailedApplyMarksTheRevisionFailed(t *testing.T) {
	ns := "helm-fail"
	c, _, _ := installRobusta(t, ns, map[string]any{"clusterName": "e2e"}, nil)
	ctx := context.Background()
	token, err := c.ServiceAccountToken(ctx, ns, "limited")
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "configure-no-deployments", Namespace: ns},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"services", "configmaps"}, Verbs: []string{"get", "list", "patch"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list"}},
		},
	}
	if _, err := c.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "limited", Namespace: ns}},
	}
	if _, err := c.Client.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	limited := filepath.Join(dir, "limited.kubeconfig")
	if err := c.WriteTokenKubeconfig(limited, "limited", token); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "values.yaml")
	if err := writeFile(file, []byte(upgradeValues)); err != nil {
		t.Fatal(err)
	}

	r := run(t, kubeconfigEnv(limited), "playbooks", "configure", file, "-n", ns)
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "apply Deployment.apps robusta-runner in "+ns)
	mustContain(t, r, "stderr", "cannot patch resource \"deployments\"")
	mustContain(t, r, "stderr", "revision 2 is marked failed, revision 1 stays deployed; already applied: Secret robusta-playbooks-config-secret in "+ns)
	mustContain(t, r, "stderr", "helm rollback robusta 1 -n "+ns)
	if strings.Contains(r.stderr, "goroutine") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 2 {
		t.Fatalf("not a short error:\n%s", r.stderr)
	}
	h := history(t, c, ns)
	if statuses(h) != "1:deployed 2:failed" {
		t.Fatalf("history %s", statuses(h))
	}
	if !strings.Contains(h[1].Info.Description, "forbidden") {
		t.Fatalf("description %q", h[1].Info.Description)
	}

	// Run again with the rights: revision 3 deployed, 1 superseded, 2 stays failed.
	r = run(t, kubeconfigEnv(c.KubeconfigPath), "playbooks", "configure", file, "-n", ns)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "to revision 3")
	if s := statuses(history(t, c, ns)); s != "1:superseded 2:failed 3:deployed" {
		t.Fatalf("history %s", s)
	}
}

// A pending revision (an upgrade under way, or an interrupted one) and a deployed
// manifest that cannot be decoded stop configure before it changes anything.
func TestConfigureRefusesPendingAndUnreadableReleases(t *testing.T) {
	ns := "helm-stuck"
	c, _, _ := installRobusta(t, ns, map[string]any{"clusterName": "e2e"}, nil)
	env := append(kubeconfigEnv(c.KubeconfigPath), "ROBUSTA_NAMESPACE="+ns)
	file := filepath.Join(t.TempDir(), "values.yaml")
	if err := writeFile(file, []byte(upgradeValues)); err != nil {
		t.Fatal(err)
	}
	store := driver.NewSecrets(c.Client.CoreV1().Secrets(ns))
	rev1, err := store.Get("sh.helm.release.v1.robusta.v1")
	if err != nil {
		t.Fatal(err)
	}
	before, rvBefore := secretContent(t, ns)
	unchanged := func(wantHistory string) {
		t.Helper()
		if s := statuses(history(t, c, ns)); s != wantHistory {
			t.Fatalf("history %s, want %s", s, wantHistory)
		}
		if after, rv := secretContent(t, ns); after != before || rv != rvBefore {
			t.Fatal("the config Secret changed")
		}
	}

	pending := *rev1
	pending.Version = 2
	pending.Info = &release.Info{Status: release.StatusPendingUpgrade, Description: "interrupted"}
	if err := store.Create("sh.helm.release.v1.robusta.v2", &pending); err != nil {
		t.Fatal(err)
	}
	r := run(t, env, "playbooks", "configure", file)
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "release robusta: revision 2 is pending-upgrade")
	mustContain(t, r, "stderr", "helm rollback robusta 1 -n "+ns)
	unchanged("1:deployed 2:pending-upgrade")

	if _, err := store.Delete("sh.helm.release.v1.robusta.v2"); err != nil {
		t.Fatal(err)
	}
	good := rev1.Manifest
	t.Cleanup(func() { // so that helm uninstall can read it
		rev1.Manifest = good
		_ = store.Update("sh.helm.release.v1.robusta.v1", rev1)
	})
	rev1.Manifest += "---\n# Source: robusta/templates/broken.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: [broken\n"
	if err := store.Update("sh.helm.release.v1.robusta.v1", rev1); err != nil {
		t.Fatal(err)
	}
	r = run(t, env, "playbooks", "configure", file)
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "the manifest of deployed revision 1 of release robusta: document")
	mustContain(t, r, "stderr", "(robusta/templates/broken.yaml) cannot be decoded")
	mustContain(t, r, "stderr", "helm get manifest robusta --revision 1 -n "+ns)
	unchanged("1:deployed")
}
