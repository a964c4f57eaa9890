package fileio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "new" {
		t.Fatalf("content %q, err %v", b, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".values.yaml.tmp-*")); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
	// A folder that does not exist: the error names the path, nothing is written.
	missing := filepath.Join(dir, "nope", "v.yaml")
	if err := WriteAtomic(missing, []byte("x")); err == nil || !strings.HasPrefix(err.Error(), "write "+missing+": ") {
		t.Errorf("err = %v", err)
	}
}
