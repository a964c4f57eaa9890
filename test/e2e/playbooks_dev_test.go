package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// devProc is `robusta playbooks dev` running in the background.
type devProc = bgProc

func startDev(t *testing.T, env []string, args ...string) *devProc {
	t.Helper()
	return startBackground(t, "dev", env, append([]string{"playbooks", "dev"}, args...)...)
}

// waitOut waits until stdout holds want n times.
func (p *devProc) waitOut(t *testing.T, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		if o, _ := p.output(); strings.Count(o, want) >= n {
			return
		}
		select {
		case err := <-p.done:
			o, e := p.output()
			t.Fatalf("dev ended (%v) before %q:\n--- stdout\n%s--- stderr\n%s", err, want, o, e)
		case <-time.After(50 * time.Millisecond):
		}
	}
	o, e := p.output()
	t.Fatalf("no %d× %q in 40 s:\n--- stdout\n%s--- stderr\n%s", n, want, o, e)
}

func countRequests(s *sandbox.StandIn, path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

func TestPlaybooksDevPushesOnlyChanges(t *testing.T) {
	p := startPushRunner(t, "robusta-dev")
	src := sampleRepo(t, "dev_repo")
	actions := filepath.Join(src, "dev_repo", "actions.py")
	live := filepath.Join(p.storage, "dev_repo", "dev_repo", "actions.py")
	reloads := func() int { return countRequests(p.standIn, "/api/playbooks/reload") }
	triggers := func() int { return countRequests(p.standIn, "/api/trigger") }

	d := startDev(t, p.env, src, "-n", "robusta-dev", "--storage-path", p.storage, "--debounce", "200ms", "--log-wait", "3s",
		"--trigger", "my_action", "answer:=42")
	d.waitOut(t, "Pushed dev_repo to robusta-dev/"+p.runner.Pod+":"+p.storage+"/dev_repo (push 1,", 1)
	d.waitOut(t, "Triggered my_action", 1)
	if reloads() != 1 || triggers() != 1 {
		t.Fatalf("after the first push: %d reloads, %d triggers", reloads(), triggers())
	}
	if body := string(p.standIn.Requests()[len(p.standIn.Requests())-1].Body); !strings.Contains(body, `"answer":42`) {
		t.Fatalf("trigger body %s", body)
	}
	d.waitOut(t, "runner: ", 1) // the stand-in's "Reloading playbook configuration"
	if _, e := d.output(); !strings.Contains(e, "no Helm release found for runner robusta-dev/"+p.runner.Pod) {
		t.Fatalf("no word on the release (push's checks):\n%s", e)
	}

	// An edit: exactly one re-push, whatever events the write makes.
	v2 := "from robusta.api import *\n\n@action\ndef my_action(event: PodEvent):\n    print('v2')\n"
	if err := os.WriteFile(actions, []byte(v2), 0o644); err != nil {
		t.Fatal(err)
	}
	d.waitOut(t, "(push 2,", 1)
	d.waitOut(t, "Triggered my_action", 2)
	time.Sleep(1500 * time.Millisecond) // longer than the debounce: a second push would show
	if o, _ := d.output(); strings.Contains(o, "(push 3,") || reloads() != 2 || triggers() != 2 {
		t.Fatalf("one edit, %d reloads, %d triggers:\n%s", reloads(), triggers(), o)
	}
	if b, _ := os.ReadFile(live); string(b) != v2 {
		t.Fatalf("live actions.py is %q", b)
	}

	// Written again with the same content: looked at, not pushed.
	if err := os.WriteFile(actions, []byte(v2), 0o644); err != nil {
		t.Fatal(err)
	}
	d.waitOut(t, "unchanged (tree ", 1)
	if reloads() != 2 {
		t.Fatalf("unchanged tree pushed: %d reloads", reloads())
	}

	// A repository that does not validate: reported, the last good push stays.
	pyproject := filepath.Join(src, "pyproject.toml")
	good, _ := os.ReadFile(pyproject)
	if err := os.WriteFile(pyproject, []byte("[tool.poetry\nname = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.waitOut(t, "not pushed: ", 1)
	d.waitOut(t, "the last good push (tree ", 1)
	if b, _ := os.ReadFile(live); string(b) != v2 || reloads() != 2 {
		t.Fatalf("a broken repository changed the live version (%d reloads): %q", reloads(), b)
	}

	// Fixed again with a new action file: pushed; the runner's import error shows up
	// highlighted with its traceback.
	if err := os.WriteFile(pyproject, good, 0o644); err != nil {
		t.Fatal(err)
	}
	v3 := "import nope\n"
	if err := os.WriteFile(actions, []byte(v3), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for reloads() < 3 {
		if time.Now().After(deadline) {
			o, e := d.output()
			t.Fatalf("no third reload\n%s\n%s", o, e)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := sandbox.WriteCRILog(p.logFile,
		"2026-11-28 10:00:00.000 ERROR    failed to module dev_repo.actions",
		"Traceback (most recent call last):",
		`  File "/etc/robusta/playbooks/storage/dev_repo/dev_repo/actions.py", line 1, in <module>`,
		"ModuleNotFoundError: No module named 'nope'",
		"2026-11-28 10:00:00.100 INFO     unrelated line"); err != nil {
		t.Fatal(err)
	}
	d.waitOut(t, "the runner logged 1 error while loading it", 1)
	o, _ := d.output()
	for _, want := range []string{"X 2026-11-28 10:00:00.000 ERROR    failed to module dev_repo.actions", "    ModuleNotFoundError: No module named 'nope'", "(push 3,"} {
		if !strings.Contains(o, want) {
			t.Fatalf("no %q in\n%s", want, o)
		}
	}
	if strings.Contains(o, "unrelated line") {
		t.Fatalf("showed a log line that is not about the repository:\n%s", o)
	}

	// Ctrl-C: exit 0, the last push stays.
	if code := d.stop(t); code != 0 {
		o, e := d.output()
		t.Fatalf("exit %d\n%s\n%s", code, o, e)
	}
	if _, e := d.output(); !strings.Contains(e, "dev_repo stays live in the runner") {
		t.Fatal(e)
	}
	if b, _ := os.ReadFile(live); string(b) != v3 {
		t.Fatalf("live actions.py after Ctrl-C is %q", b)
	}
}

func TestPlaybooksDevRefusesBadInput(t *testing.T) {
	p := startPushRunner(t, "robusta-dev-bad")
	src := sampleRepo(t, "dev_bad")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(src, "nope")}, "is not a folder"},
		{[]string{src, "name=x"}, "given without --trigger ACTION"},
		{[]string{src, "--trigger", "my_action", "novalue"}, "has no '='"},
		{[]string{src, "--storage-path", "/etc"}, "is a system folder"},
	} {
		r := run(t, p.env, append([]string{"playbooks", "dev", "-n", "robusta-dev-bad"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Fatalf("%v: %s", c.args, r)
		}
	}
}
