package actions

import (
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// The runner's RobustaPod.get_logs post-processing, case by case. Each want is what
// the Python code gives for the same input (worked out from its re.findall / re.sub
// calls, not produced by this code).
func TestLogProcessor(t *testing.T) {
	pw := []namedRegexPattern{{Name: "password", Regex: `password=\S+`}}
	mailIP := []namedRegexPattern{{Name: "email", Regex: `[\w.]+@[\w.]+`}, {Name: "ip", Regex: `\d+(\.\d+){3}`}}
	mailLog := "mail bob@example.com from 10.1.2.3\nnothing here\n"
	errLog := "a ERROR one\nb ok\nc ERROR two\n"
	for _, tc := range []struct {
		name     string
		filter   string
		patterns []namedRegexPattern
		style    string
		in, want string
	}{
		// Styles: no style given is SAME_LENGTH_ASTERISKS (get_logs' else branch).
		{"no style: asterisks", "", pw, "", "user=bob password=hunter2\n", "user=bob ****************\n"},
		{"asterisks", "", pw, styleAsterisks, "user=bob password=hunter2\n", "user=bob ****************\n"},
		{"named, upper-cased in brackets", "", pw, styleNamed, "user=bob password=hunter2\n", "user=bob [PASSWORD]\n"},
		{"named, the default name", "", []namedRegexPattern{{Name: "Redacted", Regex: `s3cr3t`}}, styleNamed, "k=s3cr3t", "k=[REDACTED]"},
		// Several patterns, each over the whole text, in the order given.
		{"several, asterisks", "", mailIP, styleAsterisks, mailLog, "mail *************** from ********\nnothing here\n"},
		{"several, named", "", mailIP, styleNamed, mailLog, "mail [EMAIL] from [IP]\nnothing here\n"},
		{"a later pattern sees the earlier's output", "", []namedRegexPattern{{Name: "secret", Regex: `s3cr3t`}, {Name: "bracket", Regex: `\[SECRET\]`}}, styleNamed,
			"key s3cr3t end", "key [BRACKET] end"},
		// Overlaps: re.sub replaces non-overlapping matches left to right.
		{"overlapping matches of one pattern", "", []namedRegexPattern{{Name: "x", Regex: `aba`}}, styleAsterisks, "ababa", "***ba"},
		{"overlapping matches of one pattern, named", "", []namedRegexPattern{{Name: "x", Regex: `aba`}}, styleNamed, "ababa", "[X]ba"},
		{"patterns overlapping each other", "", []namedRegexPattern{{Name: "1", Regex: `abc`}, {Name: "2", Regex: `cde`}}, styleAsterisks, "abcde", "***de"},
		{"patterns overlapping each other, named", "", []namedRegexPattern{{Name: "1", Regex: `abc`}, {Name: "2", Regex: `cde`}}, styleNamed, "abcde", "[1]de"},
		{"no match", "", pw, styleNamed, "nothing secret here\n", "nothing secret here\n"},
		// Python's len counts characters.
		{"asterisks per character", "", []namedRegexPattern{{Name: "t", Regex: `token=\S+`}}, "", "token=héllo! x", "************ x"},
		// Python's \d, \w and \s are Unicode-aware for str patterns; \Z is the end.
		{"unicode word", "", []namedRegexPattern{{Regex: `token=\w+`}}, "", "token=héllo! x", "***********! x"},
		{"unicode digits", "", []namedRegexPattern{{Regex: `\d+`}}, "", "id ٣٤5 x", "id *** x"},
		{"unicode spaces", "", []namedRegexPattern{{Regex: `a\sb`}}, "", "a\u00a0b a\u2003b a\x1cb", "*** *** ***"},
		{"word in a class", "", []namedRegexPattern{{Regex: `[\w-]+@x`}}, "", "jürgen-k@x", "**********"},
		{"non-word", "", []namedRegexPattern{{Regex: `\W+`}}, "", "ab, ç!d", "ab**ç*d"},
		{"negated class of digits", "", []namedRegexPattern{{Regex: `[^\d]+`}}, "", "ab٣c", "**٣*"},
		{"\\Z is the end of the text", "", []namedRegexPattern{{Regex: `end\Z`}}, "", "end end", "end ***"},
		// The name goes through str.upper() and then re.sub's template rules.
		{"full upper-casing", "", []namedRegexPattern{{Name: "straße", Regex: `\d+\.\d+\.\d+\.\d+`}}, styleNamed, "ip 10.0.0.1 x", "ip [STRASSE] x"},
		{"group reference in the name", "", []namedRegexPattern{{Name: `a\1`, Regex: `(x)y`}}, styleNamed, "xy z", "[Ax] z"},
		{"escaped backslash in the name", "", []namedRegexPattern{{Name: `a\\b`, Regex: `xy`}}, styleNamed, "xy z", `[A\B] z`},
		{"other escapes kept", "", []namedRegexPattern{{Name: `a.\-`, Regex: `xy`}}, styleNamed, "xy z", `[A.\-] z`},
		{"a backslash before the closing bracket", "", []namedRegexPattern{{Name: `a\`, Regex: `x`}}, styleNamed, "x", `[A\]`},
		{"octal escapes", "", []namedRegexPattern{{Name: `\0`, Regex: `x`}}, styleNamed, "x", "[\x00]"},
		{"three octal digits", "", []namedRegexPattern{{Name: `\101`, Regex: `x`}}, styleNamed, "x", "[A]"},
		// filter_regex: "\n".join(re.findall(...)), not whole lines.
		{"filter keeps the matches", `ERROR \w+`, nil, "", errLog, "ERROR one\nERROR two"},
		{"filter with one group keeps the group", `ERROR (\w+)`, nil, "", errLog, "one\ntwo"},
		{"filter for whole lines", `.*ERROR.*`, nil, "", errLog, "a ERROR one\nc ERROR two"},
		{"filter, an unmatched group is empty", `ERROR|(ok)`, nil, "", errLog, "\nok\n"},
		{"filter matching nothing", `nomatch`, nil, "", errLog, ""},
		{"filter, then redaction", `.*ERROR.*`, []namedRegexPattern{{Name: "n", Regex: `two`}}, "", errLog, "a ERROR one\nc ERROR ***"},
		{"empty log", `.*`, pw, styleNamed, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newLogProcessor(tc.filter, tc.patterns, tc.style)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.apply(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// What the runner refuses (or fails on) is refused before any log is fetched, with
// the param named.
func TestLogProcessorRefuses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		filter   string
		patterns []namedRegexPattern
		style    string
		want     string
	}{
		{"unknown style", "", nil, "asterisks", `regex_replacement_style "asterisks" is not one of SAME_LENGTH_ASTERISKS, NAMED`},
		{"bad filter", `(`, nil, "", `filter_regex: regex "("`},
		{"filter with two groups", `(a)(b)`, nil, "", `filter_regex "(a)(b)" has 2 capture groups`},
		{"lookahead", "", []namedRegexPattern{{Name: "x", Regex: `a(?=b)`}}, "", `regex_replacer_patterns item 0 (x): regex "a(?=b)"`},
		{"letter escape in the name", "", []namedRegexPattern{{Name: `a\d`, Regex: `x`}}, styleNamed, `name "a\\d": bad escape \D`},
		{"missing group in the name", "", []namedRegexPattern{{Name: `\2`, Regex: `(x)`}}, styleNamed, `invalid group reference 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newLogProcessor(tc.filter, tc.patterns, tc.style)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
	// A name with a letter escape is fine with the asterisks style: it is not used.
	if _, err := newLogProcessor("", []namedRegexPattern{{Name: `a\d`, Regex: `x`}}, styleAsterisks); err != nil {
		t.Fatal(err)
	}
}

// Python's rows[:n] for max_events.
func TestPySliceRows(t *testing.T) {
	rows := [][]string{{"a"}, {"b"}, {"c"}}
	for _, tc := range []struct {
		n         int64
		want      int
		truncated int
	}{{8, 3, 0}, {2, 2, 1}, {0, 0, 3}, {-1, 2, 1}, {-5, 0, 3}} {
		b := pySliceRows(engine.Table("t", []string{"x"}, rows), tc.n)
		if len(b.Rows) != tc.want || b.Truncated != tc.truncated {
			t.Errorf("[:%d]: %d rows, %d left out; want %d, %d", tc.n, len(b.Rows), b.Truncated, tc.want, tc.truncated)
		}
	}
}

// A filter that runs while the log streams gives what the runner's findall over the
// whole text gives; filters that could differ line by line run on the whole text.
func TestLogProcessorStreams(t *testing.T) {
	log := "a ERROR one\nb ok\n\nc ERROR two\nd end"
	red := []namedRegexPattern{{Name: "n", Regex: `two`}}
	for _, tc := range []struct {
		filter  string
		perLine bool
	}{
		{`ERROR \w+`, true},
		{`ERROR (\w+)`, true},
		{`.*ERROR.*`, true},
		{`ERROR|(ok)`, true},
		{`\bend\b`, true},
		{`nomatch`, true},
		{`x*`, false},             // matches the empty string
		{`^a.*`, false},           // start of the text only
		{`(?m)^[a-z]`, false},     // line anchors
		{`ok\s+c`, false},         // \s takes the newline
		{`[^x]+`, false},          // so does a negated class
		{`(?s)ok.c`, false},       // and . with s
		{`ERROR \w+|\n\n`, false}, // a literal newline
	} {
		p, err := newLogProcessor(tc.filter, red, "")
		if err != nil {
			t.Fatal(err)
		}
		if p.perLine != tc.perLine {
			t.Errorf("%s: perLine %v, want %v", tc.filter, p.perLine, tc.perLine)
		}
		out := &capWriter{max: MaxLogBytes}
		w := p.writer(out)
		for _, l := range strings.SplitAfter(log, "\n") {
			_, _ = w.Write([]byte(l))
		}
		if got, want := p.finish(out.Bytes()), p.apply(log); got != want {
			t.Errorf("%s: streamed %q, whole text %q", tc.filter, got, want)
		}
	}
}
