package engine

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

// RenderText writes a finding for a terminal (styles decide whether colour is used).
// File blocks show name and size; saveDir, when set, receives their contents.
func RenderText(w io.Writer, st *cli.Styles, f *Finding, saveDir string) error {
	sev := "[" + string(f.Severity) + "]"
	switch f.Severity {
	case High:
		sev = st.Error(sev)
	case Medium, Low:
		sev = st.Warning(sev)
	default:
		sev = st.Muted(sev)
	}
	fmt.Fprintf(w, "%s %s\n", sev, st.Bold(f.Title))
	if f.Subject.Name != "" {
		subj := f.Subject.Kind + " " + f.Subject.Name
		if f.Subject.Namespace != "" {
			subj = f.Subject.Kind + " " + f.Subject.Namespace + "/" + f.Subject.Name
		}
		if f.Subject.Node != "" {
			subj += " on node " + f.Subject.Node
		}
		fmt.Fprintf(w, "  subject: %s\n", subj)
	}
	if f.Description != "" {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(f.Description, "\n", "\n  "))
	}
	for _, e := range f.Enrichments {
		if e.Title != "" {
			fmt.Fprintf(w, "  %s\n", st.Bold("── "+e.Title))
		}
		for _, b := range e.Blocks {
			switch b.Type {
			case "markdown":
				fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(b.Text, "\n", "\n  "))
			case "header":
				fmt.Fprintf(w, "  %s\n", st.Bold(b.Text))
			case "divider":
				fmt.Fprintf(w, "  %s\n", st.Muted(strings.Repeat("─", 40)))
			case "list":
				for _, it := range b.Items {
					fmt.Fprintf(w, "  • %s\n", it)
				}
			case "table", "diffs":
				var sb strings.Builder
				t := cli.NewTable(&sb, b.Headers...)
				for _, row := range b.Rows {
					t.Row(row...)
				}
				_ = t.Flush()
				fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(strings.TrimRight(sb.String(), "\n"), "\n", "\n  "))
			case "file":
				fmt.Fprintf(w, "  %s %s (%s)\n", st.Accent("file"), b.Name, cli.HumanBytes(int64(len(b.Data))))
				if saveDir != "" {
					p := filepath.Join(saveDir, filepath.Base(b.Name))
					if err := os.WriteFile(p, b.Data, 0o600); err != nil {
						return fmt.Errorf("save %s: %w", b.Name, err)
					}
					fmt.Fprintf(w, "    saved to %s\n", p)
				}
			default:
				fmt.Fprintf(w, "  (%s block)\n", b.Type)
			}
		}
	}
	return nil
}
