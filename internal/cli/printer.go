package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

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
		clean[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
	}
	fmt.Fprintln(t.tw, strings.Join(clean, "\t"))
	t.rows++
}

// Flush writes the table out.
func (t *Table) Flush() error { return t.tw.Flush() }
