package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// TestLocalRunShowsControlCharacters: escape sequences in a pod's log, in command
// output and in an event message reach the terminal visibly (\x1b...), never as
// control bytes; -o json and saved files keep the exact bytes.
func TestLocalRunShowsControlCharacters(t *testing.T) {
	execDir := t.TempDir()
	e := startRunner(t, "local-esc", nil, sandbox.RunnerSpec{ExecDir: execDir})
	const evil = "\x1b[31mRED\x1b[0m\x1b]0;pwned\x07"
	if err := sandbox.WriteCRILog(e.logFile, "start "+evil, "done"); err != nil {
		t.Fatal(err)
	}
	pod := "local-esc/" + e.runner.Pod
	ctx := context.Background()

	noControls := func(r result) {
		t.Helper()
		if r.code != 0 {
			t.Fatal(r)
		}
		if strings.ContainsAny(r.stdout, "\x1b\x07") {
			t.Fatalf("raw control bytes on stdout: %q", r.stdout)
		}
	}

	// The log: saved as it is, nothing of it raw on the terminal.
	dir := t.TempDir()
	r := run(t, e.env, "local", "run", "logs_enricher", "--pod", pod, "--save-files", dir)
	noControls(r)
	b, err := os.ReadFile(filepath.Join(dir, e.runner.Pod+".log"))
	if err != nil || !strings.Contains(string(b), evil) {
		t.Fatalf("saved log %q %v", b, err)
	}

	// The same text as command output, in text and Markdown: shown escaped.
	if err := os.WriteFile(filepath.Join(execDir, "evil.txt"), []byte("out "+evil+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, of := range []string{"text", "markdown"} {
		r = run(t, e.env, "local", "run", "pod_bash_enricher", "--pod", pod, "bash_command=cat evil.txt", "-o", of)
		noControls(r)
		mustContain(t, r, "stdout", `out \x1b[31mRED\x1b[0m\x1b]0;pwned\x07`)
	}
	r = run(t, e.env, "local", "run", "pod_bash_enricher", "--pod", pod, "bash_command=cat evil.txt", "-o", "json")
	mustContain(t, r, "stdout", `\u001b[31mRED\u001b[0m`)

	// An event message, in a table.
	_, err = e.c.Client.CoreV1().Events("local-esc").Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: "ev-", Namespace: "local-esc"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: e.runner.Pod, Namespace: "local-esc"},
		Type:           "Warning", Reason: "BackOff", Message: "failed " + evil,
		LastTimestamp: metav1.NewTime(time.Now()),
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r = run(t, e.env, "local", "run", "pod_events_enricher", "--pod", pod)
	noControls(r)
	mustContain(t, r, "stdout", `failed \x1b[31mRED\x1b[0m\x1b]0;pwned\x07`)

	// robusta logs: on a terminal the line is shown escaped; piped, the bytes stay.
	out := runTTY(t, e.env, 120, "logs", "--runner-pod", pod, "--tail", "2")
	if strings.Contains(out, "\x1b]0;") || strings.Contains(out, "\x07") || !strings.Contains(out, `start \x1b[31mRED\x1b[0m\x1b]0;pwned\x07`) {
		t.Fatalf("logs on a terminal: %q", out)
	}
	r = run(t, e.env, "logs", "--runner-pod", pod, "--tail", "2")
	if r.code != 0 || !strings.Contains(r.stdout, "start "+evil) {
		t.Fatalf("piped logs lost the bytes: %s", r)
	}
}
