package engine

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/graph"
)

func graphFinding() *Finding {
	s := graph.Series{Label: "api-1"}
	for i := 0; i < 30; i++ {
		v := 0.001 * float64(i)
		if i == 10 {
			v = math.NaN()
		}
		s.Timestamps, s.Values = append(s.Timestamps, float64(1700000000+60*i)), append(s.Values, v)
	}
	f := &Finding{Title: "cpu", Severity: Info, Source: "manual"}
	f.AddEnrichment("Pod Resources", Graph(&graph.Chart{Title: "CPU Usage for this pod", Format: graph.CPUUsage,
		Query:  `sum(irate(container_cpu_usage_seconds_total{namespace="prod", pod=~"api-1"}[5m])) by (pod, job)`,
		Series: []graph.Series{s}}))
	return f
}

// A graph block: a summary for a pipe, a braille chart on a terminal, SVG and PNG
// files with --save-files, an image link in Markdown, the series in JSON.
func TestRenderGraphBlock(t *testing.T) {
	ios, _, _, _ := cli.Test()
	var pipe bytes.Buffer
	if err := RenderText(&pipe, ios.Styles(), graphFinding(), RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pipe.String(), "graph CPU Usage for this pod (1 series, 30 points)") || strings.ContainsRune(pipe.String(), '┤') {
		t.Errorf("pipe output:\n%s", pipe.String())
	}
	var tty bytes.Buffer
	dir := t.TempDir()
	if err := RenderText(&tty, ios.Styles(), graphFinding(), RenderOptions{Width: 80, SaveDir: dir}); err != nil {
		t.Fatal(err)
	}
	out := tty.String()
	if !strings.Contains(out, "34.8m ┤") || !strings.Contains(out, "━━ api-1") || !strings.Contains(out, "saved to "+filepath.Join(dir, "CPU Usage for this pod.svg")) {
		t.Errorf("terminal output:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if n := len([]rune(l)); n > 80 && strings.ContainsAny(l, "┤━") {
			t.Errorf("line wider than the terminal (%d): %q", n, l)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "CPU Usage for this pod.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("saved PNG: %v", err)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "CPU Usage for this pod.svg"))
	if !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("saved SVG: %.100s", svg)
	}

	var md bytes.Buffer
	if err := RenderMarkdown(&md, graphFinding(), RenderOptions{SaveDir: dir}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "![CPU Usage for this pod]("+strings.ReplaceAll(filepath.Join(dir, "CPU Usage for this pod.svg"), " ", "%20")+")") ||
		!strings.Contains(md.String(), "| api-1 | 30 | 0.0m | 29.0m | 29.0m |") {
		t.Errorf("markdown:\n%s", md.String())
	}
	md.Reset()
	if err := RenderMarkdown(&md, graphFinding(), RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "save the picture with --save-files DIR") {
		t.Errorf("markdown without files:\n%s", md.String())
	}

	var js bytes.Buffer
	if err := Render(&js, ios.Styles(), cli.OutputJSON, graphFinding(), RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	var back Finding
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	g := back.Enrichments[0].Blocks[0].Graph
	if g == nil || len(g.Series[0].Values) != 30 || !math.IsNaN(g.Series[0].Values[10]) {
		t.Errorf("json graph: %+v", g)
	}
}

func TestGraphFileName(t *testing.T) {
	for in, want := range map[string]string{
		"CPU Usage for this pod": "CPU Usage for this pod",
		`rate(x{a="b/c"}[5m])`:   `rate(x{a=_b_c_}[5m])`,
		"..":                     "graph",
		"../../etc/passwd":       ".._.._etc_passwd",
	} {
		if got := graphFileName(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
