package playbooks

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The push script run by a local sh, as the runner's shell runs it: first push, then
// a swap by exchange (python3 with renameat2) and by two renames (no usable python3).
func TestPushScriptSwaps(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed; the exchange path cannot run here")
	}
	storage := t.TempDir()
	push := func(content string, env ...string) string {
		t.Helper()
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		_ = tw.WriteHeader(&tar.Header{Name: "a.py", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(content))
		_ = tw.Close()
		cmd := exec.Command("sh", "-c", pushScript, "sh", storage, "repo", strconv.Itoa(buf.Len()), "", "1",
			strconv.Itoa(len(content)), "t1", "60")
		cmd.Stdin = &buf
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
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
	if got := push("v2"); got != "pushed 1 exchange" {
		t.Fatal(got)
	}
	// A python3 that cannot do the exchange: two renames.
	fake := t.TempDir()
	_ = os.WriteFile(filepath.Join(fake, "python3"), []byte("#!/bin/sh\nexit 1\n"), 0o755)
	if got := push("v3", "PATH="+fake+":"+os.Getenv("PATH")); got != "pushed 1 renames" {
		t.Fatal(got)
	}
	prev, _ := os.ReadFile(filepath.Join(storage, ".repo.prev", "a.py"))
	entries, _ := os.ReadDir(storage)
	if string(prev) != "v2" || len(entries) != 2 {
		t.Fatalf("prev %q, storage %v", prev, entries)
	}
}
