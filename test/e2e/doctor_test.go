package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

type doctorReport struct {
	Runner string `json:"runner"`
	Checks []struct {
		ID      string   `json:"id"`
		Status  string   `json:"status"`
		Message string   `json:"message"`
		Fix     string   `json:"fix"`
		Details []string `json:"details"`
	} `json:"checks"`
	Summary struct{ Green, Yellow, Red, Skipped int } `json:"summary"`
}

// doctorJSON runs doctor -o json and returns the exit code and the checks by id.
func doctorJSON(t *testing.T, env []string, args ...string) (result, map[string]string, doctorReport) {
	t.Helper()
	r := run(t, env, append([]string{"doctor", "-o", "json", "--timeout", "20s"}, args...)...)
	var rep doctorReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("doctor -o json: %v\n%s", err, r)
	}
	st := map[string]string{}
	for _, c := range rep.Checks {
		st[c.ID] = c.Status
	}
	return r, st, rep
}

func checkOf(rep doctorReport, id string) string {
	for _, c := range rep.Checks {
		if c.ID == id {
			return c.Message + " | fix: " + c.Fix + " | " + strings.Join(c.Details, "; ")
		}
	}
	return ""
}

// wantStatus fails unless check id has status want, and its line mentions each of subs.
func wantStatus(t *testing.T, r result, st map[string]string, rep doctorReport, id, want string, subs ...string) {
	t.Helper()
	if st[id] != want {
		t.Fatalf("check %s is %s, want %s (%s)\n%s", id, st[id], want, checkOf(rep, id), r)
	}
	for _, s := range subs {
		if !strings.Contains(checkOf(rep, id), s) {
			t.Fatalf("check %s does not mention %q: %s", id, s, checkOf(rep, id))
		}
	}
}

// doctorInstall installs the test chart with everything doctor looks at in order:
// a Bound PVC, a playbook repository in storage, a sink, the runner image of the
// chart's appVersion, Prometheus and Alertmanager Services, and a runner stand-in
// answering /healthz.
func doctorInstall(t *testing.T, ns string) (*sandbox.Cluster, *sandbox.StandIn, string) {
	t.Helper()
	c := sandbox.Get(t)
	ctx := context.Background()
	storage := t.TempDir()
	if err := os.MkdirAll(filepath.Join(storage, "good_repo"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(storage, "good_repo", "pyproject.toml"), []byte("[tool.poetry]\nname = \"good_repo\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The claim binds only to a volume made for it (no provisioner in the sandbox).
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "doctor-pv-" + ns},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("4Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: storage}},
			ClaimRef:               &corev1.ObjectReference{Namespace: ns, Name: "persistent-playbooks-pv-claim"},
		},
	}
	if _, err := c.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
	})
	s := &sandbox.StandIn{}
	installRobusta(t, ns, map[string]any{
		"playbooksPersistentVolume": true,
		"playbookRepos":             map[string]any{"good_repo": map[string]any{"url": "file://" + storage + "/good_repo"}},
		"sinksConfig":               []any{map[string]any{"slack_sink": map[string]any{"name": "main_slack_sink", "slack_channel": "c", "api_key": "xoxb-1"}}},
		"runner":                    map[string]any{"image": "robusta-runner:0.0.1"},
	}, s)
	for _, app := range []string{"kube-prometheus-stack-prometheus", "kube-prometheus-stack-alertmanager"} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns, Labels: map[string]string{"app": app}},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 9090}}},
		}
		if _, err := c.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pvc, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "persistent-playbooks-pv-claim", metav1.GetOptions{})
		if err == nil && pvc.Status.Phase == corev1.ClaimBound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PVC not bound: %v %v", err, pvc)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return c, s, storage
}

func setConfig(t *testing.T, c *sandbox.Cluster, ns, content string) {
	t.Helper()
	ctx := context.Background()
	s, err := c.Client.CoreV1().Secrets(ns).Get(ctx, pbconfig.SecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data = map[string][]byte{pbconfig.SecretKey: []byte(content)}
	if _, err := c.Client.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestDoctorAllGreenThenEachCheckFailing(t *testing.T) {
	ns := "doctor"
	c, standIn, storage := doctorInstall(t, ns)
	env := kubeconfigEnv(c.KubeconfigPath)
	args := []string{"-n", ns, "--storage-path", storage}

	r, st, rep := doctorJSON(t, env, args...)
	if r.code != 0 || rep.Summary.Red+rep.Summary.Yellow+rep.Summary.Skipped != 0 || len(rep.Checks) != 13 {
		t.Fatalf("not all green: %+v\n%s", rep.Summary, r)
	}
	wantStatus(t, r, st, rep, "runner-health", "green", "/healthz answered")
	wantStatus(t, r, st, rep, "playbook-repos", "green", "good_repo: "+storage+"/good_repo present")
	wantStatus(t, r, st, rep, "storage-pvc", "green", "is Bound")
	wantStatus(t, r, st, rep, "prometheus", "green", ns+"/kube-prometheus-stack-prometheus")
	wantStatus(t, r, st, rep, "versions", "green", "runner 0.0.1, chart appVersion 0.0.1, CLI v0.0.0-e2e")

	// The text form: a line per check, no colour when not on a terminal.
	r = run(t, env, append([]string{"doctor"}, args...)...)
	if r.code != 0 || strings.Count(r.stdout, "✓ ") != 13 || strings.Contains(r.stdout, "\x1b[") {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "13 green, 0 yellow, 0 red")

	// Config Secret that does not parse, then one that parses but names an unknown action.
	orig, _ := secretContent(t, ns)
	setConfig(t, c, ns, "active_playbooks: [\n")
	r, st, rep = doctorJSON(t, env, args...)
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "Error: 1 check red")
	wantStatus(t, r, st, rep, "config", "red", "does not parse")
	wantStatus(t, r, st, rep, "sinks", "skipped")
	setConfig(t, c, ns, strings.Replace(orig, "on_pod_crash_loop", "on_pod_crash_lop", 1))
	r, st, rep = doctorJSON(t, env, args...)
	wantStatus(t, r, st, rep, "config", "red", "does not validate", "on_pod_crash_lop")

	// An action of the user's own repository: a warning, gone with --actions-from.
	setConfig(t, c, ns, strings.Replace(orig, "report_crash_loop", "my_action", 1))
	r, st, rep = doctorJSON(t, env, args...)
	wantStatus(t, r, st, rep, "config", "yellow", `unknown action "my_action"`)
	r, st, rep = doctorJSON(t, env, append(args, "--actions-from", sampleRepo(t, "own_actions"))...)
	wantStatus(t, r, st, rep, "config", "green", "parses and validates")

	// No sinks: yellow, and exit 0 (nothing red).
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(orig), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["sinks_config"] = []any{}
	noSinks, _ := yaml.Marshal(cfg)
	setConfig(t, c, ns, string(noSinks))
	r, st, rep = doctorJSON(t, env, args...)
	if r.code != 0 {
		t.Fatal(r)
	}
	wantStatus(t, r, st, rep, "sinks", "yellow", "findings are sent nowhere")
	setConfig(t, c, ns, orig)

	// A playbookRepos entry missing in the storage.
	if err := os.Rename(filepath.Join(storage, "good_repo"), filepath.Join(storage, "moved")); err != nil {
		t.Fatal(err)
	}
	r, st, rep = doctorJSON(t, env, args...)
	wantStatus(t, r, st, rep, "playbook-repos", "red", "good_repo: "+storage+"/good_repo missing", "robusta playbooks push")
	if err := os.Rename(filepath.Join(storage, "moved"), filepath.Join(storage, "good_repo")); err != nil {
		t.Fatal(err)
	}

	// Release stuck in pending-upgrade.
	store := driver.NewSecrets(c.Client.CoreV1().Secrets(ns))
	rev1, err := store.Get("sh.helm.release.v1.robusta.v1")
	if err != nil {
		t.Fatal(err)
	}
	pending := *rev1
	pending.Version = 2
	pending.Info = &release.Info{Status: release.StatusPendingUpgrade}
	if err := store.Create("sh.helm.release.v1.robusta.v2", &pending); err != nil {
		t.Fatal(err)
	}
	r, st, rep = doctorJSON(t, env, args...)
	wantStatus(t, r, st, rep, "helm-release", "red", "revision 2 is pending-upgrade", "helm rollback robusta 1 -n "+ns)
	if _, err := store.Delete("sh.helm.release.v1.robusta.v2"); err != nil {
		t.Fatal(err)
	}

	// Prometheus and Alertmanager not discoverable: yellow (unless another test left
	// such Services in the shared cluster).
	for _, app := range []string{"kube-prometheus-stack-prometheus", "kube-prometheus-stack-alertmanager"} {
		if err := c.Client.CoreV1().Services(ns).Delete(context.Background(), app, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	others, _ := c.Client.CoreV1().Services("").List(context.Background(), metav1.ListOptions{LabelSelector: "app=kube-prometheus-stack-prometheus"})
	r, st, rep = doctorJSON(t, env, args...)
	if len(others.Items) == 0 {
		wantStatus(t, r, st, rep, "prometheus", "yellow", "globalConfig.prometheus_url")
	}

	// The runner's HTTP server down: health red.
	_ = standIn.Close()
	r, st, rep = doctorJSON(t, env, append(args, "--timeout", "5s")...)
	wantStatus(t, r, st, rep, "runner-health", "red", "/healthz through a port-forward")

	// PVC Pending, then missing.
	ctx := context.Background()
	if err := c.Client.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "persistent-playbooks-pv-claim", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, func() error {
		_, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "persistent-playbooks-pv-claim", metav1.GetOptions{})
		return err
	})
	r, st, rep = doctorJSON(t, env, args...)
	wantStatus(t, r, st, rep, "storage-pvc", "red", "no PVC persistent-playbooks-pv-claim", "playbooksPersistentVolume: true")
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "persistent-playbooks-pv-claim", Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptrTo("no-such-class"),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
	}
	if _, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, st, rep = doctorJSON(t, env, args...)
	wantStatus(t, r, st, rep, "storage-pvc", "red", "is Pending, not Bound")

	// The runner missing: red, and the config is still found in the namespace.
	zero := int32(0)
	scale, err := c.Client.AppsV1().Deployments(ns).GetScale(ctx, "robusta-runner", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = zero
	if _, err := c.Client.AppsV1().Deployments(ns).UpdateScale(ctx, "robusta-runner", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, func() error {
		pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "robustaComponent=runner"})
		if err == nil && len(pods.Items) > 0 {
			zeroGrace := int64(0)
			_ = c.Client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zeroGrace}, metav1.ListOptions{LabelSelector: "robustaComponent=runner"})
			return nil
		}
		return apierrors.NewNotFound(corev1.Resource("pods"), "runner")
	})
	r, st, rep = doctorJSON(t, env, args...)
	wantStatus(t, r, st, rep, "runner", "red", "no runner pod", "helm install")
	wantStatus(t, r, st, rep, "runner-health", "skipped")
	wantStatus(t, r, st, rep, "config", "green")
}

// runPTY runs the binary on a pseudo-terminal and returns what it wrote there.
func runPTY(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&out, tty); close(copied) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("still running after 60 s")
	}
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	return out.String()
}

// A runner whose image is not the chart's appVersion, and that has restarted.
func TestDoctorVersionsAndRestarts(t *testing.T) {
	ns := "doctor-ver"
	c, _, _ := installRobusta(t, ns, map[string]any{"runner": map[string]any{"image": "robusta-runner:0.99.0"}}, &sandbox.StandIn{})
	env := kubeconfigEnv(c.KubeconfigPath)
	r, st, rep := doctorJSON(t, env, "-n", ns)
	wantStatus(t, r, st, rep, "versions", "yellow", "runner image 0.99.0 differs from the chart's appVersion 0.0.1", "runner image: robusta-runner:0.99.0")
	wantStatus(t, r, st, rep, "runner", "green", "no restarts")

	// kwok leaves a running pod's status alone: set a restart as a kubelet would.
	ctx := context.Background()
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "robustaComponent=runner"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatal(err, len(pods.Items))
	}
	pod := &pods.Items[0]
	pod.Status.ContainerStatuses[0].RestartCount = 3
	pod.Status.ContainerStatuses[0].LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}
	if _, err := c.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, st, rep = doctorJSON(t, env, "-n", ns)
	wantStatus(t, r, st, rep, "runner", "yellow", "has restarted 3 times", "OOMKilled, exit code 137", "--previous")
}

func ptrTo[T any](v T) *T { return &v }

// waitGone polls get until it returns NotFound.
func waitGone(t *testing.T, get func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !apierrors.IsNotFound(get()) {
		if time.Now().After(deadline) {
			t.Fatal("still there after 30s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestDoctorWithoutAccess(t *testing.T) {
	c := sandbox.Get(t)
	dir := t.TempDir()

	// Bad flags: a one-line usage error, exit 2, before anything is checked.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--timeout", "0s"}, "--timeout 0s: must be positive"},
		{[]string{"--storage-path", "/etc"}, "is a system folder"},
		{[]string{"--actions-from", filepath.Join(dir, "none")}, "--actions-from: "},
		{[]string{"extra"}, "takes no arguments"},
	} {
		r := run(t, []string{"KUBECONFIG=" + filepath.Join(dir, "none")}, append([]string{"doctor"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || r.stdout != "" || strings.Contains(r.stderr, "goroutine") {
			t.Fatalf("%v: %s", c.args, r)
		}
	}

	// No kubeconfig at all.
	r, st, rep := doctorJSON(t, []string{"KUBECONFIG=" + filepath.Join(dir, "none")})
	if r.code != 1 {
		t.Fatal(r)
	}
	wantStatus(t, r, st, rep, "kubeconfig", "red")
	wantStatus(t, r, st, rep, "runner", "skipped", "no usable kubeconfig")

	// An API server nobody answers on.
	dead := filepath.Join(dir, "dead.yaml")
	kc := "apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: {server: \"https://127.0.0.1:1\"}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: dead\n  context: {cluster: x, user: u}\ncurrent-context: dead\n"
	if err := os.WriteFile(dead, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	r, st, rep = doctorJSON(t, []string{"KUBECONFIG=" + dead})
	if r.code != 1 {
		t.Fatal(r)
	}
	wantStatus(t, r, st, rep, "kubeconfig", "green")
	wantStatus(t, r, st, rep, "api", "red", "cannot reach the Kubernetes API server at https://127.0.0.1:1")
	wantStatus(t, r, st, rep, "rbac", "skipped", "not reachable")
	r = run(t, []string{"KUBECONFIG=" + dead}, "doctor")
	mustContain(t, r, "stdout", "X API server")
	mustContain(t, r, "stdout", "fix: ")

	// Colours on a terminal only, and never with NO_COLOR.
	for _, noColor := range []bool{false, true} {
		env := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "TERM=xterm-256color", "KUBECONFIG=" + dead}
		if noColor {
			env = append(env, "NO_COLOR=1")
		}
		out := runPTY(t, env, "doctor", "--timeout", "5s")
		if hasColour := strings.Contains(out, "\x1b["); hasColour == noColor || !strings.Contains(out, "API server") {
			t.Fatalf("NO_COLOR=%v, colour %v:\n%q", noColor, hasColour, out)
		}
	}

	// A ServiceAccount that may only talk to the runner: RBAC lists what it cannot
	// do and which commands that affects; the config Secret cannot be read.
	ns := "doctor-rbac"
	startRunner(t, ns, nil, sandbox.RunnerSpec{})
	ctx := context.Background()
	token, err := c.ServiceAccountToken(ctx, ns, "limited")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.GrantRunnerAccess(ctx, ns, "limited", ns); err != nil {
		t.Fatal(err)
	}
	limited := filepath.Join(dir, "limited.yaml")
	if err := c.WriteTokenKubeconfig(limited, "limited", token); err != nil {
		t.Fatal(err)
	}
	env := []string{"KUBECONFIG=" + limited}
	r, st, rep = doctorJSON(t, env, "-n", ns)
	if r.code != 1 {
		t.Fatal(r)
	}
	wantStatus(t, r, st, rep, "runner", "green")
	wantStatus(t, r, st, rep, "runner-health", "green")
	wantStatus(t, r, st, rep, "rbac", "yellow", "denied: get secrets in "+ns+", needed by playbooks list", "affected: ", "playbooks configure")
	wantStatus(t, r, st, rep, "config", "red", "forbidden")

	// With no rights at all, even finding the runner is denied: red.
	none, err := c.ServiceAccountToken(ctx, ns, "nobody")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteTokenKubeconfig(limited, "nobody", none); err != nil {
		t.Fatal(err)
	}
	r, st, rep = doctorJSON(t, env, "-n", ns)
	wantStatus(t, r, st, rep, "rbac", "red", "denied: list pods in "+ns, "create pods/portforward")
	wantStatus(t, r, st, rep, "runner", "red", "forbidden")
}
