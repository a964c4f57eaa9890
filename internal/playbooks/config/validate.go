package config

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
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
	Doc    *yaml.Node
	Root   *yaml.Node
}

// playbook lists by format: key in the file -> list (or map, for named playbooks).
var playbookKeys = map[string][]string{
	FormatValues: {"customPlaybooks", "priorityBuiltinPlaybooks", "builtinPlaybooks", "platformPlaybooks", "namedCustomPlaybooks"},
	FormatActive: {"active_playbooks"},
}

var sinkKeys = map[string]string{FormatValues: "sinksConfig", FormatActive: "sinks_config"}

// Parse reads a values file or an active_playbooks.yaml and tells which it is.
func Parse(name string, data []byte) (*File, error) {
	var raw yaml.Node
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, newParseError(name, data, err)
	}
	// Aliases and merge keys are expanded as Helm's YAML parser does, so the validator
	// sees what the chart will see.
	doc, err := resolve(name, &raw)
	if err != nil {
		return nil, err
	}
	f := &File{Name: name, Doc: doc, Format: FormatValues}
	if raw.Kind == 0 || len(doc.Content) == 0 {
		f.Root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		f.Doc = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{f.Root}}
		return f, nil
	}
	f.Root = doc.Content[0]
	if f.Root.Kind != yaml.MappingNode {
		return nil, &ParseError{File: name, Line: f.Root.Line, Msg: "the top level must be a mapping of keys"}
	}
	if lookup(f.Root, "active_playbooks") != nil || lookup(f.Root, "sinks_config") != nil {
		f.Format = FormatActive
	}
	return f, nil
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

// Finding is one validation result.
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Path     string `json:"path"`
	Severity string `json:"severity"` // error or warning
	Message  string `json:"message"`
}

func (f Finding) String() string {
	return f.Location() + " " + f.Severity + ": " + f.Message + f.PathSuffix()
}

// Location is "file:line:", or "file:" when the line is unknown.
func (f Finding) Location() string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d:", f.File, f.Line)
	}
	return f.File + ":"
}

// PathSuffix is " (path)", or nothing for findings about the whole file.
func (f Finding) PathSuffix() string {
	if f.Path == "" {
		return ""
	}
	return " (" + f.Path + ")"
}

// ParseError is a file that is not YAML or not a mapping, with the line when known.
type ParseError struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Finding is the parse error as a validation finding (no YAML path: it is about the file).
func (e *ParseError) Finding() Finding {
	return Finding{File: e.File, Line: e.Line, Severity: "error", Message: e.Msg}
}

var (
	yamlLine      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
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

// problemLine finds the line of a parser error. yaml.v3 names the line where the
// construct that failed starts (a list, a mapping), the problem may be further down: it
// is the first line whose prefix of the file fails with the same message. The search is
// bounded; without a result the construct's line stands.
func problemLine(data []byte, start int, msg string) int {
	lines := strings.SplitAfter(string(data), "\n")
	prefix := strings.Join(lines[:min(start-1, len(lines))], "")
	for k := start; k <= len(lines) && k < start+200; k++ {
		prefix += lines[k-1]
		var n yaml.Node
		err := yaml.Unmarshal([]byte(prefix), &n)
		if err == nil {
			continue
		}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil && m[2] == msg {
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
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if parserProblems[m[2]] {
			line = problemLine(data, line+1, m[2])
		}
		return &ParseError{File: name, Line: line, Msg: m[2]}
	}
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		// yaml.v3 gives no line here: the first use of the alias is it.
		use := regexp.MustCompile(`\*` + regexp.QuoteMeta(m[1]) + `(?:[\s,\]}]|$)`)
		if loc := use.FindIndex(data); loc != nil {
			return &ParseError{File: name, Line: 1 + strings.Count(string(data[:loc[0]]), "\n"), Msg: strings.TrimPrefix(msg, "yaml: ")}
		}
	}
	return &ParseError{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == "error" {
			return true
		}
	}
	return false
}

type validator struct {
	file     *File
	findings []Finding
	sinks    map[string]bool
}

func (v *validator) add(sev string, n *yaml.Node, path, format string, a ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	v.findings = append(v.findings, Finding{File: v.file.Name, Line: line, Path: path, Severity: sev, Message: fmt.Sprintf(format, a...)})
}

// Playbook is one playbook found in a file.
type Playbook struct {
	Path     string     `json:"-"`
	Name     string     `json:"name,omitempty"`
	Triggers []string   `json:"triggers"`
	Actions  []string   `json:"actions"`
	Sinks    []string   `json:"sinks,omitempty"`
	Node     *yaml.Node `json:"-"`
	List     string     `json:"list"`
}

// Playbooks lists the playbooks of a file in order. includeBuiltin adds the chart's
// built-in lists of a values file.
func (f *File) Playbooks(includeBuiltin bool) []Playbook {
	var out []Playbook
	for _, key := range playbookKeys[f.Format] {
		if !includeBuiltin && f.Format == FormatValues && key != "customPlaybooks" && key != "namedCustomPlaybooks" {
			continue
		}
		list := lookup(f.Root, key)
		if list == nil {
			continue
		}
		add := func(path string, n *yaml.Node, name string) {
			pb := Playbook{Path: path, Node: n, List: key, Name: name}
			if n.Kind == yaml.MappingNode {
				if nm := lookup(n, "name"); nm != nil && pb.Name == "" {
					pb.Name = nm.Value
				}
				pb.Triggers = oneKeyNames(lookup(n, "triggers"))
				pb.Actions = oneKeyNames(lookup(n, "actions"))
				if s := lookup(n, "sinks"); s != nil {
					for _, c := range s.Content {
						pb.Sinks = append(pb.Sinks, c.Value)
					}
				}
			}
			out = append(out, pb)
		}
		switch list.Kind {
		case yaml.SequenceNode:
			for i, n := range list.Content {
				add(fmt.Sprintf("%s[%d]", key, i), n, "")
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(list.Content); i += 2 {
				add(key+"."+list.Content[i].Value, list.Content[i+1], list.Content[i].Value)
			}
		}
	}
	return out
}

func oneKeyNames(list *yaml.Node) []string {
	var out []string
	if list == nil || list.Kind != yaml.SequenceNode {
		return out
	}
	for _, it := range list.Content {
		if it.Kind == yaml.MappingNode && len(it.Content) >= 2 {
			out = append(out, it.Content[0].Value)
		}
	}
	return out
}

// SinkNames lists the names defined in the file's sinks configuration.
func (f *File) SinkNames() map[string]bool {
	names := map[string]bool{}
	list := lookup(f.Root, sinkKeys[f.Format])
	if list == nil || list.Kind != yaml.SequenceNode {
		return names
	}
	for _, s := range list.Content {
		if s.Kind == yaml.MappingNode && len(s.Content) >= 2 {
			if n := lookup(s.Content[1], "name"); n != nil {
				names[n.Value] = true
			}
		}
	}
	return names
}

// Validate checks one file. Sinks are checked against the file's own sinksConfig when
// it has one (a values file without sinks may rely on another values file).
func Validate(f *File) []Finding {
	v := &validator{file: f, sinks: f.SinkNames()}
	hasSinkConfig := lookup(f.Root, sinkKeys[f.Format]) != nil
	names := map[string]string{}
	for _, pb := range f.Playbooks(true) {
		v.playbook(pb, hasSinkConfig)
		if pb.Name != "" && pb.List != "namedCustomPlaybooks" {
			if first, dup := names[pb.Name]; dup {
				v.add("error", lookup(pb.Node, "name"), pb.Path+".name", "two playbooks are named %q (the first is %s): names must be unique", pb.Name, first)
			} else {
				names[pb.Name] = pb.Path
			}
		}
	}
	sort.SliceStable(v.findings, func(i, j int) bool { return v.findings[i].Line < v.findings[j].Line })
	return v.findings
}

func (v *validator) playbook(pb Playbook, checkSinks bool) {
	n := pb.Node
	if n.Kind != yaml.MappingNode {
		v.add("error", n, pb.Path, "a playbook must be a mapping with triggers and actions")
		return
	}
	triggers, actions := lookup(n, "triggers"), lookup(n, "actions")
	if triggers == nil || triggers.Kind != yaml.SequenceNode || len(triggers.Content) == 0 {
		v.add("error", n, pb.Path+".triggers", "the playbook has no triggers: add a list such as triggers: [{on_pod_update: {}}]")
	}
	if actions == nil || actions.Kind != yaml.SequenceNode || len(actions.Content) == 0 {
		v.add("error", n, pb.Path+".actions", "the playbook has no actions: add a list such as actions: [{create_finding: {title: ...}}]")
	}
	var events []struct{ name, event string }
	if triggers != nil && triggers.Kind == yaml.SequenceNode {
		for i, t := range triggers.Content {
			path := fmt.Sprintf("%s.triggers[%d]", pb.Path, i)
			name, params, ok := v.oneKey(t, path, "trigger")
			if !ok {
				continue
			}
			def, known := Triggers[name]
			if !known {
				v.add("error", t, path, "unknown trigger %q%s", name, suggest(name, keys(Triggers)))
				continue
			}
			v.params(params, path+"."+name, "trigger "+name, def.Params, true)
			events = append(events, struct{ name, event string }{name, def.Event})
		}
	}
	if actions != nil && actions.Kind == yaml.SequenceNode {
		for i, a := range actions.Content {
			path := fmt.Sprintf("%s.actions[%d]", pb.Path, i)
			name, params, ok := v.oneKey(a, path, "action")
			if !ok {
				continue
			}
			def, known := Actions[name]
			if !known {
				v.add("warning", a, path, "unknown action %q: fine if it comes from a playbook repository you load%s", name, suggest(name, keys(Actions)))
				continue
			}
			v.params(params, path+"."+name, "action "+name, def.Params, def.Strict)
			for _, ev := range events {
				if !Fits(ev.event, def.Event) {
					hint := ""
					if IsChangeEvent(def.Event) {
						hint = ": it compares an old and a new object, so it needs a change trigger such as on_" + changeKind(def.Event) + "_update"
					}
					v.add("error", a, path, "action %s needs a %s, but trigger %s gives a %s%s", name, def.Event, ev.name, ev.event, hint)
				}
			}
		}
	}
	if s := lookup(n, "sinks"); s != nil && checkSinks {
		for i, sn := range s.Content {
			if !v.sinks[sn.Value] {
				v.add("error", sn, fmt.Sprintf("%s.sinks[%d]", pb.Path, i), "sink %q is not defined in %s%s", sn.Value, sinkKeys[v.file.Format], suggest(sn.Value, keys(v.sinks)))
			}
		}
	}
}

func changeKind(event string) string {
	stem := strings.TrimSuffix(event, "ChangeEvent")
	for k, v := range kinds {
		if v == stem {
			return k
		}
	}
	return "deployment"
}

func (v *validator) oneKey(n *yaml.Node, path, what string) (string, *yaml.Node, bool) {
	if n.Kind == yaml.ScalarNode && n.Value != "" {
		return n.Value, nil, true // "- on_pod_update" without params
	}
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		v.add("error", n, path, "each %s is a one-key mapping: - name: {params}", what)
		return "", nil, false
	}
	return n.Content[0].Value, n.Content[1], true
}

func (v *validator) params(n *yaml.Node, path, owner string, defs map[string]Param, strict bool) {
	present := map[string]bool{}
	if n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			present[k.Value] = true
			def, ok := defs[k.Value]
			if !ok {
				if strict {
					v.add("error", k, path+"."+k.Value, "%s has no parameter %q%s", owner, k.Value, allowed(defs))
				}
				continue
			}
			// Messages quote the value: a secret one is quoted masked.
			shown := val
			if val.Kind == yaml.ScalarNode && IsSecretKey("", k.Value) {
				c := *val
				c.Value = MaskString(val.Value)
				shown = &c
			}
			if msg := typeMismatch(def.Type, val); msg != "" {
				v.add("error", val, path+"."+k.Value, "%s parameter %s %s", owner, k.Value, typeMismatch(def.Type, shown))
			} else if len(def.Enum) > 0 && val.Kind == yaml.ScalarNode && !slices.Contains(def.Enum, val.Value) {
				v.add("error", val, path+"."+k.Value, "%s parameter %s must be one of %s, got %q", owner, k.Value, strings.Join(def.Enum, ", "), shown.Value)
			}
		}
	} else if n != nil && !(n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "")) {
		v.add("error", n, path, "the parameters of %s must be a mapping ({} for none)", owner)
		return
	}
	var missing []string
	for k, d := range defs {
		if d.Required && !present[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		v.add("error", n, path, "%s needs parameter %s", owner, k)
	}
}

// typeMismatch follows the runner's leniency: "5" fills an int, "true" a bool.
func typeMismatch(want string, n *yaml.Node) string {
	switch want {
	case "int":
		if n.Kind == yaml.ScalarNode {
			if _, err := strconv.Atoi(strings.TrimSpace(n.Value)); err == nil {
				return ""
			}
		}
		return fmt.Sprintf("must be a whole number, got %q", shortValue(n))
	case "bool":
		if n.Kind == yaml.ScalarNode {
			if _, err := strconv.ParseBool(strings.ToLower(n.Value)); err == nil {
				return ""
			}
		}
		return fmt.Sprintf("must be true or false, got %q", shortValue(n))
	case "string":
		if n.Kind == yaml.ScalarNode {
			return ""
		}
		return "must be a string, not a list or mapping"
	case "list":
		if n.Kind == yaml.SequenceNode {
			return ""
		}
		return fmt.Sprintf("must be a list, got %q", shortValue(n))
	case "map":
		if n.Kind == yaml.MappingNode {
			return ""
		}
		return fmt.Sprintf("must be a mapping, got %q", shortValue(n))
	}
	return ""
}

func shortValue(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value
	case yaml.SequenceNode:
		return "[...]"
	case yaml.MappingNode:
		return "{...}"
	}
	return ""
}

func allowed(defs map[string]Param) string {
	if len(defs) == 0 {
		return ": it takes none"
	}
	return ": allowed are " + strings.Join(keys(defs), ", ")
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest returns `: did you mean "x"?` for the closest candidate within a small
// edit distance.
func suggest(name string, candidates []string) string {
	if best, ok := Closest(name, candidates); ok {
		return fmt.Sprintf(": did you mean %q?", best)
	}
	return ""
}

// Closest is the candidate nearest to name by edit distance, when it is near enough
// to be a typo (a third of name's length, plus one).
func Closest(name string, candidates []string) (string, bool) {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best, best != "" && bestD <= len(name)/3+1
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
