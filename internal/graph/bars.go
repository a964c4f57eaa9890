package graph

import (
	"bytes"
	"fmt"
	"html"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// BarGroup is one series of a bar chart: a value per category, NaN where there is no
// data.
type BarGroup struct {
	Label  string
	Values []float64
}

// BarsSVG draws grouped bars, one group per category, as SVG (the runner's pygal Bar
// chart of node_cpu_enricher). Missing values (NaN) are drawn as zero-height bars.
func BarsSVG(title string, categories []string, groups []BarGroup, unit string) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = unit
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	w := vg.Points(float64(widthPt) / float64(max(1, len(categories))) / float64(max(1, len(groups))+1))
	w = min(w, vg.Points(40))
	for i, g := range groups {
		vals := make(plotter.Values, len(g.Values))
		for j, v := range g.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				vals[j] = v
			}
		}
		if len(vals) == 0 {
			continue
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, fmt.Errorf("bars %q: %w", g.Label, err)
		}
		b.Color = palette[(i+2)%len(palette)]
		b.LineStyle.Width = 0
		b.Offset = vg.Length(float64(i)-float64(len(groups)-1)/2) * w
		p.Add(b)
		p.Legend.Add(g.Label, b)
	}
	if len(categories) > 0 {
		p.NominalX(categories...)
	}
	p.X.Tick.Label.Rotation = -0.7
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = -0.1, -1
	return write(p, "svg")
}

func write(p *plot.Plot, format string) ([]byte, error) {
	wt, err := p.WriterTo(vg.Length(widthPt), vg.Length(heightPt), format)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", format, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("render %s: %w", format, err)
	}
	return buf.Bytes(), nil
}

// Area is one rectangle of a treemap.
type Area struct {
	Label string
	Value float64
}

// TreemapSVG draws areas proportional to their values (negative and NaN ones left
// out) as SVG, each labelled with its label and percentage (values are fractions of
// one): the runner's pygal Treemap of node_cpu_enricher. The layout is
// slice-and-dice: columns by the order given, which is enough to compare shares.
func TreemapSVG(title string, areas []Area) []byte {
	const w, h, top = 1280.0, 500.0, 40.0
	var total float64
	var keep []Area
	for _, a := range areas {
		if a.Value > 0 && !math.IsNaN(a.Value) && !math.IsInf(a.Value, 0) {
			keep = append(keep, a)
			total += a.Value
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<text x="%.0f" y="26" font-family="sans-serif" font-size="18" text-anchor="middle">%s</text>`+"\n", w/2, html.EscapeString(title))
	x := 0.0
	for i, a := range keep {
		aw := w * a.Value / total
		c := palette[i%len(palette)]
		fmt.Fprintf(&b, `<g><title>%s: %d%%</title><rect x="%.2f" y="%.0f" width="%.2f" height="%.0f" fill="#%02x%02x%02x" stroke="#ffffff"/>`,
			html.EscapeString(a.Label), int(a.Value*100), x, top, aw, h-top, c.R, c.G, c.B)
		if aw > 40 {
			fmt.Fprintf(&b, `<text x="%.2f" y="%.0f" font-family="sans-serif" font-size="12" fill="#ffffff" transform="rotate(90 %.2f %.0f)">%s %d%%</text>`,
				x+aw/2-4, top+8, x+aw/2-4, top+8, html.EscapeString(a.Label), int(a.Value*100))
		}
		b.WriteString("</g>\n")
		x += aw
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}
