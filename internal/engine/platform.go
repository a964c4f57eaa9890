package engine

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// FromPlatform reads a finding in the format of the runner's sync replies (the Robusta
// platform's): finding fields at the top, and "evidence" entries whose "data" is a
// JSON string holding a list of blocks ({"type": "markdown"|"table"|...,"data": ...};
// any other type is a file whose type is its extension and whose data is base64,
// written by Python as "b'...'"). What cannot be read becomes a line saying so, so one
// bad enrichment never hides the rest.
func FromPlatform(m map[string]any) *Finding {
	f := &Finding{
		Title:          str(m["title"]),
		Description:    strings.TrimSpace(str(m["description"])),
		Severity:       Severity(strings.ToUpper(str(m["priority"]))),
		AggregationKey: str(m["aggregation_key"]),
		Source:         str(m["source"]),
		Type:           FindingType(strings.ToLower(str(m["finding_type"]))),
		Fingerprint:    str(m["fingerprint"]),
		Subject: Subject{Kind: str(m["subject_type"]), Name: str(m["subject_name"]),
			Namespace: str(m["subject_namespace"]), Node: str(m["subject_node"])},
	}
	if f.Title == "" {
		f.Title = "(untitled finding)"
	}
	if f.Severity == "" {
		f.Severity = Severity(strings.ToUpper(str(m["severity"])))
	}
	if f.Severity == "" {
		f.Severity = Info
	}
	ev, _ := m["evidence"].([]any)
	for _, e := range ev {
		em, _ := e.(map[string]any)
		if em == nil {
			continue
		}
		raw, err := platformBlocks(em["data"])
		if err != nil {
			f.AddEnrichment(str(em["title"]), Markdown("(enrichment not readable: "+err.Error()+")"))
			continue
		}
		var blocks []Block
		for _, b := range raw {
			blocks = append(blocks, platformBlock(b)...)
		}
		f.AddEnrichment(str(em["title"]), blocks...)
	}
	return f
}

// platformBlocks reads an evidence "data" field: a JSON string of a block list (as the
// runner sends it) or an already decoded list.
func platformBlocks(data any) ([]map[string]any, error) {
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

func platformBlock(b map[string]any) []Block {
	data := b["data"]
	switch typ := str(b["type"]); typ {
	case "markdown":
		return []Block{Markdown(strings.TrimSpace(str(data)))}
	case "header":
		return []Block{Header(str(data))}
	case "divider":
		return []Block{Divider()}
	case "list":
		items, _ := data.([]any)
		out := make([]string, len(items))
		for i, it := range items {
			out[i] = cellString(it)
		}
		return []Block{List(out...)}
	case "table":
		tm, _ := data.(map[string]any)
		headers, _ := tm["headers"].([]any)
		rows, _ := tm["rows"].([]any)
		hs := make([]string, len(headers))
		for i, h := range headers {
			hs[i] = cellString(h)
		}
		rs := make([][]string, len(rows))
		for i, r := range rows {
			cells, _ := r.([]any)
			rs[i] = make([]string, len(cells))
			for j, c := range cells {
				rs[i][j] = cellString(c)
			}
		}
		return []Block{Table(str(tm["table_name"]), hs, rs)}
	case "json":
		return []Block{JSON(str(data))}
	case "diff":
		dm, _ := data.(map[string]any)
		out := []Block{Markdown(fmt.Sprintf("diff of %s: %s added, %s removed, %s changed", str(dm["resource_name"]),
			num(dm["num_additions"]), num(dm["num_deletions"]), num(dm["num_modifications"])))}
		if paths, ok := dm["updated_paths"].([]any); ok && len(paths) > 0 {
			items := make([]string, len(paths))
			for i, p := range paths {
				items[i] = cellString(p)
			}
			out = append(out, List(items...))
		}
		return out
	case "callbacks":
		cbs, _ := data.([]any)
		var out []Block
		for _, c := range cbs {
			cm, _ := c.(map[string]any)
			out = append(out, Callback(str(cm["text"]), str(cm["action_name"])))
		}
		return out
	case "events_ref":
		return []Block{Markdown("(events reference)")}
	default:
		if s, ok := data.(string); ok {
			name := str(b["filename"])
			if name == "" {
				name = "file." + typ
			}
			return []Block{File(name, decodePythonBytes(s))}
		}
		return []Block{Markdown(fmt.Sprintf("(%s block)", typ))}
	}
}

// decodePythonBytes reads base64 written as Python's str(bytes): "b'...'". Data that
// is not base64 is kept as it is.
func decodePythonBytes(s string) []byte {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "b'"), "'")
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return []byte(s)
	}
	return b
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

// Platform writes the finding in the format the runner replies with (the inverse of
// FromPlatform): what a sync trigger of the local engine's server returns. Key-value
// fields travel as a table, diffs as Robusta's diff block (paths only), files as their
// extension type with base64 data.
func (f *Finding) Platform() map[string]any {
	m := map[string]any{
		"title": f.Title, "description": f.Description, "priority": string(f.Severity),
		"aggregation_key": f.AggregationKey, "source": f.Source, "fingerprint": f.Fingerprint,
		"finding_type": f.Type.Value(),
		"subject_type": f.Subject.Kind, "subject_name": f.Subject.Name,
		"subject_namespace": f.Subject.Namespace, "subject_node": f.Subject.Node,
	}
	evidence := make([]any, 0, len(f.Enrichments))
	for _, e := range f.Enrichments {
		blocks := make([]any, 0, len(e.Blocks))
		for _, b := range e.Blocks {
			blocks = append(blocks, platformOf(b))
		}
		data, _ := json.Marshal(blocks)
		evidence = append(evidence, map[string]any{"title": e.Title, "data": string(data)})
	}
	m["evidence"] = evidence
	return m
}

func platformOf(b Block) map[string]any {
	switch b.Type {
	case BlockMarkdown, BlockHeader, BlockJSON:
		return map[string]any{"type": b.Type, "data": b.Text}
	case BlockDivider:
		return map[string]any{"type": "divider"}
	case BlockList:
		return map[string]any{"type": "list", "data": b.Items}
	case BlockTable, BlockKubernetesFields:
		return map[string]any{"type": "table", "data": map[string]any{"headers": b.Headers, "rows": b.Rows, "table_name": b.Name}}
	case BlockDiffs:
		paths := make([]string, len(b.Rows))
		for i, r := range b.Rows {
			if len(r) > 0 {
				paths[i] = r[0]
			}
		}
		return map[string]any{"type": "diff", "data": map[string]any{"num_additions": 0, "num_deletions": 0,
			"num_modifications": len(paths), "updated_paths": paths}}
	case BlockFile:
		ext := "txt"
		if i := strings.LastIndex(b.Name, "."); i >= 0 && i < len(b.Name)-1 {
			ext = b.Name[i+1:]
		}
		return map[string]any{"type": ext, "filename": b.Name, "data": "b'" + base64.StdEncoding.EncodeToString(b.Data) + "'"}
	case BlockCallback:
		return map[string]any{"type": "callbacks", "data": []any{map[string]any{"text": b.Name, "action_name": b.Text}}}
	}
	return map[string]any{"type": "markdown", "data": "(" + b.Type + " block)"}
}
