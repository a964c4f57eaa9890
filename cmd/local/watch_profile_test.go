package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

// --memprofile writes a private heap profile when the watch ends (its error kept);
// a path that cannot be written stops before the watch starts.
func TestWatchMemProfile(t *testing.T) {
	ios, _, _, _ := cli.Test()
	path := filepath.Join(t.TempDir(), "heap.pprof")
	ran := false
	stop := errors.New("stopped")
	err := withMemProfile(&WatchOptions{IO: ios, MemProfile: path}, func() error { ran = true; return stop })
	if !ran || !errors.Is(err, stop) {
		t.Fatalf("ran %v, err %v", ran, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("profile %v, %v", st, err)
	}
	// pprof's format is a gzipped protobuf.
	if b, _ := os.ReadFile(path); len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("not a pprof profile: %d bytes", len(b))
	}

	ran = false
	err = withMemProfile(&WatchOptions{IO: ios, MemProfile: filepath.Join(t.TempDir(), "no-such-dir", "heap.pprof")}, func() error { ran = true; return nil })
	if ran || err == nil || !strings.Contains(err.Error(), "--memprofile") {
		t.Fatalf("ran %v, err %v", ran, err)
	}
}
