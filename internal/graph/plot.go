package graph

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// The runner's charts are 1280x500 pixels; at 96 dpi that is this many points.
const (
	widthPt  = 1280 * 72 / 96
	heightPt = 500 * 72 / 96
)

// palette: the runner's series colours first, then distinct ones.
var palette = []color.RGBA{
	{0x1e, 0x00, 0x47, 0xff}, {0x2a, 0x00, 0x65, 0xff}, {0x00, 0x7f, 0xff, 0xff}, {0xe6, 0x7e, 0x22, 0xff},
	{0x27, 0xae, 0x60, 0xff}, {0xc0, 0x39, 0x2b, 0xff}, {0x8e, 0x44, 0xad, 0xff}, {0x16, 0xa0, 0x85, 0xff},
	{0xf1, 0xc4, 0x0f, 0xff}, {0x7f, 0x8c, 0x8d, 0xff},
}

var (
	limitColour   = color.RGBA{0xff, 0x59, 0x59, 0xff}
	requestColour = color.RGBA{0x0d, 0xc2, 0x91, 0xff}
)

// SVG renders the chart as SVG.
func (c *Chart) SVG() ([]byte, error) { return c.render("svg") }

// PNG renders the chart as PNG.
func (c *Chart) PNG() ([]byte, error) { return c.render("png") }

func (c *Chart) render(format string) ([]byte, error) {
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = "time (UTC)"
	p.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2 15:04"}
	p.Y.Tick.Marker = valueTicks{format: c.Format}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	tmin, tmax, vmax, ok := c.Bounds()
	if ok || len(c.Lines) > 0 {
		// Zero up to 20% above the highest value, as the runner's range.
		p.Y.Min, p.Y.Max = 0, vmax*1.2
		if p.Y.Max == 0 {
			p.Y.Max = 1
		}
	}
	for i, s := range c.Series {
		col := palette[i%len(palette)]
		first := true
		for _, seg := range segments(s) {
			l, err := plotter.NewLine(seg)
			if err != nil {
				return nil, fmt.Errorf("series %q: %w", s.Label, err)
			}
			l.Color, l.Width = col, vg.Points(1.5)
			p.Add(l)
			if first {
				p.Legend.Add(s.Label, l)
				first = false
			}
		}
	}
	if !math.IsInf(tmin, 0) {
		for _, ln := range c.Lines {
			var xy plotter.XYs
			if ln.Vertical {
				xy = plotter.XYs{{X: ln.Value, Y: 0}, {X: ln.Value, Y: p.Y.Max}}
			} else {
				xy = plotter.XYs{{X: tmin, Y: ln.Value}, {X: tmax, Y: ln.Value}}
			}
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, fmt.Errorf("line %q: %w", ln.Label, err)
			}
			l.Color, l.Width, l.Dashes = limitColour, vg.Points(1.5), []vg.Length{vg.Points(4), vg.Points(4)}
			if !ln.Vertical && ln.Label == "Request" {
				l.Color = requestColour
			}
			p.Add(l)
			p.Legend.Add(ln.Label, l)
		}
	}
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

// segments splits a series at NaN or infinite samples (gaps in Prometheus' answer),
// so the line is broken there instead of drawn across.
func segments(s Series) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	for i, t := range s.Timestamps {
		v := s.Values[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, plotter.XY{X: t, Y: v})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// valueTicks labels the value axis in the chart's format.
type valueTicks struct{ format Format }

func (v valueTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = FormatValue(v.format, ticks[i].Value)
		}
	}
	return ticks
}
