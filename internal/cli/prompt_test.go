package cli

import (
	"errors"
	"strings"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"
)

// Without a terminal nothing is asked and the caller learns why.
func TestConfirmNeedsATerminal(t *testing.T) {
	ios, _, _, errOut := Test()
	ios.SetTTY(true, true, true) // claims a TTY, but the streams are buffers
	if ok, err := Confirm(ios, "Delete?"); ok || !errors.Is(err, ErrCannotPrompt) || errOut.Len() != 0 {
		t.Fatalf("%v %v %q", ok, err, errOut.String())
	}
	ios.SetTTY(false, false, false)
	if _, err := Confirm(ios, "Delete?"); !errors.Is(err, ErrCannotPrompt) {
		t.Fatal(err)
	}
}

// On a real pseudo-terminal: "y" says yes, Enter takes the default (no).
func TestConfirmOnATerminal(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   bool
	}{{"y", true}, {"yes", true}, {"n", false}, {"", false}} {
		var screen strings.Builder
		c, err := expect.NewConsole(expect.WithStdout(&screen), expect.WithDefaultTimeout(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ios := &IOStreams{In: c.Tty(), Out: c.Tty(), ErrOut: c.Tty()}
		ios.SetTTY(true, true, true)
		go func() {
			// survey asks the terminal for its size, then (in raw mode) for the cursor
			// position: answer both as a terminal would, then type.
			for _, q := range []string{"Delete web?", "\x1b[999;999f\x1b[6n", "\x1b[?25h\x1b[6n"} {
				if _, err := c.ExpectString(q); err != nil {
					t.Errorf("waiting for %q: %v", q, err)
					return
				}
				if q != "Delete web?" {
					_, _ = c.Send("\x1b[24;80R")
				}
			}
			time.Sleep(50 * time.Millisecond)
			_, _ = c.SendLine(tc.answer)
		}()
		got, err := Confirm(ios, "Delete web?")
		c.Close()
		if err != nil || got != tc.want {
			t.Errorf("answer %q: %v, %v; screen %q", tc.answer, got, err, screen.String())
		}
	}
}
