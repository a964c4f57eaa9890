package playbooks

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The push script run by a local sh, as the runner's shell runs it: first push, then
// a swap by exchange through perl, through python3 when perl cannot, and by two
// renames when neither can.
func TestPushScriptSwaps(t *testing.T) {
	needTools(t, "perl", "python3")
	storage := t.TempDir()
	push := func(content string, env ...string) string {
		t.Helper()
		out, err := runPushScript(storage, content, env...)
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		b, _ := os.ReadFile(filepath.Join(storage, "repo", "a.py"))
		if string(b) != content {
			t.Fatalf("live a.py = %q, want %q", b, content)
		}
		return strings.TrimSpace(string(out))
	}
	if got := push("v1"); got != "pushed 1 rename" {
		t.Fatal(got)
	}
	failing := func(tools ...string) string { return failingPath(t, tools...) }
	if got := push("v2", failing("python3")); got != "pushed 1 exchange" {
		t.Fatal("perl:", got)
	}
	if got := push("v3", failing("perl")); got != "pushed 1 exchange" {
		t.Fatal("python3:", got)
	}
	if got := push("v4", failing("perl", "python3")); got != "pushed 1 renames" {
		t.Fatal("neither:", got)
	}
	prev, _ := os.ReadFile(filepath.Join(storage, ".repo.prev", "a.py"))
	entries, _ := os.ReadDir(storage)
	if string(prev) != "v3" || len(entries) != 2 {
		t.Fatalf("prev %q, storage %v", prev, entries)
	}
}

// needTools fails in CI when a tool the test needs is missing (hack/test.sh installs
// them), and skips elsewhere.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed: CI must run every swap path (hack/test.sh installs it)", tool)
			}
			t.Skipf("%s is not installed; an exchange path cannot run here", tool)
		}
	}
}

// failingPath returns a PATH with stand-ins that always fail first.
func failingPath(t *testing.T, tools ...string) string {
	dir := t.TempDir()
	for _, tool := range tools {
		_ = os.WriteFile(filepath.Join(dir, tool), []byte("#!/bin/sh\nexit 1\n"), 0o755)
	}
	return "PATH=" + dir + ":" + os.Getenv("PATH")
}

// runPushScript pushes one file a.py with content as repository "repo" into storage.
func runPushScript(storage, content string, env ...string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "a.py", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte(content))
	_ = tw.Close()
	cmd := exec.Command("sh", "-c", pushScript, "sh", storage, "repo", strconv.Itoa(buf.Len()), "", "1",
		strconv.Itoa(len(content)), "t1", "60")
	cmd.Stdin = &buf
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

// When the second of the two renames fails, the previous version goes back; when that
// fails too, the push says where it is. An mv stand-in fails the chosen moves.
func TestPushScriptRollsBackFailedRenames(t *testing.T) {
	realMv, err := exec.LookPath("mv")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, failMoves, want, live string
		code                        int
	}{
		{"rolled back", "*.tmp-*", "the previous version is live again", "v1", 9},
		{"rollback failed", "*.tmp-* | *.prev", "nor the previous version back: repo is missing, its previous version is in", "", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storage := t.TempDir()
			if out, err := runPushScript(storage, "v1"); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			path := failingPath(t, "perl", "python3")
			dir := strings.TrimPrefix(strings.SplitN(path, ":", 2)[0], "PATH=")
			mv := "#!/bin/sh\ncase \"$1\" in " + tc.failMoves + ") exit 1 ;; esac\nexec " + realMv + " \"$@\"\n"
			_ = os.WriteFile(filepath.Join(dir, "mv"), []byte(mv), 0o755)
			out, err := runPushScript(storage, "v2", path)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code || !strings.Contains(string(out), tc.want) {
				t.Fatalf("exit %v, want %d and %q: %s", err, tc.code, tc.want, out)
			}
			b, _ := os.ReadFile(filepath.Join(storage, "repo", "a.py"))
			if string(b) != tc.live {
				t.Fatalf("live a.py = %q, want %q", b, tc.live)
			}
			if tc.live == "" {
				if b, _ := os.ReadFile(filepath.Join(storage, ".repo.prev", "a.py")); string(b) != "v1" {
					t.Fatalf(".repo.prev/a.py = %q", b)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(storage, ".repo.tmp-*")); len(m) != 0 {
				t.Fatalf("left behind: %v", m)
			}
		})
	}
}
