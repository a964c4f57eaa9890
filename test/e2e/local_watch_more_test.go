package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pseudotty "github.com/creack/pty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// watchAPI is the address and token a watch started with --listen prints.
func watchAPI(t *testing.T, w *watchProc) (addr, token string) {
	t.Helper()
	w.waitLog(t, "Token (send as")
	_, e := w.output()
	a := regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`).FindStringSubmatch(e)
	tok := regexp.MustCompile(`(?m)^  (\S+)$`).FindStringSubmatch(e)
	if a == nil || tok == nil {
		t.Fatalf("no address or token in:\n%s", e)
	}
	return a[1], tok[1]
}

// postAlerts sends an Alertmanager webhook to the watch.
func postAlerts(t *testing.T, addr, token string, alerts ...map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "robusta", "alerts": alerts})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/alerts", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/alerts: %d", resp.StatusCode)
	}
}

func podAlert(name, severity, ns, pod string) map[string]any {
	labels := map[string]string{"alertname": name, "severity": severity}
	if pod != "" {
		labels["namespace"], labels["pod"] = ns, pod
	}
	return map[string]any{"status": "firing", "labels": labels, "annotations": map[string]string{"summary": name},
		"fingerprint": "fp-" + name + "-" + pod, "startsAt": "2026-11-28T08:00:00Z"}
}

// TestLocalWatchSilencers: the runner's silencers in a watch config end an alert's
// processing, so the later playbook's finding never reaches the file sink, while the
// alerts no silencer holds back reach it, customised by customise_finding.
func TestLocalWatchSilencers(t *testing.T) {
	ns := "w-silence"
	c, ctx, env := inNamespace(t, ns)
	fakeNode(t, c)
	zero := int64(0)
	// kwok runs the pod on its node; the other names a node that does not exist, so it
	// stays Pending.
	for name, node := range map[string]string{"running": sandbox.FakeNodeName, "pending": "no-such-node"} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"team": "infra-db"}},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		name := name
		t.Cleanup(func() {
			_ = c.Client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		})
	}
	waitFor(t, func() bool {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, "running", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	}, "the pod running")

	dir := t.TempDir()
	sink := filepath.Join(dir, "findings.jsonl")
	values := filepath.Join(dir, "values.yaml")
	writeText(t, values, `sinksConfig:
- file_sink: {name: out, file_name: `+sink+`}
customPlaybooks:
- triggers: [{on_prometheus_alert: {status: all}}]
  actions: [{name_silencer: {names: [Watchdog]}}]
- triggers: [{on_prometheus_alert: {}}]
  actions: [{severity_silencer: {}}]
- triggers: [{on_prometheus_alert: {alert_name: PodAlert}}]
  actions: [{pod_status_silencer: {exclude: [Pending]}}]
- triggers: [{on_prometheus_alert: {alert_name: NodeFresh}}]
  actions: [{node_restart_silencer: {post_restart_silence: 8640000}}]
- triggers: [{on_prometheus_alert: {alert_name: NodeOld}}]
  actions: [{node_restart_silencer: {post_restart_silence: 0}}]
- triggers: [{on_prometheus_alert: {}}]
  actions:
  - template_enricher: {template: "reached the last playbook"}
  - customise_finding:
      severity: LOW
      aggregation_key: passed-$name
      finding_label_rules:
      - {source_fields: [labels.team], regex: "infra-(.*)", target_label: component, replacement: "$1"}
`)
	w := startWatch(t, env, "-f", values, "--listen", "127.0.0.1:0")
	addr, token := watchAPI(t, w)
	postAlerts(t, addr, token,
		podAlert("Watchdog", "warning", ns, "running"),  // by name
		podAlert("Noise", "none", ns, "running"),        // by severity
		podAlert("PodAlert", "warning", ns, "pending"),  // by the pod's phase
		podAlert("NodeFresh", "warning", ns, "running"), // its node turned Ready within 100 days
		podAlert("PodAlert", "warning", ns, "running"),  // through
		podAlert("NodeOld", "warning", ns, "running"),   // through
	)
	waitFindings(t, sink, 2)
	time.Sleep(2 * time.Second) // anything silenced would have arrived by now
	got := sinkFindings(t, sink)
	var keys []string
	for _, f := range got {
		keys = append(keys, f.Title+" "+f.AggregationKey+" "+f.Severity)
	}
	sort.Strings(keys)
	if strings.Join(keys, ", ") != "NodeOld passed-running LOW, PodAlert passed-running LOW" {
		t.Fatalf("findings: %v", keys)
	}
	for _, f := range got {
		if labels, _ := f.Subject["labels"].(map[string]any); labels["component"] != "db" {
			t.Errorf("%s: subject labels %v", f.Title, f.Subject["labels"])
		}
	}
	if code := w.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// reloadWatch asks the watch to reload through its API.
func reloadWatch(t *testing.T, addr, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/playbooks/reload", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

// TestLocalWatchRelabelReload: a reload (here POST /api/playbooks/reload after the
// file changed) installs the new alertRelabel, so the next alert is relabelled by it
// and resolves to its pod, and the old rule no longer applies.
func TestLocalWatchRelabelReload(t *testing.T) {
	ns := "w-relabel"
	c, ctx, env := inNamespace(t, ns)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec: corev1.PodSpec{NodeName: "no-such-node", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	t.Cleanup(func() {
		_ = c.Client.CoreV1().Pods(ns).Delete(context.Background(), "api", metav1.DeleteOptions{GracePeriodSeconds: &zero})
	})
	dir := t.TempDir()
	sink := filepath.Join(dir, "findings.jsonl")
	values := filepath.Join(dir, "values.yaml")
	config := func(source string) string {
		return `alertRelabel:
- {source: ` + source + `, target: pod, operation: replace}
sinksConfig:
- file_sink: {name: out, file_name: ` + sink + `}
customPlaybooks:
- triggers: [{on_prometheus_alert: {}}]
  actions: [{create_finding: {title: "$kind $name", aggregation_key: a}}]
`
	}
	writeText(t, values, config("exported_pod"))
	w := startWatch(t, env, "-f", values, "--listen", "127.0.0.1:0")
	addr, token := watchAPI(t, w)
	alert := func(fp, label string) map[string]any {
		return map[string]any{"status": "firing", "labels": map[string]string{"alertname": "A", "namespace": ns, label: "api"},
			"annotations": map[string]string{}, "fingerprint": fp}
	}
	postAlerts(t, addr, token, alert("f1", "exported_pod"))
	waitFindings(t, sink, 1)
	writeText(t, values, config("source_pod"))
	if out := reloadWatch(t, addr, token); !strings.Contains(out, `"success":true`) {
		t.Fatalf("reload: %s", out)
	}
	postAlerts(t, addr, token, alert("f2", "source_pod"))
	waitFindings(t, sink, 2)
	postAlerts(t, addr, token, alert("f3", "exported_pod"))
	got := waitFindings(t, sink, 3)
	var titles []string
	for _, f := range got {
		titles = append(titles, f.Title)
	}
	// The last alert names no pod any more: the runner's unresolved alert subject has
	// no kind (None) and the name "Unresolved".
	if strings.Join(titles, ", ") != "pod api, pod api, None Unresolved" {
		t.Fatalf("titles %q", titles)
	}
	if code := w.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestLocalWatchFromCluster runs the runner's active config from its Secret, as the
// chart renders it, with a local file's sinks merged over it; SIGHUP reads the
// Secret again. Without a runner it stops with a one-line error.
func TestLocalWatchFromCluster(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	ns := "w-fromcluster"
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	active := func(title string) []byte {
		return []byte(`playbook_repos: {}
sinks_config:
- slack_sink: {name: main_slack_sink, slack_channel: alerts, api_key: xoxb-in-cluster}
global_config:
  cluster_name: prod
alert_relabel: []
light_actions: []
active_playbooks:
- name: from-secret
  triggers:
  - on_pod_create: {namespace_prefix: ` + ns + `}
  actions:
  - create_finding: {title: "` + title + ` $name", aggregation_key: s}
`)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: pbconfig.SecretName, Namespace: ns},
		Data: map[string][]byte{pbconfig.SecretKey: active("secret:")}}
	if _, err := c.Client.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client.CoreV1().Secrets(ns).Delete(context.Background(), pbconfig.SecretName, metav1.DeleteOptions{})
	})
	rn, err := c.CreateRunner(ctx, sandbox.RunnerSpec{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteRunner(context.Background(), rn) })
	env := append(kubeconfigEnv(c.KubeconfigPath), "ROBUSTA_NAMESPACE="+ns)

	dir := t.TempDir()
	sink := filepath.Join(dir, "findings.jsonl")
	local := filepath.Join(dir, "laptop.yaml")
	writeText(t, local, "sinksConfig:\n- file_sink: {name: out, file_name: "+sink+"}\n")
	w := startWatch(t, env, "--from-cluster", "-f", local)
	zero := int64(0)
	mkPod := func(name string) {
		t.Helper()
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.PodSpec{NodeName: "no-such-node", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = c.Client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		})
	}
	mkPod("first")
	if got := waitFindings(t, sink, 1); got[0].Title != "secret: first" {
		t.Fatalf("findings %+v", got)
	}
	secret.Data[pbconfig.SecretKey] = active("updated:")
	if _, err := c.Client.CoreV1().Secrets(ns).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_ = w.cmd.Process.Signal(syscall.SIGHUP)
	w.waitLog(t, "reloaded: 1 playbook(s)")
	mkPod("second")
	got := waitFindings(t, sink, 2)
	if got[1].Title != "updated: second" {
		t.Fatalf("after the reload: %+v", got)
	}
	if _, e := w.output(); strings.Contains(e, "xoxb-in-cluster") {
		t.Errorf("the Secret's token is in the log:\n%s", e)
	}
	if code := w.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}

	// No runner in that namespace: one line naming the problem and the fix.
	if err := c.EnsureNamespace(ctx, "w-no-runner"); err != nil {
		t.Fatal(err)
	}
	r := run(t, kubeconfigEnv(c.KubeconfigPath), "local", "watch", "--from-cluster", "-n", "w-no-runner")
	if r.code == 0 || !strings.Contains(r.stderr, "no Robusta runner found") || !strings.Contains(r.stderr, "-n NS") || strings.Contains(r.stderr, "goroutine") {
		t.Fatal(r)
	}
}

// ptyWatch runs the watch with stdout and stderr on a pseudo-terminal until want is
// on the screen (or, with want empty, for a while), then stops it with Ctrl-C; it
// returns everything the terminal got.
func ptyWatch(t *testing.T, env []string, want string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"local", "watch"}, args...)...)
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "TERM=xterm-256color", "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}, env...)
	f, err := pseudotty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	read := func() string { mu.Lock(); defer mu.Unlock(); return screen.String() }
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(read(), "watching [") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if want == "" {
		time.Sleep(2500 * time.Millisecond) // more than two redraws
	}
	for want != "" && !strings.Contains(read(), want) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the watch did not stop on Ctrl-C:\n%s", read())
	}
	time.Sleep(100 * time.Millisecond)
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, read())
	}
	return read()
}

// TestLocalWatchStatusLine: on a terminal the watch keeps a status line (events/s,
// queue, findings sent) that the log lines do not mix with; --quiet has none, and a
// non-terminal stderr gets plain logs only.
func TestLocalWatchStatusLine(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	dir := t.TempDir()
	values := filepath.Join(dir, "values.yaml")
	writeText(t, values, `customPlaybooks:
- triggers: [{on_configmap_create: {name_prefix: status-line-}}]
  actions: [{create_finding: {title: "created $name", aggregation_key: s}}]
`)
	screen := ptyWatch(t, env, "findings sent", "-f", values)
	if !regexp.MustCompile(`\r\x1b\[K(\x1b\[\d+m)?watch: (\x1b\[0m)?\d+\.\d events/s · queue \d+/1000 · 0 findings sent`).MatchString(screen) {
		t.Fatalf("no status line on the terminal:\n%q", screen)
	}
	// The log line of Ctrl-C starts on a cleared line, and the line is gone at exit.
	if !strings.Contains(screen, "\r\x1b[K") || !regexp.MustCompile(`\r\x1b\[K\d\d:\d\d:\d\d stopping`).MatchString(screen) {
		t.Errorf("the log line is not drawn over a cleared status line:\n%q", screen)
	}
	if quiet := ptyWatch(t, env, "", "-f", values, "--quiet"); strings.Contains(quiet, "events/s") {
		t.Errorf("--quiet still draws the status line:\n%q", quiet)
	}
	if noColor := ptyWatch(t, append(env, "NO_COLOR=1"), "findings sent", "-f", values); strings.Contains(noColor, "\x1b[38") || strings.Contains(noColor, "\x1b[9") || strings.Contains(noColor, "\x1b[3") {
		t.Errorf("colour with NO_COLOR:\n%q", noColor)
	}
	w := startWatch(t, env, "-f", values)
	time.Sleep(2500 * time.Millisecond)
	if code := w.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, e := w.output(); strings.Contains(e, "events/s") || strings.Contains(e, "\x1b[") {
		t.Errorf("status line off a terminal:\n%q", e)
	}
}
