package config

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// fastParse reads the plain subset of YAML that playbook configurations are written in
// (block mappings and lists, one-line flow collections, plain and one-line quoted
// scalars, comments) into the same nodes yaml.v3 makes, several times faster. Anything
// else (anchors, tags, block scalars, multi-line scalars or flows, non-ASCII text,
// tabs, escapes beyond the common ones) is errNotSimple: the caller reads the text
// with yaml.v3 instead. A differential test holds the two readers to the same result.
func fastParse(text []byte) (*yaml.Node, error) {
	var slab []yaml.Node
	return fastParseInto(text, &slab)
}

// fastParseInto is fastParse taking nodes from *slab, which it refills: the pieces of
// one file share their allocations.
func fastParseInto(text []byte, slab *[]yaml.Node) (*yaml.Node, error) {
	lines, ok := fastLines(text)
	if !ok || len(lines) == 0 {
		return nil, errNotSimple
	}
	p := &fparser{lines: lines, slab: *slab}
	defer func() { *slab = p.slab }()
	n, i := p.block(0)
	if p.bad || i != len(lines) {
		return nil, errNotSimple
	}
	return n, nil
}

type fline struct {
	no     int    // 1-based line number
	indent int    // 0-based column of text
	text   string // without indentation, comment and trailing spaces
}

// fastLines splits text into its non-empty lines with comments removed.
func fastLines(data []byte) ([]fline, bool) {
	text := string(data) // one copy; lines are slices of it
	out := make([]fline, 0, 8)
	no := 0
	for off := 0; off < len(text); {
		no++
		end := off
		for end < len(text) && text[end] != '\n' {
			end++
		}
		raw := text[off:end]
		off = end + 1
		ind := 0
		for ind < len(raw) && raw[ind] == ' ' {
			ind++
		}
		var quote byte
		cut := len(raw)
		for j := ind; j < len(raw); j++ {
			c := raw[j]
			if c >= 0x7f || c < 0x20 && !(c == '\r' && j == len(raw)-1) {
				return nil, false
			}
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				} else if c == '\\' && quote == '"' {
					j++
				}
			case c == '"' || c == '\'':
				// A quote opens a string only where a scalar starts.
				if j == ind || strings.IndexByte(" [{,:", raw[j-1]) >= 0 {
					quote = c
				}
			case c == '#' && (j == ind || raw[j-1] == ' '):
				cut = j
				j = len(raw)
			case c == '&' || c == '*' || c == '!' || c == '|' || c == '>' || c == '%' || c == '@' || c == '`' || c == '?':
				return nil, false
			}
		}
		if quote != 0 {
			return nil, false // a string going on to the next line
		}
		t := strings.TrimRight(raw[ind:cut], " \r")
		if t == "" {
			continue
		}
		if t == "---" || t == "..." || strings.HasPrefix(t, "--- ") {
			return nil, false
		}
		out = append(out, fline{no: no, indent: ind, text: t})
	}
	return out, true
}

type fparser struct {
	lines []fline
	bad   bool
	slab  []yaml.Node // nodes are taken from here: one allocation for many
}

// node returns a new node from the slab.
func (p *fparser) node(n yaml.Node) *yaml.Node {
	if len(p.slab) == cap(p.slab) {
		p.slab = make([]yaml.Node, 0, 256)
	}
	p.slab = append(p.slab, n)
	return &p.slab[len(p.slab)-1]
}

func isDash(t string) bool { return t == "-" || strings.HasPrefix(t, "- ") }

// block reads the node starting at line i.
func (p *fparser) block(i int) (*yaml.Node, int) {
	l := p.lines[i]
	switch {
	case isDash(l.text):
		return p.seq(i, l.indent)
	case entryColon(l.text) >= 0:
		return p.mapping(i, l.indent)
	}
	n := p.inline(l.text, l.no, l.indent)
	return n, i + 1
}

func (p *fparser) seq(i, c int) (*yaml.Node, int) {
	n := p.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: p.lines[i].no, Column: c + 1})
	for i < len(p.lines) && !p.bad && p.lines[i].indent == c && isDash(p.lines[i].text) {
		l := p.lines[i]
		rest := strings.TrimLeft(l.text[1:], " ")
		col := c + len(l.text) - len(rest)
		if rest == "" {
			if i+1 < len(p.lines) && p.lines[i+1].indent > c {
				p.bad = true // an item whose value starts on the next line: rare, left to yaml.v3
				return n, i
			}
			n.Content = append(n.Content, p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: l.no, Column: c + 2}))
			i++
			continue
		}
		if isDash(rest) {
			p.bad = true
			return n, i
		}
		// The item's content as a line of its own at its column.
		p.lines[i] = fline{no: l.no, indent: col, text: rest}
		var item *yaml.Node
		if entryColon(rest) >= 0 {
			item, i = p.mapping(i, col)
		} else {
			item = p.inline(rest, l.no, col)
			i++
			if i < len(p.lines) && p.lines[i].indent > c {
				p.bad = true
			}
		}
		n.Content = append(n.Content, item)
	}
	return n, i
}

func (p *fparser) mapping(i, c int) (*yaml.Node, int) {
	n := p.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: p.lines[i].no, Column: c + 1})
	for i < len(p.lines) && !p.bad && p.lines[i].indent == c {
		l := p.lines[i]
		k := entryColon(l.text)
		if k < 0 {
			p.bad = true
			return n, i
		}
		key := p.inline(l.text[:k], l.no, c)
		if key.Kind != yaml.ScalarNode || key.Tag == "!!null" {
			p.bad = true
			return n, i
		}
		val := strings.TrimLeft(l.text[k+1:], " ")
		vcol := c + len(l.text) - len(val)
		var v *yaml.Node
		switch {
		case val != "":
			v = p.inline(val, l.no, vcol)
			i++
			if i < len(p.lines) && p.lines[i].indent > c {
				p.bad = true // a scalar going on to the next line
			}
		case i+1 < len(p.lines) && p.lines[i+1].indent > c:
			v, i = p.block(i + 1)
		case i+1 < len(p.lines) && p.lines[i+1].indent == c && isDash(p.lines[i+1].text):
			v, i = p.seq(i+1, c)
		default:
			v = p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: l.no, Column: c + k + 2})
			i++
		}
		n.Content = append(n.Content, key, v)
	}
	return n, i
}

// entryColon is the index of the colon ending a mapping key at the start of t, or -1.
func entryColon(t string) int {
	if t == "" || strings.IndexByte("[{-", t[0]) >= 0 && !(t[0] == '-' && len(t) > 1 && t[1] != ' ') {
		return -1
	}
	j := 0
	if t[0] == '"' || t[0] == '\'' {
		end := strings.IndexByte(t[1:], t[0])
		if end < 0 {
			return -1
		}
		j = end + 2
		if j < len(t) && t[j] == ':' && (j+1 == len(t) || t[j+1] == ' ') {
			return j
		}
		return -1
	}
	for ; j < len(t); j++ {
		if t[j] == ':' && (j+1 == len(t) || t[j+1] == ' ') {
			return j
		}
	}
	return -1
}

// inline reads a one-line value: a flow collection, a quoted or a plain scalar. col is
// the 0-based column of s.
func (p *fparser) inline(s string, line, col int) *yaml.Node {
	n, rest := p.flowValue(s, line, col, false)
	if strings.TrimSpace(rest) != "" {
		p.bad = true
	}
	return n
}

// flowItems reads the entries of the flow collection that opens at s[0] (column
// col) up to its closing byte and returns what follows it. item reads one entry
// at t (column c) and returns the rest of the line; false stops at once. Broken
// input sets p.bad and returns "".
func (p *fparser) flowItems(s string, col int, closing byte, item func(t string, c int) (string, bool)) string {
	rest := s[1:]
	for !p.bad {
		t := strings.TrimLeft(rest, " ")
		c := col + len(s) - len(t)
		if t == "" {
			p.bad = true
			break
		}
		if t[0] == closing {
			return t[1:]
		}
		r, ok := item(t, c)
		if !ok {
			break
		}
		r = strings.TrimLeft(r, " ")
		if r != "" && r[0] == ',' {
			r = r[1:]
		} else if r == "" || r[0] != closing {
			p.bad = true
		}
		rest = r
	}
	return ""
}

// flowValue reads one value at the start of s; inFlow stops plain scalars at , ] }.
func (p *fparser) flowValue(s string, line, col int, inFlow bool) (*yaml.Node, string) {
	if s == "" {
		p.bad = true
		return &yaml.Node{}, ""
	}
	switch s[0] {
	case '[':
		n := p.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: line, Column: col + 1})
		return n, p.flowItems(s, col, ']', func(t string, c int) (string, bool) {
			v, r := p.flowValue(t, line, c, true)
			if v.Kind == yaml.ScalarNode && v.Style == 0 && strings.Contains(v.Value, ":") {
				p.bad = true // a one-pair mapping in a list: left to yaml.v3
			}
			n.Content = append(n.Content, v)
			return r, true
		})
	case '{':
		n := p.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle, Line: line, Column: col + 1})
		return n, p.flowItems(s, col, '}', func(t string, c int) (string, bool) {
			k, r := p.flowValue(t, line, c, true)
			if k.Kind != yaml.ScalarNode || !strings.HasPrefix(r, ": ") {
				p.bad = true
				return "", false
			}
			vt := strings.TrimLeft(r[1:], " ")
			v, r2 := p.flowValue(vt, line, c+len(t)-len(vt), true)
			n.Content = append(n.Content, k, v)
			return r2, true
		})
	case '"', '\'':
		return p.quoted(s, line, col)
	}
	// A plain scalar.
	end := len(s)
	for j := 0; j < len(s); j++ {
		c := s[j]
		if inFlow && (c == ',' || c == ']' || c == '}' || c == '[' || c == '{') {
			end = j
			break
		}
		if c == ':' && (j+1 == len(s) || s[j+1] == ' ' || inFlow && strings.IndexByte(",]}", s[j+1]) >= 0) {
			if inFlow {
				end = j
				break
			}
			p.bad = true
		}
	}
	v := strings.TrimRight(s[:end], " ")
	// A plain scalar does not start with an indicator.
	if v == "" || strings.IndexByte(",[]{}#&*!|>'\"%@`", v[0]) >= 0 ||
		(strings.IndexByte("-?:", v[0]) >= 0 && (len(v) == 1 || v[1] == ' ')) {
		p.bad = true
		return p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str"}), ""
	}
	n := p.node(yaml.Node{Kind: yaml.ScalarNode, Value: v, Line: line, Column: col + 1})
	n.Tag = plainTag(n)
	if n.Tag == "!!merge" {
		p.bad = true
	}
	return n, s[end:]
}

func (p *fparser) quoted(s string, line, col int) (*yaml.Node, string) {
	q := s[0]
	var b strings.Builder
	j := 1
	for ; j < len(s); j++ {
		c := s[j]
		if c == q {
			if q == '\'' && j+1 < len(s) && s[j+1] == '\'' {
				b.WriteByte('\'')
				j++
				continue
			}
			break
		}
		if c == '\\' && q == '"' {
			if j+1 >= len(s) {
				p.bad = true
				break
			}
			j++
			switch s[j] {
			case '\\', '"', '/':
				b.WriteByte(s[j])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				p.bad = true
			}
			continue
		}
		b.WriteByte(c)
	}
	if j >= len(s) {
		p.bad = true
		return &yaml.Node{}, ""
	}
	style := yaml.DoubleQuotedStyle
	if q == '\'' {
		style = yaml.SingleQuotedStyle
	}
	return p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: style, Value: b.String(), Line: line, Column: col + 1}), s[j+1:]
}

// plainTag is the tag yaml.v3 resolves a plain scalar to. Words that are plainly
// strings (most keys and names) skip its resolver.
func plainTag(n *yaml.Node) string {
	v := n.Value
	if v == "" {
		return n.ShortTag()
	}
	c := v[0]
	if (c >= 'a' && c <= 'z' || c == '_') && len(v) > 5 {
		return "!!str" // null, true, false and their cases are at most 5 letters
	}
	return n.ShortTag()
}
