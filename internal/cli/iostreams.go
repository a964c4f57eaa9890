// Package cli holds what every command shares about talking to a person or a script:
// IO streams with TTY detection, colour styles, spinners, output printers, prompts and
// the one error path.
package cli

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"golang.org/x/term"
)

// IOStreams bundles the standard streams with what we know about them.
// Commands take it from their Options struct so tests can swap in buffers.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool

	colorDisabled bool
	neverPrompt   bool
	termWidth     int
}

// System returns streams bound to the process's stdin, stdout and stderr.
func System() *IOStreams {
	s := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
	}
	// https://no-color.org: any non-empty value disables colour.
	if os.Getenv("NO_COLOR") != "" {
		s.colorDisabled = true
	}
	if os.Getenv("TERM") == "dumb" {
		s.colorDisabled = true
	}
	if s.stdoutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			s.termWidth = w
		}
	}
	return s
}

// Test returns streams backed by buffers, none of them a TTY.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// IsStdinTTY reports whether stdin is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// SetTTY overrides TTY detection; tests use it to exercise terminal-only paths.
func (s *IOStreams) SetTTY(stdin, stdout, stderr bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = stdin, stdout, stderr
}

// SetColorDisabled turns colour off (the --no-color flag).
func (s *IOStreams) SetColorDisabled(v bool) { s.colorDisabled = v }

// SetNeverPrompt forbids prompts (for example --no-input or --yes style flags).
func (s *IOStreams) SetNeverPrompt(v bool) { s.neverPrompt = v }

// ColorEnabled reports whether stdout output may carry ANSI colour.
func (s *IOStreams) ColorEnabled() bool { return !s.colorDisabled && s.stdoutTTY }

// ColorEnabledStderr reports whether stderr output may carry ANSI colour.
func (s *IOStreams) ColorEnabledStderr() bool { return !s.colorDisabled && s.stderrTTY }

// CanPrompt reports whether we may ask the user questions: stdin and stdout are
// terminals and prompting was not switched off.
func (s *IOStreams) CanPrompt() bool {
	return !s.neverPrompt && s.stdinTTY && s.stdoutTTY
}

// ProgressEnabled reports whether spinners and progress bars may draw (on stderr).
func (s *IOStreams) ProgressEnabled() bool { return s.stderrTTY }

// TerminalWidth is the width of stdout if it is a terminal, else 80.
func (s *IOStreams) TerminalWidth() int {
	if s.termWidth > 0 {
		return s.termWidth
	}
	return 80
}
