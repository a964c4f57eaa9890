package dev

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/playbooks/repo"
)

func TestLogFilter(t *testing.T) {
	ios, _, _, _ := cli.Test()
	var out bytes.Buffer
	f := &logFilter{w: &out, s: ios.Styles(), words: []string{"my_repo"}}
	log := strings.Join([]string{
		"INFO importing actions from my_repo.actions",
		"INFO unrelated",
		"ERROR failed to module my_repo.broken",
		"Traceback (most recent call last):",
		`  File "x.py", line 1`,
		"ImportError: cannot import name 'y'",
		"INFO back to normal",
		"partial line without newline my_repo",
	}, "\n")
	// Written in odd pieces, as a stream arrives.
	for i := 0; i < len(log); i += 7 {
		_, _ = f.Write([]byte(log[i:min(i+7, len(log))]))
	}
	f.flush()
	want := "  runner: INFO importing actions from my_repo.actions\n" +
		"  X ERROR failed to module my_repo.broken\n" +
		"    Traceback (most recent call last):\n" +
		`      File "x.py", line 1` + "\n" +
		"    ImportError: cannot import name 'y'\n" +
		"  runner: partial line without newline my_repo\n"
	if out.String() != want || f.errors != 1 {
		t.Fatalf("got (%d errors)\n%s\nwant\n%s", f.errors, out.String(), want)
	}
}

func TestTreeHashFollowsContentAndMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	write := func(p, c string, mode os.FileMode) {
		t.Helper()
		full := filepath.Join(dir, p)
		_ = os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), mode); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(full, mode)
	}
	write("pyproject.toml", "[tool.poetry]\nname = \"r\"\n", 0o644)
	write("r/a.py", "A = 1\n", 0o644)
	hash := func() string {
		t.Helper()
		r, err := repo.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		h, err := treeHash(r)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h1 := hash()
	write("r/a.py", "A = 1\n", 0o644) // same content, new mtime
	if hash() != h1 {
		t.Fatal("rewriting the same content changed the hash")
	}
	write("r/a.py", "A = 2\n", 0o644)
	h2 := hash()
	if h2 == h1 {
		t.Fatal("new content, same hash")
	}
	write("r/a.py", "A = 2\n", 0o755)
	h3 := hash()
	if h3 == h2 {
		t.Fatal("new mode, same hash")
	}
	write("r/__pycache__/a.pyc", "junk", 0o644) // push leaves it out
	if hash() != h3 {
		t.Fatal("a file push does not ship changed the hash")
	}
}
