package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// pushEnv is a runner whose exec runs in a test-owned folder, with storage below it.
type pushEnv struct {
	*runnerEnv
	storage string
}

func startPushRunner(t *testing.T, namespace string) *pushEnv {
	t.Helper()
	execDir := t.TempDir()
	e := startRunner(t, namespace, nil, sandbox.RunnerSpec{ExecDir: execDir})
	return &pushEnv{runnerEnv: e, storage: filepath.Join(execDir, "storage")}
}

func (p *pushEnv) run(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, p.env, append(args, "--storage-path", p.storage)...)
}

func sampleRepo(t *testing.T, name string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	files := map[string]string{
		"pyproject.toml":            fmt.Sprintf("[tool.poetry]\nname = %q\nversion = \"0.1.0\"\n", name),
		name + "/__init__.py":       "",
		name + "/actions.py":        "from robusta.api import *\n\n@action\ndef my_action(event: PodEvent):\n    pass\n",
		name + "/sub/helpers.py":    "X = 1\n",
		"README.md":                 "# sample\n",
		name + "/__pycache__/x.pyc": "junk",
		".git/HEAD":                 "ref: refs/heads/main\n",
	}
	for p, c := range files {
		full := filepath.Join(root, p)
		_ = os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(root, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	return root
}

// tree lists files with content and mode, skipping what push excludes.
func tree(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" || d.Name() == "__pycache__" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		info, _ := d.Info()
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		lines = append(lines, fmt.Sprintf("%s %o %q", rel, info.Mode().Perm(), b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestPushReplacesAtomicallyAndKeepsPrevious(t *testing.T) {
	p := startPushRunner(t, "robusta")
	src := sampleRepo(t, "my_playbooks")

	r := p.run(t, "playbooks", "push", src)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "Pushed my_playbooks to robusta/"+p.runner.Pod+":"+p.storage+"/my_playbooks (6 files")
	mustContain(t, r, "stderr", "the .git folder is not pushed")
	mustContain(t, r, "stderr", "no Helm release found")
	live := filepath.Join(p.storage, "my_playbooks")
	if got, want := tree(t, live), tree(t, src); got != want {
		t.Fatalf("pushed tree differs\n got:\n%s\nwant:\n%s", got, want)
	}
	first := tree(t, src)

	// Edit and push again: replaced, not nested, the old version kept as .prev.
	_ = os.WriteFile(filepath.Join(src, "my_playbooks", "actions.py"), []byte("# v2\n"), 0o644)
	_ = os.Remove(filepath.Join(src, "README.md"))
	r = p.run(t, "playbooks", "push", src, "-o", "json", "--checksum", "--reload")
	if r.code != 0 {
		t.Fatal(r)
	}
	if reqs := p.standIn.Requests(); len(reqs) != 1 || reqs[0].Path != "/api/playbooks/reload" {
		t.Fatalf("--reload: runner got %+v", reqs)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out["files"] != float64(5) {
		t.Fatalf("push -o json: %v\n%s", err, r)
	}
	// The four files that did not change are hard links to the first version's, not sent.
	if out["reused"] != float64(4) {
		t.Fatalf("reused %v files, want 4\n%s", out["reused"], r)
	}
	liveHelper, _ := os.Stat(filepath.Join(live, "my_playbooks", "sub", "helpers.py"))
	prevHelper, _ := os.Stat(filepath.Join(p.storage, ".my_playbooks.prev", "my_playbooks", "sub", "helpers.py"))
	if liveHelper == nil || prevHelper == nil || !os.SameFile(liveHelper, prevHelper) {
		t.Fatal("an unchanged file was not linked from the previous version")
	}
	// kwok runs the pod's commands here: with perl or python3 at hand the swap is one
	// atomic renameat2 exchange, else two renames.
	wantSwap := "renames"
	for _, tool := range []string{"perl", "python3"} {
		if _, err := exec.LookPath(tool); err == nil {
			wantSwap = "exchange"
		}
	}
	if out["swap"] != wantSwap {
		t.Fatalf("swap %v, want %s", out["swap"], wantSwap)
	}
	if got, want := tree(t, live), tree(t, src); got != want {
		t.Fatalf("second push differs\n got:\n%s\nwant:\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(live, "my_playbooks", "my_playbooks")); err == nil {
		t.Fatal("second push nested the folder")
	}
	if got := tree(t, filepath.Join(p.storage, ".my_playbooks.prev")); got != first {
		t.Fatalf(".prev does not hold the first version:\n%s", got)
	}
	entries, _ := os.ReadDir(p.storage)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != ".my_playbooks.prev my_playbooks" {
		t.Fatalf("storage holds %v", names)
	}

	// list-dirs shows it, without the hidden folders.
	r = p.run(t, "playbooks", "list-dirs", "-o", "json")
	var dirs []map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &dirs) != nil || len(dirs) != 1 || dirs[0]["name"] != "my_playbooks" || dirs[0]["files"] != float64(5) || dirs[0]["sizeBytes"].(float64) <= 0 {
		t.Fatalf("list-dirs: %s", r)
	}
	if mod, _ := time.Parse(time.RFC3339, dirs[0]["modified"].(string)); time.Since(mod) > time.Hour {
		t.Fatalf("modified time %v is not the push time", dirs[0]["modified"])
	}
	r = p.run(t, "playbooks", "list-dirs")
	mustContain(t, r, "stdout", "NAME")
	mustContain(t, r, "stdout", "my_playbooks")

	// Without --checksum files are told unchanged by size and modification time. A file
	// modified in the last two seconds goes again (it may still change within its
	// second); older ones are reused.
	reused := func(want float64) {
		t.Helper()
		r := p.run(t, "playbooks", "push", src, "-o", "json")
		var out map[string]any
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil || out["reused"] != want {
			t.Fatalf("reused %v, want %v\n%s", out["reused"], want, r)
		}
		if got, want := tree(t, live), tree(t, src); got != want {
			t.Fatalf("pushed tree differs\n got:\n%s\nwant:\n%s", got, want)
		}
	}
	hourAgo := time.Now().Add(-time.Hour)
	_ = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error { return os.Chtimes(p, hourAgo, hourAgo) })
	reused(0) // the times differ from the pushed ones: all sent
	reused(5)
	// Same size, new content, just now: sent, though its size is the same.
	_ = os.WriteFile(filepath.Join(src, "my_playbooks", "actions.py"), []byte("# v3\n"), 0o644)
	reused(4)
	reused(4) // sent again: recent files always go (an edit within the same second keeps size and time)
	_ = os.WriteFile(filepath.Join(src, "my_playbooks", "actions.py"), []byte("# v4\n"), 0o644)
	reused(4) // edited again within the same second or two: sent, never mistaken for unchanged
}

func TestPushCutMidwayLeavesOldVersion(t *testing.T) {
	p := startPushRunner(t, "robusta")
	src := sampleRepo(t, "cut_repo")
	// A big file so the stream is long enough to cut.
	big := make([]byte, 2<<20)
	rand.New(rand.NewSource(1)).Read(big) // incompressible
	_ = os.WriteFile(filepath.Join(src, "cut_repo", "data.bin"), big, 0o644)
	if r := p.run(t, "playbooks", "push", src); r.code != 0 {
		t.Fatal(r)
	}
	before := tree(t, filepath.Join(p.storage, "cut_repo"))

	_ = os.WriteFile(filepath.Join(src, "cut_repo", "actions.py"), []byte("# v2 must not go live\n"), 0o644)
	// New content for the big file too: unchanged files are not sent, and the stream
	// must be long enough to cut.
	rand.New(rand.NewSource(2)).Read(big)
	_ = os.WriteFile(filepath.Join(src, "cut_repo", "data.bin"), big, 0o644)
	r := run(t, append(p.env, "ROBUSTA_TEST_PUSH_CUT_AFTER=100000"), "playbooks", "push", src, "--storage-path", p.storage)
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "the connection to the runner broke during the transfer")
	mustContain(t, r, "stderr", "the previous version (if any) is still live")
	if got := tree(t, filepath.Join(p.storage, "cut_repo")); got != before {
		t.Fatal("the live version changed after a cut push")
	}
	// The receiver is stopped and its temp folder removed.
	var matches []string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
		matches, _ = filepath.Glob(filepath.Join(p.storage, ".cut_repo.tmp-*"))
		return len(matches) == 0, nil
	})
	if err != nil {
		t.Fatalf("temp files left: %v", matches)
	}
	if _, err := os.Stat(filepath.Join(p.storage, ".cut_repo.lock")); !os.IsNotExist(err) {
		t.Fatalf("the cut push's lock is left: %v", err)
	}
}

// TestPushesOfOneNameDoNotInterleave: a push finding another one in progress gives up
// before touching anything; a lock left by a push that died is taken over; two pushes
// started together leave one whole version.
func TestPushesOfOneNameDoNotInterleave(t *testing.T) {
	p := startPushRunner(t, "robusta")
	src := sampleRepo(t, "locked")
	if r := p.run(t, "playbooks", "push", src); r.code != 0 {
		t.Fatal(r)
	}
	lock := filepath.Join(p.storage, ".locked.lock")
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Fatalf("lock left after a push: %v", err)
	}
	before := tree(t, filepath.Join(p.storage, "locked"))

	// kwok runs exec'd commands on this machine, so a process of the test stands for
	// a push in progress in the runner.
	holder := exec.Command("sleep", "60")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	_ = os.MkdirAll(lock, 0o755)
	_ = os.WriteFile(filepath.Join(lock, "pid"), []byte(fmt.Sprintf("%d\n", holder.Process.Pid)), 0o644)
	_ = os.WriteFile(filepath.Join(src, "locked", "actions.py"), []byte("# v2\n"), 0o644)
	r := p.run(t, "playbooks", "push", src)
	if r.code != 1 || !strings.Contains(r.stderr, "another push of locked is in progress") {
		t.Fatal(r)
	}
	if tree(t, filepath.Join(p.storage, "locked")) != before {
		t.Fatal("a refused push changed the live version")
	}
	// The holder dies without cleaning up: its lock is stale and the next push takes it.
	_ = holder.Process.Kill()
	_ = holder.Wait()
	if r := p.run(t, "playbooks", "push", src); r.code != 0 {
		t.Fatal(r)
	}
	if got, want := tree(t, filepath.Join(p.storage, "locked")), tree(t, src); got != want {
		t.Fatalf("after taking over a stale lock\n got:\n%s\nwant:\n%s", got, want)
	}

	// Two pushes at once, with enough data that they overlap: each either lands whole
	// or is refused, and what is live is one whole version.
	big := make([]byte, 4<<20)
	rand.New(rand.NewSource(2)).Read(big)
	_ = os.WriteFile(filepath.Join(src, "locked", "data.bin"), big, 0o644)
	results := make(chan result, 2)
	for i := 0; i < 2; i++ {
		go func() { results <- run(t, p.env, "playbooks", "push", src, "--storage-path", p.storage) }()
	}
	ok := 0
	for i := 0; i < 2; i++ {
		r := <-results
		switch {
		case r.code == 0:
			ok++
		case !strings.Contains(r.stderr, "another push of locked is in progress"):
			t.Fatalf("concurrent push failed otherwise:\n%s", r)
		}
	}
	if ok == 0 {
		t.Fatal("neither concurrent push landed")
	}
	if got, want := tree(t, filepath.Join(p.storage, "locked")), tree(t, src); got != want {
		t.Fatal("the live version is not the pushed one after concurrent pushes")
	}
	if m, _ := filepath.Glob(filepath.Join(p.storage, ".locked.*")); len(m) != 1 || !strings.HasSuffix(m[0], ".locked.prev") {
		t.Fatalf("left behind: %v", m)
	}
}

func TestPullRoundTripsAndDeleteChecksNames(t *testing.T) {
	p := startPushRunner(t, "robusta")
	src := sampleRepo(t, "round_trip")
	if r := p.run(t, "playbooks", "push", src); r.code != 0 {
		t.Fatal(r)
	}
	dest := filepath.Join(t.TempDir(), "pulled")
	r := p.run(t, "playbooks", "pull", "round_trip", dest)
	if r.code != 0 {
		t.Fatal(r)
	}
	if got, want := tree(t, dest), tree(t, src); got != want {
		t.Fatalf("pull differs\n got:\n%s\nwant:\n%s", got, want)
	}
	// A non-empty destination needs --force.
	r = p.run(t, "playbooks", "pull", "round_trip", dest)
	if r.code != 1 || !strings.Contains(r.stderr, "is not empty") {
		t.Fatal(r)
	}
	if r = p.run(t, "playbooks", "pull", "round_trip", dest, "--force"); r.code != 0 {
		t.Fatal(r)
	}
	if r = p.run(t, "playbooks", "pull", "missing_repo", filepath.Join(t.TempDir(), "x")); r.code != 1 || !strings.Contains(r.stderr, "no repository missing_repo") {
		t.Fatal(r)
	}

	for _, bad := range []string{"../x", "a/b", ".x", ".."} {
		r := p.run(t, "playbooks", "delete", bad, "--yes")
		if r.code != 2 {
			t.Fatalf("delete %q: %s", bad, r)
		}
	}
	// Without a terminal, delete needs --yes.
	if r = p.run(t, "playbooks", "delete", "round_trip"); r.code != 2 || !strings.Contains(r.stderr, "--yes") {
		t.Fatal(r)
	}
	if r = p.run(t, "playbooks", "delete", "round_trip", "--yes"); r.code != 0 {
		t.Fatal(r)
	}
	if _, err := os.Stat(filepath.Join(p.storage, "round_trip")); err == nil {
		t.Fatal("not deleted")
	}
	if r = p.run(t, "playbooks", "delete", "round_trip", "--yes"); r.code != 1 || !strings.Contains(r.stderr, "no repository round_trip") {
		t.Fatal(r)
	}
}

func TestPushRefusesBadRepos(t *testing.T) {
	p := startPushRunner(t, "robusta")
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte("[tool.poetry]\nname = \"mismatch\"\n"), 0o644)
	r := p.run(t, "playbooks", "push", dir)
	if r.code != 1 || !strings.Contains(r.stderr, `no package folder "mismatch"`) {
		t.Fatal(r)
	}
	if _, err := os.Stat(p.storage); err == nil {
		t.Fatal("a refused push touched the storage")
	}
	r = run(t, nil, "playbooks", "validate-repo", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "must be named after the package") {
		t.Fatal(r)
	}
	r = run(t, nil, "playbooks", "validate-repo", sampleRepo(t, "good_repo"))
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "is a valid playbook repository: package good_repo")
}

func TestPackageIsReproducible(t *testing.T) {
	src := sampleRepo(t, "pkg_repo")
	out1 := filepath.Join(t.TempDir(), "a.tgz")
	out2 := filepath.Join(t.TempDir(), "b.tgz")
	r1 := run(t, nil, "playbooks", "package", src, "-f", out1, "-o", "json")
	_ = os.Chtimes(filepath.Join(src, "README.md"), time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	r2 := run(t, nil, "playbooks", "package", src, "-f", out2, "-o", "json")
	if r1.code != 0 || r2.code != 0 {
		t.Fatal(r1, r2)
	}
	var a, b map[string]any
	_ = json.Unmarshal([]byte(r1.stdout), &a)
	_ = json.Unmarshal([]byte(r2.stdout), &b)
	if a["sha256"] == nil || a["sha256"] != b["sha256"] || a["files"] != float64(6) {
		t.Fatalf("%v vs %v", a, b)
	}
	d1, _ := os.ReadFile(out1)
	d2, _ := os.ReadFile(out2)
	if string(d1) != string(d2) {
		t.Fatal("archives differ")
	}
}

// TestPullRefusesLinkChain stores a repository whose links chain out of it (each
// target reads as inside: d/e/f/../../../x is x, d/e/f/m/../../.. is d; but m is x, so
// l climbs above the repository) and pulls it: refused, with nothing written beside
// the destination and an existing destination untouched.
func TestPullRefusesLinkChain(t *testing.T) {
	p := startPushRunner(t, "robusta")
	evil := filepath.Join(p.storage, "evil_chain")
	for _, d := range []string{"x", "d/e/f", "h5_pkg"} {
		if err := os.MkdirAll(filepath.Join(evil, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(evil, "h5_pkg", "a.py"), []byte("X = 1\n"), 0o644)
	if err := os.Symlink("../../../x", filepath.Join(evil, "d/e/f/m")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("d/e/f/m/../../..", filepath.Join(evil, "l")); err != nil {
		t.Fatal(err)
	}

	parent := t.TempDir()
	dest := filepath.Join(parent, "pulled")
	r := p.run(t, "playbooks", "pull", "evil_chain", dest)
	if r.code != 1 || !strings.Contains(r.stderr, `unsafe archive entry "evil_chain/l": symlink to "d/e/f/m/../../.."`) {
		t.Fatal(r)
	}
	if strings.Contains(r.stderr, "goroutine") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
		t.Fatalf("not a one-line error:\n%s", r)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Fatalf("a refused pull left %v beside the destination", entries)
	}

	// Into an existing folder with --force: still refused, the folder as it was.
	_ = os.MkdirAll(dest, 0o755)
	_ = os.WriteFile(filepath.Join(dest, "keep.txt"), []byte("mine"), 0o644)
	before := tree(t, parent)
	r = p.run(t, "playbooks", "pull", "evil_chain", dest, "--force")
	if r.code != 1 || !strings.Contains(r.stderr, "unsafe archive entry") {
		t.Fatal(r)
	}
	if got := tree(t, parent); got != before {
		t.Fatalf("a refused pull changed the destination:\n%s\nwas:\n%s", got, before)
	}

	// The same repository without the chain pulls (the refusal is the chain's).
	_ = os.Remove(filepath.Join(evil, "l"))
	dest2 := filepath.Join(t.TempDir(), "ok")
	if r = p.run(t, "playbooks", "pull", "evil_chain", dest2); r.code != 0 {
		t.Fatal(r)
	}
	if link, err := os.Readlink(filepath.Join(dest2, "d/e/f/m")); err != nil || link != "../../../x" {
		t.Fatalf("m: %q %v", link, err)
	}
}

func TestPullRefusesAFileAsDestination(t *testing.T) {
	p := startPushRunner(t, "robusta")
	file := filepath.Join(t.TempDir(), "notes.txt")
	_ = os.WriteFile(file, []byte("mine"), 0o644)
	r := p.run(t, "playbooks", "pull", "anything", file, "--force")
	if r.code != 1 || !strings.Contains(r.stderr, "exists and is not a folder") {
		t.Fatal(r)
	}
	if b, _ := os.ReadFile(file); string(b) != "mine" {
		t.Fatal("the file was replaced")
	}
}

func TestPackageInsideTheRepoAndThroughLinks(t *testing.T) {
	src := sampleRepo(t, "pkg_repo")
	// Run in the repository, twice: the first archive must not end up in the second.
	var runs []string
	for i := 0; i < 2; i++ {
		r := runIn(t, src, "playbooks", "package", ".")
		if r.code != 0 {
			t.Fatal(r)
		}
		mustContain(t, r, "stdout", "Wrote pkg_repo.tgz (6 files")
		b, err := os.ReadFile(filepath.Join(src, "pkg_repo.tgz"))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, string(b))
	}
	if runs[0] != runs[1] {
		t.Fatal("packaging twice in the repository gave different archives")
	}

	// Through a symlink, with and without a trailing slash, and to standard output.
	ln := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(src, ln); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{src + "/", ln, ln + "/"} {
		out := filepath.Join(t.TempDir(), "out.tgz")
		r := run(t, nil, "playbooks", "package", dir, "-f", out)
		if r.code != 0 {
			t.Fatalf("%s: %s", dir, r)
		}
		if b, _ := os.ReadFile(out); string(b) != runs[0] {
			t.Fatalf("%s: another archive", dir)
		}
	}
	cwd := t.TempDir()
	r := runIn(t, cwd, "playbooks", "package", ln+"/", "-f", "-")
	if r.code != 0 || r.stdout != runs[0] {
		t.Fatalf("-f -: exit %d, %d bytes on stdout\n%s", r.code, len(r.stdout), r.stderr)
	}
	mustContain(t, r, "stderr", "Wrote standard output (6 files")
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Fatalf("-f - wrote %v", entries)
	}
}

func TestRepoCommandsRefuseSpecialPyproject(t *testing.T) {
	for _, kind := range []string{"device", "fifo"} {
		t.Run(kind, func(t *testing.T) {
			src := sampleRepo(t, "special_repo")
			pyproject := filepath.Join(src, "pyproject.toml")
			_ = os.Remove(pyproject)
			want := "pyproject.toml is a character device, not a regular file"
			if kind == "device" {
				_ = os.Symlink("/dev/zero", pyproject)
			} else {
				if err := syscall.Mkfifo(pyproject, 0o600); err != nil {
					t.Fatal(err)
				}
				want = "pyproject.toml is a FIFO (named pipe), not a regular file"
			}
			for _, cmd := range []string{"validate-repo", "package"} {
				r := runIn(t, t.TempDir(), "playbooks", cmd, src)
				if r.code != 1 || !strings.Contains(r.stderr, want) || r.elapsed > 10*time.Second {
					t.Fatalf("%s: %s", cmd, r)
				}
			}
		})
	}
}

func TestRepoCommandsRefuseLinkChain(t *testing.T) {
	src := sampleRepo(t, "chain_repo")
	_ = os.MkdirAll(filepath.Join(src, "x"), 0o755)
	_ = os.MkdirAll(filepath.Join(src, "d/e/f"), 0o755)
	if err := os.Symlink("../../../x", filepath.Join(src, "d/e/f/m")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("d/e/f/m/../../..", filepath.Join(src, "l")); err != nil {
		t.Fatal(err)
	}
	cwd := t.TempDir()
	for _, cmd := range []string{"validate-repo", "package"} {
		r := runIn(t, cwd, "playbooks", cmd, src)
		if r.code != 1 || !strings.Contains(r.stderr, "symlink l -> d/e/f/m/../../.. points outside the repository") {
			t.Fatalf("%s: %s", cmd, r)
		}
	}
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Fatalf("a refused package wrote %v", entries)
	}
}

// TestStoragePathRefusals: kwok runs the pod's commands on this machine, so every
// refusal is tried against a canary folder with a name found nowhere else, created for
// the test, that must survive; no case names anything else that exists.
func TestStoragePathRefusals(t *testing.T) {
	p := startPushRunner(t, "robusta")
	canary, err := os.MkdirTemp("/tmp", "robusta-canary-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(canary) })
	_ = os.WriteFile(filepath.Join(canary, "alive"), []byte("yes"), 0o644)
	name := filepath.Base(canary)
	alive := func(when string) {
		t.Helper()
		if b, err := os.ReadFile(filepath.Join(canary, "alive")); err != nil || string(b) != "yes" {
			t.Fatalf("after %s the canary %s is damaged: %v", when, canary, err)
		}
	}
	tmp := t.TempDir()
	link := filepath.Join(tmp, "link")
	if err := os.Symlink("/tmp", link); err != nil {
		t.Fatal(err)
	}
	src := sampleRepo(t, "canary_src")
	pulled := filepath.Join(tmp, "pulled")

	for _, tc := range []struct {
		storage, want string
		code          int
	}{
		{canary + "/..", `is not a clean path (it has "..", "." or "//" in it; it stands for "/tmp")`, 2},
		{canary + "/../..", `it stands for "/")`, 2},
		{"/tmp", `--storage-path "/tmp" is a system folder`, 2},
		{"/tmp/", `--storage-path "/tmp/" is a system folder`, 2},
		{"/", `--storage-path "/" is the root folder`, 2},
		{"tmp", "must be an absolute path", 2},
		{link, `leads to /tmp in the runner (through a symbolic link), which is a system folder`, 2},
		{filepath.Join(tmp, "missing"), "storage folder " + filepath.Join(tmp, "missing") + " does not exist in runner robusta/", 1},
	} {
		for _, args := range [][]string{
			{"playbooks", "delete", name, "-y"},
			{"playbooks", "pull", name, pulled},
			{"playbooks", "push", src, "--name", name},
			{"playbooks", "list-dirs"},
		} {
			cmd := strings.Join(args[:2], " ")
			if cmd == "playbooks push" && strings.Contains(tc.storage, "missing") {
				continue // push creates a missing storage folder
			}
			if cmd == "playbooks list-dirs" && (tc.storage == link || strings.Contains(tc.storage, "missing")) {
				continue // read-only: it lists what the link leads to, or says the folder is missing
			}
			want, code := tc.want, tc.code
			if cmd == "playbooks push" && tc.storage == link {
				// Found by the push script itself, which reads the stream before refusing.
				want, code = "storage folder "+link+" leads to /tmp (through a symbolic link)", 1
			}
			r := run(t, p.env, append(args, "--storage-path", tc.storage)...)
			if r.code != code || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "Error: ") != 1 || strings.Contains(r.stderr, "goroutine") {
				t.Errorf("%s --storage-path %s: want exit %d and %q\n%s", cmd, tc.storage, code, want, r)
			}
			alive(cmd + " --storage-path " + tc.storage)
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "missing")); !os.IsNotExist(err) {
		t.Fatalf("a refused command created the missing storage folder: %v", err)
	}
	if _, err := os.Stat(pulled); !os.IsNotExist(err) {
		t.Fatalf("a refused pull wrote %s: %v", pulled, err)
	}
	if m, _ := filepath.Glob("/tmp/." + name + "*"); len(m) != 0 {
		t.Fatalf("a refused push left %v", m)
	}

	// The path is checked before the cluster is contacted: with a kubeconfig naming a
	// server that does not exist, the answer is still the path's problem.
	kc := filepath.Join(tmp, "kubeconfig")
	_ = os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: x}\n"), 0o600)
	r := run(t, kubeconfigEnv(kc), "playbooks", "delete", name, "-y", "--storage-path", "/tmp")
	if r.code != 2 || !strings.Contains(r.stderr, "is a system folder") {
		t.Fatal(r)
	}
	alive("delete with an unreachable cluster")

	// Names that are not plain folder names never reach the pod; "-rf" and ".." are
	// canaries in (and the folder of) a fresh storage folder.
	if err := os.MkdirAll(filepath.Join(p.storage, "-rf"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"-rf", "..", ".", "a/b", "--", ""} {
		r := run(t, p.env, "playbooks", "delete", "-y", "--storage-path", p.storage, "--", bad)
		if r.code != 2 {
			t.Errorf("delete %q: %s", bad, r)
		}
	}
	if _, err := os.Stat(filepath.Join(p.storage, "-rf")); err != nil {
		t.Fatalf("the -rf canary is gone: %v", err)
	}

	// A good path still works, also through a symbolic link to it.
	if r := p.run(t, "playbooks", "push", src, "--name", name); r.code != 0 {
		t.Fatal(r)
	}
	good := filepath.Join(tmp, "good")
	_ = os.Symlink(p.storage, good)
	if r := run(t, p.env, "playbooks", "delete", name, "-y", "--storage-path", good+"/"); r.code != 0 {
		t.Fatal(r)
	}
	if _, err := os.Stat(filepath.Join(p.storage, name)); !os.IsNotExist(err) {
		t.Fatalf("not deleted through the link: %v", err)
	}
	alive("the good delete")
}

// TestPushCompressesSourceText: text goes gzip-compressed in frames and arrives whole;
// a compressed push cut midway leaves the live version and no leftovers.
func TestPushCompressesSourceText(t *testing.T) {
	p := startPushRunner(t, "robusta")
	src := sampleRepo(t, "text_repo")
	rnd := rand.New(rand.NewSource(3))
	for i := 0; i < 30; i++ {
		var b strings.Builder
		for b.Len() < 40<<10 {
			fmt.Fprintf(&b, "def f_%d(x):\n    return x * %d  # %x\n", rnd.Intn(500), rnd.Intn(100), rnd.Int63()&0xffff)
		}
		_ = os.WriteFile(filepath.Join(src, "text_repo", fmt.Sprintf("m%02d.py", i)), []byte(b.String()), 0o644)
	}
	var out map[string]any
	for _, mode := range []string{"auto", "never"} {
		r := p.run(t, "playbooks", "push", src, "-o", "json", "--compress", mode)
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil {
			t.Fatal(r)
		}
		if out["compressed"] != (mode == "auto") {
			t.Fatalf("--compress %s: compressed = %v", mode, out["compressed"])
		}
		if got, want := tree(t, filepath.Join(p.storage, "text_repo")), tree(t, src); got != want {
			t.Fatalf("--compress %s: pushed tree differs", mode)
		}
	}
	if r := p.run(t, "playbooks", "push", src, "--compress", "sometimes"); r.code != 2 || !strings.Contains(r.stderr, "use auto, always or never") {
		t.Fatal(r)
	}

	before := tree(t, filepath.Join(p.storage, "text_repo"))
	_ = os.WriteFile(filepath.Join(src, "text_repo", "actions.py"), []byte("# v2 must not go live\n"), 0o644)
	r := run(t, append(p.env, "ROBUSTA_TEST_PUSH_CUT_AFTER=100000"), "playbooks", "push", src, "--compress", "always", "--full", "--storage-path", p.storage)
	if r.code != 1 || !strings.Contains(r.stderr, "the connection to the runner broke during the transfer") {
		t.Fatal(r)
	}
	if got := tree(t, filepath.Join(p.storage, "text_repo")); got != before {
		t.Fatal("the live version changed after a cut push")
	}
	var left []string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
		left, _ = filepath.Glob(filepath.Join(p.storage, ".text_repo.[tl]*"))
		return len(left) == 0, nil
	})
	if err != nil {
		t.Fatalf("left behind: %v", left)
	}
}

// TestPullWithoutNameCopiesTheWholeStorage: `pull` alone copies every repository into
// ./playbooks/NAME, as the Python CLI's kubectl cp of the storage did, leaving out
// push's hidden .NAME.prev copies; a refused entry or Ctrl-C leaves the folder as it was.
func TestPullWithoutNameCopiesTheWholeStorage(t *testing.T) {
	p := startPushRunner(t, "robusta")
	a, b := sampleRepo(t, "a_repo"), sampleRepo(t, "b_repo")
	for _, src := range []string{a, b, a} { // a twice: a .a_repo.prev exists
		if r := p.run(t, "playbooks", "push", src); r.code != 0 {
			t.Fatal(r)
		}
	}
	if _, err := os.Stat(filepath.Join(p.storage, ".a_repo.prev")); err != nil {
		t.Fatalf("setup: no .prev copy: %v", err)
	}
	work := t.TempDir()
	r := runInDir(t, work, p.env, "playbooks", "pull", "--storage-path", p.storage)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "(a_repo, b_repo) into playbooks")
	dest := filepath.Join(work, "playbooks")
	entries, _ := os.ReadDir(dest)
	if len(entries) != 2 {
		t.Fatalf("pulled %v, want a_repo and b_repo only", entries)
	}
	for name, src := range map[string]string{"a_repo": a, "b_repo": b} {
		if got, want := tree(t, filepath.Join(dest, name)), tree(t, src); got != want {
			t.Fatalf("%s differs\n got:\n%s\nwant:\n%s", name, got, want)
		}
	}

	// Again: a non-empty destination needs --force; --dir names another one; --dir with
	// a NAME is a usage mistake.
	if r = runInDir(t, work, p.env, "playbooks", "pull", "--storage-path", p.storage); r.code != 1 || !strings.Contains(r.stderr, "is not empty") {
		t.Fatal(r)
	}
	other := filepath.Join(t.TempDir(), "backup")
	if r = p.run(t, "playbooks", "pull", "--dir", other, "-o", "json"); r.code != 0 {
		t.Fatal(r)
	}
	var js map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || fmt.Sprint(js["repositories"]) != "[a_repo b_repo]" || js["files"] == float64(0) {
		t.Fatalf("%v %v\n%s", js, err, r)
	}
	if r = p.run(t, "playbooks", "pull", "a_repo", "--dir", other); r.code != 2 || !strings.Contains(r.stderr, "give the folder as DIR") {
		t.Fatal(r)
	}
	// A single name that is not stored points at pulling everything.
	if r = p.run(t, "playbooks", "pull", "mydir", filepath.Join(t.TempDir(), "x")); r.code != 1 || !strings.Contains(r.stderr, "without NAME, pull copies every repository") {
		t.Fatal(r)
	}

	// A link out of the storage: refused, the destination as it was, nothing beside it.
	if err := os.Symlink("/etc", filepath.Join(p.storage, "zz_escape")); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dest, "keep.txt"), []byte("mine"), 0o644)
	before := tree(t, work)
	r = runInDir(t, work, p.env, "playbooks", "pull", "--force", "--storage-path", p.storage)
	if r.code != 1 || !strings.Contains(r.stderr, `unsafe archive entry "./zz_escape"`) {
		t.Fatal(r)
	}
	if got := tree(t, work); got != before {
		t.Fatalf("a refused pull changed the folder:\n%s\nwas:\n%s", got, before)
	}
	if left, _ := filepath.Glob(filepath.Join(work, ".playbooks.*")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	_ = os.Remove(filepath.Join(p.storage, "zz_escape"))

	// Ctrl-C while a large storage streams: the folder as it was, no temporary folder.
	big := make([]byte, 48<<20)
	rand.New(rand.NewSource(1)).Read(big)
	if err := os.WriteFile(filepath.Join(p.storage, "b_repo", "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "playbooks", "pull", "--force", "--storage-path", p.storage)
	cmd.Dir = work
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, p.env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the temporary folder exists, that is while the archive streams.
	if err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		m, _ := filepath.Glob(filepath.Join(work, ".playbooks.pull-*"))
		return len(m) > 0, nil
	}); err != nil {
		t.Fatalf("no temporary folder appeared: %v; %s", err, stderr.String())
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err == nil {
		t.Fatalf("pull finished before Ctrl-C reached it (make the file bigger): %s", stderr.String())
	}
	if got := tree(t, work); got != before {
		t.Fatalf("an interrupted pull changed the folder:\n%s\nwas:\n%s", got, before)
	}
	if left, _ := filepath.Glob(filepath.Join(work, ".playbooks.*")); len(left) != 0 {
		t.Fatalf("an interrupted pull left %v", left)
	}
}
