package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
)

// LoadActions reads the @action functions of a playbook repository's Python source under
// dir: each action's name, the event class of its first parameter and the params class
// of its second, with that class's annotated fields (its bases from the same source or
// from Robusta's catalogue). Python is read line by line, not run: enough for the
// definitions playbook repositories write, which is what the validator needs.
func LoadActions(dir string) (*Known, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("read actions from %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("read actions from %s: not a directory (pass the playbook repository's folder)", dir)
	}
	src := &pySource{classes: map[string]*pyClass{}, defs: map[string]*pyDef{}}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != dir && (strings.HasPrefix(name, ".") || name == "__pycache__" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".py") || !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		src.read(filepath.ToSlash(rel), string(data))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read actions from %s: %w", dir, err)
	}
	return src.known(), nil
}

type pyField struct {
	name, annotation, dflt string
	hasDefault             bool
}

type pyClass struct {
	name, source string
	bases        []string
	fields       []pyField
	extraAllow   bool
}

type pyDef struct {
	name, source string
	args         []string // "event: PodEvent", ...
	action       bool
}

type pySource struct {
	classes map[string]*pyClass
	defs    map[string]*pyDef
	aliases []struct{ name, fn, source string } // name = action(fn)
}

type pyLine struct {
	indent int
	text   string
	no     int
}

// logicalLines joins bracketed and backslash-continued lines, drops comments, and
// replaces string literals spanning lines (docstrings) by an empty string.
func logicalLines(src string) []pyLine {
	var out []pyLine
	var cur strings.Builder
	depth, start, indent := 0, 0, 0
	inStr := "" // the open quote: ', ", ''' or """
	lines := strings.Split(src, "\n")
	for i, raw := range lines {
		line := strings.TrimRight(raw, "\r")
		if cur.Len() == 0 && inStr == "" {
			trimmed := strings.TrimLeft(line, " \t")
			if trimmed == "" || trimmed[0] == '#' {
				continue
			}
			indent = len(line) - len(trimmed)
			start = i + 1
			line = trimmed
		}
		for j := 0; j < len(line); j++ {
			c := line[j]
			if inStr != "" {
				// One-line strings are kept (annotations and defaults are read from
				// them); triple-quoted ones (docstrings) become ''.
				keep := len(inStr) == 1
				if c == '\\' {
					if keep && j+1 < len(line) {
						cur.WriteString(line[j : j+2])
					}
					j++
					continue
				}
				if strings.HasPrefix(line[j:], inStr) {
					j += len(inStr) - 1
					if keep {
						cur.WriteString(inStr)
					} else {
						cur.WriteString("''")
					}
					inStr = ""
					continue
				}
				if keep {
					cur.WriteByte(c)
				}
				continue
			}
			switch c {
			case '#':
				j = len(line)
				continue
			case '\'', '"':
				q := string(c)
				if strings.HasPrefix(line[j:], q+q+q) {
					q = q + q + q
				}
				inStr = q
				j += len(q) - 1
				if len(q) == 1 {
					cur.WriteByte(c)
				}
				continue
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				if depth > 0 {
					depth--
				}
			}
			cur.WriteByte(c)
		}
		if inStr == "'" || inStr == "\"" {
			inStr = "" // an unterminated one-line string: give up on it
		}
		text := strings.TrimSpace(cur.String())
		if inStr != "" || depth > 0 || strings.HasSuffix(text, "\\") {
			if strings.HasSuffix(text, "\\") {
				cur.Reset()
				cur.WriteString(strings.TrimSuffix(text, "\\"))
			}
			cur.WriteByte(' ')
			continue
		}
		if text != "" {
			out = append(out, pyLine{indent: indent, text: text, no: start})
		}
		cur.Reset()
	}
	return out
}

var (
	pyClassRe = lazyRegexp(`^class\s+([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*:`)
	pyDefRe   = lazyRegexp(`^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\((.*)\)\s*(?:->.*)?:`)
	pyFieldRe = lazyRegexp(`^([A-Za-z_]\w*)\s*:\s*([^=]+?)\s*(?:=\s*(.*))?$`)
	pyPlainRe = lazyRegexp(`^([A-Za-z_]\w*)\s*=\s*(.+)$`)
	pyAliasRe = lazyRegexp(`^([A-Za-z_]\w*)\s*=\s*action\(\s*([A-Za-z_]\w*)\s*\)$`)
	pyExtraRe = lazyRegexp(`^extra\s*=\s*(?:Extra\.allow|''|.*allow.*)$`)
)

func (s *pySource) read(file, src string) {
	lines := logicalLines(src)
	decorated := false
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		where := fmt.Sprintf("%s:%d", file, l.no)
		switch {
		case strings.HasPrefix(l.text, "@"):
			name := strings.TrimSpace(strings.TrimPrefix(l.text, "@"))
			if k := strings.IndexByte(name, '('); k >= 0 {
				name = name[:k]
			}
			if name == "action" || strings.HasSuffix(name, ".action") {
				decorated = true
			}
			continue
		case pyDefRe().MatchString(l.text):
			m := pyDefRe().FindStringSubmatch(l.text)
			if l.indent == 0 {
				s.defs[m[1]] = &pyDef{name: m[1], source: where, args: splitTop(m[2]), action: decorated}
			}
		case pyClassRe().MatchString(l.text):
			m := pyClassRe().FindStringSubmatch(l.text)
			c := &pyClass{name: m[1], source: where}
			for _, b := range splitTop(m[2]) {
				if b = strings.TrimSpace(b); b != "" && !strings.Contains(b, "=") {
					c.bases = append(c.bases, b[strings.LastIndexByte(b, '.')+1:])
				}
			}
			i = s.classBody(c, lines, i)
			s.classes[c.name] = c
		case l.indent == 0 && pyAliasRe().MatchString(l.text):
			m := pyAliasRe().FindStringSubmatch(l.text)
			s.aliases = append(s.aliases, struct{ name, fn, source string }{m[1], m[2], where})
		}
		decorated = false
	}
}

// classBody reads the fields of the class whose header is lines[at]; it returns the
// index of the body's last line.
func (s *pySource) classBody(c *pyClass, lines []pyLine, at int) int {
	head := lines[at].indent
	body := -1
	i := at + 1
	for ; i < len(lines); i++ {
		l := lines[i]
		if l.indent <= head {
			break
		}
		if body < 0 {
			body = l.indent
		}
		if l.indent != body {
			continue // inside a method or a nested class
		}
		if l.text == "class Config:" || strings.HasPrefix(l.text, "class Config(") {
			for j := i + 1; j < len(lines) && lines[j].indent > l.indent; j++ {
				if pyExtraRe().MatchString(lines[j].text) && strings.Contains(lines[j].text, "allow") {
					c.extraAllow = true
				}
			}
			continue
		}
		if m := pyFieldRe().FindStringSubmatch(l.text); m != nil && !strings.HasPrefix(m[2], "ClassVar") {
			c.fields = append(c.fields, pyField{name: m[1], annotation: strings.TrimSpace(m[2]), dflt: strings.TrimSpace(m[3]), hasDefault: strings.Contains(l.text, "=")})
			continue
		}
		if m := pyPlainRe().FindStringSubmatch(l.text); m != nil && !strings.HasPrefix(m[1], "_") && !strings.Contains(l.text, "(") {
			c.fields = append(c.fields, pyField{name: m[1], dflt: strings.TrimSpace(m[2]), hasDefault: true})
		}
	}
	return i - 1
}

// splitTop splits s on commas outside brackets.
func splitTop(s string) []string {
	var out []string
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[last:i]))
				last = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[last:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

// known turns what was read into actions and models.
func (s *pySource) known() *Known {
	k := &Known{Actions: map[string]*catalogue.Action{}, Models: map[string]*catalogue.Model{}, Sources: map[string]string{}}
	add := func(name string, d *pyDef, where string) {
		a := &catalogue.Action{Name: name, Source: where}
		if len(d.args) > 0 {
			a.Event = argType(d.args[0])
			if !catalogue.KnownEvent(a.Event) {
				a.Event = "" // a class of the repository's own: compatibility is not checked
			}
		}
		if len(d.args) > 1 {
			if p := argType(d.args[1]); p != "" {
				a.Params = p
				s.model(k, p, 0)
				if _, ok := k.model(p); !ok {
					a.Params = "" // params class not found: its params are not checked
				}
			}
		}
		k.Actions[name] = a
		k.Sources[name] = where
	}
	names := make([]string, 0, len(s.defs))
	for n := range s.defs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if d := s.defs[n]; d.action {
			add(n, d, d.source)
		}
	}
	for _, al := range s.aliases {
		if d, ok := s.defs[al.fn]; ok {
			add(al.name, d, al.source)
		}
	}
	return k
}

func argType(arg string) string {
	_, typ, ok := strings.Cut(arg, ":")
	if !ok {
		return ""
	}
	typ, _, _ = strings.Cut(typ, "=")
	typ = strings.Trim(strings.TrimSpace(typ), `"'`)
	return typ[strings.LastIndexByte(typ, '.')+1:]
}

// enumValues: class name is an Enum of the source; pydantic takes its members' values.
func (s *pySource) enumValues(name string) ([]string, bool) {
	c, ok := s.classes[name]
	if !ok {
		return nil, false
	}
	enum := false
	for _, b := range c.bases {
		enum = enum || strings.HasSuffix(b, "Enum")
	}
	if !enum {
		return nil, false
	}
	var out []string
	for _, f := range c.fields {
		out = append(out, strings.Trim(f.dflt, `"'`))
	}
	return out, true
}

// model builds the params model of class name (from the source, else the catalogue's).
func (s *pySource) model(k *Known, name string, depth int) []catalogue.Param {
	if m, ok := k.Models[name]; ok {
		return m.Params
	}
	c, ok := s.classes[name]
	if !ok || depth > 20 {
		if m, ok := catalogue.LookupModel(name); ok {
			return m.Params
		}
		return nil
	}
	m := &catalogue.Model{Name: name, Source: c.source, ExtraAllowed: c.extraAllow}
	k.Models[name] = m // before the bases: a cycle ends here
	put := func(p catalogue.Param) {
		for i := range m.Params {
			if m.Params[i].Name == p.Name {
				m.Params[i] = p
				return
			}
		}
		m.Params = append(m.Params, p)
	}
	// pydantic v1 orders fields base first, later bases' before earlier ones'.
	for i := len(c.bases) - 1; i >= 0; i-- {
		for _, p := range s.model(k, c.bases[i], depth+1) {
			put(p)
		}
		if bm, ok := k.model(c.bases[i]); ok && bm.ExtraAllowed {
			m.ExtraAllowed = true
		}
	}
	for _, f := range c.fields {
		t, optional := pyType(f.annotation)
		if f.annotation == "" {
			t = catalogue.Type{Kind: catalogue.Any}
		}
		var enum []string
		if t.Kind == catalogue.Object {
			if values, ok := s.enumValues(t.Model); ok {
				t, enum = catalogue.Type{Kind: catalogue.String}, values
			}
		}
		for _, ref := range modelRefs(t) {
			s.model(k, ref, depth+1)
		}
		p := catalogue.Param{Name: f.name, Python: f.annotation, Type: t, Default: f.dflt, Enum: enum}
		p.Required = !f.hasDefault && !optional && f.annotation != ""
		if f.dflt == "" && optional {
			p.Default = "None"
		}
		put(p)
	}
	return m.Params
}

func modelRefs(t catalogue.Type) []string {
	var out []string
	if t.Kind == catalogue.Object && t.Model != "" {
		out = append(out, t.Model)
	}
	if t.Elem != nil {
		out = append(out, modelRefs(*t.Elem)...)
	}
	for _, o := range t.Options {
		out = append(out, modelRefs(o)...)
	}
	return out
}

// pyType reads an annotation; optional says None is allowed.
func pyType(ann string) (catalogue.Type, bool) {
	ann = strings.Trim(strings.TrimSpace(ann), `"'`)
	name, args := ann, ""
	if i := strings.IndexByte(ann, '['); i >= 0 && strings.HasSuffix(ann, "]") {
		name, args = ann[:i], ann[i+1:len(ann)-1]
	}
	name = name[strings.LastIndexByte(name, '.')+1:]
	parts := splitTop(args)
	switch name {
	case "str", "SecretStr", "constr", "AnyUrl", "HttpUrl":
		return catalogue.Type{Kind: catalogue.String}, false
	case "int", "conint", "PositiveInt":
		return catalogue.Type{Kind: catalogue.Int}, false
	case "float", "confloat":
		return catalogue.Type{Kind: catalogue.Float}, false
	case "bool", "StrictBool":
		return catalogue.Type{Kind: catalogue.Bool}, false
	case "datetime":
		return catalogue.Type{Kind: catalogue.DateTime}, false
	case "Any", "object", "":
		return catalogue.Type{Kind: catalogue.Any}, true
	case "None", "NoneType":
		return catalogue.Type{Kind: catalogue.Any}, true
	case "Optional":
		t, _ := pyType(args)
		return t, true
	case "List", "list", "Set", "set", "Tuple", "tuple", "Sequence", "FrozenSet":
		if len(parts) == 0 {
			return catalogue.Type{Kind: catalogue.List}, false
		}
		e, _ := pyType(parts[0])
		return catalogue.Type{Kind: catalogue.List, Elem: &e}, false
	case "Dict", "dict", "Mapping":
		if len(parts) < 2 {
			return catalogue.Type{Kind: catalogue.Map, Elem: &catalogue.Type{Kind: catalogue.Any}}, false
		}
		e, _ := pyType(parts[1])
		return catalogue.Type{Kind: catalogue.Map, Elem: &e}, false
	case "Union":
		u := catalogue.Type{Kind: catalogue.Union}
		optional := false
		for _, p := range parts {
			if p == "None" || p == "NoneType" {
				optional = true
				continue
			}
			t, _ := pyType(p)
			if t.Kind == catalogue.Any {
				return t, true
			}
			u.Options = append(u.Options, t)
		}
		if len(u.Options) == 1 {
			return u.Options[0], optional
		}
		return u, optional
	}
	if name[0] >= 'A' && name[0] <= 'Z' {
		return catalogue.Type{Kind: catalogue.Object, Model: name}, false
	}
	return catalogue.Type{Kind: catalogue.Any}, false
}
