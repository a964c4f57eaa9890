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
// a swap by exchange through perl, through python3 when perl cannot, and by two
// renames when neither can.
func TestPushScriptSwaps(t *testing.T) {
	for _, tool := range []string{"perl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; an exchange path cannot run here", tool)
		}
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
	// failing puts stand-ins that always fail first on PATH.
	failing := func(tools ...string) string {
		dir := t.TempDir()
		for _, tool := range tools {
			_ = os.WriteFile(filepath.Join(dir, tool), []byte("#!/bin/sh\nexit 1\n"), 0o755)
		}
		return "PATH=" + dir + ":" + os.Getenv("PATH")
	}
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
