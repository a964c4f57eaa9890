// Package graph draws the runner's time-series charts: to SVG and PNG with a small
// renderer of its own (one drawing written as SVG or rasterised), and to a terminal as
// a braille line chart.
package graph

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Format is how values are written on the value axis (the runner's
// ChartValuesFormat).
type Format string

const (
	Plain      Format = "Plain"
	Bytes      Format = "Bytes"
	Percentage Format = "Percentage"
	CPUUsage   Format = "CPUUsage"
)

// Series is one line of a chart: samples at Unix times (seconds).
type Series struct {
	Label      string    `json:"label"`
	Timestamps []float64 `json:"timestamps"`
	Values     []float64 `json:"values"`
}

// Line is a horizontal line at a value (a limit or a request), or, with Vertical, a
// moment (the OOM kill time, Value a Unix time).
type Line struct {
	Label    string  `json:"label"`
	Value    float64 `json:"value"`
	Vertical bool    `json:"vertical,omitempty"`
}

// Chart is a graph block's content: what the runner's pygal chart shows, as data.
type Chart struct {
	Title  string   `json:"title"`
	Query  string   `json:"query,omitempty"`
	Format Format   `json:"format,omitempty"`
	Series []Series `json:"series"`
	Lines  []Line   `json:"lines,omitempty"`
}

// FormatValue writes v as the runner's value formatter does for f.
func FormatValue(f Format, v float64) string {
	switch f {
	case Bytes:
		return binarySize(v)
	case Percentage:
		return fmt.Sprintf("%.1f%%", 100*v)
	case CPUUsage:
		return fmt.Sprintf("%.1fm", 1000*v)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// binarySize is humanize.naturalsize(v, binary=True): "512 Bytes", "1.5 KiB".
func binarySize(v float64) string {
	a := math.Abs(v)
	if a < 1024 {
		if a == 1 {
			return "1 Byte"
		}
		return fmt.Sprintf("%.0f Bytes", v)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	u := -1
	for a >= 1024 && u < len(units)-1 {
		a /= 1024
		v /= 1024
		u++
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}

// Bounds are the chart's time range and value maximum (NaN and Inf ignored); ok is
// false when there is no finite sample.
func (c *Chart) Bounds() (tmin, tmax, vmax float64, ok bool) {
	tmin, tmax = math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for i, t := range s.Timestamps {
			v := s.Values[i]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			ok = true
			tmin, tmax, vmax = math.Min(tmin, t), math.Max(tmax, t), math.Max(vmax, v)
		}
	}
	for _, l := range c.Lines {
		if l.Vertical {
			tmin, tmax = math.Min(tmin, l.Value), math.Max(tmax, l.Value)
		} else {
			vmax = math.Max(vmax, l.Value)
		}
	}
	return tmin, tmax, vmax, ok
}

// Points counts the chart's samples.
func (c *Chart) Points() int {
	n := 0
	for _, s := range c.Series {
		n += len(s.Values)
	}
	return n
}

func timeLabel(t float64) string {
	return time.Unix(int64(t), 0).UTC().Format("Jan 2 15:04")
}

// MarshalJSON writes NaN and infinite samples (gaps) as null, which JSON can hold.
func (s Series) MarshalJSON() ([]byte, error) {
	vals := make([]*float64, len(s.Values))
	for i := range s.Values {
		if v := s.Values[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			vals[i] = &s.Values[i]
		}
	}
	return json.Marshal(struct {
		Label      string     `json:"label"`
		Timestamps []float64  `json:"timestamps"`
		Values     []*float64 `json:"values"`
	}{s.Label, s.Timestamps, vals})
}

// UnmarshalJSON reads null samples back as NaN.
func (s *Series) UnmarshalJSON(b []byte) error {
	var raw struct {
		Label      string     `json:"label"`
		Timestamps []float64  `json:"timestamps"`
		Values     []*float64 `json:"values"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	s.Label, s.Timestamps, s.Values = raw.Label, raw.Timestamps, make([]float64, len(raw.Values))
	for i, v := range raw.Values {
		s.Values[i] = math.NaN()
		if v != nil {
			s.Values[i] = *v
		}
	}
	return nil
}
