package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// watchProc is `robusta local watch` running in the background.
type watchProc = bgProc

// startWatch starts the watch and waits until its watches have listed.
func startWatch(t *testing.T, env []string, args ...string) *watchProc {
	t.Helper()
	p := startBackground(t, "watch", env, append([]string{"local", "watch"}, args...)...)
	p.waitLog(t, "watching [")
	return p
}

// waitLog waits until stderr holds want (its n-th occurrence when n > 0).
func (p *watchProc) waitLog(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, e := p.output(); strings.Contains(e, want) {
			return
		}
		select {
		case err := <-p.done:
			_, e := p.output()
			t.Fatalf("watch ended (%v) before %q:\n%s", err, want, e)
		case <-time.After(100 * time.Millisecond):
		}
	}
	o, e := p.output()
	t.Fatalf("no %q in 30 s:\n--- stdout\n%s--- stderr\n%s", want, o, e)
}

type sentFinding struct {
	Title          string
	Severity       string
	AggregationKey string `json:"aggregation_key"`
	Subject        map[string]any
	Enrichments    []struct {
		Title  string
		Blocks []struct {
			Type, Name, Text string
			Rows             [][]string
			Data             []byte
		}
	}
}

// sinkFindings reads a file_sink's JSON lines.
func sinkFindings(t *testing.T, path string) []sentFinding {
	t.Helper()
	fh, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []sentFinding
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var f sentFinding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("a line of %s is not a finding: %v\n%s", path, err, sc.Text())
		}
		out = append(out, f)
	}
	return out
}

// waitFindings waits until the sink file holds n findings and returns them.
func waitFindings(t *testing.T, path string, n int) []sentFinding {
	t.Helper()
	var got []sentFinding
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if got = sinkFindings(t, path); len(got) >= n {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%d finding(s) in %s after 30 s, want %d: %+v", len(got), path, n, got)
	return nil
}

func writeText(t *testing.T, path, content string) {
	t.Helper()
	if err := writeFile(path, []byte(content)); err != nil {
		t.Fatal(err)
	}
}

// TestLocalWatchTutorials runs the two playbooks of Robusta's "Track Kubernetes
// Changes" tutorial: a Deployment's image change reaches resource_babysitter, and a
// failed Job gets the four-action finding; both in the
// file_sink the playbooks name. An object that exists before the watch starts is not
// reported as created. The tutorial's fields_to_monitor is a parameter the current
// runner ignores (resource_babysitter shows the trigger's change_filters result), so
// the image filter is written as the runner reads it: change_filters on the trigger.
func TestLocalWatchTutorials(t *testing.T) {
	ns := "w-tut"
	c, ctx, env := inNamespace(t, ns)
	fakeNode(t, c)
	createShop(t, c, ns)

	dir := t.TempDir()
	sink := filepath.Join(dir, "findings.jsonl")
	values := filepath.Join(dir, "values.yaml")
	writeText(t, values, `sinksConfig:
- file_sink:
    name: some_sink_name
    file_name: `+sink+`
customPlaybooks:
- triggers:
    - on_deployment_update:
        change_filters:
          include: ["image"]
  actions:
    - resource_babysitter: {}
  sinks:
  - some_sink_name
- triggers:
  - on_job_failure: {}
  actions:
  - create_finding:
      title: "Job Failed"
      aggregation_key: "job_failure"
  - job_info_enricher: {}
  - job_events_enricher: {}
  - job_pod_enricher: {}
  sinks:
  - some_sink_name
`)
	w := startWatch(t, env, "-f", values)

	// The image change.
	setShopImage(t, c, ns, "nginx:1.25")
	got := waitFindings(t, sink, 1)
	f := got[0]
	if len(got) != 1 {
		t.Fatalf("one image change, %d findings: %+v", len(got), got)
	}
	var diffs [][]string
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			if b.Type == "diffs" {
				diffs = append(diffs, b.Rows...)
			}
		}
	}
	found := false
	for _, row := range diffs {
		found = found || (strings.Contains(row[0], "image") && row[1] == "nginx:1.24" && row[2] == "nginx:1.25")
	}
	if !found || f.Subject["name"] != "shop" || f.Subject["namespace"] != ns {
		t.Fatalf("resource_babysitter finding: %+v", f)
	}

	// The failed Job: the job controller fails it when its only pod fails.
	zero := int32(0)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "etl", Namespace: ns},
		Spec: batchv1.JobSpec{BackoffLimit: &zero, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, NodeName: sandbox.FakeNodeName,
				Containers:  []corev1.Container{{Name: "main", Image: "etl:1"}},
				Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			}}},
	}
	if _, err := c.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bg := metav1.DeletePropagationBackground
	t.Cleanup(func() {
		_ = c.Client.BatchV1().Jobs(ns).Delete(context.Background(), "etl", metav1.DeleteOptions{PropagationPolicy: &bg})
	})
	var pod *corev1.Pod
	waitFor(t, func() bool {
		l, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=etl"})
		if err == nil && len(l.Items) == 1 {
			pod = &l.Items[0]
		}
		return pod != nil
	}, "job pod")
	now := metav1.Now()
	// An event of the pod, for job_pod_enricher's events table.
	if _, err := c.Client.CoreV1().Events(ns).Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "etl-pod-backoff", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: pod.Name, Namespace: ns, UID: pod.UID},
		Reason:         "BackOff", Message: "Back-off restarting failed container main", Type: corev1.EventTypeWarning,
		FirstTimestamp: now, LastTimestamp: now, Count: 1, Source: corev1.EventSource{Component: "kubelet"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodFailed, StartTime: &now, ContainerStatuses: []corev1.ContainerStatus{{Name: "main", Image: "etl:1",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", StartedAt: now, FinishedAt: now}}}}}
	if _, err := c.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got = waitFindings(t, sink, 2)
	f = got[1]
	titles, tables := map[string]bool{}, map[string]bool{}
	for _, e := range f.Enrichments {
		titles[e.Title] = true
		for _, b := range e.Blocks {
			tables[b.Name] = true
		}
	}
	// job_pod_enricher: the events table of the Job's latest pod (its log is empty under
	// kwok, and the runner adds no block for an empty log).
	if f.Title != "Job Failed" || f.AggregationKey != "job_failure" || f.Subject["name"] != "etl" || !titles["Job status"] || !tables["*Job pod events:*"] {
		t.Fatalf("job finding: %+v", f)
	}
	// Later updates of the failed Job (its pod deleted, ...) do not fire again, and the
	// Deployment that existed at start was never reported as created.
	time.Sleep(2 * time.Second)
	if n := len(sinkFindings(t, sink)); n != 2 {
		t.Fatalf("%d findings, want 2: %+v", n, sinkFindings(t, sink))
	}
	out, _ := w.output()
	if !strings.Contains(out, "Job Failed") {
		t.Errorf("the terminal does not show the job finding:\n%s", out)
	}
	if code := w.stop(t); code != 0 {
		_, e := w.output()
		t.Fatalf("exit %d after SIGINT\n%s", code, e)
	}
}

// TestLocalWatchFiltersAndReload checks trigger filters end to end (change_filters,
// scope, name prefix, stop), a reload on file change, and that a broken file leaves
// the running config as it was.
func TestLocalWatchFiltersAndReload(t *testing.T) {
	ns := "w-filt"
	c, ctx, env := inNamespace(t, ns)
	dir := t.TempDir()
	sink := filepath.Join(dir, "findings.jsonl")
	values := filepath.Join(dir, "values.yaml")
	head := `sinksConfig:
- file_sink: {name: out, file_name: ` + sink + `}
- mattermost_sink: {name: chat, url: "http://127.0.0.1:1", token: t, token_id: i, channel: x}
customPlaybooks:
`
	writeText(t, values, head+`- name: labels-only
  triggers:
  - on_configmap_update:
      name_prefix: app-
      change_filters: {include: [labels]}
      scope: {exclude: [{labels: "tier=db"}]}
  actions:
  - create_finding: {title: "labels of $name changed", aggregation_key: labels}
  stop: true
- name: never-after-stop
  triggers:
  - on_configmap_update: {name_prefix: app-web, change_filters: {include: [labels]}}
  actions:
  - create_finding: {title: "should not run", aggregation_key: x}
`)
	w := startWatch(t, env, "-f", values)
	_, e := w.output()
	if !strings.Contains(e, "sink chat: the local watch has no mattermost_sink yet") {
		t.Errorf("the skipped sink is not named:\n%s", e)
	}
	mk := func(name string, labels map[string]string) {
		t.Helper()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Data: map[string]string{"k": "1"}}
		if _, err := c.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = c.Client.CoreV1().ConfigMaps(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	}
	change := func(name string, fn func(cm *corev1.ConfigMap)) {
		t.Helper()
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			fn(cm)
			_, err = c.Client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	mk("app-web", map[string]string{"tier": "web"})
	mk("app-db", map[string]string{"tier": "db"})
	mk("other", map[string]string{"tier": "web"})
	change("app-web", func(cm *corev1.ConfigMap) { cm.Data["k"] = "2" })   // not a label: filtered out
	change("app-db", func(cm *corev1.ConfigMap) { cm.Labels["v"] = "2" })  // excluded by scope
	change("other", func(cm *corev1.ConfigMap) { cm.Labels["v"] = "2" })   // name prefix
	change("app-web", func(cm *corev1.ConfigMap) { cm.Labels["v"] = "2" }) // fires
	got := waitFindings(t, sink, 1)
	time.Sleep(time.Second)
	got = sinkFindings(t, sink)
	if len(got) != 1 || got[0].Title != "labels of app-web changed" {
		t.Fatalf("findings: %+v", got)
	}

	// A broken file: refused, the running config stays and still fires.
	writeText(t, values, head+"- triggers: [{on_configmap_updated: {}}]\n  actions: [{create_finding: {title: x, aggregation_key: x}}]\n")
	w.waitLog(t, "reload refused")
	change("app-web", func(cm *corev1.ConfigMap) { cm.Labels["v"] = "3" })
	waitFindings(t, sink, 2)

	// A good file: the new playbook runs.
	writeText(t, values, head+`- triggers: [{on_configmap_update: {name_prefix: other}}]
  actions: [{create_finding: {title: "reloaded $name", aggregation_key: r}}]
`)
	w.waitLog(t, "reloaded: 1 playbook(s)")
	w.waitLog(t, "watching [ConfigMap]; 1 playbook(s)")
	change("other", func(cm *corev1.ConfigMap) { cm.Labels["v"] = "3" })
	got = waitFindings(t, sink, 3)
	if got[2].Title != "reloaded other" {
		t.Fatalf("after reload: %+v", got[2])
	}
	if code := w.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestLocalWatchBadInput: a config with errors does not start, with a one-line
// error naming the file and line.
func TestLocalWatchBadInput(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	dir := t.TempDir()
	values := filepath.Join(dir, "values.yaml")
	writeText(t, values, "customPlaybooks:\n- triggers: [{on_pod_update: {}}]\n  actions: [{create_finding: {title: x}}]\n- triggers: [{on_pod_updated: {}}]\n  actions: [{create_finding: {title: x}}]\n")
	r := run(t, env, "local", "watch", "-f", values)
	if r.code == 0 || !strings.Contains(r.stderr, values+":4") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
		t.Fatal(r)
	}
	r = run(t, env, "local", "watch")
	if r.code != 2 || !strings.Contains(r.stderr, "-f FILE") {
		t.Fatal(r)
	}
	// Only playbooks the engine cannot run: named, and the watch does not start.
	writeText(t, values, "customPlaybooks:\n- triggers: [{on_pod_update: {}}]\n  actions: [{mention_enricher: {message_template: hi}}]\n")
	r = run(t, env, "local", "watch", "-f", values)
	if r.code == 0 || !strings.Contains(r.stderr, "mention_enricher runs only in the in-cluster runner") || !strings.Contains(r.stderr, "no playbook") {
		t.Fatal(r)
	}
}

// TestLocalWatchAlerts posts an Alertmanager webhook to the watch's API: the
// on_prometheus_alert playbook runs on the pod the alert names, an alert it does not
// match runs nothing, and requests without the token are refused.
func TestLocalWatchAlerts(t *testing.T) {
	ns := "w-alerts"
	c, ctx, env := inNamespace(t, ns)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-1", Namespace: ns, Labels: map[string]string{"app": "api"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	t.Cleanup(func() {
		_ = c.Client.CoreV1().Pods(ns).Delete(context.Background(), "api-1", metav1.DeleteOptions{GracePeriodSeconds: &zero})
	})
	// A webhook that fails once: the finding is retried and delivered once, with the
	// token taken from the environment as the runner does.
	var hookMu sync.Mutex
	var hookBodies []string
	var hookAuth []string
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		hookMu.Lock()
		defer hookMu.Unlock()
		hookBodies = append(hookBodies, string(b))
		hookAuth = append(hookAuth, req.Header.Get("Authorization"))
		if len(hookBodies) == 1 {
			rw.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer hook.Close()
	dir := t.TempDir()
	sink := filepath.Join(dir, "findings.jsonl")
	values := filepath.Join(dir, "values.yaml")
	writeText(t, values, `globalConfig: {cluster_name: laptop}
sinksConfig:
- file_sink: {name: out, file_name: `+sink+`}
- webhook_sink: {name: hook, url: "https://hooks.example.com/x", format: json, authorization: "{{ env.HOOK_TOKEN }}"}
customPlaybooks:
- triggers:
  - on_prometheus_alert: {alert_name: KubePodCrashLooping, namespace_prefix: w-al}
  actions:
  - create_finding: {title: "crash looping: $name", aggregation_key: crash}
  - pod_events_enricher: {}
`)
	w := startWatch(t, append(env, "HOOK_TOKEN=Bearer hook-secret"), "-f", values, "--listen", "127.0.0.1:0", "--sink-url", "hook="+hook.URL)
	w.waitLog(t, "Token (send as")
	_, e := w.output()
	addr := regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`).FindStringSubmatch(e)
	token := regexp.MustCompile(`(?m)^  (\S+)$`).FindStringSubmatch(e)
	if addr == nil || token == nil {
		t.Fatalf("no address or token in:\n%s", e)
	}
	post := func(tok string, alerts ...map[string]any) int {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "robusta", "alerts": alerts})
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr[1]+"/api/alerts", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	alert := func(name, status string) map[string]any {
		// Alertmanager fingerprints each alert by its labels; the watch, as the runner,
		// drops a state of an alert it has already seen.
		return map[string]any{"status": status, "labels": map[string]string{"alertname": name, "namespace": ns, "pod": "api-1", "severity": "warning"},
			"annotations": map[string]string{"summary": "restarting"}, "fingerprint": "fp-" + name, "startsAt": "2026-11-28T08:00:00Z"}
	}
	if code := post("", alert("KubePodCrashLooping", "firing")); code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d", code)
	}
	if code := post(token[1], alert("KubePodNotReady", "firing"), alert("KubePodCrashLooping", "resolved"), alert("KubePodCrashLooping", "firing")); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	got := waitFindings(t, sink, 1)
	time.Sleep(time.Second)
	got = sinkFindings(t, sink)
	if len(got) != 1 || got[0].Title != "crash looping: api-1" || got[0].Subject["name"] != "api-1" || got[0].Subject["kind"] != "pod" {
		t.Fatalf("findings: %+v", got)
	}
	waitFor(t, func() bool { hookMu.Lock(); defer hookMu.Unlock(); return len(hookBodies) >= 2 }, "the webhook's retry")
	time.Sleep(time.Second)
	hookMu.Lock()
	var sent map[string]any
	decode(t, hookBodies[1], &sent)
	if len(hookBodies) != 2 || hookAuth[1] != "Bearer hook-secret" || sent["title"] != "crash looping: api-1" || sent["cluster_name"] != "laptop" {
		t.Fatalf("webhook got %d requests (auth %q): %v", len(hookBodies), hookAuth, hookBodies)
	}
	hookMu.Unlock()
	if _, e := w.output(); strings.Contains(e, "hook-secret") {
		t.Errorf("the token is in the log:\n%s", e)
	}
	if code := w.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestLocalWatchSchedule runs an on_schedule playbook with repeat: 3 and the floor
// lowered: three findings, and a restart with the same state file runs it no more.
func TestLocalWatchSchedule(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	dir := t.TempDir()
	sink := filepath.Join(dir, "findings.jsonl")
	state := filepath.Join(dir, "state.json")
	values := filepath.Join(dir, "values.yaml")
	writeText(t, values, `sinksConfig:
- file_sink: {name: out, file_name: `+sink+`}
customPlaybooks:
- triggers:
  - on_schedule:
      fixed_delay_repeat: {seconds_delay: 1, repeat: 3}
  actions:
  - create_finding: {title: "scheduled check", aggregation_key: sched}
`)
	args := []string{"-f", values, "--schedule-floor", "0", "--schedule-state", state}
	w := startWatch(t, env, args...)
	w.waitLog(t, "its schedule is done")
	got := sinkFindings(t, sink)
	if len(got) != 3 || got[0].Title != "scheduled check" {
		t.Fatalf("findings: %+v", got)
	}
	if code := w.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var st map[string]struct {
		Count int `json:"exec_count"`
	}
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, string(b), &st)
	if len(st) != 1 {
		t.Fatalf("state: %s", b)
	}
	for _, v := range st {
		if v.Count != 3 {
			t.Fatalf("state: %s", b)
		}
	}
	// Restarted with the same state: the schedule is already done.
	w = startWatch(t, env, args...)
	w.waitLog(t, "its schedule is done")
	time.Sleep(1500 * time.Millisecond)
	if n := len(sinkFindings(t, sink)); n != 3 {
		t.Fatalf("%d findings after a restart, want 3", n)
	}
	w.stop(t)
}
