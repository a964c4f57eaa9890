package actions

import (
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// namedRegexPattern is Robusta's NamedRegexPattern: one redaction rule.
type namedRegexPattern struct {
	Name  string `param:"name" default:"Redacted" doc:"what the match becomes with the NAMED style, upper-cased in brackets: [NAME]"`
	Regex string `param:"regex" required:"true" doc:"regular expression of the text to hide"`
}

// logEnricherParams is Robusta's LogEnricherParams, shared by the log actions.
type logEnricherParams struct {
	Container             string              `param:"container_name" doc:"container (default: the alert's container label when the pod has it, else the first)"`
	WarnOnMissingLabel    bool                `param:"warn_on_missing_label" doc:"on an alert that names no pod, add a line saying the logs cannot be fetched (default: add nothing)"`
	RegexReplacerPatterns []namedRegexPattern `param:"regex_replacer_patterns" doc:"redaction rules ({name, regex}) applied to the log in order"`
	RegexReplacementStyle string              `param:"regex_replacement_style" enum:"SAME_LENGTH_ASTERISKS|NAMED" doc:"what a redacted match becomes: as many * as it has characters (the default), or [NAME]"`
	Previous              bool                `param:"previous" doc:"logs of the previous container"`
	FilterRegex           string              `param:"filter_regex" doc:"keep only the text this regular expression matches, one match per line (Python's re.findall)"`
}

// Robusta's RegexReplacementStyle names.
const (
	styleAsterisks = "SAME_LENGTH_ASTERISKS"
	styleNamed     = "NAMED"
)

// logProcessor is what the runner's RobustaPod.get_logs does to a fetched log before
// attaching it: filter_regex first, then each redaction rule in order.
type logProcessor struct {
	filter *regexp.Regexp
	// perLine says the filter gives the same matches line by line as over the whole
	// text, so it can run while the log streams, before the 1 MiB cap.
	perLine   bool
	replacers []logReplacer
}

type logReplacer struct {
	re *regexp.Regexp
	// named is the [NAME] replacement (a re.sub template); nil means asterisks.
	named *subTemplate
}

// newLogProcessor compiles the params once. The patterns are Python regular
// expressions in the runner; here they are Go's RE2 (see compilePyRegex), which has
// no lookaround or backreferences, whose \b is ASCII only, and whose $ (without (?m))
// matches only at the very end, not also before a final newline.
func newLogProcessor(filterRegex string, patterns []namedRegexPattern, style string) (*logProcessor, error) {
	p := &logProcessor{}
	if filterRegex != "" {
		re, err := compilePyRegex(filterRegex)
		if err != nil {
			return nil, fmt.Errorf("filter_regex: %w", err)
		}
		if re.NumSubexp() > 1 {
			// re.findall returns tuples then, and the runner's "\n".join of them fails.
			return nil, fmt.Errorf("filter_regex %q has %d capture groups: the runner's re.findall keeps one group's text at most (make the others non-capturing with (?:...))", filterRegex, re.NumSubexp())
		}
		p.filter = re
		p.perLine = lineLocal(re)
	}
	switch style {
	case "", styleAsterisks, styleNamed:
	default:
		// The runner looks the name up in its enum (RegexReplacementStyle[...]).
		return nil, fmt.Errorf("regex_replacement_style %q is not one of %s, %s", style, styleAsterisks, styleNamed)
	}
	for i, rp := range patterns {
		re, err := compilePyRegex(rp.Regex)
		if err != nil {
			return nil, fmt.Errorf("regex_replacer_patterns item %d (%s): %w", i, rp.Name, err)
		}
		r := logReplacer{re: re}
		if style == styleNamed {
			t, err := parseSubTemplate("["+pyUpper(rp.Name)+"]", re)
			if err != nil {
				return nil, fmt.Errorf("regex_replacer_patterns item %d: name %q: %w", i, rp.Name, err)
			}
			r.named = t
		}
		p.replacers = append(p.replacers, r)
	}
	return p, nil
}

// compilePyRegex compiles a Python pattern for RE2, with Python's Unicode meaning of
// \d, \w and \s (and their negations outside a class) and \Z as the end of text.
func compilePyRegex(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pyClasses(pattern))
	if err != nil {
		return nil, fmt.Errorf("regex %q: %v (Go's RE2 has no lookaround or backreferences)", pattern, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return re, nil
}

// Python's classes for str patterns, in RE2: \d is any decimal digit, \w any letter,
// digit or underscore, \s also the Unicode spaces and separators str.isspace() knows.
const (
	pyDigit = `\p{Nd}`
	pyWord  = `\p{L}\p{N}_`
	pySpace = `\t\n\v\f\r\x{1c}-\x{1f}\x{85}\p{Z}`
)

// pyClasses rewrites the escapes whose meaning differs between Python's re and RE2.
// Inside a class the negated \W and \S stay as RE2 reads them (ASCII), since RE2
// cannot put a negated set inside a class.
func pyClasses(p string) string {
	var b strings.Builder
	inClass, classStart := false, 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			i++
			e := p[i]
			switch {
			case e == 'd':
				b.WriteString(pyDigit)
			case e == 'D':
				b.WriteString(`\P{Nd}`)
			case e == 'w' && inClass:
				b.WriteString(pyWord)
			case e == 'w':
				b.WriteString("[" + pyWord + "]")
			case e == 'W' && !inClass:
				b.WriteString("[^" + pyWord + "]")
			case e == 's' && inClass:
				b.WriteString(pySpace)
			case e == 's':
				b.WriteString("[" + pySpace + "]")
			case e == 'S' && !inClass:
				b.WriteString("[^" + pySpace + "]")
			case e == 'Z' && !inClass:
				b.WriteString(`\z`)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			continue
		case c == '[' && !inClass:
			inClass, classStart = true, i
			b.WriteByte(c)
			// A ] first in the class (after an optional ^) is a literal.
			if i+1 < len(p) && p[i+1] == '^' {
				i++
				b.WriteByte('^')
			}
			if i+1 < len(p) && p[i+1] == ']' {
				i++
				b.WriteByte(']')
			}
			continue
		case c == ']' && inClass && i > classStart:
			inClass = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// active says whether the processor changes anything.
func (p *logProcessor) active() bool { return p.filter != nil || len(p.replacers) > 0 }

// apply is get_logs' post-processing: an empty log stays as it is; filter_regex keeps
// its matches joined by newlines (re.findall: the whole match, or the text of the one
// group); each rule then replaces all its matches, in the order given.
func (p *logProcessor) apply(log string) string {
	if log == "" {
		return log
	}
	if p.filter != nil {
		log = strings.Join(pyFindall(p.filter, log), "\n")
		if log == "" {
			return log
		}
	}
	for _, r := range p.replacers {
		if r.named != nil {
			log = r.named.replaceAll(r.re, log)
			continue
		}
		// "*" times len(match): Python counts characters, not bytes.
		log = r.re.ReplaceAllStringFunc(log, func(m string) string {
			return strings.Repeat("*", utf8.RuneCountInString(m))
		})
	}
	return log
}

// writer is where the log streams to: through the filter when it can run line by
// line (each match becomes a line of out), else straight into out.
func (p *logProcessor) writer(out *capWriter) io.Writer {
	if p.filter != nil && p.perLine {
		return &findallWriter{re: p.filter, out: out}
	}
	return out
}

// finish turns what the writer kept into the attached text.
func (p *logProcessor) finish(kept []byte) string {
	if p.filter == nil || !p.perLine {
		return p.apply(string(kept))
	}
	// The matches are already there, one per line; the runner joins them with "\n".
	q := *p
	q.filter = nil
	return q.apply(strings.TrimSuffix(string(kept), "\n"))
}

type findallWriter struct {
	re  *regexp.Regexp
	out *capWriter
}

// Write takes whole lines (as StreamLogs writes them).
func (w *findallWriter) Write(line []byte) (int, error) {
	for _, m := range pyFindall(w.re, string(line)) {
		_, _ = w.out.Write([]byte(m + "\n"))
	}
	return len(line), nil
}

// lineLocal reports whether re finds the same matches in a text as in each of its
// lines: it cannot match a newline, cannot match the empty string (which would be
// found at both ends of a line), and has no anchor to the start or end of the text
// or of a line.
func lineLocal(re *regexp.Regexp) bool {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return false
	}
	t = t.Simplify()
	return !mayMatchNewline(t) && !mayBeEmpty(t)
}

func mayMatchNewline(t *syntax.Regexp) bool {
	switch t.Op {
	case syntax.OpAnyChar, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return true
	case syntax.OpLiteral:
		return strings.ContainsRune(string(t.Rune), '\n')
	case syntax.OpCharClass:
		for i := 0; i+1 < len(t.Rune); i += 2 {
			if t.Rune[i] <= '\n' && '\n' <= t.Rune[i+1] {
				return true
			}
		}
		return false
	}
	for _, s := range t.Sub {
		if mayMatchNewline(s) {
			return true
		}
	}
	return false
}

func mayBeEmpty(t *syntax.Regexp) bool {
	switch t.Op {
	case syntax.OpLiteral:
		return len(t.Rune) == 0
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return false
	case syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpPlus, syntax.OpCapture:
		return mayBeEmpty(t.Sub[0])
	case syntax.OpRepeat:
		return t.Min == 0 || mayBeEmpty(t.Sub[0])
	case syntax.OpConcat:
		for _, s := range t.Sub {
			if !mayBeEmpty(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range t.Sub {
			if mayBeEmpty(s) {
				return true
			}
		}
		return false
	}
	return true // empty match, anchors, word boundaries, no match: zero width
}

// pyFindall is re.findall for a pattern of at most one group.
func pyFindall(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		switch {
		case re.NumSubexp() == 0:
			out = append(out, s[m[0]:m[1]])
		case m[2] >= 0:
			out = append(out, s[m[2]:m[3]])
		default:
			out = append(out, "") // a group that took no part matches as ""
		}
	}
	return out
}

// pyUpper is Python's str.upper: full Unicode case mapping (ß becomes SS).
func pyUpper(s string) string { return cases.Upper(language.Und).String(s) }

// subTemplate is a parsed re.sub replacement string: literal pieces and group
// references.
type subTemplate struct {
	parts []templatePart
}

type templatePart struct {
	lit   string
	group int // -1 for a literal
}

// parseSubTemplate parses a re.sub template as Python's re does: \\ is a backslash,
// \N and \NN refer to groups, \0 and three octal digits are characters, a backslash
// before an ASCII letter other than the standard escapes is an error, and one before
// anything else stays as it is. The name is upper-cased first, so of the letter
// escapes only the errors remain.
func parseSubTemplate(t string, re *regexp.Regexp) (*subTemplate, error) {
	var parts []templatePart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, templatePart{lit: lit.String(), group: -1})
			lit.Reset()
		}
	}
	isOct := func(b byte) bool { return b >= '0' && b <= '7' }
	isDigit := func(b byte) bool { return b >= '0' && b <= '9' }
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c != '\\' {
			lit.WriteByte(c)
			continue
		}
		if i+1 == len(t) {
			return nil, fmt.Errorf(`bad escape (end of pattern): the runner's re.sub refuses a trailing \`)
		}
		i++
		c = t[i]
		switch {
		case c == '\\':
			lit.WriteByte('\\')
		case c == '0':
			// \0, \0o, \0oo: an octal character code.
			j := i + 1
			for j < len(t) && j < i+3 && isOct(t[j]) {
				j++
			}
			v, _ := strconv.ParseUint(t[i:j], 8, 32)
			lit.WriteRune(rune(v))
			i = j - 1
		case isDigit(c):
			if i+2 < len(t) && isOct(c) && isOct(t[i+1]) && isOct(t[i+2]) {
				v, _ := strconv.ParseUint(t[i:i+3], 8, 32)
				if v > 0o377 {
					return nil, fmt.Errorf(`octal escape \%s is out of range`, t[i:i+3])
				}
				lit.WriteRune(rune(v))
				i += 2
				break
			}
			j := i + 1
			if j < len(t) && isDigit(t[j]) {
				j++
			}
			g, _ := strconv.Atoi(t[i:j])
			if g > re.NumSubexp() {
				return nil, fmt.Errorf("invalid group reference %d: the regex has %d groups", g, re.NumSubexp())
			}
			flush()
			parts = append(parts, templatePart{group: g})
			i = j - 1
		case c < utf8.RuneSelf && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'):
			if e, ok := pyEscapes[c]; ok {
				lit.WriteByte(e)
				break
			}
			return nil, fmt.Errorf(`bad escape \%c: the runner's re.sub refuses it`, c)
		default:
			lit.WriteByte('\\')
			lit.WriteByte(c)
		}
	}
	flush()
	return &subTemplate{parts: parts}, nil
}

var pyEscapes = map[byte]byte{'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}

func (t *subTemplate) replaceAll(re *regexp.Regexp, s string) string {
	if len(t.parts) == 1 && t.parts[0].group < 0 {
		lit := t.parts[0].lit
		return re.ReplaceAllLiteralString(s, lit)
	}
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(s[last:m[0]])
		for _, p := range t.parts {
			if p.group < 0 {
				b.WriteString(p.lit)
			} else if m[2*p.group] >= 0 {
				b.WriteString(s[m[2*p.group]:m[2*p.group+1]])
			}
		}
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}
