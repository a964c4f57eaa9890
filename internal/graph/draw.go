package graph

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// A drawing is a list of shapes in pixel coordinates (y down), written out either as
// SVG or rasterised to PNG, so both formats show the same picture.
type drawing struct {
	w, h   int
	shapes []shape
}

type shapeKind int

const (
	kindRect shapeKind = iota
	kindPath
	kindText
)

type anchor int

const (
	anchorStart anchor = iota
	anchorMiddle
	anchorEnd
)

type pt struct{ X, Y float64 }

type shape struct {
	kind shapeKind
	col  color.RGBA
	// kindRect
	x, y, w, h float64
	// kindPath: an open polyline of this width, dashed when dash > 0 (on and off
	// lengths equal).
	pts   []pt
	width float64
	dash  float64
	// kindText: at (x, y), the baseline, rotated by rot degrees clockwise about it.
	text   string
	size   float64
	anchor anchor
	rot    float64
}

func (d *drawing) rect(x, y, w, h float64, c color.RGBA) {
	d.shapes = append(d.shapes, shape{kind: kindRect, x: x, y: y, w: w, h: h, col: c})
}

func (d *drawing) path(pts []pt, width, dash float64, c color.RGBA) {
	if len(pts) < 2 {
		return
	}
	d.shapes = append(d.shapes, shape{kind: kindPath, pts: pts, width: width, dash: dash, col: c})
}

func (d *drawing) line(x0, y0, x1, y1, width float64, c color.RGBA) {
	d.path([]pt{{x0, y0}, {x1, y1}}, width, 0, c)
}

func (d *drawing) text(x, y float64, s string, size float64, a anchor, rot float64, c color.RGBA) {
	if s == "" {
		return
	}
	d.shapes = append(d.shapes, shape{kind: kindText, x: x, y: y, text: s, size: size, anchor: a, rot: rot, col: c})
}

// svg writes the drawing as an SVG document. Text is left to the viewer's sans-serif
// font, so its widths differ a little from the PNG's; the layout leaves room for that.
func (d *drawing) svg() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", d.w, d.h, d.w, d.h)
	for _, s := range d.shapes {
		fill := hex(s.col)
		switch s.kind {
		case kindRect:
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", s.x, s.y, s.w, s.h, fill)
		case kindPath:
			b.WriteString(`<path d="`)
			for i, p := range s.pts {
				op := 'L'
				if i == 0 {
					op = 'M'
				}
				fmt.Fprintf(&b, "%c%.1f %.1f", op, p.X, p.Y)
			}
			fmt.Fprintf(&b, `" fill="none" stroke="%s" stroke-width="%.1f" stroke-linejoin="round"`, fill, s.width)
			if s.dash > 0 {
				fmt.Fprintf(&b, ` stroke-dasharray="%.1f"`, s.dash)
			}
			b.WriteString("/>\n")
		case kindText:
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-family="Go, Arial, sans-serif" font-size="%.0f" fill="%s"`, s.x, s.y, s.size, fill)
			if s.anchor != anchorStart {
				fmt.Fprintf(&b, ` text-anchor="%s"`, [...]string{"start", "middle", "end"}[s.anchor])
			}
			if s.rot != 0 {
				fmt.Fprintf(&b, ` transform="rotate(%.1f %.1f %.1f)"`, s.rot, s.x, s.y)
			}
			b.WriteString(">")
			// EscapeText also replaces characters XML cannot hold (a label's control
			// characters), so the document always parses.
			_ = xml.EscapeText(&b, []byte(s.text))
			b.WriteString("</text>\n")
		}
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// goRegular is the one face text is measured and drawn with, parsed on first use only:
// commands that draw no chart pay nothing for it at start-up.
var goRegular = sync.OnceValues(func() (*sfnt.Font, error) {
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("parse the Go Regular font: %w", err)
	}
	return f, nil
})

// textWidth is s's advance in pixels at size px, with kerning. Without the font (which
// cannot happen with the embedded one) it estimates.
func textWidth(s string, size float64) float64 {
	f, err := goRegular()
	if err != nil {
		return 0.55 * size * float64(len([]rune(s)))
	}
	var buf sfnt.Buffer
	ppem := fixed.Int26_6(size * 64)
	var w fixed.Int26_6
	prev := sfnt.GlyphIndex(0)
	for i, r := range s {
		g, _ := f.GlyphIndex(&buf, r)
		if i > 0 {
			if k, err := f.Kern(&buf, prev, g, ppem, font.HintingNone); err == nil {
				w += k
			}
		}
		if a, err := f.GlyphAdvance(&buf, g, ppem, font.HintingNone); err == nil {
			w += a
		}
		prev = g
	}
	return float64(w) / 64
}

// png rasterises the drawing: paths and glyph outlines are filled with an
// antialiasing rasteriser, one shape at a time over its own bounding box.
func (d *drawing) png() ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, d.w, d.h))
	r := &raster{img: img, z: vector.NewRasterizer(0, 0)}
	for _, s := range d.shapes {
		switch s.kind {
		case kindRect:
			rc := image.Rect(int(math.Round(s.x)), int(math.Round(s.y)), int(math.Round(s.x+s.w)), int(math.Round(s.y+s.h)))
			draw.Draw(img, rc, image.NewUniform(s.col), image.Point{}, draw.Over)
		case kindPath:
			r.stroke(s)
		case kindText:
			if err := r.text(s); err != nil {
				return nil, err
			}
		}
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		return nil, fmt.Errorf("encode PNG: %w", err)
	}
	return b.Bytes(), nil
}

type raster struct {
	img *image.RGBA
	z   *vector.Rasterizer
	// polys are the closed outlines of the shape being drawn, in canvas pixels.
	polys [][]pt
	buf   sfnt.Buffer
}

// stroke outlines each (dash) segment as a rectangle, and fills the wedge a bend
// opens on its outer side with a triangle (a bevel join). Neighbouring rectangles
// share their end edges, so a straight run has no seams; all outlines are turned to
// wind the same way, because the rasteriser cancels opposite windings.
func (r *raster) stroke(s shape) {
	r.polys = r.polys[:0]
	hw := s.width / 2
	var prevEnd, prevN pt
	joined := false
	for _, seg := range dashes(s.pts, s.dash) {
		a, b := seg[0], seg[1]
		dx, dy := b.X-a.X, b.Y-a.Y
		l := math.Hypot(dx, dy)
		if l == 0 {
			continue
		}
		n := pt{-dy / l * hw, dx / l * hw} // across the segment, half the width long
		if s.dash == 0 && joined && prevEnd == a {
			// n is to the right of the direction of travel on screen; a right turn
			// opens the wedge on the left.
			side := 1.0
			if prevN.X*n.Y-prevN.Y*n.X > 0 {
				side = -1
			}
			r.polys = append(r.polys, wound([]pt{a, {a.X + side*prevN.X, a.Y + side*prevN.Y}, {a.X + side*n.X, a.Y + side*n.Y}}))
		}
		r.polys = append(r.polys, wound([]pt{{a.X + n.X, a.Y + n.Y}, {b.X + n.X, b.Y + n.Y}, {b.X - n.X, b.Y - n.Y}, {a.X - n.X, a.Y - n.Y}}))
		prevEnd, prevN, joined = b, n, true
	}
	r.fill(s.col)
}

// wound returns p wound clockwise on screen (positive shoelace area with y down).
func wound(p []pt) []pt {
	area := 0.0
	for i := range p {
		q := p[(i+1)%len(p)]
		area += p[i].X*q.Y - q.X*p[i].Y
	}
	if area < 0 {
		for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
			p[i], p[j] = p[j], p[i]
		}
	}
	return p
}

// dashes cuts a polyline into the segments to draw: all of them when dash is 0, else
// alternately dash long pieces on and off along its length.
func dashes(pts []pt, dash float64) [][2]pt {
	var out [][2]pt
	on, left := true, dash
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		if dash <= 0 {
			out = append(out, [2]pt{a, b})
			continue
		}
		l := math.Hypot(b.X-a.X, b.Y-a.Y)
		for pos := 0.0; pos < l; {
			step := math.Min(left, l-pos)
			if on {
				p := pt{a.X + (b.X-a.X)*pos/l, a.Y + (b.Y-a.Y)*pos/l}
				q := pt{a.X + (b.X-a.X)*(pos+step)/l, a.Y + (b.Y-a.Y)*(pos+step)/l}
				out = append(out, [2]pt{p, q})
			}
			pos += step
			if left -= step; left <= 0 {
				on, left = !on, dash
			}
		}
	}
	return out
}

// fill rasterises r.polys (straight-edged) in colour c.
func (r *raster) fill(c color.RGBA) {
	box, ok := r.bounds()
	if !ok {
		return
	}
	r.z.Reset(box.Dx(), box.Dy())
	ox, oy := float64(box.Min.X), float64(box.Min.Y)
	for _, p := range r.polys {
		r.z.MoveTo(float32(p[0].X-ox), float32(p[0].Y-oy))
		for _, q := range p[1:] {
			r.z.LineTo(float32(q.X-ox), float32(q.Y-oy))
		}
		r.z.ClosePath()
	}
	r.z.Draw(r.img, box, image.NewUniform(c), image.Point{})
}

// bounds is the pixel box of r.polys, cut to the canvas.
func (r *raster) bounds() (image.Rectangle, bool) {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range r.polys {
		for _, q := range p {
			minX, minY, maxX, maxY = math.Min(minX, q.X), math.Min(minY, q.Y), math.Max(maxX, q.X), math.Max(maxY, q.Y)
		}
	}
	if math.IsInf(minX, 0) {
		return image.Rectangle{}, false
	}
	box := image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX))+1, int(math.Ceil(maxY))+1)
	box = box.Intersect(r.img.Bounds())
	return box, !box.Empty()
}

// text draws s's glyph outlines, placed along the baseline and rotated about the
// anchor point. Curves are flattened into short lines first, so rotation and
// clipping are the same code as for paths.
func (r *raster) text(s shape) error {
	f, err := goRegular()
	if err != nil {
		return err
	}
	ppem := fixed.Int26_6(s.size * 64)
	x0 := 0.0
	switch s.anchor {
	case anchorMiddle:
		x0 = -textWidth(s.text, s.size) / 2
	case anchorEnd:
		x0 = -textWidth(s.text, s.size)
	}
	sin, cos := math.Sincos(s.rot * math.Pi / 180)
	place := func(p fixed.Point26_6, pen float64) pt {
		x, y := pen+float64(p.X)/64, float64(p.Y)/64
		return pt{s.x + x*cos - y*sin, s.y + x*sin + y*cos}
	}
	r.polys = r.polys[:0]
	pen := x0
	prev := sfnt.GlyphIndex(0)
	for i, ch := range s.text {
		g, err := f.GlyphIndex(&r.buf, ch)
		if err != nil {
			return fmt.Errorf("glyph for %q: %w", ch, err)
		}
		if i > 0 {
			if k, err := f.Kern(&r.buf, prev, g, ppem, font.HintingNone); err == nil {
				pen += float64(k) / 64
			}
		}
		segs, err := f.LoadGlyph(&r.buf, g, ppem, nil)
		if err != nil {
			return fmt.Errorf("outline of %q: %w", ch, err)
		}
		var cur []pt
		var last fixed.Point26_6
		for _, sg := range segs {
			switch sg.Op {
			case sfnt.SegmentOpMoveTo:
				if len(cur) > 1 {
					r.polys = append(r.polys, cur)
				}
				cur = []pt{place(sg.Args[0], pen)}
				last = sg.Args[0]
			case sfnt.SegmentOpLineTo:
				cur = append(cur, place(sg.Args[0], pen))
				last = sg.Args[0]
			case sfnt.SegmentOpQuadTo:
				for t := 1; t <= 4; t++ {
					cur = append(cur, place(quad(last, sg.Args[0], sg.Args[1], float64(t)/4), pen))
				}
				last = sg.Args[1]
			case sfnt.SegmentOpCubeTo:
				for t := 1; t <= 6; t++ {
					cur = append(cur, place(cube(last, sg.Args[0], sg.Args[1], sg.Args[2], float64(t)/6), pen))
				}
				last = sg.Args[2]
			}
		}
		if len(cur) > 1 {
			r.polys = append(r.polys, cur)
		}
		if a, err := f.GlyphAdvance(&r.buf, g, ppem, font.HintingNone); err == nil {
			pen += float64(a) / 64
		}
		prev = g
	}
	r.fill(s.col)
	return nil
}

func quad(a, b, c fixed.Point26_6, t float64) fixed.Point26_6 {
	u := 1 - t
	return fixed.Point26_6{
		X: fixed.Int26_6(u*u*float64(a.X) + 2*u*t*float64(b.X) + t*t*float64(c.X)),
		Y: fixed.Int26_6(u*u*float64(a.Y) + 2*u*t*float64(b.Y) + t*t*float64(c.Y)),
	}
}

func cube(a, b, c, d fixed.Point26_6, t float64) fixed.Point26_6 {
	u := 1 - t
	return fixed.Point26_6{
		X: fixed.Int26_6(u*u*u*float64(a.X) + 3*u*u*t*float64(b.X) + 3*u*t*t*float64(c.X) + t*t*t*float64(d.X)),
		Y: fixed.Int26_6(u*u*u*float64(a.Y) + 3*u*u*t*float64(b.Y) + 3*u*t*t*float64(c.Y) + t*t*t*float64(d.Y)),
	}
}
