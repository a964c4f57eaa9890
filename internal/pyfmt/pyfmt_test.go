package pyfmt

import (
	"math"
	"testing"
)

// The wanted strings were printed by CPython 3 (repr(f), repr(s), json.dumps(s)).
func TestFloatRepr(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0.0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1.0, "1.0"},
		{1000000.0, "1000000.0"},
		{123456789.0, "123456789.0"},
		{1000000000000000.0, "1000000000000000.0"},
		{1e+16, "1e+16"},
		{1.5e+16, "1.5e+16"},
		{0.0001, "0.0001"},
		{0.00012, "0.00012"},
		{1.5e-05, "1.5e-05"},
		{3.14159, "3.14159"},
		{-2.5, "-2.5"},
		{1e+22, "1e+22"},
		{5e-324, "5e-324"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
		{33.333333333333336, "33.333333333333336"},
	} {
		if got := FloatRepr(c.in); got != c.want {
			t.Errorf("FloatRepr(%v) = %q, want %q", c.in, got, c.want)
		}
	}
	// json.dumps writes the same digits, and names the non-finite values.
	for in, want := range map[float64]string{1e6: "1000000.0", 1e16: "1e+16", math.Inf(1): "Infinity", math.Inf(-1): "-Infinity"} {
		if got := JSONFloat(in); got != want {
			t.Errorf("JSONFloat(%v) = %q, want %q", in, got, want)
		}
	}
	if got := JSONFloat(math.NaN()); got != "NaN" {
		t.Errorf("JSONFloat(NaN) = %q, want NaN", got)
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct{ in, repr, json string }{
		{"plain", "'plain'", "\"plain\""},
		{"it's", "\"it's\"", "\"it's\""},
		{"say \"hi\"", "'say \"hi\"'", "\"say \\\"hi\\\"\""},
		{"both ' and \"", "'both \\' and \"'", "\"both ' and \\\"\""},
		{"tab\there\nnl", "'tab\\there\\nnl'", "\"tab\\there\\nnl\""},
		{"back\\slash", "'back\\\\slash'", "\"back\\\\slash\""},
		{"\u00e9 \u00fc", "'\u00e9 \u00fc'", "\"\\u00e9 \\u00fc\""},
		{"\u20ac", "'\u20ac'", "\"\\u20ac\""},
		{"\U0001f600", "'\U0001f600'", "\"\\ud83d\\ude00\""},
		{"\u007f\u0080\u009f", "'\\x7f\\x80\\x9f'", "\"\\u007f\\u0080\\u009f\""},
		{"\u200b", "'\\u200b'", "\"\\u200b\""},
		{"\u00a0", "'\\xa0'", "\"\\u00a0\""},
		{"\u0001", "'\\x01'", "\"\\u0001\""},
	} {
		if got := StrRepr(c.in); got != c.repr {
			t.Errorf("StrRepr(%q) = %s, want %s", c.in, got, c.repr)
		}
		if got := JSONString(c.in); got != c.json {
			t.Errorf("JSONString(%q) = %s, want %s", c.in, got, c.json)
		}
	}
}
