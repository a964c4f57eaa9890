package graph

import (
	"bytes"
	"fmt"
	"html"
	"image/color"
	"math"
)

// BarGroup is one series of a bar chart: a value per category, NaN where there is no
// data.
type BarGroup struct {
	Label  string
	Values []float64
}

// Bar labels hang from the category axis turned 40 degrees clockwise.
const barLabelAngle = 40

// BarsSVG draws grouped bars, one group per category, as SVG (the runner's pygal Bar
// chart of node_cpu_enricher). Missing values (NaN) are drawn as zero-height bars.
func BarsSVG(title string, categories []string, groups []BarGroup, unit string) ([]byte, error) {
	return bars(title, categories, groups, unit).svg(), nil
}

func bars(title string, categories []string, groups []BarGroup, unit string) *drawing {
	vmax := 0.0
	var legend []legendEntry
	for i, g := range groups {
		for _, v := range g.Values {
			if finite(v) {
				vmax = math.Max(vmax, v)
			}
		}
		if len(g.Values) > 0 {
			legend = append(legend, legendEntry{label: g.Label, col: barColour(i), box: true})
		}
	}
	ymax := vmax * 1.2
	if ymax <= 0 {
		ymax = 1
	}
	// Room below the plot for the longest category label, turned; labels longer than
	// 200 pixels run off the bottom.
	lw := 0.0
	for _, c := range categories {
		lw = math.Max(lw, textWidth(c, tickSize))
	}
	sin, cos := math.Sincos(barLabelAngle * math.Pi / 180)
	xSpace := math.Min(200, lw*sin+tickSize*cos+16)
	f := newFrame(title, legend, unit, Plain, 0, ymax, xSpace)
	n := max(1, len(categories))
	f.xmin, f.xmax = 0, float64(n)
	d := f.d
	slot := (f.right - f.left) / float64(n)
	w := math.Min(slot/float64(len(groups)+1), 40*96/72.0)
	for j, c := range categories {
		x := f.px(float64(j)+0.5, 0).X
		d.line(x, f.bottom, x, f.bottom+5, 1, black)
		d.text(x-3, f.bottom+14, c, tickSize, anchorStart, barLabelAngle, black)
	}
	for i, g := range groups {
		off := (float64(i) - float64(len(groups)-1)/2) * w
		for j, v := range g.Values {
			if j >= n || !finite(v) || v <= 0 {
				continue
			}
			p := f.px(float64(j)+0.5, v)
			d.rect(p.X+off-w/2, p.Y, w, f.bottom-p.Y, barColour(i))
		}
	}
	f.axes()
	return d
}

func barColour(i int) color.RGBA { return palette[(i+2)%len(palette)] }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

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
