package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

func TestLocalRunActions(t *testing.T) {
	e := startRunner(t, "local-ns", nil, sandbox.RunnerSpec{})
	_ = sandbox.WriteCRILog(e.logFile, "ERROR disk full", "all good")
	pod := "local-ns/" + e.runner.Pod
	ctx := context.Background()

	// logs_enricher: the last lines, as a file block.
	r := run(t, e.env, "local", "run", "logs_enricher", "--pod", pod, "tail:=2", "-o", "json")
	if r.code != 0 {
		t.Fatal(r)
	}
	var f struct {
		Title       string
		Subject     map[string]any
		Enrichments []struct {
			Title  string
			Blocks []struct {
				Type, Name string
				Data       string
				Headers    []string
				Rows       [][]string
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	data, _ := base64.StdEncoding.DecodeString(f.Enrichments[0].Blocks[0].Data)
	if f.Subject["name"] != e.runner.Pod || string(data) != "ERROR disk full\nall good\n" {
		t.Fatalf("finding: %+v data %q", f, data)
	}
	// The runner's manual-trigger form: name/namespace params, the kind from the action.
	r = run(t, e.env, "local", "run", "logs_enricher", "name="+e.runner.Pod, "namespace=local-ns", "tail:=1")
	if r.code != 0 || !strings.Contains(r.stdout, "subject: pod local-ns/"+e.runner.Pod) || !strings.Contains(r.stdout, "(9 B)") {
		t.Fatal(r)
	}
	r = run(t, e.env, "local", "run", "get_resource_yaml", "name=robusta-runner", "namespace=local-ns", "kind=Deployment")
	mustContain(t, r, "stdout", "file robusta-runner.yaml")
	r = run(t, e.env, "local", "run", "logs_enricher", "--pod", pod, "name=x")
	if r.code != 2 || !strings.Contains(r.stderr, "both name the object") {
		t.Fatal(r)
	}
	r = run(t, e.env, "local", "run", "get_resource_yaml", "name=robusta-runner")
	if r.code != 2 || !strings.Contains(r.stderr, "runs on any resource: the kind param says which") {
		t.Fatal(r)
	}
	// Without a cluster the params form fails like the flag form: exit 1, what to do.
	r = run(t, []string{"KUBECONFIG=/nonexistent"}, "local", "run", "logs_enricher", "name=x", "namespace=y")
	if r.code != 1 || !strings.Contains(r.stderr, "no kubeconfig found") || !strings.Contains(r.stderr, "Hint: set KUBECONFIG") {
		t.Fatal(r)
	}
	r = run(t, e.env, "local", "run", "logs_enricher", "name=nope", "namespace=local-ns")
	if r.code != 1 || !strings.Contains(r.stderr, "could not build the event: pod local-ns/nope not found") {
		t.Fatal(r)
	}
	// filter_regex keeps what the pattern matched (the runner's re.findall), not the line.
	r = run(t, e.env, "local", "run", "logs_enricher", "--pod", pod, "filter_regex=ERROR")
	if r.code != 0 || !strings.Contains(r.stdout, "file "+e.runner.Pod+".log (5 B)") {
		t.Fatal(r)
	}
	// Nothing left after the filter: the runner's empty file, its remarks naming the
	// container.
	r = run(t, e.env, "local", "run", "logs_enricher", "--pod", pod, "filter_regex=NO-SUCH-TEXT")
	if r.code != 0 || !strings.Contains(r.stdout, "file "+e.runner.Pod+".log (0 B)") || !strings.Contains(r.stdout, "Logs unavailable for container: runner") {
		t.Fatal(r)
	}

	// pod_events_enricher: a Warning event of the pod, as a table.
	_, err := e.c.Client.CoreV1().Events("local-ns").Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: "ev-", Namespace: "local-ns"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: e.runner.Pod, Namespace: "local-ns"},
		Type:           "Warning", Reason: "BackOff", Message: "Back-off restarting failed container",
		LastTimestamp: metav1.NewTime(time.Now()),
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r = run(t, e.env, "local", "run", "pod_events_enricher", "--pod", pod, "included_types=Warning")
	if r.code != 0 || !strings.Contains(r.stdout, "Warning") || !strings.Contains(r.stdout, "BackOff") || !strings.Contains(r.stdout, "Back-off restarting failed container") {
		t.Fatal(r)
	}

	// create_finding templating.
	r = run(t, e.env, "local", "run", "create_finding", "--pod", pod, "title=Pod $name in $namespace ($labels.app)", "severity=LOW")
	if r.code != 0 || !strings.Contains(r.stdout, "[LOW] Pod "+e.runner.Pod+" in local-ns (robusta-runner)") {
		t.Fatal(r)
	}

	// Mistakes.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"local", "run", "logs_enrich", "--pod", pod}, `unknown action "logs_enrich" (did you mean "logs_enricher"?)`},
		{[]string{"local", "run", "logs_enricher", "--node", "kwok-node-0"}, "logs_enricher needs a PodEvent, but got a NodeEvent"},
		{[]string{"local", "run", "create_finding", "--pod", pod}, `missing required parameter "title"`},
		{[]string{"local", "run", "logs_enricher", "--pod", pod, "colour=red"}, `unknown parameter "colour"`},
		{[]string{"local", "run", "logs_enricher"}, "say which object"},
		{[]string{"local", "run", "--pod", pod}, "name an action"},
		{[]string{"local", "run", "logs_enricher", "--playbook", "x.yaml", "--pod", pod}, "--playbook holds the actions"},
		{[]string{"local", "run", "--playbook", "/nonexistent.yaml", "--pod", pod}, "--playbook: open /nonexistent.yaml"},
		{[]string{"local", "run", "logs_enricher", "--kind", "pod", "--pod", pod}, "--kind and --name go together"},
		{[]string{"local", "run", "logs_enricher", "--kind", "pod", "--name", "x", "--pod", pod}, "give either --kind/--name or one of"},
		{[]string{"local", "run", "logs_enricher", "--alert", "a.json", "--pod", pod}, "an alert names its own object"},
	} {
		r := run(t, e.env, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %s", tc.args, r)
		}
	}
	// --save-files to a missing folder fails before the action runs: a mutating action
	// with --apply leaves the pod alone (and a trigger sends nothing).
	missing := t.TempDir() + "/missing"
	r = run(t, e.env, "local", "run", "delete_pod", "--pod", pod, "--apply", "--save-files", missing)
	if r.code != 2 || !strings.Contains(r.stderr, "--save-files "+missing+": no such folder: create it first") {
		t.Fatal(r)
	}
	if _, err := e.c.Client.CoreV1().Pods("local-ns").Get(ctx, e.runner.Pod, metav1.GetOptions{}); err != nil {
		t.Fatalf("the action ran before --save-files was checked: %v", err)
	}
	r = run(t, []string{"KUBECONFIG=/nonexistent"}, "playbooks", "trigger", "logs_enricher", "--pod", pod, "--sync", "--save-files", missing)
	if r.code != 2 || !strings.Contains(r.stderr, "no such folder") {
		t.Fatal(r)
	}
	// delete_pod: dry run by default, --apply deletes.
	r = run(t, e.env, "local", "run", "delete_pod", "--pod", pod)
	if r.code != 0 || !strings.Contains(r.stderr, "server-side dry run") {
		t.Fatal(r)
	}
	if _, err := e.c.Client.CoreV1().Pods("local-ns").Get(ctx, e.runner.Pod, metav1.GetOptions{}); err != nil {
		t.Fatalf("dry run deleted the pod: %v", err)
	}
	r = run(t, e.env, "local", "run", "delete_pod", "--pod", pod, "--apply")
	if r.code != 0 || !strings.Contains(r.stdout, "Deleted pod "+pod) {
		t.Fatal(r)
	}

	r = run(t, e.env, "local", "run", "logs_enricher", "--pod", "local-ns/no-such-pod")
	if r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Fatal(r)
	}
}

func TestLocalActionsList(t *testing.T) {
	r := run(t, nil, "local", "actions", "-o", "json")
	var rows []map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rows) != nil || len(rows) < 4 {
		t.Fatal(r)
	}
	r = run(t, nil, "local", "actions", "logs_enricher")
	if r.code != 0 || !strings.Contains(r.stdout, "filter_regex") || !strings.Contains(r.stdout, "PodEvent") {
		t.Fatal(r)
	}
	// An action on the base event needs no object (nor a cluster), as on_manual_trigger.
	r = run(t, nil, "local", "run", "create_finding", "title=Deploy of v2 started", "severity=INFO")
	if r.code != 0 || r.stdout != "[INFO] Deploy of v2 started\n" {
		t.Fatal(r)
	}
	// Robusta's params, then the engine's where they differ.
	r = run(t, nil, "local", "actions", "job_pod_enricher")
	if r.code != 0 || !strings.Contains(r.stdout, "included_types") || !strings.Contains(r.stdout, "Parameters robusta local run takes:") {
		t.Fatal(r)
	}
	// related_pods takes Robusta's params as they are: no second list.
	r = run(t, nil, "local", "actions", "related_pods")
	if r.code != 0 || !strings.Contains(r.stdout, "output_format") || strings.Contains(r.stdout, "Parameters robusta local run takes") {
		t.Fatal(r)
	}
}

func TestLocalExecAndChangeActions(t *testing.T) {
	e := startRunner(t, "local-x", nil, sandbox.RunnerSpec{ExecDir: t.TempDir()})
	pod := "local-x/" + e.runner.Pod
	r := run(t, e.env, "local", "run", "pod_bash_enricher", "--pod", pod, "bash_command=echo hello from $0")
	if r.code != 0 || !strings.Contains(r.stdout, "Command results for echo hello from $0") || !strings.Contains(r.stdout, "hello from sh") {
		t.Fatal(r)
	}

	// pod_ps: the process list, from ps aux run in the pod (kwok runs it here).
	r = run(t, e.env, "local", "run", "pod_ps", "--pod", pod, "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"title": "Processes"`) || !strings.Contains(r.stdout, "PID") || !strings.Contains(r.stdout, "COMMAND") {
		t.Fatal(r)
	}

	// resource_babysitter needs a change event: without --old it explains; with an old
	// version it shows what changed.
	r = run(t, e.env, "local", "run", "resource_babysitter", "--deployment", "local-x/robusta-runner")
	if r.code != 2 || !strings.Contains(r.stderr, "pass the old one with --old FILE") {
		t.Fatal(r)
	}
	dep, err := e.c.Client.AppsV1().Deployments("local-x").Get(context.Background(), "robusta-runner", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := dep.DeepCopy()
	three := int32(3)
	old.Spec.Replicas = &three
	old.Spec.Template.Spec.Containers[0].Image = "robusta-runner:old"
	b, _ := json.Marshal(old)
	oldFile := t.TempDir() + "/old.json"
	if err := writeFile(oldFile, b); err != nil {
		t.Fatal(err)
	}
	r = run(t, e.env, "local", "run", "resource_babysitter", "--deployment", "local-x/robusta-runner", "--old", oldFile)
	if r.code != 0 {
		t.Fatal(r)
	}
	// The runner's title and description; with no trigger, every difference outside
	// status and metadata bookkeeping is shown.
	for _, want := range []string{"deployment/local-x/robusta-runner.yaml updated", "Deployment updated", "Attributes: replicas, image",
		"Deployment.spec.replicas", "3", "Deployment.spec.template.spec.containers[0].image", "robusta-runner:old", "robusta-runner:sandbox"} {
		mustContain(t, r, "stdout", want)
	}
	if strings.Contains(r.stdout, "resourceVersion") {
		t.Fatalf("omitted field reported\n%s", r)
	}
	// The runner marks a babysitter finding as a configuration change.
	if f, _ := runFinding(t, e.env, "local", "run", "resource_babysitter", "--deployment", "local-x/robusta-runner", "--old", oldFile); f.Type != "configuration_change" {
		t.Fatalf("finding_type %q, want configuration_change", f.Type)
	}
	// Creations and deletions are reported as such; a deleted object comes from --old.
	r = run(t, e.env, "local", "run", "resource_babysitter", "--deployment", "local-x/robusta-runner", "--operation", "create")
	mustContain(t, r, "stdout", "deployment/local-x/robusta-runner.yaml created")
	mustContain(t, r, "stdout", "Deployment created")
	old.Name = "gone"
	b, _ = json.Marshal(old)
	_ = writeFile(oldFile, b)
	r = run(t, e.env, "local", "run", "resource_babysitter", "--deployment", "local-x/gone", "--operation", "delete", "--old", oldFile)
	mustContain(t, r, "stdout", "deployment/local-x/gone.yaml deleted")
	mustContain(t, r, "stdout", "Deployment deleted")
	// ignored_namespaces: no finding.
	r = run(t, e.env, "local", "run", "resource_babysitter", "--deployment", "local-x/robusta-runner", "--operation", "create", "ignored_namespaces:=[\"local-x\"]")
	mustContain(t, r, "stderr", "ignored_namespaces")
	if strings.Contains(r.stdout, "robusta-runner.yaml created") {
		t.Fatalf("ignored namespace reported\n%s", r)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--deployment", "local-x/other", "--old", oldFile}, "holds deployment gone, not other"},
		{[]string{"--deployment", "local-x/robusta-runner", "--operation", "update"}, "give the old one with --old FILE"},
		{[]string{"--deployment", "local-x/robusta-runner", "--operation", "remove"}, `--operation "remove": use create, update or delete`},
	} {
		r = run(t, e.env, append([]string{"local", "run", "resource_babysitter"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %s", tc.args, r)
		}
	}
}

func TestLocalObjectActions(t *testing.T) {
	e := startRunner(t, "local-o", nil, sandbox.RunnerSpec{})
	ctx := context.Background()
	dir := t.TempDir()
	r := run(t, e.env, "local", "run", "get_resource_yaml", "--deployment", "local-o/robusta-runner", "--save-files", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "file robusta-runner.yaml") {
		t.Fatal(r)
	}
	saved, err := os.ReadFile(dir + "/robusta-runner.yaml")
	if err != nil || !strings.Contains(string(saved), "robustaComponent: runner") || strings.Contains(string(saved), "managedFields") {
		t.Fatalf("%v\n%s", err, saved)
	}
	r = run(t, e.env, "local", "run", "node_status_enricher", "--node", sandbox.FakeNodeName)
	if r.code != 0 || !strings.Contains(r.stdout, "Ready") {
		t.Fatal(r)
	}

	gen := func() int64 {
		d, err := e.c.Client.AppsV1().Deployments("local-o").Get(ctx, "robusta-runner", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Generation
	}
	before := gen()
	r = run(t, e.env, "local", "run", "rollout_restart", "--deployment", "local-o/robusta-runner")
	if r.code != 0 || !strings.Contains(r.stdout, "Dry run: would restart") || gen() != before {
		t.Fatalf("dry run changed the deployment\n%s", r)
	}
	r = run(t, e.env, "local", "run", "rollout_restart", "--deployment", "local-o/robusta-runner", "--apply")
	if r.code != 0 || gen() == before {
		t.Fatalf("--apply did not restart\n%s", r)
	}
}

func TestLocalJobInfo(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	if err := c.EnsureNamespace(ctx, "local-job"); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureNode(ctx, sandbox.FakeNodeName); err != nil {
		t.Fatal(err)
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "local-job"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
			Tolerations:   []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
		}}},
	}
	if _, err := c.Client.BatchV1().Jobs("local-job").Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := c.Client.BatchV1().Jobs("local-job").Get(ctx, "nightly", metav1.GetOptions{})
		if err == nil && j.Status.Succeeded == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job did not complete: %+v", j.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	r := run(t, kubeconfigEnv(c.KubeconfigPath), "local", "run", "job_info_enricher", "--job", "local-job/nightly")
	if r.code != 0 || !strings.Contains(r.stdout, "succeeded") || !strings.Contains(r.stdout, "1/1") || !strings.Contains(r.stdout, "condition Complete") {
		t.Fatal(r)
	}
}
