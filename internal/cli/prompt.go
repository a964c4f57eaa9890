package cli

import (
	"bufio"
	"fmt"
	"strings"
)

// Confirm asks a yes/no question on the terminal; the answer defaults to no.
func Confirm(s *IOStreams, question string) (bool, error) {
	fmt.Fprintf(s.ErrOut, "%s [y/N]: ", question)
	line, err := bufio.NewReader(s.In).ReadString('\n')
	if err != nil && line == "" {
		return false, ErrAborted
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
