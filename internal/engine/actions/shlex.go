package actions

import (
	"errors"
	"regexp"
	"strings"
)

// The scan actions normalise their argument strings as the runner does with Python's
// shlex.join(shlex.split(s)): split like a POSIX shell (quotes and backslashes, no
// comments, no expansion), then quote each word again where the shell needs it.

var (
	errNoClosingQuote = errors.New("no closing quotation")
	errNoEscapedChar  = errors.New("no escaped character after a trailing backslash")
)

// shlexSplit is Python's shlex.split(s) (posix mode, comments off).
func shlexSplit(s string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   rune // 0, '\'' or '"'
		escaped bool // a backslash was just read
	)
	for _, c := range s {
		switch {
		case escaped:
			// Inside double quotes a backslash escapes only '"' and itself; before any
			// other character it stays, as POSIX shells keep it.
			if quote == '"' && c != '"' && c != '\\' {
				cur.WriteRune('\\')
			}
			cur.WriteRune(c)
			escaped = false
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case quote == '"':
			switch c {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				cur.WriteRune(c)
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			escaped, inWord = true, true
		case c == '\'' || c == '"':
			quote, inWord = c, true
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errNoClosingQuote
	}
	if escaped {
		return nil, errNoEscapedChar
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// shellUnsafe is Python's shlex._find_unsafe (ASCII \w).
var shellUnsafe = regexp.MustCompile(`[^A-Za-z0-9_@%+=:,./-]`)

// shlexQuote is Python's shlex.quote.
func shlexQuote(s string) string {
	if s == "" {
		return "''"
	}
	if !shellUnsafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// shlexNormalize is shlex.join(shlex.split(s)).
func shlexNormalize(s string) (string, error) {
	words, err := shlexSplit(s)
	if err != nil {
		return "", err
	}
	for i, w := range words {
		words[i] = shlexQuote(w)
	}
	return strings.Join(words, " "), nil
}
