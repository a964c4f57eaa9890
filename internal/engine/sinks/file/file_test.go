package file

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

func TestFileSinkAppendsJSONLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "findings.jsonl")
	// An existing line must survive: the sink appends.
	if err := os.WriteFile(path, []byte(`{"title":"old"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(sinks.Config{Params: map[string]any{"name": "f", "file_name": path, "grouping": map[string]any{}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"one", "two"} {
		f := &engine.Finding{Title: title, Severity: engine.High}
		f.AddEnrichment("", engine.Markdown("line\nbreak"), engine.File("x.log", []byte("data")))
		if _, err := s.Send(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var titles []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var f engine.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("line %q is not one JSON object: %v", sc.Text(), err)
		}
		titles = append(titles, f.Title)
	}
	if len(titles) != 3 || titles[0] != "old" || titles[2] != "two" {
		t.Errorf("titles = %v, want old, one, two", titles)
	}
}

func TestFileSinkCreatesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.jsonl")
	s, err := New(sinks.Config{Params: map[string]any{"name": "f", "file_name": path}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), &engine.Finding{Title: "t"}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
}

func TestFileSinkBadParams(t *testing.T) {
	_, err := New(sinks.Config{Params: map[string]any{"name": "f", "filename": "x"}})
	if err == nil || !strings.Contains(err.Error(), "file_name is required") {
		t.Errorf("err = %v, want it to name file_name", err)
	}
}

// The runner's file sink writes the finding type's value under finding_type; a
// finding that set none is an issue.
func TestFileSinkFindingType(t *testing.T) {
	path := filepath.Join(t.TempDir(), "findings.jsonl")
	s, err := New(sinks.Config{Params: map[string]any{"name": "f", "file_name": path}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"issue", "configuration_change", "report"}
	for _, typ := range []engine.FindingType{"", engine.TypeConfChange, engine.TypeReport} {
		if _, err := s.Send(context.Background(), &engine.Finding{Title: "t", Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil || i >= len(want) || m["finding_type"] != want[i] {
			t.Errorf("line %d: %s (%v), want finding_type %q", i, line, err, want[min(i, len(want)-1)])
		}
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines", len(lines))
	}
}
