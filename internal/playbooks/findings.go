package playbooks

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

// The runner's sync response carries findings in the Robusta platform's format:
// finding fields at the top, and "evidence" entries whose "data" is a JSON string
// holding a list of blocks ({"type": "markdown"|"table"|"file"|..., "data": ...}).

// PrintFindings writes findings from a sync trigger response readably.
func PrintFindings(w io.Writer, st *cli.Styles, findings []map[string]any) error {
	for i, f := range findings {
		if i > 0 {
			fmt.Fprintln(w)
		}
		title := str(f["title"])
		if title == "" {
			title = "(untitled finding)"
		}
		sev := str(f["priority"])
		if sev == "" {
			sev = str(f["severity"])
		}
		fmt.Fprintf(w, "%s %s\n", severityBadge(st, sev), st.Bold(title))
		if subj := subjectLine(f); subj != "" {
			fmt.Fprintf(w, "  subject: %s\n", subj)
		}
		if d := strings.TrimSpace(str(f["description"])); d != "" {
			fmt.Fprintf(w, "  %s\n", indent(d, "  "))
		}
		ev, _ := f["evidence"].([]any)
		for _, e := range ev {
			em, _ := e.(map[string]any)
			if em == nil {
				continue
			}
			if t := str(em["title"]); t != "" {
				fmt.Fprintf(w, "  %s\n", st.Bold("── "+t))
			}
			blocks, err := decodeBlocks(em["data"])
			if err != nil {
				fmt.Fprintf(w, "  %s\n", st.Warning("(enrichment not readable: "+err.Error()+")"))
				continue
			}
			for _, b := range blocks {
				printBlock(w, st, b)
			}
		}
	}
	return nil
}

func severityBadge(st *cli.Styles, sev string) string {
	label := "[" + strings.ToUpper(sev) + "]"
	if sev == "" {
		label = "[INFO]"
	}
	switch strings.ToUpper(sev) {
	case "HIGH":
		return st.Error(label)
	case "MEDIUM", "LOW":
		return st.Warning(label)
	}
	return st.Muted(label)
}

func subjectLine(f map[string]any) string {
	kind, name, ns, node := str(f["subject_type"]), str(f["subject_name"]), str(f["subject_namespace"]), str(f["subject_node"])
	if name == "" {
		return ""
	}
	s := name
	if ns != "" {
		s = ns + "/" + name
	}
	if kind != "" {
		s = kind + " " + s
	}
	if node != "" {
		s += " on node " + node
	}
	return s
}

// decodeBlocks reads an evidence "data" field: a JSON string of a block list (as the
// runner sends it) or an already decoded list.
func decodeBlocks(data any) ([]map[string]any, error) {
	var raw []any
	switch d := data.(type) {
	case string:
		if err := json.Unmarshal([]byte(d), &raw); err != nil {
			return nil, err
		}
	case []any:
		raw = d
	case nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("unexpected %T", data)
	}
	out := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		if m, ok := r.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

func printBlock(w io.Writer, st *cli.Styles, b map[string]any) {
	data := b["data"]
	switch str(b["type"]) {
	case "markdown":
		fmt.Fprintf(w, "  %s\n", indent(strings.TrimSpace(str(data)), "  "))
	case "header":
		fmt.Fprintf(w, "  %s\n", st.Bold(str(data)))
	case "divider":
		fmt.Fprintf(w, "  %s\n", st.Muted(strings.Repeat("─", 40)))
	case "list":
		items, _ := data.([]any)
		for _, it := range items {
			fmt.Fprintf(w, "  • %s\n", cellString(it))
		}
	case "table":
		tm, _ := data.(map[string]any)
		headers, _ := tm["headers"].([]any)
		rows, _ := tm["rows"].([]any)
		hs := make([]string, len(headers))
		for i, h := range headers {
			hs[i] = cellString(h)
		}
		var sb strings.Builder
		t := cli.NewTable(&sb, hs...)
		for _, r := range rows {
			cells, _ := r.([]any)
			cs := make([]string, len(cells))
			for i, c := range cells {
				cs[i] = cellString(c)
			}
			t.Row(cs...)
		}
		_ = t.Flush()
		fmt.Fprintf(w, "  %s\n", indent(strings.TrimRight(sb.String(), "\n"), "  "))
	case "json":
		s := str(data)
		var v any
		if json.Unmarshal([]byte(s), &v) == nil {
			if pretty, err := json.MarshalIndent(v, "", "  "); err == nil {
				s = string(pretty)
			}
		}
		fmt.Fprintf(w, "  %s\n", indent(s, "  "))
	case "diff":
		dm, _ := data.(map[string]any)
		fmt.Fprintf(w, "  diff of %s: %v added, %v removed, %v changed\n", str(dm["resource_name"]),
			num(dm["num_additions"]), num(dm["num_deletions"]), num(dm["num_modifications"]))
		if paths, ok := dm["updated_paths"].([]any); ok {
			for _, p := range paths {
				fmt.Fprintf(w, "    %s\n", cellString(p))
			}
		}
	case "callbacks":
		cbs, _ := data.([]any)
		for _, c := range cbs {
			cm, _ := c.(map[string]any)
			fmt.Fprintf(w, "  [button] %s\n", str(cm["text"]))
		}
	case "events_ref":
		fmt.Fprintf(w, "  (events reference)\n")
	default:
		if isFileBlock(b) {
			name := str(b["filename"])
			if name == "" {
				name = "file." + str(b["type"])
			}
			fmt.Fprintf(w, "  %s %s (%s)\n", st.Accent("file"), name, cli.HumanBytes(int64(fileSize(str(data)))))
			return
		}
		fmt.Fprintf(w, "  (%s block)\n", str(b["type"]))
	}
}

// Any other type is a file block: its type is the file's extension and its data the
// base64 of the contents, which the Python runner writes as str(bytes): "b'...'".
func isFileBlock(b map[string]any) bool {
	_, ok := b["data"].(string)
	return ok
}

func fileSize(data string) int {
	data = strings.TrimSuffix(strings.TrimPrefix(data, "b'"), "'")
	n, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return len(data)
	}
	return len(n)
}

func cellString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + cellString(x[k])
		}
		return strings.Join(parts, " ")
	}
	return fmt.Sprint(v)
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func num(v any) string {
	if v == nil {
		return "0"
	}
	return fmt.Sprint(v)
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}
