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

	"github.com/mattn/go-runewidth"

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
				if o.SaveDir != "" {
					p, err := saveFile(o.SaveDir, b)
					if err != nil {
						return err
					}
					bw.printf("    saved to %s\n", pr(p))
				}
			case BlockCallback:
				bw.printf("  %s %s (runs %s)\n", st.Accent("button"), pr(b.Name), pr(b.Text))
			default:
				bw.printf("  (%s block)\n", pr(string(b.Type)))
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

// writeTable writes aligned columns indented by two spaces. With a width, columns are
// narrowed (widest first) until the table fits and cut cells end in "…". colour, when
// set, styles whole columns after padding, so escape codes never upset the alignment.
func writeTable(w *errWriter, st *cli.Styles, headers []string, rows [][]string, width int, colour []func(string) string) {
	const gap, margin = 2, 2
	n := len(headers)
	widths := make([]int, n)
	cells := make([][]string, 0, len(rows)+1)
	hdr := make([]string, n)
	for i, h := range headers {
		hdr[i] = cli.Printable(strings.ToUpper(h))
	}
	cells = append(cells, hdr)
	for _, r := range rows {
		row := make([]string, n)
		for i := 0; i < n && i < len(r); i++ {
			row[i] = cli.Printable(flatten(r[i]))
		}
		cells = append(cells, row)
	}
	cellW := make([][]int, len(cells))
	for r, row := range cells {
		cellW[r] = make([]int, n)
		for i, c := range row {
			cw := textWidth(c)
			cellW[r][i] = cw
			if cw > widths[i] {
				widths[i] = cw
			}
		}
	}
	if width > 0 {
		fit(widths, width-margin-gap*(n-1))
	}
	var sb strings.Builder
	for ri, row := range cells {
		sb.Reset()
		sb.WriteString("  ")
		for i, c := range row {
			cw := cellW[ri][i]
			if cw > widths[i] {
				c = truncate(c, widths[i])
				cw = textWidth(c)
			}
			pad := ""
			if i < n-1 {
				pad = strings.Repeat(" ", widths[i]-cw+gap)
			}
			switch {
			case ri == 0:
				c = st.Bold(c)
			case i < len(colour) && colour[i] != nil:
				c = colour[i](c)
			}
			sb.WriteString(c)
			sb.WriteString(pad)
		}
		sb.WriteString("\n")
		w.write(strings.TrimRight(sb.String(), " \n") + "\n")
	}
}

// textWidth is the terminal width of s. Plain ASCII, nearly every cell, is its
// length; anything else goes through grapheme segmentation, which is slow enough to
// dominate a 10,000-row table.
func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return runewidth.StringWidth(s)
		}
	}
	return len(s)
}

// truncate cuts s to width w, ending in "…".
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
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
