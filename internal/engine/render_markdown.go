package engine

import (
	"io"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

// RenderMarkdown writes a finding as GitHub-flavoured Markdown, for pasting into an
// issue, a runbook or a chat. File blocks are named (and saved when o.SaveDir is set).
// It is read on terminals too: control characters are shown, not obeyed.
func RenderMarkdown(w io.Writer, f *Finding, o RenderOptions) error {
	bw := &errWriter{w: w, printable: true}
	bw.printf("### [%s] %s\n\n", f.Severity, mdEscape(f.Title))
	if s := subjectLine(f.Subject); s != "" {
		bw.printf("**Subject:** `%s`  \n", s)
	}
	bw.printf("**Source:** %s", f.Source)
	if f.Fingerprint != "" {
		bw.printf(" · **Fingerprint:** `%s`", f.Fingerprint)
	}
	bw.write("\n\n")
	if f.Description != "" {
		bw.printf("%s\n\n", f.Description)
	}
	for _, l := range f.Links {
		bw.printf("🔗 [%s](%s)  \n", mdEscape(l.Name), l.URL)
	}
	if len(f.Links) > 0 {
		bw.write("\n")
	}
	for _, e := range f.Enrichments {
		if e.Title != "" {
			bw.printf("#### %s\n\n", mdEscape(e.Title))
		}
		for _, b := range e.Blocks {
			switch b.Type {
			case BlockMarkdown:
				bw.printf("%s\n\n", b.Text)
			case BlockHeader:
				bw.printf("**%s**\n\n", mdEscape(b.Text))
			case BlockDivider:
				bw.write("---\n\n")
			case BlockList:
				for _, it := range b.Items {
					bw.printf("- %s\n", strings.ReplaceAll(it, "\n", "\n  "))
				}
				bw.write("\n")
			case BlockTable, BlockKubernetesFields:
				mdTable(bw, b.Headers, b.Rows)
				if b.Truncated > 0 {
					bw.printf("_%d more rows left out._\n\n", b.Truncated)
				}
			case BlockDiffs:
				bw.write("```diff\n")
				for _, r := range b.Rows {
					if len(r) == 3 {
						bw.printf("- %s: %s\n+ %s: %s\n", r[0], r[1], r[0], r[2])
					}
				}
				bw.write("```\n\n")
			case BlockJSON:
				bw.printf("```json\n%s\n```\n\n", prettyJSON(b.Text))
			case BlockFile:
				bw.printf("📎 `%s` (%s)", b.Name, cli.HumanBytes(int64(len(b.Data))))
				if o.SaveDir != "" {
					p, err := saveFile(o.SaveDir, b)
					if err != nil {
						return err
					}
					bw.printf(", saved to `%s`", p)
				}
				if b.Text != "" {
					bw.printf(": %s", mdEscape(b.Text))
				}
				bw.write("\n\n")
			case BlockCallback:
				bw.printf("**[%s]** (runs `%s`)\n\n", mdEscape(b.Name), b.Text)
			case BlockGraph:
				if err := graphMarkdown(bw, b, o); err != nil {
					return err
				}
			}
		}
	}
	return bw.err
}

var mdCell = strings.NewReplacer("|", `\|`, "\r\n", "<br>", "\n", "<br>")

func mdTable(w *errWriter, headers []string, rows [][]string) {
	cell := func(s string) string { return mdCell.Replace(strings.TrimRight(s, "\n")) }
	var sb strings.Builder
	line := func(cells []string) {
		sb.Reset()
		sb.WriteString("|")
		for i := range headers {
			c := ""
			if i < len(cells) {
				c = cell(cells[i])
			}
			sb.WriteString(" " + c + " |")
		}
		sb.WriteString("\n")
		w.write(sb.String())
	}
	line(headers)
	w.write("|" + strings.Repeat(" --- |", len(headers)) + "\n")
	for _, r := range rows {
		line(r)
	}
	w.write("\n")
}

// mdEscape keeps titles from turning into Markdown they did not mean.
func mdEscape(s string) string { return mdSpecial.Replace(s) }

var mdSpecial = strings.NewReplacer("*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", "&lt;", "#", `\#`)

// Render writes a finding in the given output format: text, markdown, json or yaml.
func Render(w io.Writer, st *cli.Styles, format cli.OutputFormat, f *Finding, o RenderOptions) error {
	switch format {
	case cli.OutputMarkdown:
		return RenderMarkdown(w, f, o)
	case cli.OutputJSON, cli.OutputYAML:
		if o.SaveDir != "" {
			for _, e := range f.Enrichments {
				for _, b := range e.Blocks {
					if b.Type == BlockFile {
						if _, err := saveFile(o.SaveDir, b); err != nil {
							return err
						}
					}
					if b.Type == BlockGraph {
						if _, err := saveGraph(o.SaveDir, b); err != nil {
							return err
						}
					}
				}
			}
		}
		return cli.PrintStructured(w, format, f)
	}
	return RenderText(w, st, f, o)
}
