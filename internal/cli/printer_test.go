package cli

import "testing"

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "web-1 restarted", "web-1 restarted"},
		{"layout stays", "a\tb\nc\r\nd", "a\tb\nc\r\nd"},
		{"colour sequence", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"title rewrite (OSC)", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"lone carriage return", "ok\rFAKE", `ok\x0dFAKE`},
		{"bell, backspace, NUL, DEL", "\a\b\x00\x7f", `\x07\x08\x00\x7f`},
		{"C1 CSI as a rune", "a\u009b2Jb", `a\u009b2Jb`},
		{"invalid UTF-8 byte", "a\x9bb", `a\x9bb`},
		{"bidi override", "user\u202egnp.exe", `user\u202egnp.exe`},
		{"unicode stays", "日本語 ✓ — ⏎", "日本語 ✓ — ⏎"},
		{"empty", "", ""},
	} {
		if got := Printable(tc.in); got != tc.want {
			t.Errorf("%s: Printable(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}
