package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Format of a configuration file.
const (
	FormatValues = "values"           // Helm values: customPlaybooks, sinksConfig, ...
	FormatActive = "active_playbooks" // the rendered Secret: active_playbooks, sinks_config, ...
)

// File is a parsed configuration file; nodes keep line numbers and unknown keys.
type File struct {
	Name   string
	Format string
	// Doc and Root are the first YAML document and its top-level mapping: what Helm and
	// the runner read. Root is an empty mapping for an empty file.
	Doc  *yaml.Node
	Root *yaml.Node
	// Docs holds the top-level mapping of every document, Root first. Later documents
	// are ignored by Helm and refused by the runner; the validator checks them anyway.
	Docs []*yaml.Node
	// Empty: the file has no content (nothing, only comments, or null).
	Empty bool
	// parsed holds what reading the file found: duplicate keys, extra documents.
	parsed []Finding
}

// Parse reads a values file or an active_playbooks.yaml and tells which it is. Every
// YAML document is read, so a syntax error in a second document is reported too.
func Parse(name string, data []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var raws []*yaml.Node
	for {
		n := new(yaml.Node)
		err := dec.Decode(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, newParseError(name, data, err)
		}
		raws = append(raws, n)
	}
	f := &File{Name: name, Format: FormatValues}
	for i, raw := range raws {
		sc := scanner{file: name}
		sc.walk(raw)
		f.parsed = append(f.parsed, sc.findings...)
		doc := raw
		if sc.aliases {
			// Aliases and merge keys are expanded as Helm's YAML parser does, so the
			// validator sees what the chart will see. Files without them (nearly all)
			// are not copied.
			var err error
			if doc, err = resolve(name, raw, sc.nodes); err != nil {
				return nil, err
			}
		}
		var root *yaml.Node
		if len(doc.Content) > 0 {
			root = doc.Content[0]
		}
		if root == nil || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
			if i == 0 {
				f.Empty = true
				f.Doc, f.Root = emptyDoc()
				f.Docs = append(f.Docs, f.Root)
			}
			continue
		}
		if root.Kind != yaml.MappingNode {
			return nil, &ParseError{File: name, Line: root.Line, Column: root.Column, Msg: "the top level must be a mapping of keys (such as customPlaybooks: [...]), not " + kindName(root)}
		}
		if i == 0 {
			f.Doc, f.Root = doc, root
		}
		f.Docs = append(f.Docs, root)
	}
	if f.Root == nil {
		f.Empty = true
		f.Doc, f.Root = emptyDoc()
		f.Docs = []*yaml.Node{f.Root}
	}
	if lookup(f.Root, "active_playbooks") != nil || lookup(f.Root, "sinks_config") != nil {
		f.Format = FormatActive
	}
	return f, nil
}

func emptyDoc() (*yaml.Node, *yaml.Node) {
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}, root
}

// scanner walks a document once before validation: it counts nodes, notes aliases and
// merge keys, and reports keys written twice in one mapping (YAML parsers keep the last
// one silently; Helm and the runner both do).
type scanner struct {
	file     string
	aliases  bool
	nodes    int
	findings []Finding
}

func (s *scanner) walk(n *yaml.Node) {
	s.nodes++
	switch n.Kind {
	case yaml.AliasNode:
		s.aliases = true
		return
	case yaml.MappingNode:
		s.duplicates(n)
	}
	for _, c := range n.Content {
		s.walk(c)
	}
}

func (s *scanner) duplicates(m *yaml.Node) {
	pairs := len(m.Content) / 2
	if pairs < 2 {
		if pairs == 1 && m.Content[0].Value == "<<" && m.Content[0].Kind == yaml.ScalarNode {
			s.aliases = true
		}
		return
	}
	report := func(first, dup *yaml.Node) {
		s.findings = append(s.findings, Finding{File: s.file, Line: dup.Line, Column: dup.Column, Severity: SevError, Rule: RuleDuplicateKey,
			Message: fmt.Sprintf("key %q is written twice in this mapping (first at line %d): YAML keeps only the last one, silently; merge them or remove one", dup.Value, first.Line)})
	}
	// Small mappings (nearly all) are compared pairwise; a map costs more than it saves.
	if pairs <= 12 {
		for i := 0; i < len(m.Content); i += 2 {
			k := m.Content[i]
			if k.Kind != yaml.ScalarNode {
				continue
			}
			if k.Value == "<<" && k.Tag == "!!merge" {
				s.aliases = true
				continue
			}
			for j := 0; j < i; j += 2 {
				if p := m.Content[j]; p.Kind == yaml.ScalarNode && p.Value == k.Value {
					report(p, k)
					break
				}
			}
		}
		return
	}
	seen := make(map[string]*yaml.Node, pairs)
	for i := 0; i < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		if k.Value == "<<" && k.Tag == "!!merge" {
			s.aliases = true
			continue
		}
		if p, dup := seen[k.Value]; dup {
			report(p, k)
			continue
		}
		seen[k.Value] = k
	}
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func lookupKey(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

// ParseError is a file that is not YAML or not a mapping, with the line when known.
type ParseError struct {
	File   string
	Line   int // 0 when unknown
	Column int // 0 when unknown
	Msg    string
}

func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Finding is the parse error as a validation finding (no YAML path: it is about the file).
func (e *ParseError) Finding() Finding {
	return Finding{File: e.File, Line: e.Line, Column: e.Column, Severity: SevError, Rule: RuleSyntax, Message: e.Msg}
}

var (
	yamlLine      = lazyRegexp(`^yaml: line (\d+): (.*)$`)
	unknownAnchor = lazyRegexp(`^yaml: unknown anchor '(.*)' referenced$`)
)

// yaml.v3's parser (not its scanner) reports a 0-based line: these are its messages
// (gopkg.in/yaml.v3 parserc.go).
var parserProblems = map[string]bool{
	"did not find expected key": true, "did not find expected node content": true,
	"did not find expected '-' indicator": true, "did not find expected ',' or ']'": true,
	"did not find expected ',' or '}'": true, "did not find expected <document start>": true,
	"did not find expected <stream-start>": true, "found undefined tag handle": true,
	"found duplicate %YAML directive": true, "found duplicate %TAG directive": true,
	"found incompatible YAML document": true,
}

// decodeAll reads every document of data, returning the first error.
func decodeAll(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// problemLine finds the line of a parser error. yaml.v3 names the line where the
// construct that failed starts (a list, a mapping), the problem may be further down: it
// is the first line whose prefix of the file fails with the same message. The search is
// bounded; without a result the construct's line stands.
func problemLine(data []byte, start int, msg string) int {
	lines := strings.SplitAfter(string(data), "\n")
	var prefix strings.Builder
	for _, l := range lines[:min(start-1, len(lines))] {
		prefix.WriteString(l)
	}
	for k := start; k <= len(lines) && k < start+200; k++ {
		prefix.WriteString(lines[k-1])
		err := decodeAll([]byte(prefix.String()))
		if err == nil {
			continue
		}
		if m := yamlLine().FindStringSubmatch(err.Error()); m != nil && m[2] == msg {
			return k
		}
	}
	return start
}

// newParseError turns yaml.v3's "yaml: line N: msg" into the file's real line.
func newParseError(name string, data []byte, err error) *ParseError {
	msg := err.Error()
	if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if parserProblems[m[2]] {
			line = problemLine(data, line+1, m[2])
		}
		return &ParseError{File: name, Line: line, Msg: m[2]}
	}
	if m := unknownAnchor().FindStringSubmatch(msg); m != nil {
		// yaml.v3 gives no line here: the first use of the alias is it.
		use := regexp.MustCompile(`\*` + regexp.QuoteMeta(m[1]) + `(?:[\s,\]}]|$)`)
		if loc := use.FindIndex(data); loc != nil {
			return &ParseError{File: name, Line: 1 + strings.Count(string(data[:loc[0]]), "\n"), Msg: strings.TrimPrefix(msg, "yaml: ")}
		}
	}
	return &ParseError{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return n.Value
		}
		return fmt.Sprintf("the string %q", short(n.Value))
	}
	return "an alias"
}

func short(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
