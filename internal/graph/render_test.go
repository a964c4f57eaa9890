package graph

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"
)

// flat is one series at 50 from t0 to t0+1h with a gap over the middle ten minutes.
func flat() (*Chart, float64) {
	const t0 = 1700000000
	s := Series{Label: "flat"}
	for i := 0; i <= 60; i++ {
		v := 50.0
		if i >= 25 && i <= 35 {
			v = math.NaN()
		}
		s.Timestamps, s.Values = append(s.Timestamps, float64(t0+60*i)), append(s.Values, v)
	}
	return &Chart{Title: "flat", Series: []Series{s}}, t0
}

func decodePNG(t *testing.T, c *Chart) *image.RGBA {
	t.Helper()
	b, err := c.PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != widthPx || r.Dy() != heightPx {
		t.Fatalf("size %v, want 1280x500", r)
	}
	rgba := image.NewRGBA(img.Bounds())
	for y := 0; y < heightPx; y++ {
		for x := 0; x < widthPx; x++ {
			rgba.Set(x, y, img.At(x, y))
		}
	}
	return rgba
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int { return max(int(x), int(y)) - min(int(x), int(y)) }
	return d(a.R, b.R) < 40 && d(a.G, b.G) < 40 && d(a.B, b.B) < 40
}

// column reports whether any pixel of column x between y0 and y1 is near colour c.
func column(img *image.RGBA, x, y0, y1 int, c color.RGBA) bool {
	for y := y0; y <= y1; y++ {
		if near(img.RGBAAt(x, y), c) {
			return true
		}
	}
	return false
}

// The PNG is drawn where the data is: the series' colour on its line (within two
// pixels of where the layout puts 50), not in the gap, and the limit's colour on the
// dashed line; and the text is there (dark pixels in the title's row).
func TestPNGDrawsTheData(t *testing.T) {
	c, t0 := flat()
	c.Lines = []Line{{Label: "Limit", Value: 80}}
	img := decodePNG(t, c)
	d := c.drawing()
	f := findFrame(t, d)
	f.xmin, f.xmax, f.ymin, f.ymax = t0, t0+3600, 0, 96
	for _, tc := range []struct {
		at   float64 // minutes from t0
		want bool
	}{{5, true}, {15, true}, {30, false}, {45, true}, {55, true}} {
		p := f.px(t0+60*tc.at, 50)
		got := column(img, int(p.X), int(p.Y)-2, int(p.Y)+2, palette[0])
		if got != tc.want {
			t.Errorf("minute %v: series colour at (%.0f, %.0f) is %v, want %v", tc.at, p.X, p.Y, got, tc.want)
		}
	}
	limit := f.px(t0, 80).Y
	on := 0
	for x := int(f.left) + 2; x < int(f.right)-2; x++ {
		if column(img, x, int(limit)-1, int(limit)+1, limitColour) {
			on++
		}
	}
	// Dashed: about half the width is drawn.
	if w := int(f.right - f.left); on < w/3 || on > 2*w/3 {
		t.Errorf("limit line covers %d of %d pixels, want about half (dashed)", on, w)
	}
	dark := 0
	for x := 0; x < widthPx; x++ {
		if column(img, x, 10, 30, black) {
			dark++
		}
	}
	if dark < 10 {
		t.Errorf("title row has %d dark columns", dark)
	}
	if !near(img.RGBAAt(2, heightPx/2), white) {
		t.Errorf("background %v", img.RGBAAt(2, heightPx/2))
	}
}

// findFrame recovers the plot area from the drawing: the two axis lines drawn last
// before the data.
func findFrame(t *testing.T, d *drawing) *frame {
	t.Helper()
	for i, s := range d.shapes {
		if s.kind == kindPath && s.col == black && len(s.pts) == 2 && s.pts[0].X == s.pts[1].X && i+1 < len(d.shapes) {
			n := d.shapes[i+1]
			if n.kind == kindPath && n.col == black && n.pts[0].Y == n.pts[1].Y && n.pts[0].X == s.pts[0].X && s.pts[1].Y == n.pts[0].Y {
				return &frame{left: s.pts[0].X, top: s.pts[0].Y, bottom: s.pts[1].Y, right: n.pts[1].X}
			}
		}
	}
	t.Fatal("no axes in the drawing")
	return nil
}

// The SVG is well-formed XML with the title, the legend labels, value ticks in the
// chart's format and time ticks.
func TestSVGIsXMLWithLabels(t *testing.T) {
	c := sample()
	c.Series[0].Label = `a<b & "c"` + "\x01"
	b, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	var texts []string
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed XML: %v", err)
			}
			break
		}
		if cd, ok := tok.(xml.CharData); ok && strings.TrimSpace(string(cd)) != "" {
			texts = append(texts, string(cd))
		}
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"Memory Usage for this pod", `a<b & "c"`, "web-2", "Limit", "20.0 MiB", "60.0 MiB", "Nov 14 22:20", "time (UTC)"} {
		if !strings.Contains(all, want) {
			t.Errorf("SVG lacks %q: %s", want, all)
		}
	}
}

func TestBarsSVG(t *testing.T) {
	b, err := BarsSVG("Actual Vs Requested vCPUs on Node n1", []string{"web-1", "db-0"},
		[]BarGroup{{"Requested", []float64{0.5, math.NaN()}}, {"Actual", []float64{0.25, 1}}}, "vCPUs")
	if err != nil {
		t.Fatal(err)
	}
	texts, _ := svgText(t, b)
	all := strings.Join(texts, "|")
	for _, want := range []string{"Actual Vs Requested vCPUs on Node n1", "web-1", "db-0", "Requested", "Actual", "vCPUs"} {
		if !strings.Contains(all, want) {
			t.Errorf("bars SVG lacks %q: %s", want, all)
		}
	}
	// Three bars (the NaN one is not drawn), two legend boxes and the background.
	if n := strings.Count(string(b), "<rect"); n != 3+2+1 {
		t.Errorf("%d rects:\n%s", n, b)
	}
}

// Ticks are multiples of a 1, 2 or 5 times a power of ten step (of the binary unit
// for bytes), inside the range, covering it to within a step at each end, and few.
func TestTicksAreNice(t *testing.T) {
	for _, tc := range []struct {
		f        Format
		min, max float64
		unit     float64
	}{
		{Plain, 0, 1, 1}, {Plain, 0, 1.2, 1}, {Plain, 0, 12000, 1}, {Plain, 0, 0.0037, 1}, {Plain, -3, 17, 1},
		{CPUUsage, 0, 0.0418, 1}, {Percentage, 0, 1.2, 1},
		{Bytes, 0, 80 * 1024 * 1024, 1024 * 1024}, {Bytes, 0, 3.5 * 1024 * 1024 * 1024, 1024 * 1024 * 1024}, {Bytes, 0, 700, 1},
	} {
		ticks := valueTicks(tc.f, tc.min, tc.max, 6)
		if len(ticks) < 2 || len(ticks) > 7 {
			t.Errorf("%v..%v: %d ticks %v", tc.min, tc.max, len(ticks), ticks)
			continue
		}
		step := (ticks[1].Value - ticks[0].Value) / tc.unit
		mant := step / math.Pow(10, math.Floor(math.Log10(step)+1e-9))
		if math.Abs(mant-1) > 1e-6 && math.Abs(mant-2) > 1e-6 && math.Abs(mant-5) > 1e-6 {
			t.Errorf("%v..%v: step %v (mantissa %v) not nice", tc.min, tc.max, step, mant)
		}
		for i, tk := range ticks {
			if tk.Value < tc.min-1e-9 || tk.Value > tc.max+1e-9 {
				t.Errorf("%v..%v: tick %v outside", tc.min, tc.max, tk.Value)
			}
			if q := tk.Value / (step * tc.unit); math.Abs(q-math.Round(q)) > 1e-6 {
				t.Errorf("%v..%v: tick %v not a multiple of %v", tc.min, tc.max, tk.Value, step)
			}
			if i > 0 && math.Abs(tk.Value-ticks[i-1].Value-step*tc.unit) > 1e-6*step*tc.unit {
				t.Errorf("%v..%v: uneven ticks %v", tc.min, tc.max, ticks)
			}
			if tk.Label != FormatValue(tc.f, tk.Value) {
				t.Errorf("label %q for %v", tk.Label, tk.Value)
			}
		}
		s := step * tc.unit
		if ticks[0].Value-tc.min >= s || tc.max-ticks[len(ticks)-1].Value >= s {
			t.Errorf("%v..%v: ticks %v leave more than a step uncovered", tc.min, tc.max, ticks)
		}
	}
	if got := valueTicks(Bytes, 0, 80*1024*1024, 6); got[1].Label != "20.0 MiB" {
		t.Errorf("bytes ticks %v, want steps of 20 MiB", got)
	}
}

func TestTimeTicks(t *testing.T) {
	const t0 = 1700000000 // Nov 14 22:13:20 UTC
	for _, tc := range []struct {
		span float64
		step float64
	}{{3600, 600}, {6 * 3600, 3600}, {7 * 86400, 86400}, {300, 60}} {
		ticks := timeTicks(t0, t0+tc.span, 8)
		if len(ticks) < 2 || len(ticks) > 8 {
			t.Errorf("span %v: %d ticks", tc.span, len(ticks))
			continue
		}
		for i, tk := range ticks {
			if math.Mod(tk.Value, tc.step) != 0 || tk.Value < t0 || tk.Value > t0+tc.span {
				t.Errorf("span %v: tick %v not on a %vs boundary inside the range", tc.span, tk.Value, tc.step)
			}
			if i > 0 && tk.Value-ticks[i-1].Value != tc.step {
				t.Errorf("span %v: step %v, want %v", tc.span, tk.Value-ticks[i-1].Value, tc.step)
			}
		}
	}
	if got := timeTicks(t0, t0+3600, 8); got[0].Label != "Nov 14 22:20" {
		t.Errorf("first label %q", got[0].Label)
	}
}

func TestDashes(t *testing.T) {
	segs := dashes([]pt{{0, 0}, {10, 0}, {10, 10}}, 4)
	// 20 long in 4s: on 0-4, off, on 8-10 then 10-12 round the corner, off, on 16-20.
	var on float64
	for _, s := range segs {
		on += math.Hypot(s[1].X-s[0].X, s[1].Y-s[0].Y)
	}
	if len(segs) != 4 || math.Abs(on-12) > 1e-9 {
		t.Errorf("%d dashes, %v drawn: %v", len(segs), on, segs)
	}
}
