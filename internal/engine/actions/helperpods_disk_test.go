package actions

import "testing"

// The sizes and the percentage read as the runner's humanize and round print them.
func TestNaturalSizeAndRound(t *testing.T) {
	for _, tc := range []struct {
		n    float64
		want string
	}{
		{0, "0 Bytes"}, {1, "1 Byte"}, {1023, "1023 Bytes"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{10 * 1024 * 1024, "10.0 MiB"}, {-2048, "-2.0 KiB"}, {50 * (1 << 30), "50.0 GiB"},
	} {
		if got := naturalSize(tc.n); got != tc.want {
			t.Errorf("naturalSize(%v) = %q, want %q", tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct {
		x    float64
		want string
	}{{50, "50.0"}, {45.666, "45.67"}, {12.5, "12.5"}} {
		if got := pyRound2(tc.x); got != tc.want {
			t.Errorf("pyRound2(%v) = %q, want %q", tc.x, got, tc.want)
		}
	}
}
