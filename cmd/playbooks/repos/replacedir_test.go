package repos

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// replaceDir's rollback: when moving the new tree in fails, the old one goes back, and
// when that fails too the error says where the old contents are.
func TestReplaceDirRollback(t *testing.T) {
	for _, tc := range []struct {
		name        string
		failRestore bool
		want        string
	}{
		{"restored", false, "is unchanged"},
		{"restore fails", true, "putting the previous contents of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			src, dst := filepath.Join(root, "new"), filepath.Join(root, "dst")
			_ = os.MkdirAll(src, 0o755)
			_ = os.MkdirAll(dst, 0o755)
			_ = os.WriteFile(filepath.Join(dst, "old.txt"), []byte("old"), 0o644)
			t.Cleanup(func() { rename = os.Rename })
			rename = func(from, to string) error {
				if from == src || (tc.failRestore && to == dst) {
					return &os.LinkError{Op: "rename", Old: from, New: to, Err: errors.New("injected failure")}
				}
				return os.Rename(from, to)
			}
			err := replaceDir(src, dst)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !tc.failRestore {
				if b, _ := os.ReadFile(filepath.Join(dst, "old.txt")); string(b) != "old" {
					t.Fatalf("dst not restored: %q", b)
				}
				return
			}
			m, _ := filepath.Glob(dst + ".old-*")
			if len(m) != 1 || !strings.Contains(err.Error(), "they are in "+m[0]) {
				t.Fatalf("err %v does not name the old contents %v", err, m)
			}
			if b, _ := os.ReadFile(filepath.Join(m[0], "old.txt")); string(b) != "old" {
				t.Fatalf("old contents lost: %q", b)
			}
		})
	}
}
