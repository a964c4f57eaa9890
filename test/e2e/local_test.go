package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

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
	r = run(t, e.env, "local", "run", "logs_enricher", "--pod", pod, "filter_regex=ERROR")
	if r.code != 0 || !strings.Contains(r.stdout, "file "+e.runner.Pod+".runner.log (16 B)") {
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
	} {
		r := run(t, e.env, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %s", tc.args, r)
		}
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
}
