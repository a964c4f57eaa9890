package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

// RenderOptions tune how a finding is written.
type RenderOptions struct {
	// Width is the terminal's width; tables are fitted to it. Zero means no limit (not
	// a terminal: a pipe or a file gets whole cells).
	Width int
	// SaveDir, when set, receives the contents of file blocks.
	SaveDir string
}

// RenderText writes a finding for a terminal: a severity-coloured header, the subject,
// then each enrichment. Styles decide whether colour is used. Text from the cluster
// goes through cli.Printable: its control characters are shown, not obeyed.
func RenderText(w io.Writer, st *cli.Styles, f *Finding, o RenderOptions) error {
	pr := cli.Printable
	bw := &errWriter{w: w}
	sev := "[" + string(f.Severity) + "]"
	switch f.Severity {
	case High:
		sev = st.Error(sev)
	case Medium, Low:
		sev = st.Warning(sev)
	default:
		sev = st.Muted(sev)
	}
	bw.printf("%s %s\n", sev, st.Bold(pr(f.Title)))
	if s := subjectLine(f.Subject); s != "" {
		bw.printf("  subject: %s\n", pr(s))
	}
	if f.Description != "" {
		bw.printf("  %s\n", indent(pr(f.Description)))
	}
	for _, l := range f.Links {
		bw.printf("  %s %s: %s\n", st.Accent("link"), pr(l.Name), pr(l.URL))
	}
	for _, e := range f.Enrichments {
		if e.Title != "" {
			bw.printf("  %s\n", st.Bold("── "+pr(e.Title)))
		}
		for _, b := range e.Blocks {
			switch b.Type {
			case BlockMarkdown:
				bw.printf("  %s\n", indent(pr(b.Text)))
			case BlockHeader:
				bw.printf("  %s\n", st.Bold(pr(b.Text)))
			case BlockDivider:
				bw.printf("  %s\n", st.Muted(strings.Repeat("─", 40)))
			case BlockList:
				for _, it := range b.Items {
					bw.printf("  • %s\n", indent(pr(it)))
				}
			case BlockTable, BlockKubernetesFields, BlockDiffs:
				var colour []func(string) string
				if b.Type == BlockDiffs {
					colour = []func(string) string{nil, st.Error, st.Success}
				}
				writeTable(bw, st, b.Headers, b.Rows, o.Width, colour)
				if b.Truncated > 0 {
					bw.printf("  %s\n", st.Muted(fmt.Sprintf("(%d more rows left out)", b.Truncated)))
				}
			case BlockJSON:
				bw.printf("  %s\n", indent(pr(prettyJSON(b.Text))))
			case BlockFile:
				bw.printf("  %s %s (%s)\n", st.Accent("file"), pr(b.Name), cli.HumanBytes(int64(len(b.Data))))
				if b.Text != "" {
					bw.printf("    %s\n", st.Muted(pr(b.Text)))
				}
				if o.SaveDir != "" {
					p, err := saveFile(o.SaveDir, b)
					if err != nil {
						return err
					}
					bw.printf("    saved to %s\n", pr(p))
				}
			case BlockCallback:
				bw.printf("  %s %s (runs %s)\n", st.Accent("button"), pr(b.Name), pr(b.Text))
			case BlockGraph:
				if err := graphText(bw, st, b, o); err != nil {
					return err
				}
			default:
				bw.printf("  (%s block)\n", pr(b.Type))
			}
		}
	}
	return bw.err
}

// errWriter keeps the first write error so rendering code stays linear. With
// printable, everything written goes through cli.Printable (for output that has no
// escape codes of its own, such as Markdown).
type errWriter struct {
	w         io.Writer
	err       error
	printable bool
}

func (e *errWriter) printf(format string, args ...any) {
	e.write(fmt.Sprintf(format, args...))
}

// Write lets an errWriter take io.Writer output (a table).
func (e *errWriter) Write(p []byte) (int, error) {
	e.write(string(p))
	return len(p), e.err
}

func (e *errWriter) write(s string) {
	if e.err == nil {
		if e.printable {
			s = cli.Printable(s)
		}
		_, e.err = io.WriteString(e.w, s)
	}
}

func subjectLine(s Subject) string {
	if s.Name == "" {
		return ""
	}
	line := s.Name
	if s.Namespace != "" {
		line = s.Namespace + "/" + s.Name
	}
	if s.Kind != "" {
		line = s.Kind + " " + line
	}
	if s.Node != "" {
		line += " on node " + s.Node
	}
	return line
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }

func prettyJSON(s string) string {
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(s), "", "  ") != nil {
		return s
	}
	return buf.String()
}

// CheckSaveDir checks a --save-files folder before anything runs: found missing only
// when the finding is rendered, the action would already have run (and a mutating
// one changed the cluster) with its files lost.
func CheckSaveDir(dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return cli.UsageErrorf("--save-files %s: no such folder: create it first (mkdir -p %s)", dir, dir)
	case err != nil:
		return cli.UsageErrorf("--save-files %s: %v", dir, err)
	case !fi.IsDir():
		return cli.UsageErrorf("--save-files %s is not a folder", dir)
	}
	f, err := os.CreateTemp(dir, ".robusta-write-check-*")
	if err != nil {
		return cli.UsageErrorf("--save-files %s: cannot write there: %v", dir, errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

func saveFile(dir string, b Block) (string, error) {
	p := filepath.Join(dir, filepath.Base(b.Name))
	if err := os.WriteFile(p, b.Data, 0o600); err != nil {
		return "", fmt.Errorf("save %s: %w", b.Name, err)
	}
	return p, nil
}

// writeTable writes a finding's table with cli.Table: indented by two spaces, fitted
// to width when there is one, the header bold.
func writeTable(w *errWriter, st *cli.Styles, headers []string, rows [][]string, width int, colour []func(string) string) {
	if w.err != nil {
		return
	}
	t := cli.NewTable(w, headers...)
	t.Indent, t.Gap, t.Width, t.Styles, t.Colour = "  ", 2, width, st, colour
	for _, r := range rows {
		t.Row(r...)
	}
	if err := t.Flush(); err != nil && w.err == nil {
		w.err = err
	}
}
