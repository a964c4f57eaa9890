package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// slackCall is one Web API call the grouping stand-in got.
type slackCall struct {
	Method   string
	Channel  string `json:"channel"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts"`
	Text     string `json:"text"`
	Blocks   []any  `json:"blocks"`
}

// chatStandIn stands in for Slack's chat.postMessage and chat.update as the Web API
// documents them: a Bearer bot token, a JSON body with channel and text or blocks;
// postMessage takes the channel's name and answers with its id and the message's ts,
// update takes that id and the ts of a message it posted; thread_ts must name a
// posted message.
type chatStandIn struct {
	*httptest.Server
	t     *testing.T
	token string
	mu    sync.Mutex
	calls []slackCall
	posts []string // the ts of every posted message
	// channels are the channel names it knows, with their ids.
	channels map[string]string
}

func newChatStandIn(t *testing.T, token string) *chatStandIn {
	s := &chatStandIn{t: t, token: token, channels: map[string]string{"alerts": "C0ALERTS"}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		var c slackCall
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || json.Unmarshal(b, &c) != nil {
			http.Error(w, "unexpected request "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			_, _ = io.WriteString(w, `{"ok":false,"error":"not_authed"}`)
			return
		}
		c.Method = strings.TrimPrefix(r.URL.Path, "/")
		if c.Text == "" && len(c.Blocks) == 0 {
			_, _ = io.WriteString(w, `{"ok":false,"error":"no_text"}`)
			return
		}
		posted := func(ts string) bool {
			for _, p := range s.posts {
				if p == ts {
					return true
				}
			}
			return false
		}
		switch c.Method {
		case "chat.postMessage":
			id, ok := s.channels[c.Channel]
			if !ok {
				_, _ = io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
				return
			}
			if c.ThreadTS != "" && !posted(c.ThreadTS) {
				_, _ = io.WriteString(w, `{"ok":false,"error":"thread_not_found"}`)
				return
			}
			ts := fmt.Sprintf("1760000000.%06d", len(s.posts)+1)
			s.posts = append(s.posts, ts)
			fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q}`, id, ts)
		case "chat.update":
			known := false
			for _, id := range s.channels {
				known = known || id == c.Channel
			}
			if !known {
				_, _ = io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
				return
			}
			if !posted(c.TS) {
				_, _ = io.WriteString(w, `{"ok":false,"error":"message_not_found"}`)
				return
			}
			fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q}`, c.Channel, c.TS)
		default:
			http.Error(w, "unexpected method "+c.Method, http.StatusNotFound)
			return
		}
		s.calls = append(s.calls, c)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *chatStandIn) snapshot() []slackCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slackCall(nil), s.calls...)
}

// crashLoop puts a pod (kept from kwok's status updates) into CrashLoopBackOff through
// the status subresource, as a kubelet reports it.
func crashLoop(t *testing.T, c *sandbox.Cluster, ns, name, app string) {
	t.Helper()
	crashLoopWith(t, c, ns, name, map[string]string{"app": app}, nil)
}

// crashLoopWith is crashLoop with the pod's labels and an optional owner.
func crashLoopWith(t *testing.T, c *sandbox.Cluster, ns, name string, labels map[string]string, owner *metav1.OwnerReference) {
	t.Helper()
	ctx := context.Background()
	pods := c.Client.CoreV1().Pods(ns)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels,
		Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}},
		Spec: corev1.PodSpec{NodeName: "h29-elsewhere", Containers: []corev1.Container{{Name: "main", Image: "busybox"}}}}
	if owner != nil {
		pod.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	pod, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pods.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", Image: "busybox", RestartCount: 4,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 1m20s"}}}}
	if _, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestLocalWatchSlackGrouping runs a slack_sink with the runner's summary grouping
// (group_by cluster, namespace and the app label; counts by notification and pod
// name; threaded) against three crash-looping pods: the two of app=api make one
// summary message, posted with the first and then updated in place with the counts,
// their findings replies in its thread; the app=web pod makes its own summary.
func TestLocalWatchSlackGrouping(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	const ns = "h29-group"
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	const token = "xoxb-h29-S3CR3T"
	slack := newChatStandIn(t, token)
	values := filepath.Join(t.TempDir(), "values.yaml")
	writeText(t, values, `globalConfig: {cluster_name: laptop}
sinksConfig:
- slack_sink:
    name: grouped
    slack_channel: alerts
    api_key: `+token+`
    grouping:
      group_by: [cluster, namespace, {labels: [app]}]
      interval: 600
      notification_mode:
        summary:
          threaded: true
          by: [identifier, name]
customPlaybooks:
- triggers: [{on_pod_crash_loop: {restart_reason: CrashLoopBackOff}}]
  actions: [{create_finding: {title: "Crashing pod $name", aggregation_key: CrashLoop}}]
`)
	w := startWatch(t, env, "-f", values, "--workers", "1", "--sink-url", "grouped="+slack.URL)
	crashLoop(t, c, ns, "api-1", "api")
	waitFor(t, func() bool { return len(slack.snapshot()) >= 2 }, "api-1's summary and reply")
	crashLoop(t, c, ns, "api-2", "api")
	waitFor(t, func() bool { return len(slack.snapshot()) >= 4 }, "api-2's update and reply")
	crashLoop(t, c, ns, "web-1", "web")
	waitFor(t, func() bool { return len(slack.snapshot()) >= 6 }, "web-1's summary and reply")
	time.Sleep(time.Second) // anything more would arrive now

	calls := slack.snapshot()
	var shape []string
	for _, c := range calls {
		shape = append(shape, fmt.Sprintf("%s ts=%s thread=%s", c.Method, c.TS, c.ThreadTS))
	}
	want := []string{
		"chat.postMessage ts= thread=",                  // api's summary: message 1
		"chat.postMessage ts= thread=1760000000.000001", // api-1 in its thread
		"chat.update ts=1760000000.000001 thread=",      // the summary, now 2
		"chat.postMessage ts= thread=1760000000.000001", // api-2 in the thread
		"chat.postMessage ts= thread=",                  // web's summary: message 4
		"chat.postMessage ts= thread=1760000000.000004", // web-1 in its thread
	}
	if strings.Join(shape, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Slack calls:\n%s\nwant\n%s", strings.Join(shape, "\n"), strings.Join(want, "\n"))
	}
	text := func(c slackCall) string {
		out := ""
		for _, b := range c.Blocks {
			out += checkSlackBlock(t, b)
		}
		return out
	}
	table := func(rows ...string) string {
		return "```\n notification   | name   |   Fired |   Resolved\n----------------+--------+---------+------------\n" + strings.Join(rows, "\n") + "\n```\n"
	}
	wantSummary := func(n int, app string) string {
		return fmt.Sprintf("*Alerts Summary - %d Notifications*\n*Cluster:* `laptop`\n*Matching criteria*: `cluster: laptop`, `namespace: %s`, `labels: app=%s`\n", n, ns, app)
	}
	for i, c := range []struct {
		call slackCall
		n    int
		app  string
		rows []string
	}{
		{calls[0], 1, "api", []string{" CrashLoop      | api-1  |       1 |          0"}},
		{calls[2], 2, "api", []string{" CrashLoop      | api-1  |       1 |          0", " CrashLoop      | api-2  |       1 |          0"}},
		{calls[4], 1, "web", []string{" CrashLoop      | web-1  |       1 |          0"}},
	} {
		got := text(c.call)
		head := wantSummary(c.n, c.app)
		if !strings.HasPrefix(got, head) || !strings.Contains(got, "*Time interval:* `10 minutes` starting at `<!date^") ||
			!strings.HasSuffix(got, table(c.rows...)+"See thread for individual alerts\n") {
			t.Errorf("summary %d:\n%s\nwant it to start\n%s\nand end with the table\n%s", i, got, head, table(c.rows...))
		}
		if want := "Summary for: cluster: laptop, namespace: " + ns + ", labels: app=" + c.app; c.call.Text != want {
			t.Errorf("summary %d text %q, want %q", i, c.call.Text, want)
		}
	}
	for i, pod := range map[int]string{1: "api-1", 3: "api-2", 5: "web-1"} {
		if calls[i].Text != "Crashing pod "+pod || !strings.Contains(text(calls[i]), ns+"/"+pod) {
			t.Errorf("reply %d is not %s's finding: %+v", i, pod, calls[i])
		}
	}
	if code := w.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	if o, e := w.output(); strings.Contains(o+e, "S3CR3T") {
		t.Errorf("the bot token reached the output:\n%s\n%s", o, e)
	}
}

// TestLocalWatchSlackChannelOverrideWorkload: a slack_sink with channel_override
// labels.team and summaries grouped by workload. The watch sees the Deployment api
// created (a second playbook watches Deployments), so the crash-looping pods it owns
// have it as their workload and share one summary, in the channel their team label
// names; a pod without an owner is its own workload and, without the label, goes to
// the sink's channel in a summary of its own.
func TestLocalWatchSlackChannelOverrideWorkload(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	const ns = "h37-override"
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	const token = "xoxb-h37-S3CR3T"
	slack := newChatStandIn(t, token)
	slack.channels["payments"] = "C0PAYMENTS"
	dir := t.TempDir()
	depFile := filepath.Join(dir, "deployments.jsonl")
	values := filepath.Join(dir, "values.yaml")
	writeText(t, values, `globalConfig: {cluster_name: laptop}
sinksConfig:
- slack_sink:
    name: grouped
    slack_channel: alerts
    api_key: `+token+`
    channel_override: labels.team
    grouping:
      group_by: [workload]
      notification_mode: {summary: {threaded: true, by: [name]}}
- file_sink: {name: deployments, file_name: `+depFile+`}
customPlaybooks:
- triggers: [{on_deployment_create: {}}]
  actions: [{create_finding: {title: "Deployment $name", aggregation_key: DeploymentCreated}}]
  sinks: [deployments]
- triggers: [{on_pod_crash_loop: {restart_reason: CrashLoopBackOff, rate_limit: 1}}]
  actions: [{create_finding: {title: "Crashing pod $name", aggregation_key: CrashLoop}}]
  sinks: [grouped]
`)
	w := startWatch(t, env, "-f", values, "--workers", "1", "--sink-url", "grouped="+slack.URL)
	t.Cleanup(func() {
		if t.Failed() {
			o, e := w.output()
			t.Logf("Slack calls: %+v\nwatch output:\n%s\n%s", slack.snapshot(), o, e)
		}
	})
	zero := int32(0)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}}}}}
	dep, err := c.Client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client.AppsV1().Deployments(ns).Delete(context.Background(), "api", metav1.DeleteOptions{})
	})
	waitFor(t, func() bool { return len(sinkFindings(t, depFile)) > 0 }, "the Deployment's finding")
	// Owned by the Deployment as its controller, so no ReplicaSet adopts them and the
	// garbage collector keeps them.
	yes := true
	owner := &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "api", UID: dep.UID, Controller: &yes}
	team := map[string]string{"app": "api", "team": "payments"}
	crashLoopWith(t, c, ns, "api-7d9f-1", team, owner)
	waitFor(t, func() bool { return len(slack.snapshot()) >= 2 }, "api-7d9f-1's summary and reply")
	// The crash-loop trigger's rate limit is per owner: let its second pass.
	time.Sleep(1100 * time.Millisecond)
	crashLoopWith(t, c, ns, "api-7d9f-2", team, owner)
	waitFor(t, func() bool { return len(slack.snapshot()) >= 4 }, "api-7d9f-2's update and reply")
	crashLoop(t, c, ns, "lone-1", "lone")
	waitFor(t, func() bool { return len(slack.snapshot()) >= 6 }, "lone-1's summary and reply")
	time.Sleep(time.Second) // anything more would arrive now

	calls := slack.snapshot()
	var shape []string
	for _, c := range calls {
		shape = append(shape, fmt.Sprintf("%s %s ts=%s thread=%s", c.Method, c.Channel, c.TS, c.ThreadTS))
	}
	want := []string{
		"chat.postMessage payments ts= thread=",                  // api's summary: message 1
		"chat.postMessage payments ts= thread=1760000000.000001", // api-7d9f-1 in its thread
		"chat.update C0PAYMENTS ts=1760000000.000001 thread=",    // the summary, now 2
		"chat.postMessage payments ts= thread=1760000000.000001", // api-7d9f-2 in the thread
		"chat.postMessage alerts ts= thread=",                    // lone-1's summary: message 4
		"chat.postMessage alerts ts= thread=1760000000.000004",   // lone-1 in its thread
	}
	if strings.Join(shape, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Slack calls:\n%s\nwant\n%s", strings.Join(shape, "\n"), strings.Join(want, "\n"))
	}
	for i, want := range map[int]string{0: "workload: api", 2: "workload: api", 4: "workload: lone-1"} {
		if calls[i].Text != "Summary for: "+want {
			t.Errorf("summary %d text %q, want %q", i, calls[i].Text, "Summary for: "+want)
		}
	}
	if code := w.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestLocalWatchPlaybookRouting: three playbooks on each pod's creation, as the
// runner runs them. The first makes a finding for the default sinks; the second,
// naming its own sinks, adds a block, which joins that finding where the sinks are
// shared and makes the event's default finding where a sink had none; its stop: true
// keeps the third from running. All is sent once the event's playbooks are done, and
// a sink with stop: true that takes a finding ends the event's delivery: the sinks
// after it get nothing.
func TestLocalWatchPlaybookRouting(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	const ns = "h29-route"
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := func(n string) string { return filepath.Join(dir, n+".jsonl") }
	values := filepath.Join(dir, "values.yaml")
	writeText(t, values, fmt.Sprintf(`sinksConfig:
- file_sink: {name: everyone, file_name: %s}
- file_sink: {name: gate, file_name: %s, stop: true, scope: {include: [{name: "gated-.*"}]}}
- file_sink: {name: late, file_name: %s}
- file_sink: {name: manual, file_name: %s, default: false}
customPlaybooks:
- triggers: [{on_pod_create: {namespace_prefix: %s}}]
  actions: [{create_finding: {title: "first $name", aggregation_key: first}}]
- triggers: [{on_pod_create: {namespace_prefix: %s}}]
  actions: [{template_enricher: {template: "note on $name"}}]
  sinks: [manual, everyone]
  stop: true
- triggers: [{on_pod_create: {namespace_prefix: %s}}]
  actions: [{create_finding: {title: "never $name", aggregation_key: never}}]
`, file("everyone"), file("gate"), file("late"), file("manual"), ns, ns, ns))
	w := startWatch(t, env, "-f", values, "--workers", "1")
	for _, name := range []string{"open-1", "gated-1"} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.PodSpec{NodeName: "h29-elsewhere", Containers: []corev1.Container{{Name: "main", Image: "busybox"}}}}
		if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{}) })
	}
	waitFindings(t, file("everyone"), 2)
	waitFindings(t, file("manual"), 1)
	time.Sleep(2 * time.Second) // anything more would arrive now
	if code := w.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}

	got := func(sink string) string {
		var out []string
		for _, f := range sinkFindings(t, file(sink)) {
			var texts []string
			for _, e := range f.Enrichments {
				for _, b := range e.Blocks {
					texts = append(texts, b.Text)
				}
			}
			out = append(out, f.Title+"{"+strings.Join(texts, ",")+"}")
		}
		return strings.Join(out, " ")
	}
	for sink, want := range map[string]string{
		// Named by both playbooks: the block joined the first playbook's finding.
		"everyone": "first open-1{note on open-1} first gated-1{note on gated-1}",
		// A default sink the second playbook did not name: the finding without the
		// block; it takes gated-1's, and its stop ends that event's delivery.
		"gate": "first gated-1{}",
		// After gate: open-1's, which gate's scope refused, but not gated-1's.
		"late": "first open-1{}",
		// Named by the second playbook only: the event's default finding took the
		// block; gated-1's never came, as gate stopped before it.
		"manual": "Create to pod open-1{note on open-1}",
	} {
		if g := got(sink); g != want {
			t.Errorf("sink %s got %q, want %q", sink, g, want)
		}
	}
	if o, _ := w.output(); strings.Contains(o, "never ") {
		t.Errorf("the playbook after stop: true ran:\n%s", o)
	}
}
