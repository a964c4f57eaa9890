package graph

import "math"

// tick is a labelled position on an axis.
type tick struct {
	Value float64
	Label string
}

// niceStep is the smallest of 1, 2 or 5 times a power of ten that cuts span into at
// most n steps.
func niceStep(span float64, n int) float64 {
	if span <= 0 || n < 1 || math.IsNaN(span) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw*(1-1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// multiples are the multiples of step within [min, max].
func multiples(min, max, step float64) []float64 {
	var out []float64
	for i := math.Ceil(min/step - 1e-9); i*step <= max+step*1e-9; i++ {
		v := i * step
		if v == 0 {
			v = 0 // no "-0"
		}
		out = append(out, v)
	}
	return out
}

// valueTicks are at most n ticks over [min, max] at a nice step, labelled in format f.
// Byte values step in nice numbers of the binary unit the range is written in (10 MiB,
// not 10,485,760), so their labels are round.
func valueTicks(f Format, min, max float64, n int) []tick {
	unit := 1.0
	if f == Bytes {
		for span := max - min; span >= 1024*unit && unit < 1<<60; {
			unit *= 1024
		}
	}
	step := niceStep((max-min)/unit, n) * unit
	var out []tick
	for _, v := range multiples(min, max, step) {
		out = append(out, tick{v, FormatValue(f, v)})
	}
	return out
}

// timeSteps are the time tick steps in seconds: round minutes, hours and days.
var timeSteps = []float64{60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400}

// timeTicks are at most n ticks over [min, max] (Unix seconds) at a round time step,
// labelled as the runner's "Jan 2 15:04" in UTC. Steps of a day or less fall on UTC
// clock times, since the Unix epoch is at UTC midnight.
func timeTicks(min, max float64, n int) []tick {
	span := max - min
	step := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if span/s <= float64(n) {
			step = s
			break
		}
	}
	if span/step > float64(n) { // beyond the longest step: nice multiples of it
		step = niceStep(span/step, n) * step
	}
	var out []tick
	for _, v := range multiples(min, max, step) {
		out = append(out, tick{v, timeLabel(v)})
	}
	return out
}
