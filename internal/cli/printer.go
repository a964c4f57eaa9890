package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

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
)

// ParseOutputFormat checks a user-supplied -o value.
func ParseOutputFormat(s string) (OutputFormat, error) {
	switch f := OutputFormat(strings.ToLower(strings.TrimSpace(s))); f {
	case "", OutputText:
		return OutputText, nil
	case OutputJSON, OutputYAML, OutputMarkdown:
		return f, nil
	case "md":
		return OutputMarkdown, nil
	}
	return "", UsageErrorf("invalid output format %q: use text, json, yaml or markdown", s)
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

// Table writes aligned columns. Headers are upper-cased as kubectl does.
type Table struct {
	tw      *tabwriter.Writer
	headers []string
	rows    int
}

// NewTable starts a table on w with the given column headers.
func NewTable(w io.Writer, headers ...string) *Table {
	t := &Table{tw: tabwriter.NewWriter(w, 0, 4, 3, ' ', 0), headers: headers}
	if len(headers) > 0 {
		up := make([]string, len(headers))
		for i, h := range headers {
			up[i] = strings.ToUpper(h)
		}
		fmt.Fprintln(t.tw, strings.Join(up, "\t"))
	}
	return t
}

// Row adds a row; tabs and newlines in cells are flattened so columns stay aligned.
func (t *Table) Row(cells ...string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = Printable(strings.NewReplacer("\t", " ", "\n", " ").Replace(c))
	}
	fmt.Fprintln(t.tw, strings.Join(clean, "\t"))
	t.rows++
}

// Flush writes the table out.
func (t *Table) Flush() error { return t.tw.Flush() }

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
