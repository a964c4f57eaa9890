package playbooks

import (
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/playbooks/repo"
)

// Without --checksum a file is reused when its size and pushed time match the live
// copy's, except when it is recent: an edit later in the same second would keep both.
func TestPlanPushReusesOnlySettledFiles(t *testing.T) {
	now := time.Date(2026, 11, 28, 5, 0, 10, 500e6, time.UTC)
	old := now.Add(-time.Hour)
	recent := now.Add(-time.Second)
	file := func(path string, size int64, mod time.Time) repo.File {
		return repo.File{Path: path, Size: size, Mode: fs.FileMode(0o644), ModTime: mod}
	}
	live := func(size int64, mod time.Time) string {
		return fmt.Sprintf("%d %d", size, mod.Truncate(time.Second).Unix())
	}
	r := &repo.Repo{Files: []repo.File{
		file("same.py", 5, old),
		file("resized.py", 6, old),
		file("retimed.py", 5, old),
		file("recent.py", 5, recent),
		file("new.py", 5, old),
	}}
	p, err := planPush(r, map[string]string{
		"same.py":    live(5, old),
		"resized.py": live(5, old),
		"retimed.py": live(5, old.Add(time.Minute)),
		// what the previous push wrote for it: its time a second early
		"recent.py": live(5, recent.Add(-time.Second)),
	}, "stat", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.keep) != 1 || p.keep["same.py"] != "" {
		t.Fatalf("kept %v, want only same.py", p.keep)
	}
	if _, ok := p.keep["same.py"]; !ok {
		t.Fatal("same.py not kept")
	}
	if p.sendBytes != 21 {
		t.Fatalf("sends %d bytes, want 21", p.sendBytes)
	}
}
