package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit codes. Usage errors (bad flags or arguments) are told apart from failures so
// scripts can tell "you called me wrong" from "it did not work".
const (
	ExitOK      = 0
	ExitError   = 1
	ExitUsage   = 2
	ExitAborted = 130
)

// UsageError is a mistake in how the command was called: exit code 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// UsageErrorf builds a UsageError.
func UsageErrorf(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// HintError carries a short suggestion printed on its own line after the error.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// WithHint attaches a hint to err (nil stays nil).
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &HintError{Err: err, Hint: hint}
}

// ErrAborted is returned when the user cancels (Ctrl-C, "no" at a confirm).
var ErrAborted = errors.New("aborted")

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, ErrAborted) || errors.Is(err, context.Canceled):
		return ExitAborted
	}
	return ExitError
}

// PrintError writes err as one line "Error: ...", plus a "Hint: ..." line when the
// error carries one. Multi-line messages from libraries are folded onto one line.
func PrintError(w io.Writer, st *Styles, err error) {
	// Messages quote cluster data (names, a runner's reply): shown, never obeyed.
	msg := Printable(strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " "))
	fmt.Fprintf(w, "%s %s\n", st.Error("Error:"), msg)
	var he *HintError
	if errors.As(err, &he) && he.Hint != "" {
		fmt.Fprintf(w, "%s %s\n", st.Muted("Hint:"), he.Hint)
	}
}
