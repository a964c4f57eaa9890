package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
	"sigs.k8s.io/yaml"
)

// OutputFormat is the value of the global -o/--output flag.
type OutputFormat string

const (
	OutputText OutputFormat = "text"
	OutputJSON OutputFormat = "json"
	OutputYAML OutputFormat = "yaml"
	// OutputMarkdown is for findings (local run, trigger --sync); other commands
	// print text for it.
	OutputMarkdown OutputFormat = "markdown"
	// OutputSARIF is for `playbooks validate` (code scanning); other commands print
	// text for it.
	OutputSARIF OutputFormat = "sarif"
)

// ParseOutputFormat checks a user-supplied -o value.
func ParseOutputFormat(s string) (OutputFormat, error) {
	switch f := OutputFormat(strings.ToLower(strings.TrimSpace(s))); f {
	case "", OutputText:
		return OutputText, nil
	case OutputJSON, OutputYAML, OutputMarkdown, OutputSARIF:
		return f, nil
	case "md":
		return OutputMarkdown, nil
	}
	return "", UsageErrorf("invalid output format %q: use text, json, yaml, markdown or sarif (validate only)", s)
}

// Structured reports whether the format is meant for scripts.
func (f OutputFormat) Structured() bool { return f == OutputJSON || f == OutputYAML }

// PrintStructured writes v as indented JSON or as YAML. Both go through the same JSON
// tags, so a script sees the same field names whichever it picks.
func PrintStructured(w io.Writer, format OutputFormat, v any) error {
	switch format {
	case OutputJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	case OutputYAML:
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode yaml: %w", err)
		}
		_, err = w.Write(b)
		return err
	}
	return fmt.Errorf("format %q is not a structured output format", format)
}

// Table writes aligned columns: the one table of the CLI, for command listings and
// for tables in findings. Headers are upper-cased as kubectl does; a cell is put on
// one line and its control characters are shown (Printable). Rows are kept until
// Flush, which sizes the columns.
type Table struct {
	// Width, when above zero, is the terminal's width: columns are narrowed (widest
	// first) until every line fits, and cut cells end in "…". Zero keeps whole cells
	// (a pipe or a file).
	Width int
	// Indent starts every line; Gap separates columns (default 3, as kubectl).
	Indent string
	Gap    int
	// Styles, when set, makes the header bold.
	Styles *Styles
	// Colour, when set, styles whole columns after padding (nil entries stay plain),
	// so escape codes never upset the alignment.
	Colour []func(string) string

	w     io.Writer
	cells [][]string
}

// NewTable starts a table on w with the given column headers.
func NewTable(w io.Writer, headers ...string) *Table {
	hdr := make([]string, len(headers))
	for i, h := range headers {
		hdr[i] = Printable(flatten(strings.ToUpper(h)))
	}
	return &Table{w: w, Gap: 3, cells: [][]string{hdr}}
}

// Row adds a row; missing cells are empty, extra ones dropped.
func (t *Table) Row(cells ...string) {
	n := len(t.cells[0])
	row := make([]string, n)
	for i := 0; i < n && i < len(cells); i++ {
		row[i] = Printable(flatten(cells[i]))
	}
	t.cells = append(t.cells, row)
}

// Flush writes the table out.
func (t *Table) Flush() error {
	n := len(t.cells[0])
	if n == 0 {
		return nil
	}
	widths := make([]int, n)
	cellW := make([][]int, len(t.cells))
	for r, row := range t.cells {
		cellW[r] = make([]int, n)
		for i, c := range row {
			cw := TextWidth(c)
			cellW[r][i] = cw
			widths[i] = max(widths[i], cw)
		}
	}
	if t.Width > 0 {
		fit(widths, t.Width-TextWidth(t.Indent)-t.Gap*(n-1))
	}
	gap := strings.Repeat(" ", t.Gap)
	bw := bufio.NewWriterSize(t.w, 32<<10)
	var sb strings.Builder
	for ri, row := range t.cells {
		sb.Reset()
		sb.WriteString(t.Indent)
		for i, c := range row {
			cw := cellW[ri][i]
			if cw > widths[i] {
				c = Truncate(c, widths[i])
				cw = TextWidth(c)
			}
			switch {
			case ri == 0 && t.Styles != nil:
				c = t.Styles.Bold(c)
			case ri > 0 && i < len(t.Colour) && t.Colour[i] != nil:
				c = t.Colour[i](c)
			}
			sb.WriteString(c)
			if i < n-1 {
				sb.WriteString(strings.Repeat(" ", widths[i]-cw))
				sb.WriteString(gap)
			}
		}
		_, _ = bw.WriteString(strings.TrimRight(sb.String(), " "))
		if err := bw.WriteByte('\n'); err != nil {
			return err
		}
	}
	t.cells = t.cells[:1]
	return bw.Flush()
}

// TextWidth is the terminal width of s. Plain ASCII, nearly every cell, is its
// length; anything else goes through grapheme segmentation, which is slow enough to
// dominate a 10,000-row table.
func TextWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return runewidth.StringWidth(s)
		}
	}
	return len(s)
}

// Truncate cuts s to width w, ending in "…".
func Truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if TextWidth(s) <= w {
		return s
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return runewidth.Truncate(s, w, "…")
		}
	}
	return s[:w-1] + "…"
}

var oneLine = strings.NewReplacer("\r\n", " ⏎ ", "\n", " ⏎ ", "\t", " ", "\r", " ")

// flatten puts a cell on one line: a table row is one line of the terminal.
func flatten(s string) string {
	if !strings.ContainsAny(s, "\n\t\r") {
		return s
	}
	return oneLine.Replace(strings.TrimRight(s, "\n"))
}

// fit caps column widths so their sum is at most avail: it finds the largest cap that
// fits and applies it to every wider column, so narrow columns (names, types) stay
// whole and the long ones (messages) give way. No column goes below 4.
func fit(widths []int, avail int) {
	sum := 0
	for _, w := range widths {
		sum += w
	}
	if sum <= avail {
		return
	}
	capped := func(c int) int {
		s := 0
		for _, w := range widths {
			s += min(w, c)
		}
		return s
	}
	lo, hi := 4, 0
	for _, w := range widths {
		hi = max(hi, w)
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if capped(mid) <= avail {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for i := range widths {
		widths[i] = min(widths[i], lo)
	}
}

// Printable makes text from the cluster (names, logs, event messages, command output)
// safe to print on a terminal: a control character in it would otherwise be obeyed
// (ESC sequences move the cursor, rewrite the title, hide lines; \r overwrites what
// came before). Newlines and tabs stay, as layout, and so does \r before \n; every
// other C0 or C1 control, DEL, a byte that is not UTF-8 and the bidirectional
// overrides that reorder what is shown are written out visibly (\x1b, \u009b,
// \u202e) rather than dropped, so the reader sees that they were there.
func Printable(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f || c >= 0x80 {
			break
		}
		i++
	}
	if i == len(s) {
		return s // plain ASCII text, nearly every string
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\r' && i+1 < len(s) && s[i+1] == '\n':
			b.WriteByte('\r')
			i++
			continue
		case c == '\n' || c == '\t':
			b.WriteByte(c)
			i++
			continue
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
			i++
			continue
		case c < 0x80:
			b.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, c)
		case r >= 0x80 && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// PrintableWriter passes each write through Printable, for streams of whole lines from
// the cluster (kube.StreamLogs writes one line per call) going to a terminal.
type PrintableWriter struct{ W io.Writer }

func (p PrintableWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.W, Printable(string(b))); err != nil {
		return 0, err
	}
	return len(b), nil
}
