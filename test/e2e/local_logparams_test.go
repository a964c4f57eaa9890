package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// paramsFile writes a YAML params file (for params a key=value argument cannot give,
// such as a list of objects) and returns its path.
func paramsFile(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "params.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// onlyFile is the only file block of the finding, failing when there is not exactly one.
func onlyFile(t *testing.T, f finding) (name, data string) {
	t.Helper()
	n := 0
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			if b.Type == "file" {
				name, data = b.Name, string(b.Data)
				n++
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d file blocks, want 1: %+v", n, f)
	}
	return name, data
}

const (
	lpNS = "logparams"
	// redaction rules: a named one, and one with the default name (Redacted)
	lpPatterns = "regex_replacer_patterns:\n- {name: password, regex: 'password=\\S+'}\n- {regex: '[\\w.]+@[\\w.]+'}\n"
)

// lpCluster is the log-params tests' sandbox, with its fake node and their namespace,
// and the environment that points the binary at it.
func lpCluster(t *testing.T) (*sandbox.Cluster, []string) {
	t.Helper()
	c := sandbox.Get(t)
	ctx := context.Background()
	if err := c.EnsureNode(ctx, sandbox.FakeNodeName); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureNamespace(ctx, lpNS); err != nil {
		t.Fatal(err)
	}
	return c, kubeconfigEnv(c.KubeconfigPath)
}

// lpWireLogs gives the pod's container a current and a previous log (CRI files in a
// temp dir), reports status as the kubelet would, and waits until the API server
// serves the log.
func lpWireLogs(t *testing.T, c *sandbox.Cluster, pod *corev1.Pod, container string, current, previous []string, status corev1.PodStatus) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	logFile, prevFile := filepath.Join(dir, "current.log"), filepath.Join(dir, "previous.log")
	if err := sandbox.WriteCRILog(logFile, current...); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.WriteCRILog(prevFile, previous...); err != nil {
		t.Fatal(err)
	}
	if err := c.WirePod(ctx, lpNS, pod.Name, container, "", "", logFile, prevFile); err != nil {
		t.Fatal(err)
	}
	pod.Status = status
	pods := c.Client.CoreV1().Pods(lpNS)
	if _, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, err := pods.GetLogs(pod.Name, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
		return err == nil
	}, "logs of "+pod.Name)
}

// TestLocalLogParams runs the log actions with LogEnricherParams' redaction, filter,
// previous and warn_on_missing_label on a sandbox pod whose log holds secrets.
func TestLocalLogParams(t *testing.T) {
	c, env := lpCluster(t)
	ctx := context.Background()
	gone(t, c, lpNS, map[string][]string{"pod": {"vault-client"}})
	pods := c.Client.CoreV1().Pods(lpNS)
	pod, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "vault-client", Labels: map[string]string{"app": "vault-client"},
			Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}},
		Spec: corev1.PodSpec{NodeName: sandbox.FakeNodeName, Containers: []corev1.Container{{Name: "main", Image: "vc:1"}},
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A crash-looping container, as the kubelet would report it.
	now := metav1.Now()
	lpWireLogs(t, c, pod, "main", []string{"login password=hunter2 ok", "mail to bob@example.com", "ERROR db down password=swordfish"},
		[]string{"previous run: password=oldpass"}, corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &now, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "main", Image: "vc:1", RestartCount: 3,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", StartedAt: now, FinishedAt: now}},
		}}})
	ref := lpNS + "/vault-client"

	// logs_enricher: no style is SAME_LENGTH_ASTERISKS, one * per character.
	f, _ := runFinding(t, env, "local", "run", "logs_enricher", "--pod", ref, "--params-file", paramsFile(t, lpPatterns))
	if _, data := onlyFile(t, f); data != "login **************** ok\nmail to ***************\nERROR db down ******************\n" {
		t.Fatalf("asterisks: %q", data)
	}
	f, _ = runFinding(t, env, "local", "run", "logs_enricher", "--pod", ref, "--params-file", paramsFile(t, lpPatterns), "regex_replacement_style=NAMED")
	if _, data := onlyFile(t, f); data != "login [PASSWORD] ok\nmail to [REDACTED]\nERROR db down [PASSWORD]\n" {
		t.Fatalf("named: %q", data)
	}
	// filter_regex is re.findall: the matches joined by newlines, then redacted.
	f, _ = runFinding(t, env, "local", "run", "logs_enricher", "--pod", ref, "--params-file", paramsFile(t, lpPatterns),
		"regex_replacement_style=NAMED", "filter_regex=ERROR.*")
	if _, data := onlyFile(t, f); data != "ERROR db down [PASSWORD]" {
		t.Fatalf("filtered: %q", data)
	}
	f, _ = runFinding(t, env, "local", "run", "logs_enricher", "--pod", ref, "--params-file", paramsFile(t, lpPatterns), "previous=true")
	if _, data := onlyFile(t, f); data != "previous run: ****************\n" {
		t.Fatalf("previous: %q", data)
	}
	// Bad input is refused before anything is fetched.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"regex_replacement_style=asterisks"}, `parameter "regex_replacement_style": "asterisks" is not one of SAME_LENGTH_ASTERISKS, NAMED`},
		{[]string{"filter_regex=(a)(b)"}, `filter_regex "(a)(b)" has 2 capture groups`},
		{[]string{"--params-file", paramsFile(t, "regex_replacer_patterns: [{name: x, regex: 'a(?=b)'}]\n")}, `regex_replacer_patterns item 0 (x): regex "a(?=b)"`},
		{[]string{"--params-file", paramsFile(t, "regex_replacer_patterns: [{name: x}]\n")}, `missing required parameter "regex"`},
	} {
		r := run(t, env, append([]string{"local", "run", "logs_enricher", "--pod", ref}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("%v: %s", tc.args, r)
		}
	}

	// On an alert that names no pod the runner adds a line only with
	// warn_on_missing_label.
	noPod := alertFile(t, map[string]string{"alertname": "DiskFull", "severity": "warning"}, nil, "")
	f, r := runFinding(t, env, "local", "run", "logs_enricher", "--alert", noPod)
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "logs_enricher: the alert names no pod, so it added nothing") {
		t.Fatalf("no pod, no warning: %+v\n%s", f, r)
	}
	f, _ = runFinding(t, env, "local", "run", "logs_enricher", "--alert", noPod, "warn_on_missing_label=true")
	if len(f.Enrichments) != 1 || f.block(t, 0, 0).Type != "markdown" ||
		f.block(t, 0, 0).Text != "Cannot fetch logs because the pod is unknown. The alert has no `pod` label" {
		t.Fatalf("warning: %+v", f)
	}
	// An alert that names the pod gets its log, redacted.
	onPod := alertFile(t, map[string]string{"alertname": "VaultErrors", "pod": "vault-client", "namespace": lpNS}, nil, "")
	f, _ = runFinding(t, env, "local", "run", "logs_enricher", "--alert", onPod, "warn_on_missing_label=true", "filter_regex=mail.*",
		"--params-file", paramsFile(t, lpPatterns))
	if _, data := onlyFile(t, f); data != "mail to ***************" {
		t.Fatalf("alert on the pod: %q", data)
	}

	// report_crash_loop: the previous log, redacted; its style defaults to asterisks.
	f, _ = runFinding(t, env, "local", "run", "report_crash_loop", "--pod", ref, "--params-file", paramsFile(t, lpPatterns))
	if _, data := onlyFile(t, f); data != "previous run: ****************\n" {
		t.Fatalf("report_crash_loop: %q", data)
	}
	f, _ = runFinding(t, env, "local", "run", "report_crash_loop", "--pod", ref, "--params-file", paramsFile(t, lpPatterns), "regex_replacement_style=NAMED")
	if _, data := onlyFile(t, f); data != "previous run: [PASSWORD]\n" {
		t.Fatalf("report_crash_loop named: %q", data)
	}

	// foreign_logs_enricher: the pods the selector finds, redacted.
	f, _ = runFinding(t, env, "local", "run", "foreign_logs_enricher", "label_selectors=app=vault-client", "regex_replacement_style=NAMED",
		"--params-file", paramsFile(t, lpPatterns))
	if name, data := onlyFile(t, f); name != "vault-client.log" || data != "login [PASSWORD] ok\nmail to [REDACTED]\nERROR db down [PASSWORD]\n" {
		t.Fatalf("foreign_logs_enricher: %s %q", name, data)
	}
	// A selector that finds nothing: the runner only logs it, warn_on_missing_label or
	// not (that flag is about an alert without a pod label), so the finding stays empty.
	f, r = runFinding(t, env, "local", "run", "foreign_logs_enricher", "label_selectors=app=nothing-lp", "warn_on_missing_label=true")
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "no pod matches any of the label selectors app=nothing-lp (warn_on_missing_label adds a line only for an alert without a pod label)") {
		t.Fatalf("foreign_logs_enricher, no pod: %+v\n%s", f, r)
	}
	f, _ = runFinding(t, env, "local", "run", "alert_foreign_logs_enricher", "--alert", onPod, "label_selectors=app=${labels.app}",
		"previous=true", "--params-file", paramsFile(t, lpPatterns))
	if _, data := onlyFile(t, f); data != "previous run: ****************\n" {
		t.Fatalf("alert_foreign_logs_enricher: %q", data)
	}
}

// TestLocalJobPodEnricherParams fails a Job (its pod reported Failed, as a kubelet
// would) and runs job_pod_enricher with each of its params: the latest pod's events
// (types, max_events) and its first container's log (previous, filter, redaction).
func TestLocalJobPodEnricherParams(t *testing.T) {
	c, env := lpCluster(t)
	ctx := context.Background()
	zero := int32(0)
	jobs := c.Client.BatchV1().Jobs(lpNS)
	bg := metav1.DeletePropagationBackground
	_ = jobs.Delete(ctx, "report-gen", metav1.DeleteOptions{PropagationPolicy: &bg})
	waitFor(t, func() bool {
		_, err := jobs.Get(ctx, "report-gen", metav1.GetOptions{})
		return err != nil
	}, "old job gone")
	t.Cleanup(func() {
		_ = jobs.Delete(context.Background(), "report-gen", metav1.DeleteOptions{PropagationPolicy: &bg})
	})
	created, err := jobs.Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "report-gen"},
		Spec: batchv1.JobSpec{BackoffLimit: &zero, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{sandbox.CustomStatusAnnotation: "custom"}},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				NodeName:      sandbox.FakeNodeName,
				Containers:    []corev1.Container{{Name: "main", Image: "rg:1"}, {Name: "side", Image: "proxy:1"}},
				Tolerations:   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	waitFor(t, func() bool {
		l, err := c.Client.CoreV1().Pods(lpNS).List(ctx, metav1.ListOptions{LabelSelector: "controller-uid=" + string(created.UID)})
		if err == nil && len(l.Items) == 1 {
			pod = &l.Items[0]
		}
		return pod != nil
	}, "job pod")
	now := metav1.Now()
	lpWireLogs(t, c, pod, "main", []string{"rendering for alice@example.com", "ERROR: s3 upload denied password=tr0ub4dor", "exiting"},
		[]string{"earlier attempt password=old"}, corev1.PodStatus{Phase: corev1.PodFailed, StartTime: &now, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "main", Image: "rg:1", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", StartedAt: now, FinishedAt: now}}},
			{Name: "side", Image: "proxy:1", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}}},
		}})
	waitFor(t, func() bool {
		j, err := jobs.Get(ctx, "report-gen", metav1.GetOptions{})
		return err == nil && j.Status.Failed == 1
	}, "job failed")
	// The pod's events (events.k8s.io/v1), oldest first.
	base := time.Now().Add(-10 * time.Minute)
	for i, ev := range []struct{ typ, reason, note string }{
		{"Normal", "Pulled", "image rg:1 pulled"},
		{"Warning", "BackOff", "back-off 1"},
		{"Normal", "Started", "started main"},
		{"Warning", "Failed", "exit code 1"},
	} {
		if _, err := c.Client.EventsV1().Events(lpNS).Create(ctx, &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "rg-", Namespace: lpNS},
			EventTime:  metav1.NewMicroTime(base.Add(time.Duration(i) * time.Minute)),
			Regarding:  corev1.ObjectReference{Kind: "Pod", Name: pod.Name, Namespace: lpNS},
			Type:       ev.typ, Reason: ev.reason, Note: ev.note, Action: "Test",
			ReportingController: "e2e/test", ReportingInstance: "e2e-1",
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	job := lpNS + "/report-gen"
	reasons := func(f finding) []string {
		t.Helper()
		b := f.block(t, 0, 0)
		if f.Enrichments[0].Title != "" || b.Type != "table" || b.Name != "*Job pod events:*" {
			t.Fatalf("events block: %+v", f)
		}
		var out []string
		for _, r := range b.Rows {
			out = append(out, r[0])
		}
		return out
	}

	// Defaults: all event types newest first (at most 8), then the first container's
	// log as <pod>.log, each in an enrichment without title.
	f, _ := runFinding(t, env, "local", "run", "job_pod_enricher", "--job", job)
	if got := strings.Join(reasons(f), ","); got != "Failed,Started,BackOff,Pulled" || len(f.Enrichments) != 2 {
		t.Fatalf("events %s: %+v", got, f)
	}
	if name, data := onlyFile(t, f); name != pod.Name+".log" || f.Enrichments[1].Title != "" ||
		data != "rendering for alice@example.com\nERROR: s3 upload denied password=tr0ub4dor\nexiting\n" {
		t.Fatalf("log %s %q", name, data)
	}
	// included_types and max_events.
	f, _ = runFinding(t, env, "local", "run", "job_pod_enricher", "--job", job, "included_types=Warning", "max_events=1")
	if got := strings.Join(reasons(f), ","); got != "Failed" || f.block(t, 0, 0).Truncated != 1 {
		t.Fatalf("Warning, 1: %s %+v", got, f)
	}
	// events off, logs on with filter, redaction and a named style.
	f, _ = runFinding(t, env, "local", "run", "job_pod_enricher", "--job", job, "events=false", "filter_regex=ERROR.*",
		"regex_replacement_style=NAMED", "--params-file", paramsFile(t, lpPatterns))
	if _, data := onlyFile(t, f); len(f.Enrichments) != 1 || data != "ERROR: s3 upload denied [PASSWORD]" {
		t.Fatalf("filtered: %q %+v", data, f)
	}
	// previous: the previous container's log, redacted with asterisks.
	f, _ = runFinding(t, env, "local", "run", "job_pod_enricher", "--job", job, "events=false", "previous=true", "--params-file", paramsFile(t, lpPatterns))
	if _, data := onlyFile(t, f); data != "earlier attempt ************\n" {
		t.Fatalf("previous: %q", data)
	}
	// logs off: the events only.
	f, _ = runFinding(t, env, "local", "run", "job_pod_enricher", "--job", job, "logs=false", "included_types=Normal")
	if got := strings.Join(reasons(f), ","); got != "Started,Pulled" || len(f.Enrichments) != 1 {
		t.Fatalf("logs off: %s %+v", got, f)
	}
	// container_name is taken but, as in the runner, the first container's log is read.
	f, r := runFinding(t, env, "local", "run", "job_pod_enricher", "--job", job, "events=false", "container_name=side")
	if _, data := onlyFile(t, f); !strings.HasPrefix(data, "rendering for") || !strings.Contains(r.stderr, "container_name is not used") {
		t.Fatalf("container_name: %q\n%s", data, r)
	}
	// A filter that matches nothing: the runner attaches no file.
	f, r = runFinding(t, env, "local", "run", "job_pod_enricher", "--job", job, "events=false", "filter_regex=nothing-here")
	if len(f.Enrichments) != 0 || !strings.Contains(r.stderr, "is empty (after filter_regex)") {
		t.Fatalf("empty: %+v\n%s", f, r)
	}
	// Bad input: exit 2, the problem named.
	r = run(t, env, "local", "run", "job_pod_enricher", "--job", job, "regex_replacement_style=named")
	if r.code != 2 || !strings.Contains(r.stderr, `"named" is not one of SAME_LENGTH_ASTERISKS, NAMED`) {
		t.Fatal(r)
	}
}
