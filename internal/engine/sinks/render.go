package sinks

import (
	"fmt"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// BlockLines renders a block as plain text lines for sinks without rich layouts.
// File blocks render as nothing: sinks that can attach files do so themselves.
func BlockLines(b engine.Block) []string {
	switch b.Type {
	case engine.BlockHeader, engine.BlockMarkdown, engine.BlockJSON:
		return []string{b.Text}
	case engine.BlockList:
		out := make([]string, 0, len(b.Items))
		for _, it := range b.Items {
			out = append(out, "• "+it)
		}
		return out
	case engine.BlockDiffs:
		var out []string
		for _, r := range b.Rows {
			if len(r) == 3 {
				out = append(out, fmt.Sprintf("*%s*: %s ==> %s", r[0], r[1], r[2]))
			}
		}
		return out
	case engine.BlockTable, engine.BlockKubernetesFields:
		var out []string
		if b.Name != "" {
			out = append(out, b.Name)
		}
		out = append(out, strings.Join(b.Headers, " | "))
		for _, r := range b.Rows {
			out = append(out, strings.Join(r, " | "))
		}
		return out
	case engine.BlockCallback:
		return []string{fmt.Sprintf("%s: %s", b.Name, b.Text)}
	}
	return nil
}

// FindingText is a finding's enrichments as plain text, enrichment titles included.
func FindingText(f *engine.Finding) string {
	var lines []string
	for _, e := range f.Enrichments {
		if e.Title != "" {
			lines = append(lines, e.Title)
		}
		for _, b := range e.Blocks {
			lines = append(lines, BlockLines(b)...)
		}
	}
	return strings.Join(lines, "\n")
}

// Cut shortens s to at most n characters, marking the cut.
func Cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	return string(r[:n-1]) + "…"
}
