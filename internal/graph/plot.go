package graph

import (
	"image/color"
	"math"
)

// The runner's charts are 1280x500 pixels.
const (
	widthPx  = 1280
	heightPx = 500
)

// Line widths and the limit lines' dash, in pixels (1.5 and 4 points at 96 dpi).
const (
	seriesWidth = 2
	dashLength  = 5.3
)

// Text sizes in pixels.
const (
	titleSize = 18
	labelSize = 13
	tickSize  = 12
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
	white         = color.RGBA{0xff, 0xff, 0xff, 0xff}
	black         = color.RGBA{0, 0, 0, 0xff}
	gridColour    = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
)

// SVG renders the chart as SVG.
func (c *Chart) SVG() ([]byte, error) { return c.drawing().svg(), nil }

// PNG renders the chart as PNG.
func (c *Chart) PNG() ([]byte, error) { return c.drawing().png() }

// legendEntry is a legend item: a line sample (dashed or not) or, with box, a square.
type legendEntry struct {
	label string
	col   color.RGBA
	dash  float64
	box   bool
}

// frame is a chart's plot area in pixels and the data range it shows.
type frame struct {
	d                        *drawing
	left, right, top, bottom float64
	xmin, xmax, ymin, ymax   float64
}

func (f *frame) px(x, y float64) pt {
	// Values outside the range (below zero) are held at its edge, so nothing is drawn
	// outside the plot area.
	y = math.Max(f.ymin, math.Min(f.ymax, y))
	return pt{
		f.left + (x-f.xmin)/(f.xmax-f.xmin)*(f.right-f.left),
		f.bottom - (y-f.ymin)/(f.ymax-f.ymin)*(f.bottom-f.top),
	}
}

// newFrame lays out the title, the legend rows on top, the value axis (ticks, grid and
// label) and the plot area above xSpace pixels left at the bottom for the other axis.
func newFrame(title string, legend []legendEntry, yLabel string, f Format, ymin, ymax float64, xSpace float64) *frame {
	d := &drawing{w: widthPx, h: heightPx}
	d.rect(0, 0, widthPx, heightPx, white)
	d.text(widthPx/2, 28, title, titleSize, anchorMiddle, 0, black)
	top := 44.0
	if len(legend) > 0 {
		top = legendRows(d, legend, 58) + 14
	}
	fr := &frame{d: d, top: top, right: widthPx - 28, bottom: heightPx - xSpace, ymin: ymin, ymax: ymax}
	ticks := valueTicks(f, ymin, ymax, max(2, int((fr.bottom-fr.top)/55)))
	tw := 0.0
	for _, t := range ticks {
		tw = math.Max(tw, textWidth(t.Label, tickSize))
	}
	fr.left = 16 + tw + 8
	if yLabel != "" {
		fr.left += 22
		d.text(20, (fr.top+fr.bottom)/2, yLabel, labelSize, anchorMiddle, -90, black)
	}
	for _, t := range ticks {
		y := fr.px(fr.left, t.Value).Y
		d.line(fr.left, y, fr.right, y, 1, gridColour)
		d.line(fr.left-5, y, fr.left, y, 1, black)
		d.text(fr.left-8, y+4, t.Label, tickSize, anchorEnd, 0, black)
	}
	return fr
}

// axes draws the plot area's left and bottom edges over the grid.
func (f *frame) axes() {
	f.d.line(f.left, f.top, f.left, f.bottom, 1, black)
	f.d.line(f.left, f.bottom, f.right, f.bottom, 1, black)
}

// legendRows draws the legend centred in rows from baseline y down, wrapping at the
// chart's width, and returns the last row's baseline.
func legendRows(d *drawing, entries []legendEntry, y float64) float64 {
	const sample, gap, rowHeight, margin = 24.0, 22.0, 20.0, 40.0
	type placed struct {
		e legendEntry
		w float64
	}
	var rows [][]placed
	var row []placed
	rowW := 0.0
	for _, e := range entries {
		w := sample + 6 + textWidth(e.label, labelSize)
		if len(row) > 0 && rowW+gap+w > widthPx-2*margin {
			rows, row, rowW = append(rows, row), nil, 0
		}
		if len(row) > 0 {
			rowW += gap
		}
		row, rowW = append(row, placed{e, w}), rowW+w
	}
	rows = append(rows, row)
	// Many long labels would leave no room to plot: keep four rows at most.
	if len(rows) > 4 {
		rows = rows[:4]
	}
	for i, r := range rows {
		w := -gap
		for _, p := range r {
			w += gap + p.w
		}
		x := (widthPx - w) / 2
		by := y + float64(i)*rowHeight
		for _, p := range r {
			if p.e.box {
				d.rect(x+6, by-11, 12, 12, p.e.col)
			} else {
				d.path([]pt{{x, by - 5}, {x + sample, by - 5}}, seriesWidth, p.e.dash, p.e.col)
			}
			d.text(x+sample+6, by, p.e.label, labelSize, anchorStart, 0, black)
			x += p.w + gap
		}
	}
	return y + float64(len(rows)-1)*rowHeight
}

// drawing lays out the chart: value range zero to 20% above the highest value (the
// runner's), time on the other axis, a line per series broken at gaps, and the limit
// and request lines dashed.
func (c *Chart) drawing() *drawing {
	tmin, tmax, vmax, ok := c.Bounds()
	hasData := ok || (len(c.Lines) > 0 && !math.IsInf(tmin, 0))
	ymax := vmax * 1.2
	if ymax <= 0 || !hasData {
		ymax = 1
	}
	if !hasData {
		tmin, tmax = 0, 1
	} else if tmax-tmin < 60 { // one moment: a minute either side
		tmin, tmax = tmin-60, tmax+60
	}
	var legend []legendEntry
	for i, s := range c.Series {
		if len(segments(s)) > 0 {
			legend = append(legend, legendEntry{label: s.Label, col: palette[i%len(palette)]})
		}
	}
	if hasData {
		for _, ln := range c.Lines {
			legend = append(legend, legendEntry{label: ln.Label, col: lineColour(ln), dash: dashLength})
		}
	}
	f := newFrame(c.Title, legend, "", c.Format, 0, ymax, 56)
	f.xmin, f.xmax = tmin, tmax
	d := f.d
	if hasData {
		for _, t := range timeTicks(tmin, tmax, max(2, int((f.right-f.left)/150))) {
			x := f.px(t.Value, 0).X
			d.line(x, f.top, x, f.bottom, 1, gridColour)
			d.line(x, f.bottom, x, f.bottom+5, 1, black)
			// Kept whole on the canvas when a tick is near its edge.
			half := textWidth(t.Label, tickSize)/2 + 2
			d.text(math.Max(half, math.Min(widthPx-half, x)), f.bottom+20, t.Label, tickSize, anchorMiddle, 0, black)
		}
	} else {
		d.text((f.left+f.right)/2, (f.top+f.bottom)/2, "no data", labelSize, anchorMiddle, 0, black)
	}
	d.text((f.left+f.right)/2, heightPx-12, "time (UTC)", labelSize, anchorMiddle, 0, black)
	f.axes()
	for i, s := range c.Series {
		for _, seg := range segments(s) {
			pts := make([]pt, len(seg))
			for j, p := range seg {
				pts[j] = f.px(p.X, p.Y)
			}
			if len(pts) == 1 { // a lone sample between gaps: a dot-long line
				pts = append(pts, pt{pts[0].X + 0.5, pts[0].Y})
			}
			d.path(pts, seriesWidth, 0, palette[i%len(palette)])
		}
	}
	if hasData {
		for _, ln := range c.Lines {
			var a, b pt
			if ln.Vertical {
				a, b = f.px(ln.Value, f.ymin), f.px(ln.Value, f.ymax)
			} else {
				a, b = f.px(tmin, ln.Value), f.px(tmax, ln.Value)
			}
			d.path([]pt{a, b}, seriesWidth, dashLength, lineColour(ln))
		}
	}
	return d
}

// lineColour: the request line green, limits and the OOM moment red, as the runner's.
func lineColour(ln Line) color.RGBA {
	if !ln.Vertical && ln.Label == "Request" {
		return requestColour
	}
	return limitColour
}

// xy is a sample: a Unix time and a value.
type xy struct{ X, Y float64 }

// segments splits a series at NaN or infinite samples (gaps in Prometheus' answer),
// so the line is broken there instead of drawn across.
func segments(s Series) [][]xy {
	var out [][]xy
	var cur []xy
	for i, t := range s.Timestamps {
		v := s.Values[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, xy{t, v})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
