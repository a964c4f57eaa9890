package config

import (
	"bytes"
	"errors"

	"gopkg.in/yaml.v3"
)

// ValidateBytes validates a file's content as ValidateWith(Parse(...)) does, with the
// same findings, but without holding the whole tree: a block-style file (the usual
// shape of Helm values) is cut into its top-level keys, and each playbook of a
// playbook list is read and checked on its own, then dropped. Files of other shapes
// (several documents, flow style at the top, anchors used across playbooks, syntax
// errors) take the whole-file path, which reports exactly. The error is a
// *ParseError when the file is not YAML.
func ValidateBytes(name string, data []byte, known *Known) ([]Finding, error) {
	if fs, ok := streamValidate(name, data, known); ok {
		return fs, nil
	}
	f, err := Parse(name, data)
	if err != nil {
		return nil, err
	}
	return ValidateWith(f, known), nil
}

// errFallback says the streamed path cannot read the file exactly.
var errFallback = errors.New("fallback")

type section struct {
	key        string
	keyLine    int
	start, end int // byte offsets of the section (key line included)
	startLine  int
	stream     bool // a block list of playbooks, read item by item
	items      []chunk
}

type chunk struct {
	start, end int
	line       int // line of the chunk's first byte
}

func streamValidate(name string, data []byte, known *Known) ([]Finding, bool) {
	secs, format, ok := sections(data)
	if !ok || len(secs) == 0 {
		return nil, false
	}
	v := &validator{file: &File{Name: name, Format: format}, known: known}
	var slab []yaml.Node
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: secs[0].keyLine, Column: 1}
	lists := playbookKeys[format]
	for i := range secs {
		s := &secs[i]
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.key, Line: s.keyLine, Column: 1}
		if s.stream && contains(lists, s.key) && s.key != "namedCustomPlaybooks" {
			// A placeholder: the items are checked as they are read.
			root.Content = append(root.Content, key, &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: s.keyLine, Column: 1})
			continue
		}
		s.stream = false
		m, findings, err := parseChunk(name, data[s.start:s.end], s.startLine, &slab)
		if err != nil || m.Kind != yaml.MappingNode || len(m.Content) != 2 || m.Content[0].Value != s.key {
			return nil, false
		}
		v.findings = append(v.findings, findings...)
		root.Content = append(root.Content, m.Content[0], m.Content[1])
	}
	// Keys written twice at the top level.
	sc := scanner{file: name}
	sc.duplicates(root)
	if sc.aliases || len(sc.findings) > 0 {
		return nil, false // the whole-file path says which value counts
	}
	v.prelude(root, format)
	// Playbook lists in the order the whole-file path takes them.
	for _, key := range lists {
		var s *section
		for i := range secs {
			if secs[i].key == key {
				s = &secs[i]
				break
			}
		}
		if s == nil {
			continue
		}
		if !s.stream {
			eachOf(root, s.key, func(key, path string, n *yaml.Node, nm string) { v.playbook(key, path, n, nm) })
			continue
		}
		// Reading (a third of the work) runs beside checking, a batch ahead.
		batches := make(chan parsedBatch, 2)
		stop := make(chan struct{})
		go readItems(name, data, s.items, batches, stop)
		j := 0
		for b := range batches {
			if b.bad {
				close(stop)
				return nil, false
			}
			v.findings = append(v.findings, b.findings...)
			for _, n := range b.nodes {
				v.playbook(s.key, indexPath(s.key, j), n, "")
				j++
			}
		}
		close(stop)
	}
	sortFindings(v.findings)
	return v.findings, true
}

type parsedBatch struct {
	nodes    []*yaml.Node
	findings []Finding
	bad      bool
}

// readItems parses items in batches, in order, until done or told to stop.
func readItems(name string, data []byte, items []chunk, out chan<- parsedBatch, stop <-chan struct{}) {
	defer close(out)
	const size = 512
	var slab []yaml.Node
	for at := 0; at < len(items); at += size {
		b := parsedBatch{nodes: make([]*yaml.Node, 0, min(size, len(items)-at))}
		for _, c := range items[at:min(at+size, len(items))] {
			n, findings, err := parseChunk(name, data[c.start:c.end], c.line, &slab)
			if err != nil || n.Kind != yaml.SequenceNode || len(n.Content) != 1 {
				b.bad = true
				break
			}
			b.findings = append(b.findings, findings...)
			b.nodes = append(b.nodes, n.Content[0])
		}
		select {
		case out <- b:
		case <-stop:
			return
		}
		if b.bad {
			return
		}
	}
}

// eachOf calls fn for the playbooks of one list of root.
func eachOf(root *yaml.Node, key string, fn func(key, path string, n *yaml.Node, name string)) {
	one := &yaml.Node{Kind: yaml.MappingNode}
	if n := lookup(root, key); n != nil {
		one.Content = []*yaml.Node{{Kind: yaml.ScalarNode, Value: key}, n}
	}
	format := FormatValues
	if key == "active_playbooks" {
		format = FormatActive
	}
	eachPlaybook(one, format, true, fn)
}

// parseChunk reads one piece of the file whose first line is line: its top node, with
// every node's line as in the whole file. A chunk with anchors or aliases is refused:
// they may reach across pieces.
func parseChunk(name string, text []byte, line int, slab *[]yaml.Node) (*yaml.Node, []Finding, error) {
	n, err := fastParseInto(text, slab)
	if err != nil {
		var doc yaml.Node
		if err := yaml.Unmarshal(text, &doc); err != nil || len(doc.Content) != 1 {
			return nil, nil, errFallback
		}
		n = doc.Content[0]
	}
	if !shift(n, line-1) {
		return nil, nil, errFallback
	}
	sc := scanner{file: name}
	sc.walk(n)
	if sc.aliases {
		return nil, nil, errFallback
	}
	return n, sc.findings, nil
}

// shift moves every node down by off lines; false when it meets an anchor or alias.
func shift(n *yaml.Node, off int) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return false
	}
	n.Line += off
	for _, c := range n.Content {
		if !shift(c, off) {
			return false
		}
	}
	return true
}

// sections cuts a block-style document into its top-level keys. ok is false for what
// the streamed path does not read: document markers, directives, a top level that is
// not a block mapping, a key it cannot tell, tabs at the start of a line.
func sections(data []byte) (secs []section, format string, ok bool) {
	format = FormatValues
	line := 0
	for off := 0; off < len(data); {
		line++
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		l := data[off:next]
		switch {
		case len(bytes.TrimSpace(l)) == 0:
		case l[0] == '\t':
			return nil, "", false
		case l[0] == '#' || l[0] == ' ':
			if len(secs) == 0 && l[0] == ' ' && bytes.TrimSpace(l)[0] != '#' {
				return nil, "", false
			}
		case l[0] == '-':
			if len(secs) == 0 || bytes.HasPrefix(l, []byte("---")) {
				return nil, "", false
			}
		default:
			key, rest, good := topKey(l)
			if !good {
				return nil, "", false
			}
			if len(secs) > 0 {
				secs[len(secs)-1].end = off
			}
			if key == "active_playbooks" || key == "sinks_config" {
				format = FormatActive
			}
			secs = append(secs, section{key: key, keyLine: line, start: off, startLine: line, stream: rest})
		}
		off = next
	}
	if len(secs) == 0 {
		return nil, "", false
	}
	secs[len(secs)-1].end = len(data)
	for i := range secs {
		if secs[i].stream && !splitItems(data, &secs[i]) {
			secs[i].stream = false
		}
	}
	return secs, format, true
}

// topKey reads "key:" at the start of a line; rest is true when nothing (or only a
// comment) follows the colon, so the value is a block below.
func topKey(l []byte) (key string, rest bool, ok bool) {
	i := 0
	for i < len(l) && (isKeyByte(l[i])) {
		i++
	}
	if i == 0 || i >= len(l) || l[i] != ':' {
		return "", false, false
	}
	after := bytes.TrimSpace(l[i+1:])
	if len(l) > i+1 && l[i+1] != ' ' && l[i+1] != '\n' && l[i+1] != '\r' {
		return "", false, false
	}
	return string(l[:i]), len(after) == 0 || after[0] == '#', true
}

func isKeyByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// splitItems cuts a section's block list into its items: each starts with "-" at the
// list's indent. false when the section is not such a list.
func splitItems(data []byte, s *section) bool {
	off := s.start
	line := s.startLine
	// Skip the key line.
	if e := bytes.IndexByte(data[off:s.end], '\n'); e >= 0 {
		off += e + 1
		line++
	} else {
		return false
	}
	indent := -1
	for off < s.end {
		end := bytes.IndexByte(data[off:s.end], '\n')
		next := s.end
		if end >= 0 {
			next = off + end + 1
		}
		l := data[off:next]
		t := bytes.TrimLeft(l, " ")
		ind := len(l) - len(t)
		switch {
		case len(bytes.TrimSpace(t)) == 0 || t[0] == '#':
		case t[0] == '\t':
			return false
		case indent < 0:
			if t[0] != '-' || (len(t) > 1 && t[1] != ' ' && t[1] != '\n' && t[1] != '\r') {
				return false
			}
			indent = ind
			s.items = append(s.items, chunk{start: off, line: line})
		case ind == indent && t[0] == '-' && (len(t) == 1 || t[1] == ' ' || t[1] == '\n' || t[1] == '\r'):
			s.items[len(s.items)-1].end = off
			s.items = append(s.items, chunk{start: off, line: line})
		case ind <= indent:
			return false // something at the list's level that is not an item
		}
		off = next
		line++
	}
	if len(s.items) == 0 {
		return false
	}
	s.items[len(s.items)-1].end = s.end
	return true
}

// errNotSimple: the fast reader does not read this text; yaml.v3 does.
var errNotSimple = errors.New("not simple")
