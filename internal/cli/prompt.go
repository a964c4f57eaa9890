package cli

import (
	"errors"
	"io"
	"os"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/terminal"
)

// ErrCannotPrompt is returned by prompts when there is no terminal to ask on; commands
// say which flag answers the question instead (--yes).
var ErrCannotPrompt = errors.New("cannot ask for confirmation: stdin or stdout is not a terminal")

// Confirm asks a yes/no question on the terminal (the prompt library gen-config uses);
// the answer defaults to no. Ctrl-C or end of input is ErrAborted; without a terminal
// it returns ErrCannotPrompt, asking nothing.
func Confirm(s *IOStreams, question string) (bool, error) {
	in, inOK := s.In.(*os.File)
	// The question goes to stderr when it is the terminal, so stdout stays for output.
	out, outOK := s.ErrOut.(*os.File)
	if !outOK || !isTerminal(out) {
		out, outOK = s.Out.(*os.File)
	}
	if !s.CanPrompt() || !inOK || !outOK {
		return false, ErrCannotPrompt
	}
	ok := false
	err := survey.AskOne(&survey.Confirm{Message: question, Default: false}, &ok, survey.WithStdio(in, out, s.ErrOut))
	if errors.Is(err, terminal.InterruptErr) || errors.Is(err, io.EOF) {
		return false, ErrAborted
	}
	return ok, err
}
