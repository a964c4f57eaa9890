package graph

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func sample() *Chart {
	const t0 = 1700000000
	s1 := Series{Label: "web-1"}
	s2 := Series{Label: "web-2"}
	for i := 0; i < 60; i++ {
		t := float64(t0 + 60*i)
		s1.Timestamps, s1.Values = append(s1.Timestamps, t), append(s1.Values, float64(i)*1024*1024)
		v := 20.0 * 1024 * 1024
		if i == 30 {
			v = math.NaN() // a gap
		}
		s2.Timestamps, s2.Values = append(s2.Timestamps, t), append(s2.Values, v)
	}
	return &Chart{Title: "Memory Usage for this pod", Format: Bytes, Series: []Series{s1, s2},
		Lines: []Line{{Label: "Limit", Value: 64 * 1024 * 1024}}}
}

// svgText collects the text of every <text> element and counts <path> elements.
func svgText(t *testing.T, b []byte) (texts []string, paths int) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	inText := false
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = e.Name.Local
			}
			inText = e.Name.Local == "text"
			if e.Name.Local == "path" {
				paths++
			}
		case xml.CharData:
			if inText {
				texts = append(texts, strings.TrimSpace(string(e)))
			}
		case xml.EndElement:
			inText = false
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return texts, paths
}

// The SVG has the title, both axes' labels in the chart's format, a legend entry per
// series and line, and a path per series segment (the NaN splits web-2 in two).
func TestSVGStructure(t *testing.T) {
	b, err := sample().SVG()
	if err != nil {
		t.Fatal(err)
	}
	texts, paths := svgText(t, b)
	all := strings.Join(texts, "|")
	for _, want := range []string{"Memory Usage for this pod", "time (UTC)", "web-1", "web-2", "Limit", "MiB", "Nov 14"} {
		if !strings.Contains(all, want) {
			t.Errorf("SVG texts lack %q: %s", want, all)
		}
	}
	// 3 series segments + 1 limit line + 3 legend thumbnails, at least, besides axes.
	if paths < 7 {
		t.Errorf("%d paths", paths)
	}
	withoutGap := sample()
	withoutGap.Series[1].Values[30] = 1
	b2, _ := withoutGap.SVG()
	if _, p2 := svgText(t, b2); p2 != paths-1 {
		t.Errorf("a gap should add one path: %d with, %d without", paths, p2)
	}
}

func TestPNGDecodes(t *testing.T) {
	b, err := sample().PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 1280 || r.Dy() != 500 {
		t.Errorf("size %v, want 1280x500 as the runner's", r)
	}
}

func TestEmptyChartRenders(t *testing.T) {
	c := &Chart{Title: "nothing"}
	if _, err := c.SVG(); err != nil {
		t.Fatal(err)
	}
	if got := c.Terminal(60, 8, nil); !strings.Contains(got, "(no data)") {
		t.Errorf("%q", got)
	}
}

func TestTerminal(t *testing.T) {
	c := &Chart{Title: "flat", Format: Percentage, Series: []Series{{Label: "node-1",
		Timestamps: []float64{1700000000, 1700001800, 1700003600}, Values: []float64{0.5, 0.5, 0.5}}}}
	out := c.Terminal(50, 6, nil)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if lines[0] != "flat" || len(lines) != 1+6+1+1 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	// 0.5 of 0.6 (20% headroom) is 5/6 up: row 1 of 6 holds the whole line.
	for i, l := range lines[1:7] {
		n := 0
		for _, r := range l {
			if r >= 0x2800 && r <= 0x28ff {
				n++
			}
		}
		if (i == 1) != (n > 0) {
			t.Errorf("row %d has %d braille cells:\n%s", i, n, out)
		}
		if w := utf8.RuneCountInString(l); w > 50 {
			t.Errorf("row %d is %d wide", i, w)
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(lines[1]), "60.0%") || !strings.Contains(out, "0.0% ┤") {
		t.Errorf("value labels:\n%s", out)
	}
	if !strings.Contains(out, "Nov 14 22:13") || !strings.Contains(out, "━━ node-1") {
		t.Errorf("axis or legend:\n%s", out)
	}
	coloured := c.Terminal(50, 6, func(i int, s string) string { return "<" + s + ">" })
	if !strings.Contains(coloured, "<━━>") {
		t.Errorf("colour not applied:\n%s", coloured)
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		f    Format
		v    float64
		want string
	}{
		{Bytes, 512, "512 Bytes"},
		{Bytes, 1536, "1.5 KiB"},
		{Bytes, 3 * 1024 * 1024 * 1024, "3.0 GiB"},
		{Percentage, 0.256, "25.6%"},
		{CPUUsage, 0.0125, "12.5m"},
		{Plain, 42, "42"},
	} {
		if got := FormatValue(tc.f, tc.v); got != tc.want {
			t.Errorf("%s %v: %q, want %q", tc.f, tc.v, got, tc.want)
		}
	}
}

// big is a 10-series chart of 10,000 points in all.
func big() *Chart {
	c := &Chart{Title: "big", Format: CPUUsage}
	for s := 0; s < 10; s++ {
		ser := Series{Label: "pod-" + string(rune('a'+s))}
		for i := 0; i < 1000; i++ {
			ser.Timestamps = append(ser.Timestamps, float64(1700000000+i*14))
			ser.Values = append(ser.Values, float64(s)+math.Sin(float64(i)/50))
		}
		c.Series = append(c.Series, ser)
	}
	return c
}

func BenchmarkRenderSVGAndPNG(b *testing.B) {
	c := big()
	for i := 0; i < b.N; i++ {
		if _, err := c.SVG(); err != nil {
			b.Fatal(err)
		}
		if _, err := c.PNG(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestJSONKeepsGaps(t *testing.T) {
	c := sample()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `20971520,null,20971520`) {
		t.Errorf("gap not null: %.300s", b)
	}
	var back Chart
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back.Series[1].Values[30]) || back.Series[1].Values[29] != 20*1024*1024 {
		t.Errorf("round trip: %v", back.Series[1].Values[28:32])
	}
}
