package engine

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

var update = flag.Bool("update", false, "rewrite golden files")

// sample has every block type, a long cell, a multi-line cell and Markdown-special
// characters, so the golden files show how each renderer treats them.
func sample() *Finding {
	f := &Finding{Title: "Crashing pod web-1 in namespace prod", Severity: High, Source: "manual", AggregationKey: "CrashLoopBackoff",
		Description: "Container web restarted 5 times.\nLast exit code 2.",
		Subject:     Subject{Kind: "pod", Name: "web-1", Namespace: "prod", Node: "node-a", Labels: map[string]string{"app": "web"}}}
	f.SetFingerprint()
	f.AddEnrichment("Container web",
		KubernetesFields([][]string{{"container", "web"}, {"restarts", "5"}, {"state", "waiting: CrashLoopBackOff"}}),
		Markdown("Its last run *exited* with code 2."),
		File("web-1.web.previous.log", []byte("connecting\npanic: boom\n")))
	f.AddEnrichment("Pod events",
		Table("events", []string{"type", "reason", "time", "message"}, [][]string{
			{"Warning", "BackOff", "2026-11-22 05:00:00", "Back-off restarting failed container web in pod web-1_prod(0123456789abcdef) because it keeps exiting with code 2"},
			{"Normal", "Pulled", "2026-11-22 04:59:00", "Container image \"web:1.2|beta\" already present\non machine"},
		}))
	f.Enrichments[1].Blocks[0].Truncated = 3
	f.AddEnrichment("Changes", Diffs([][]string{{"spec.replicas", "3", "5"}, {"spec.template.spec.containers[0].image", "web:1.1", "web:1.2"}}))
	f.AddEnrichment("", Header("Details"), Divider(), List("first", "second_item"), JSON(`{"a":1,"b":[true,null]}`), Callback("Restart pod", "delete_pod"))
	return f
}

// controlSample carries terminal control sequences where cluster data goes: a title,
// an event message, a log line in command output, a list item and a file name.
func controlSample() *Finding {
	f := &Finding{Title: "pod \x1b[2Jweb-1", Severity: Low, Source: "manual",
		Description: "line one\r\nline two\rOVERWRITTEN",
		Subject:     Subject{Kind: "pod", Name: "web-1", Namespace: "prod"}}
	f.AddEnrichment("Events \x1b]0;pwned\x07",
		Table("events", []string{"reason", "message"}, [][]string{{"BackOff", "\x1b[31mfailed\x1b[0m\tagain\x00"}, {"Pulled", "ok \u009b2J"}}),
		Markdown("```\n\x1b[1mbold log\x1b[0m\n\a\x7f\n```"),
		List("item \x1b[8mhidden\x1b[0m"),
		File("web-1.\x1b[5m.log", []byte("raw \x1b[31m bytes\n")))
	return f
}

// Control characters from the cluster are shown, not obeyed, in text and Markdown;
// JSON and saved files keep the exact bytes.
func TestRenderControlCharacters(t *testing.T) {
	ios, _, _, _ := cli.Test()
	for _, of := range []cli.OutputFormat{cli.OutputText, cli.OutputMarkdown} {
		var buf bytes.Buffer
		if err := Render(&buf, ios.Styles(), of, controlSample(), RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"\x1b", "\x07", "\x00", "\x7f", "\u009b"} {
			if strings.Contains(buf.String(), c) {
				t.Errorf("%s output holds %q:\n%q", of, c, buf.String())
			}
		}
		// A lone \r is made visible; before \n it is layout.
		if strings.Contains(strings.ReplaceAll(buf.String(), "\r\n", ""), "\r") || !strings.Contains(buf.String(), `two\x0dOVERWRITTEN`) {
			t.Errorf("%s: carriage returns: %q", of, buf.String())
		}
		if !strings.Contains(buf.String(), `\x1b[31mfailed\x1b[0m`) {
			t.Errorf("%s: the escape is not shown: %q", of, buf.String())
		}
	}
	var js bytes.Buffer
	if err := Render(&js, ios.Styles(), cli.OutputJSON, controlSample(), RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `\u001b[31mfailed\u001b[0m`) {
		t.Errorf("JSON lost the original text: %s", js.String())
	}
	dir := t.TempDir()
	if err := RenderText(new(bytes.Buffer), ios.Styles(), controlSample(), RenderOptions{SaveDir: dir}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "web-1.\x1b[5m.log")); err != nil || string(b) != "raw \x1b[31m bytes\n" {
		t.Errorf("saved file: %q %v", b, err)
	}
}

func TestRenderGolden(t *testing.T) {
	ios, _, _, _ := cli.Test()
	plain := ios.Styles()
	for _, tc := range []struct {
		name   string
		render func(w *bytes.Buffer) error
	}{
		{"text.golden", func(w *bytes.Buffer) error { return RenderText(w, plain, sample(), RenderOptions{}) }},
		{"text_width60.golden", func(w *bytes.Buffer) error { return RenderText(w, plain, sample(), RenderOptions{Width: 60}) }},
		{"markdown.golden.md", func(w *bytes.Buffer) error { return RenderMarkdown(w, sample(), RenderOptions{}) }},
		{"json.golden.json", func(w *bytes.Buffer) error { return Render(w, plain, cli.OutputJSON, sample(), RenderOptions{}) }},
		{"text_controls.golden", func(w *bytes.Buffer) error { return RenderText(w, plain, controlSample(), RenderOptions{}) }},
		{"markdown_controls.golden.md", func(w *bytes.Buffer) error { return RenderMarkdown(w, controlSample(), RenderOptions{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.render(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.name)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/engine -update to create it)", err)
			}
			if buf.String() != string(want) {
				t.Fatalf("%s differs from the golden file (go test ./internal/engine -run Golden -update rewrites it)\n--- got\n%s--- want\n%s", tc.name, buf.String(), want)
			}
		})
	}
}

// A table fitted to a width never has a line longer than the width, and narrow
// columns stay whole while the widest gives way.
func TestRenderTableFitsWidth(t *testing.T) {
	ios, _, _, _ := cli.Test()
	for _, width := range []int{40, 60, 80, 120} {
		var buf bytes.Buffer
		if err := RenderText(&buf, ios.Styles(), sample(), RenderOptions{Width: width}); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(buf.String(), "\n") {
			if !strings.HasPrefix(line, "  WARNING") && !strings.HasPrefix(line, "  NORMAL") {
				continue
			}
			if w := len([]rune(line)); w > width {
				t.Errorf("width %d: line of %d: %q", width, w, line)
			}
			if !strings.Contains(line, "BackOff") && !strings.Contains(line, "Pulled") {
				t.Errorf("width %d: the reason column was cut: %q", width, line)
			}
		}
	}
}

// Colour goes around cell text after padding: old values red, new green, and the
// columns still line up once escape codes are stripped.
func TestRenderDiffsColoured(t *testing.T) {
	ios, _, _, _ := cli.Test()
	ios.SetTTY(false, true, false)
	st := ios.Styles()
	var buf bytes.Buffer
	if err := RenderText(&buf, st, sample(), RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, st.Error("web:1.1")) || !strings.Contains(out, st.Success("web:1.2")) || st.Error("x") == "x" {
		t.Fatalf("diff values not coloured:\n%q", out)
	}
	plain := new(bytes.Buffer)
	_ = RenderText(plain, (func() *cli.Styles { i, _, _, _ := cli.Test(); return i.Styles() })(), sample(), RenderOptions{})
	if got := stripANSI(out); got != plain.String() {
		t.Fatalf("coloured output differs from plain once codes are stripped:\n%s\n---\n%s", got, plain)
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestRenderSavesFiles(t *testing.T) {
	dir := t.TempDir()
	ios, _, _, _ := cli.Test()
	for _, of := range []cli.OutputFormat{cli.OutputText, cli.OutputMarkdown, cli.OutputJSON} {
		var buf bytes.Buffer
		if err := Render(&buf, ios.Styles(), of, sample(), RenderOptions{SaveDir: dir}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "web-1.web.previous.log"))
		if err != nil || string(b) != "connecting\npanic: boom\n" {
			t.Fatalf("%s: %v %q", of, err, b)
		}
		if fi, _ := os.Stat(filepath.Join(dir, "web-1.web.previous.log")); fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", fi.Mode())
		}
		os.Remove(filepath.Join(dir, "web-1.web.previous.log"))
	}
	err := Render(new(bytes.Buffer), ios.Styles(), cli.OutputText, sample(), RenderOptions{SaveDir: filepath.Join(dir, "missing")})
	if err == nil || !strings.Contains(err.Error(), "save web-1.web.previous.log") {
		t.Fatal(err)
	}
}

// BenchmarkRenderTable10k renders a finding holding one 10,000-row table (the issue's
// target: under 200 ms).
func BenchmarkRenderTable10k(b *testing.B) {
	rows := make([][]string, 10000)
	for i := range rows {
		rows[i] = []string{"Warning", "BackOff", "2026-11-22 05:00:00", fmt.Sprintf("Back-off restarting failed container web in pod web-%d", i)}
	}
	f := &Finding{Title: "big", Severity: Info}
	f.AddEnrichment("events", Table("events", []string{"type", "reason", "time", "message"}, rows))
	ios, _, _, _ := cli.Test()
	st := ios.Styles()
	for _, bc := range []struct {
		name  string
		of    cli.OutputFormat
		width int
	}{{"text", cli.OutputText, 0}, {"text_width100", cli.OutputText, 100}, {"markdown", cli.OutputMarkdown, 0}, {"json", cli.OutputJSON, 0}} {
		b.Run(bc.name, func(b *testing.B) {
			var buf bytes.Buffer
			for i := 0; i < b.N; i++ {
				buf.Reset()
				if err := Render(&buf, st, bc.of, f, RenderOptions{Width: bc.width}); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
		})
	}
}

func TestTableWideCharacters(t *testing.T) {
	ios, _, _, _ := cli.Test()
	var buf bytes.Buffer
	f := &Finding{Title: "t", Severity: Info}
	f.AddEnrichment("", Table("", []string{"name", "note"}, [][]string{{"日本語", "wide"}, {"ascii", "x"}}))
	if err := RenderText(&buf, ios.Styles(), f, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	// 日本語 is six columns wide: "note" starts at the same column on every line.
	want := "  NAME    NOTE\n  日本語  wide\n  ascii   x\n"
	if !strings.HasSuffix(buf.String(), want) {
		t.Fatalf("%q", buf.String())
	}
	for _, tc := range []struct {
		in   string
		w    int
		want string
	}{{"abcdef", 4, "abc…"}, {"日本語", 5, "日本…"}, {"abc", 1, "…"}} {
		if got := cli.Truncate(tc.in, tc.w); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.w, got, tc.want)
		}
	}
}
