package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// Spinner shows that something is under way. It draws on stderr only when stderr is a
// terminal; otherwise it is silent, so scripts and logs see no control characters.
type Spinner struct {
	w       io.Writer
	mu      sync.Mutex
	msg     string
	stop    chan struct{}
	done    chan struct{}
	enabled bool
}

// StartSpinner starts a spinner with a message. Stop it with Stop.
func (s *IOStreams) StartSpinner(msg string) *Spinner {
	sp := &Spinner{w: s.ErrOut, msg: msg, enabled: s.ProgressEnabled(),
		stop: make(chan struct{}), done: make(chan struct{})}
	if !sp.enabled {
		close(sp.done)
		return sp
	}
	go sp.run()
	return sp
}

func (sp *Spinner) run() {
	defer close(sp.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		sp.mu.Lock()
		fmt.Fprintf(sp.w, "\r\033[K%s %s", spinnerFrames[i%len(spinnerFrames)], sp.msg)
		sp.mu.Unlock()
		select {
		case <-sp.stop:
			fmt.Fprint(sp.w, "\r\033[K")
			return
		case <-t.C:
		}
	}
}

// SetMessage changes the text next to the spinner.
func (sp *Spinner) SetMessage(msg string) {
	sp.mu.Lock()
	sp.msg = msg
	sp.mu.Unlock()
}

// Stop clears the spinner line. It is safe to call more than once.
func (sp *Spinner) Stop() {
	if sp.enabled {
		sp.mu.Lock()
		select {
		case <-sp.stop:
		default:
			close(sp.stop)
		}
		sp.mu.Unlock()
	}
	<-sp.done
}

// ProgressBar draws bytes done out of a total on stderr, only on a terminal.
// It is an io.Writer so it can sit in an io.TeeReader or io.MultiWriter.
type ProgressBar struct {
	w       io.Writer
	label   string
	total   int64
	done    int64
	enabled bool
	last    time.Time
	mu      sync.Mutex
}

// NewProgressBar returns a bar for total bytes (0 when unknown).
func (s *IOStreams) NewProgressBar(label string, total int64) *ProgressBar {
	return &ProgressBar{w: s.ErrOut, label: label, total: total, enabled: s.ProgressEnabled()}
}

// SetTotal sets the total once it is known.
func (b *ProgressBar) SetTotal(total int64) {
	b.mu.Lock()
	b.total = total
	b.mu.Unlock()
}

// Write counts len(p) bytes as done.
func (b *ProgressBar) Write(p []byte) (int, error) {
	b.Add(int64(len(p)))
	return len(p), nil
}

// Add counts n more bytes as done and redraws at most ten times a second.
func (b *ProgressBar) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if !b.enabled || time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	b.draw()
}

func (b *ProgressBar) draw() {
	const width = 30
	if b.total <= 0 {
		fmt.Fprintf(b.w, "\r\033[K%s %s", b.label, HumanBytes(b.done))
		return
	}
	frac := float64(b.done) / float64(b.total)
	if frac > 1 {
		frac = 1
	}
	filled := int(frac * width)
	fmt.Fprintf(b.w, "\r\033[K%s [%s%s] %3.0f%% %s/%s", b.label,
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100,
		HumanBytes(b.done), HumanBytes(b.total))
}

// Finish draws the final state and ends the line.
func (b *ProgressBar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	b.draw()
	fmt.Fprintln(b.w)
}

// HumanBytes formats a byte count with binary units (1.5 MiB).
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
