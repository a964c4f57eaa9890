package graph

import (
	"math"
	"strings"
)

// Braille cells hold 2x4 dots; bit of the dot at (column, row) of a cell.
var brailleBit = [2][4]rune{{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}}

// Terminal draws the chart as a braille line chart width characters wide (the value
// labels included) and height rows high, a time axis and a legend below. colour,
// when not nil, colours series i's text (nil: no colour, as for a pipe).
func (c *Chart) Terminal(width, height int, colour func(i int, s string) string) string {
	if colour == nil {
		colour = func(_ int, s string) string { return s }
	}
	tmin, tmax, vmax, ok := c.Bounds()
	var b strings.Builder
	b.WriteString(c.Title + "\n")
	if !ok {
		b.WriteString("(no data)\n")
		return b.String()
	}
	ymax := vmax * 1.2
	if ymax == 0 {
		ymax = 1
	}
	labels := []string{FormatValue(c.Format, ymax), FormatValue(c.Format, ymax/2), FormatValue(c.Format, 0)}
	lw := 0
	for _, l := range labels {
		lw = max(lw, len(l))
	}
	cols := width - lw - 2
	if cols < 10 {
		cols = 10
	}
	if height < 3 {
		height = 3
	}
	dw, dh := cols*2, height*4
	// owner[y][x] is the series index that drew a cell last (-1: none), so each cell
	// gets one colour.
	dots := make([][]rune, height)
	owner := make([][]int, height)
	for y := range dots {
		dots[y] = make([]rune, cols)
		owner[y] = make([]int, cols)
		for x := range owner[y] {
			owner[y][x] = -1
		}
	}
	span := tmax - tmin
	if span == 0 {
		span = 1
	}
	toDot := func(t, v float64) (int, int) {
		x := int(math.Round((t - tmin) / span * float64(dw-1)))
		y := dh - 1 - int(math.Round(v/ymax*float64(dh-1)))
		return min(max(x, 0), dw-1), min(max(y, 0), dh-1)
	}
	set := func(x, y, idx int) {
		cy, cx := y/4, x/2
		dots[cy][cx] |= brailleBit[x%2][y%4]
		owner[cy][cx] = idx
	}
	// Limits and requests first, dotted, so series drawn over them keep their colour.
	for _, l := range c.Lines {
		if l.Vertical {
			continue
		}
		_, y := toDot(tmin, l.Value)
		for x := 0; x < dw; x += 3 {
			set(x, y, -1)
		}
	}
	for i, s := range c.Series {
		px, py, have := 0, 0, false
		for j, t := range s.Timestamps {
			v := s.Values[j]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				have = false
				continue
			}
			x, y := toDot(t, v)
			if have {
				line(px, py, x, y, func(x, y int) { set(x, y, i) })
			} else {
				set(x, y, i)
			}
			px, py, have = x, y, true
		}
	}
	for row := 0; row < height; row++ {
		label := ""
		switch row {
		case 0:
			label = labels[0]
		case height / 2:
			label = labels[1]
		case height - 1:
			label = labels[2]
		}
		b.WriteString(strings.Repeat(" ", lw-len(label)) + label + " ┤")
		for x := 0; x < cols; x++ {
			if dots[row][x] == 0 {
				b.WriteByte(' ')
				continue
			}
			cell := string(0x2800 + dots[row][x])
			if owner[row][x] >= 0 {
				cell = colour(owner[row][x], cell)
			}
			b.WriteString(cell)
		}
		b.WriteByte('\n')
	}
	start, end := timeLabel(tmin), timeLabel(tmax)
	gap := cols - len(start) - len(end) - len(" UTC")
	if gap < 1 {
		gap = 1
	}
	b.WriteString(strings.Repeat(" ", lw+2) + start + strings.Repeat(" ", gap) + end + " UTC\n")
	for i, s := range c.Series {
		b.WriteString(strings.Repeat(" ", lw+2) + colour(i, "━━") + " " + s.Label + "\n")
	}
	for _, l := range c.Lines {
		if l.Vertical {
			b.WriteString(strings.Repeat(" ", lw+2) + "┆ " + l.Label + " at " + timeLabel(l.Value) + "\n")
		} else {
			b.WriteString(strings.Repeat(" ", lw+2) + "┄ " + l.Label + ": " + FormatValue(c.Format, l.Value) + "\n")
		}
	}
	return b.String()
}

// line calls plot for every dot from (x0,y0) to (x1,y1) (Bresenham).
func line(x0, y0, x1, y1 int, plot func(x, y int)) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	err := dx + dy
	for {
		plot(x0, y0)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			x0 += sx
		}
		if e2 <= dx {
			err += dx
			y0 += sy
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
