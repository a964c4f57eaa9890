package actions

import (
	"fmt"
	"strings"
	"testing"
)

func TestCapWriter(t *testing.T) {
	for _, tc := range []struct {
		name         string
		max          int
		lines        []string
		want         string
		droppedLines int64
	}{
		{"under", 100, []string{"a\n", "b\n"}, "a\nb\n", 0},
		{"exact", 4, []string{"a\n", "b\n"}, "a\nb\n", 0},
		{"cut at a line start", 7, []string{"one\n", "two\n", "three\n"}, "three\n", 2},
		{"already at a line start", 6, []string{"one\n", "two\n", "three\n"}, "three\n", 2},
		{"last line longer than max", 5, []string{"one\n", "two\n", "three\n"}, "hree\n", 2},
		{"one long line kept whole when it is all there is", 3, []string{"abcdefgh"}, "fgh", 0},
		{"many small writes", 6, strings.Split(strings.Repeat("xy\n", 1000), "\n"), "xy\nxy\n", 998},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &capWriter{max: tc.max}
			total := 0
			for i, l := range tc.lines {
				if tc.name == "many small writes" && i < len(tc.lines)-1 {
					l += "\n"
				}
				total += len(l)
				_, _ = c.Write([]byte(l))
			}
			got := string(c.Bytes())
			if got != tc.want || c.DroppedLines() != tc.droppedLines || int(c.DroppedBytes())+len(got) != total {
				t.Fatalf("got %q dropped %d lines %d bytes; want %q, %d lines", got, c.DroppedLines(), c.DroppedBytes(), tc.want, tc.droppedLines)
			}
		})
	}
}

// BenchmarkCapWriter50MB streams a 50 MB log, line by line, through the cap.
func BenchmarkCapWriter50MB(b *testing.B) {
	line := []byte(fmt.Sprintf("%s\n", strings.Repeat("x", 99)))
	b.SetBytes(50 << 20)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c := &capWriter{max: MaxLogBytes}
		for n := 0; n < 50<<20; n += len(line) {
			_, _ = c.Write(line)
		}
		if len(c.Bytes()) > MaxLogBytes {
			b.Fatal("over the cap")
		}
	}
}
