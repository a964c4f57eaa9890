package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaskedDiff is a line diff ("--- current", "+++ new", @@ hunks with 3 lines of
// context) of two configurations, each a *yaml.Node or a decoded value (Helm values),
// with secrets masked by one numbering Masker: a changed secret shows as
// "xoxb-…(masked 1)" becoming "xoxb-…(masked 2)", never in clear. The inputs are not
// changed. It is "" when both print the same.
func MaskedDiff(before, after any) (string, error) {
	return diff(&Masker{Number: true}, before, after)
}

// PlainDiff is MaskedDiff with secrets in full (--show-secrets).
func PlainDiff(before, after any) (string, error) { return diff(nil, before, after) }

func diff(m *Masker, before, after any) (string, error) {
	a, err := maskedYAML(m, before)
	if err != nil {
		return "", err
	}
	b, err := maskedYAML(m, after)
	if err != nil {
		return "", err
	}
	if a == b {
		return "", nil
	}
	return "--- current\n+++ new\n" + lineDiff(splitLines(a), splitLines(b)), nil
}

// maskedYAML prints a copy of v, masked by m unless nil.
func maskedYAML(m *Masker, v any) (string, error) {
	var n yaml.Node
	switch t := v.(type) {
	case nil:
		return "", nil
	case *yaml.Node:
		// A copy through the printer: masking works in place.
		b, err := yaml.Marshal(t)
		if err != nil {
			return "", err
		}
		if err := yaml.Unmarshal(b, &n); err != nil {
			return "", err
		}
	default:
		if err := n.Encode(v); err != nil {
			return "", err
		}
	}
	if m != nil {
		m.Node(&n)
	}
	blockStyle(&n)
	if n.Kind == 0 {
		return "", nil
	}
	b, err := yaml.Marshal(&n)
	return string(b), err
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// lineDiff prints the longest-common-subsequence diff of a and b as unified hunks.
// Configurations are at most thousands of lines; beyond maxCells the whole of a is
// shown replaced by the whole of b.
func lineDiff(a, b []string) string {
	const maxCells = 16 << 20
	type op struct {
		kind byte // ' ', '-', '+'
		line string
	}
	var ops []op
	if len(a)*len(b) > maxCells {
		for _, l := range a {
			ops = append(ops, op{'-', l})
		}
		for _, l := range b {
			ops = append(ops, op{'+', l})
		}
	} else {
		// lcs[i][j]: length of the LCS of a[i:] and b[j:].
		lcs := make([][]int32, len(a)+1)
		for i := range lcs {
			lcs[i] = make([]int32, len(b)+1)
		}
		for i := len(a) - 1; i >= 0; i-- {
			for j := len(b) - 1; j >= 0; j-- {
				if a[i] == b[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(a) || j < len(b) {
			switch {
			case i < len(a) && j < len(b) && a[i] == b[j]:
				ops = append(ops, op{' ', a[i]})
				i, j = i+1, j+1
			case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
				ops = append(ops, op{'-', a[i]})
				i++
			default:
				ops = append(ops, op{'+', b[j]})
				j++
			}
		}
	}
	// Hunks: changed lines with up to 3 unchanged lines around them.
	const ctx = 3
	var out strings.Builder
	for start := 0; start < len(ops); {
		for start < len(ops) && ops[start].kind == ' ' {
			start++
		}
		if start == len(ops) {
			break
		}
		from := max(0, start-ctx)
		end := start
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(run, end+ctx)
				break
			}
			end = run
		}
		aLine, bLine := 1, 1
		for _, o := range ops[:from] {
			if o.kind != '+' {
				aLine++
			}
			if o.kind != '-' {
				bLine++
			}
		}
		aN, bN := 0, 0
		for _, o := range ops[from:end] {
			if o.kind != '+' {
				aN++
			}
			if o.kind != '-' {
				bN++
			}
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", aLine, aN, bLine, bN)
		for _, o := range ops[from:end] {
			out.WriteByte(o.kind)
			out.WriteString(o.line)
			out.WriteByte('\n')
		}
		start = end
	}
	return out.String()
}

// blockStyle prints every collection one entry a line, so the diff shows which one
// changed.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style &^= yaml.FlowStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}
