package engine

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

// A sync reply's findings, read from the platform format and rendered as text.
func TestFromPlatform(t *testing.T) {
	blocks, _ := json.Marshal([]any{
		map[string]any{"type": "header", "data": "Status"},
		map[string]any{"type": "list", "data": []any{"one", map[string]any{"url": "u", "name": "n"}}},
		map[string]any{"type": "divider"},
		map[string]any{"type": "json", "data": `{"a":1}`},
		map[string]any{"type": "diff", "data": map[string]any{"resource_name": "deploy/web", "num_additions": 1, "num_deletions": 0, "num_modifications": 2, "updated_paths": []any{"spec.replicas"}}},
		map[string]any{"type": "callbacks", "data": []any{map[string]any{"text": "Delete pod", "action_name": "delete_pod"}}},
		map[string]any{"type": "table", "data": map[string]any{"headers": []any{"container", "restarts"}, "rows": []any{[]any{"app", 5}}}},
		map[string]any{"type": "gz", "data": "b'" + "AAAA" + "'"},
		map[string]any{"type": "log", "filename": "web.log", "data": "b'aGVsbG8gd29ybGQ='"},
	})
	findings := []map[string]any{
		{"title": "T", "priority": "LOW", "description": "line1\nline2", "subject_type": "deployment", "subject_name": "web", "subject_namespace": "prod", "subject_node": "n1",
			"evidence": []any{map[string]any{"data": string(blocks), "title": "Pod status"}, map[string]any{"data": "{broken"}}},
		{"title": "", "priority": "", "subject_name": "lonely"},
	}
	var b bytes.Buffer
	ios, _, _, _ := cli.Test()
	for i, raw := range findings {
		if i > 0 {
			b.WriteString("\n")
		}
		if err := RenderText(&b, ios.Styles(), FromPlatform(raw), RenderOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := `[LOW] T
  subject: deployment prod/web on node n1
  line1
  line2
  ── Pod status
  Status
  • one
  • name=n url=u
  ────────────────────────────────────────
  {
    "a": 1
  }
  diff of deploy/web: 1 added, 0 removed, 2 changed
  • spec.replicas
  button Delete pod (runs delete_pod)
  CONTAINER  RESTARTS
  app        5
  file file.gz (3 B)
  file web.log (11 B)
  (enrichment not readable: invalid character 'b' looking for beginning of object key string)

[INFO] (untitled finding)
  subject: lonely
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	f := FromPlatform(findings[0])
	if got := f.Enrichments[0].Blocks; string(got[len(got)-1].Data) != "hello world" || got[len(got)-1].Name != "web.log" {
		t.Fatalf("file block: %+v", got[len(got)-1])
	}
}

// FuzzFromPlatform: whatever a runner replies, reading and rendering it never panics
// and never fails (an unreadable part becomes a line saying so).
func FuzzFromPlatform(f *testing.F) {
	blocks, _ := json.Marshal([]any{map[string]any{"type": "table", "data": map[string]any{"headers": []any{"a"}, "rows": []any{[]any{1, nil}}}}})
	f.Add(`{"title":"t","priority":"HIGH","evidence":[{"data":` + string(mustJSON(string(blocks))) + `}]}`)
	f.Add(`{"evidence":[{"data":[{"type":"diff","data":{"updated_paths":[1,{"x":null}]}},{"type":"callbacks","data":[null,3]},{"type":"png","data":"b'!!'"}]}]}`)
	f.Add(`{"evidence":[null,{"data":5},{"data":"[1,2,{\"type\":null}]"}]}`)
	ios, _, _, _ := cli.Test()
	f.Fuzz(func(t *testing.T, s string) {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return
		}
		fd := FromPlatform(m)
		for _, of := range []cli.OutputFormat{cli.OutputText, cli.OutputMarkdown, cli.OutputJSON} {
			if err := Render(new(bytes.Buffer), ios.Styles(), of, fd, RenderOptions{Width: 40}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// A finding written in the runner's format reads back the same, but for what the
// format cannot carry (diff values, the kubernetes_fields block type).
func TestPlatformRoundTrip(t *testing.T) {
	in := sample()
	b, _ := json.Marshal(in.Platform())
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	out := FromPlatform(m)
	ios, _, _, _ := cli.Test()
	var got bytes.Buffer
	_ = RenderText(&got, ios.Styles(), out, RenderOptions{})
	if out.Title != in.Title || out.Severity != in.Severity || out.Fingerprint != in.Fingerprint || out.Subject.Node != "node-a" ||
		len(out.Enrichments) != len(in.Enrichments) {
		t.Fatalf("%+v", out)
	}
	file := out.Enrichments[0].Blocks[2]
	if file.Type != BlockFile || file.Name != "web-1.web.previous.log" || string(file.Data) != "connecting\npanic: boom\n" {
		t.Fatalf("file: %+v", file)
	}
	for _, s := range []string{"state      waiting: CrashLoopBackOff", "Back-off restarting", "• spec.template.spec.containers[0].image", "button Restart pod (runs delete_pod)", `"a": 1`} {
		if !bytes.Contains(got.Bytes(), []byte(s)) {
			t.Fatalf("round trip lost %q:\n%s", s, got.String())
		}
	}
}
