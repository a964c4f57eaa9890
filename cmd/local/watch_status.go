package local

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/engine/runner"
)

// statusLine keeps one line at the bottom of a terminal's stderr with the watch's
// rates (events/s, queue, findings sent), redrawn every second. Log lines and
// findings printed to the same terminal clear it first and redraw it after, so it
// never mixes with them. Off (plain logs only) when stderr is not a terminal or with
// --quiet; with NO_COLOR it is drawn without colour.
type statusLine struct {
	w       io.Writer
	st      *cli.Styles
	enabled bool
	stats   func() runner.Stats

	mu      sync.Mutex
	line    string // what is drawn now; "" when nothing is
	last    runner.Stats
	lastAt  time.Time
	stop    chan struct{}
	stopped chan struct{}
}

func newStatusLine(ios *cli.IOStreams, quiet bool) *statusLine {
	return &statusLine{w: ios.ErrOut, st: ios.StderrStyles(), enabled: ios.IsStderrTTY() && !quiet,
		stop: make(chan struct{}), stopped: make(chan struct{})}
}

// start draws the line every second from stats until Stop.
func (s *statusLine) start(stats func() runner.Stats) {
	if !s.enabled {
		close(s.stopped)
		return
	}
	s.stats, s.lastAt = stats, time.Now()
	s.last = stats()
	go func() {
		defer close(s.stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case now := <-t.C:
				s.tick(now)
			}
		}
	}()
}

func (s *statusLine) tick(now time.Time) {
	cur := s.stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	rate := float64(cur.Done-s.last.Done) / now.Sub(s.lastAt).Seconds()
	s.last, s.lastAt = cur, now
	line := fmt.Sprintf("%.1f events/s · queue %d/%d · %d findings sent", rate, cur.Waiting, cur.Capacity, cur.Findings)
	if cur.Dropped > 0 {
		line += " · " + s.st.Error(fmt.Sprintf("%d events dropped (queue full)", cur.Dropped))
	}
	s.line = s.st.Muted("watch: ") + line
	fmt.Fprintf(s.w, "\r\033[K%s", s.line)
}

// around runs print (which writes whole lines to the terminal) with the line
// cleared, and draws it again after.
func (s *statusLine) around(print func()) {
	if !s.enabled {
		print()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.line != "" {
		fmt.Fprint(s.w, "\r\033[K")
	}
	print()
	if s.line != "" {
		fmt.Fprint(s.w, s.line)
	}
}

// Writer is w with the status line kept out of the way of what is written (whole
// lines, as the loggers write them).
func (s *statusLine) Writer(w io.Writer) io.Writer {
	if !s.enabled {
		return w
	}
	return statusWriter{s: s, w: w}
}

type statusWriter struct {
	s *statusLine
	w io.Writer
}

func (sw statusWriter) Write(p []byte) (n int, err error) {
	sw.s.around(func() { n, err = sw.w.Write(p) })
	return n, err
}

// Stop clears the line for good.
func (s *statusLine) Stop() {
	if !s.enabled {
		return
	}
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.line != "" {
		fmt.Fprint(s.w, "\r\033[K")
		s.line = ""
	}
}
