package cli

import (
	"bytes"
	"strings"
	"testing"
)

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

// The table fitted to a width: narrow columns stay whole, the widest gives way; cells
// from the cluster show their control characters; the header is bold and columns
// coloured after padding.
func TestTableOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*Table)
		want  string
	}{
		{"whole cells", func(*Table) {},
			"NAME    REASON    MESSAGE\nweb-1   BackOff   Back-off restarting failed container web\nweb-2   \\x1b[2J   ok\n"},
		{"fitted to 30 columns", func(t *Table) { t.Width = 30 },
			"NAME    REASON    MESSAGE\nweb-1   BackOff   Back-off re…\nweb-2   \\x1b[2J   ok\n"},
		{"indent and gap", func(t *Table) { t.Indent, t.Gap = "  ", 1 },
			"  NAME  REASON  MESSAGE\n  web-1 BackOff Back-off restarting failed container web\n  web-2 \\x1b[2J ok\n"},
		{"styles", func(t *Table) {
			t.Styles = &Styles{}
			t.Colour = []func(string) string{nil, func(s string) string { return "<" + s + ">" }}
		}, "NAME    REASON    MESSAGE\nweb-1   <BackOff>   Back-off restarting failed container web\nweb-2   <\\x1b[2J>   ok\n"},
	} {
		var b bytes.Buffer
		tb := NewTable(&b, "name", "reason", "message")
		tc.setup(tb)
		tb.Row("web-1", "BackOff", "Back-off restarting failed container web")
		tb.Row("web-2", "\x1b[2J", "ok", "extra cell dropped")
		if err := tb.Flush(); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.name, b.String(), tc.want)
		}
		if tc.name == "fitted to 30 columns" {
			for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
				if TextWidth(l) > 30 {
					t.Errorf("line wider than 30: %q", l)
				}
			}
		}
	}
}
