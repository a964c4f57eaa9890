package local

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/engine/runner"
)

// On a terminal the line shows the rate, the queue and the findings, and log lines
// clear it and redraw it; off a terminal, or with --quiet, nothing but the logs.
func TestStatusLine(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tty, quiet bool
		drawn      bool
	}{
		{"terminal", true, false, true},
		{"terminal, --quiet", true, true, false},
		{"not a terminal", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, _, errb := cli.Test()
			ios.SetTTY(false, false, tc.tty)
			ios.SetColorDisabled(true)
			s := newStatusLine(ios, tc.quiet)
			st := runner.Stats{Capacity: 1000}
			s.start(func() runner.Stats { return st })
			s.Stop() // the ticker is not needed: tick is driven by hand below
			if tc.drawn {
				s.enabled = true
				s.lastAt = time.Unix(100, 0)
				st = runner.Stats{Done: 50, Waiting: 3, Capacity: 1000, Findings: 7, Dropped: 2}
				s.tick(time.Unix(102, 0))
			}
			fmt.Fprintln(s.Writer(ios.ErrOut), "a log line")
			got := errb.String()
			if !tc.drawn {
				if got != "a log line\n" {
					t.Fatalf("%q", got)
				}
				return
			}
			line := "watch: 25.0 events/s · queue 3/1000 · 7 findings sent · 2 events dropped (queue full)"
			want := "\r\033[K" + line + "\r\033[Ka log line\n" + line
			if got != want {
				t.Fatalf("got  %q\nwant %q", got, want)
			}
			if strings.Contains(got, "\033[3") {
				t.Error("colour with colour off")
			}
		})
	}
}
