package config

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
)

// Severities of a finding. An error is something the runner (or Helm) refuses when it
// loads the configuration; a warning is something it accepts but that fails or is
// ignored when it runs; info is worth knowing but usually intended.
const (
	SevError   = "error"
	SevWarning = "warning"
	SevInfo    = "info"
)

// Rule ids: one per kind of finding, stable for scripts and SARIF.
const (
	RuleSyntax          = "yaml-syntax"
	RuleDuplicateKey    = "duplicate-key"
	RuleEmpty           = "empty-file"
	RuleExtraDocument   = "extra-document"
	RuleShape           = "wrong-shape"
	RuleUnknownKey      = "unknown-key"
	RuleTriggerCount    = "trigger-count"
	RuleUnknownTrigger  = "unknown-trigger"
	RuleTriggerParam    = "trigger-param"
	RuleChangeFilters   = "change-filters"
	RuleSchedule        = "schedule"
	RuleCron            = "cron-expression"
	RuleScope           = "scope"
	RuleRegex           = "regex"
	RuleUnknownAction   = "unknown-action"
	RuleEventMismatch   = "event-mismatch"
	RuleActionParams    = "action-params"
	RuleParamType       = "param-type"
	RuleParamMissing    = "param-missing"
	RuleParamUnknown    = "param-unknown"
	RuleEnvRef          = "env-reference"
	RuleDeprecated      = "deprecated"
	RuleSinkUndefined   = "sink-undefined"
	RuleSinkType        = "sink-type"
	RuleSinkParam       = "sink-param"
	RuleSinkDuplicate   = "sink-duplicate"
	RuleHelmNoPlatform  = "helm-needs-robusta-sink"
	RuleUnwatchedKind   = "kind-not-watched"
	RuleDuplicateName   = "duplicate-name"
	RuleDeprecatedValue = "deprecated-value"
)

// Finding is one validation result.
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Path     string `json:"path"`
	Severity string `json:"severity"` // error, warning or info
	Rule     string `json:"rule"`
	Message  string `json:"message"`
}

func (f Finding) String() string {
	return f.Location() + " " + f.Severity + ": " + f.Message + f.PathSuffix()
}

// Location is "file:line:col:", "file:line:" without a column, or "file:" when the line
// is unknown.
func (f Finding) Location() string {
	switch {
	case f.Line > 0 && f.Column > 0:
		return fmt.Sprintf("%s:%d:%d:", f.File, f.Line, f.Column)
	case f.Line > 0:
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

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SevError {
			return true
		}
	}
	return false
}

// playbook lists by format: key in the file -> list (or map, for named playbooks).
var playbookKeys = map[string][]string{
	FormatValues: {"customPlaybooks", "priorityBuiltinPlaybooks", "builtinPlaybooks", "platformPlaybooks", "namedCustomPlaybooks"},
	FormatActive: {"active_playbooks"},
}

var sinkKeys = map[string]string{FormatValues: "sinksConfig", FormatActive: "sinks_config"}
var globalKeys = map[string]string{FormatValues: "globalConfig", FormatActive: "global_config"}

// chartGlobals are the globalConfig keys the chart always renders (cluster_name from
// clusterName, the rest from its values.yaml defaults): a values file's playbooks get
// them even when the file does not set them.
var chartGlobals = []string{"cluster_name", "check_prometheus_flags", "grafana_url", "grafana_api_key",
	"grafana_dashboard_uid", "prometheus_url", "account_id", "signing_key", "custom_annotations",
	"custom_severity_map", "prometheus_rule_group_name", "prometheus_rule_custom_labels"}

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
	eachPlaybook(f.Root, f.Format, includeBuiltin, func(key, path string, n *yaml.Node, name string) {
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
	})
	return out
}

// eachPlaybook calls fn for every playbook of root's lists, in order. The path is built
// only for lists the caller walks.
func eachPlaybook(root *yaml.Node, format string, includeBuiltin bool, fn func(key, path string, n *yaml.Node, name string)) {
	for _, key := range playbookKeys[format] {
		if !includeBuiltin && format == FormatValues && key != "customPlaybooks" && key != "namedCustomPlaybooks" {
			continue
		}
		list := lookup(root, key)
		if list == nil {
			continue
		}
		switch list.Kind {
		case yaml.SequenceNode:
			for i, n := range list.Content {
				fn(key, indexPath(key, i), n, "")
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(list.Content); i += 2 {
				fn(key, key+"."+list.Content[i].Value, list.Content[i+1], list.Content[i].Value)
			}
		}
	}
}

func indexPath(base string, i int) string {
	var b [20]byte
	return base + "[" + string(appendInt(b[:0], i)) + "]"
}

func appendInt(b []byte, i int) []byte {
	if i == 0 {
		return append(b, '0')
	}
	var tmp [20]byte
	n := len(tmp)
	for i > 0 {
		n--
		tmp[n] = byte('0' + i%10)
		i /= 10
	}
	return append(b, tmp[n:]...)
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

// Validate checks one file against Robusta's catalogue.
func Validate(f *File) []Finding { return ValidateWith(f, nil) }

// ValidateWith checks one file, knowing the actions of known besides the catalogue's.
// Sinks are checked against the file's own sinksConfig when it has one (a values file
// without sinks may rely on another values file).
func ValidateWith(f *File, known *Known) []Finding {
	v := &validator{file: f, known: known}
	v.findings = append(v.findings, f.parsed...)
	if f.Empty {
		v.addAt(SevWarning, RuleEmpty, 1, 0, "", "the file is empty (no keys, only comments, or null): it configures no playbooks and no sinks")
	}
	for i, root := range f.Docs {
		format := FormatValues
		if lookup(root, "active_playbooks") != nil || lookup(root, "sinks_config") != nil {
			format = FormatActive
		}
		if i > 0 {
			sev, why := SevWarning, "Helm reads only the first document of a values file: this one is ignored (checked below anyway)"
			if format == FormatActive || f.Format == FormatActive {
				sev, why = SevError, "the runner's loader takes a single document: a second one makes it refuse the file"
			}
			v.add(sev, RuleExtraDocument, root, "", "a second YAML document (after ---): %s", why)
		}
		v.document(root, format)
	}
	sortFindings(v.findings)
	return v.findings
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

type validator struct {
	file     *File
	known    *Known
	findings []Finding

	// per document
	format     string
	sinkList   bool            // the document has a sinks configuration
	sinks      map[string]bool // sink names defined
	robusta    bool            // a robusta_sink is configured
	globals    map[string]*yaml.Node
	watched    map[string]bool // kubewatch resources the file turns on or off
	watchedSet map[string]bool // ... and whether it says so at all
	names      map[string]string
	list       string // the playbook list being checked
}

// chartLists are the values the chart fills with its own playbooks.
var chartLists = map[string]bool{"builtinPlaybooks": true, "priorityBuiltinPlaybooks": true, "platformPlaybooks": true}

func (v *validator) add(sev, rule string, n *yaml.Node, path, format string, a ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	v.findings = append(v.findings, Finding{File: v.file.Name, Line: line, Column: col, Path: path, Severity: sev, Rule: rule, Message: fmt.Sprintf(format, a...)})
}

func (v *validator) addAt(sev, rule string, line, col int, path, msg string) {
	v.findings = append(v.findings, Finding{File: v.file.Name, Line: line, Column: col, Path: path, Severity: sev, Rule: rule, Message: msg})
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// document checks one document's top level, its sinks and its playbooks.
func (v *validator) document(root *yaml.Node, format string) {
	v.prelude(root, format)
	eachPlaybook(root, format, true, func(key, path string, n *yaml.Node, name string) {
		v.playbook(key, path, n, name)
	})
}

// prelude checks a document's top level and reads what its playbooks are checked
// against: sinks, globalConfig, the chart's watched kinds.
func (v *validator) prelude(root *yaml.Node, format string) {
	v.format = format
	v.sinks, v.sinkList, v.robusta = map[string]bool{}, false, false
	v.globals = map[string]*yaml.Node{}
	v.watched, v.watchedSet = map[string]bool{}, map[string]bool{}
	v.names = map[string]string{}

	lists := playbookKeys[format]
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, val := root.Content[i], root.Content[i+1]
		switch {
		case k.Value == "namedCustomPlaybooks" && format == FormatValues:
			if !isNull(val) && val.Kind != yaml.MappingNode {
				v.add(SevError, RuleShape, val, k.Value, "%s must be a mapping of playbook name to playbook, not %s", k.Value, kindName(val))
			}
		case contains(lists, k.Value):
			if !isNull(val) && val.Kind != yaml.SequenceNode {
				v.add(SevError, RuleShape, val, k.Value, "%s must be a list of playbooks (- triggers: [...]\\n  actions: [...]), not %s", k.Value, kindName(val))
			}
		case k.Value == globalKeys[format]:
			if !isNull(val) && val.Kind != yaml.MappingNode {
				v.add(SevError, RuleShape, val, k.Value, "%s must be a mapping of parameter names to values, not %s", k.Value, kindName(val))
			}
		case format == FormatValues && k.Value == "playbooks":
			v.add(SevError, RuleUnknownKey, k, k.Value, "the chart refuses the old key playbooks: rename it to customPlaybooks (the built-in playbooks now come from builtinPlaybooks)")
		case format == FormatValues && strings.HasSuffix(k.Value, "Playbooks") && k.Value != "enablePlatformPlaybooks" && k.Value != "disabledPlaybooks":
			if best, ok := Closest(k.Value, lists); ok {
				v.add(SevWarning, RuleUnknownKey, k, k.Value, "the chart has no value %s, so these playbooks are not loaded: did you mean %q?", k.Value, best)
			}
		}
	}

	if g := lookup(root, globalKeys[format]); g != nil && g.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(g.Content); i += 2 {
			v.globals[g.Content[i].Value] = g.Content[i+1]
		}
	}
	if format == FormatValues {
		for _, k := range chartGlobals {
			if _, ok := v.globals[k]; !ok {
				v.globals[k] = nil // present, with the chart's value
			}
		}
		if res := lookup(lookup(lookup(root, "kubewatch"), "config"), "resource"); res != nil && res.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(res.Content); i += 2 {
				k, val := res.Content[i].Value, res.Content[i+1]
				v.watchedSet[k] = true
				v.watched[k] = val.Kind == yaml.ScalarNode && strings.EqualFold(val.Value, "true")
			}
		}
		// Chart values older than 0.8.9 still make these sinks.
		if n := lookup(root, "slackApiKey"); n != nil && n.Value != "" {
			v.sinkList, v.sinks["slack sink"] = true, true
		}
		if n := lookup(root, "robustaApiKey"); n != nil && n.Value != "" {
			v.sinkList, v.sinks["robusta_ui_sink"], v.robusta = true, true, true
		}
	}
	if s := lookup(root, sinkKeys[format]); s != nil {
		v.sinkConfig(s, sinkKeys[format])
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sinkConfig checks sinksConfig: each item one known sink type with its required keys
// and a unique name. The runner refuses the whole configuration otherwise.
func (v *validator) sinkConfig(list *yaml.Node, key string) {
	if isNull(list) {
		return
	}
	if list.Kind != yaml.SequenceNode {
		v.add(SevError, RuleShape, list, key, "%s must be a list of sinks (- slack_sink: {name: ..., ...}), not %s", key, kindName(list))
		return
	}
	// The chart's own default is an empty list, to be filled by the user's values: only
	// a list with sinks says which sinks exist.
	v.sinkList = v.sinkList || len(list.Content) > 0
	first := map[string]*yaml.Node{}
	for i, it := range list.Content {
		path := indexPath(key, i)
		if it.Kind != yaml.MappingNode || len(it.Content) != 2 {
			v.add(SevError, RuleShape, it, path, "each sink is a mapping with one sink type: - slack_sink: {name: main, ...}")
			continue
		}
		typ, params := it.Content[0], it.Content[1]
		path += "." + typ.Value
		sink, ok := catalogue.LookupSink(typ.Value)
		if !ok {
			v.add(SevError, RuleSinkType, typ, path, "unknown sink type %q%s", typ.Value, suggestOr(typ.Value, sinkKeyNames(), ": the sink types are "+strings.Join(sinkKeyNames(), ", ")))
			if params.Kind == yaml.MappingNode {
				if n := lookup(params, "name"); n != nil {
					v.sinks[n.Value] = true
				}
			}
			continue
		}
		if params.Kind != yaml.MappingNode {
			v.add(SevError, RuleShape, params, path, "the settings of %s must be a mapping (name, and the sink's keys), not %s", typ.Value, kindName(params))
			continue
		}
		if typ.Value == "robusta_sink" {
			v.robusta = true
		}
		if n := lookup(params, "name"); n != nil && n.Kind == yaml.ScalarNode {
			if prev, dup := first[n.Value]; dup {
				v.add(SevError, RuleSinkDuplicate, n, path+".name", "two sinks are named %q (the first at line %d): the runner refuses the configuration; sink names must be unique", n.Value, prev.Line)
			} else {
				first[n.Value] = n
			}
			v.sinks[n.Value] = true
		}
		model, _ := catalogue.LookupModel(sink.Params)
		v.object(model, params, path, "sink "+typ.Value, modelCheck{sev: SevError, rule: RuleSinkParam, unknownSev: SevWarning, missingSev: SevError})
	}
}

func suggestOr(name string, candidates []string, otherwise string) string {
	if s := suggest(name, candidates); s != "" {
		return s
	}
	return otherwise
}

type trig struct {
	key   string
	event string
	node  *yaml.Node
}

// playbook checks one playbook as the runner loads it (PlaybookDefinition).
func (v *validator) playbook(list, path string, n *yaml.Node, name string) {
	v.list = list
	if n.Kind != yaml.MappingNode {
		v.add(SevError, RuleShape, n, path, "a playbook must be a mapping with triggers and actions, not %s", kindName(n))
		return
	}
	var triggers, actions *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "triggers":
			triggers = val
		case "actions":
			actions = val
		case "name":
			if list == "namedCustomPlaybooks" || val.Kind != yaml.ScalarNode {
				continue
			}
			if first, dup := v.names[val.Value]; dup {
				v.add(SevWarning, RuleDuplicateName, val, path+".name", "two playbooks are named %q (the first is %s): disabledPlaybooks turns both off", val.Value, first)
			} else {
				v.names[val.Value] = path
			}
		case "sinks":
			v.playbookSinks(val, path+".sinks")
		case "stop":
			if !isNull(val) && v.mismatch(catalogue.Type{Kind: catalogue.Bool}, val) {
				v.add(SevError, RuleShape, val, path+".stop", "stop must be true or false, not %s", kindName(val))
			}
		default:
			v.add(SevWarning, RuleUnknownKey, k, path+"."+k.Value, "a playbook has no key %q: the runner ignores it%s", k.Value, suggestOr(k.Value, []string{"triggers", "actions", "sinks", "stop", "name"}, " (a playbook takes triggers, actions, sinks, stop and name)"))
		}
	}
	var trigs []trig
	switch {
	case triggers == nil || isNull(triggers):
		v.add(SevError, RuleShape, n, path+".triggers", "the playbook has no triggers: add a list such as triggers: [{on_pod_update: {}}]")
	case triggers.Kind != yaml.SequenceNode:
		v.add(SevError, RuleShape, triggers, path+".triggers", "triggers must be a list (- on_pod_update: {}), not %s", kindName(triggers))
	case len(triggers.Content) == 0:
		v.add(SevError, RuleShape, triggers, path+".triggers", "the playbook has no triggers: add a list such as triggers: [{on_pod_update: {}}]")
	default:
		for i, t := range triggers.Content {
			if tr, ok := v.trigger(t, indexPath(path+".triggers", i)); ok {
				trigs = append(trigs, tr)
			}
		}
	}
	nActions := 0
	switch {
	case actions == nil || isNull(actions):
		v.add(SevError, RuleShape, n, path+".actions", "the playbook has no actions: add a list such as actions: [{create_finding: {title: ..., aggregation_key: ...}}]")
	case actions.Kind != yaml.SequenceNode:
		v.add(SevError, RuleShape, actions, path+".actions", "actions must be a list (- pod_events_enricher: {}), not %s", kindName(actions))
	case len(actions.Content) == 0:
		v.add(SevError, RuleShape, actions, path+".actions", "the playbook has no actions: add a list such as actions: [{create_finding: {title: ..., aggregation_key: ...}}]")
	default:
		nActions = len(actions.Content)
		for i, a := range actions.Content {
			v.action(a, indexPath(path+".actions", i), trigs)
		}
	}
	for _, t := range trigs {
		if t.event == "ScheduledExecutionEvent" && (len(triggers.Content) != 1 || nActions != 1) {
			v.add(SevError, RuleSchedule, t.node, path, "a scheduled playbook (%s) takes exactly one trigger and one action, this one has %d and %d: split it into one playbook per action", t.key, len(triggers.Content), nActions)
			break
		}
	}
}

func (v *validator) playbookSinks(val *yaml.Node, path string) {
	if isNull(val) {
		return
	}
	if val.Kind != yaml.SequenceNode {
		v.add(SevError, RuleShape, val, path, "sinks must be a list of sink names (sinks: [main_slack_sink]), not %s", kindName(val))
		return
	}
	names := make([]string, 0, len(v.sinks))
	for i, s := range val.Content {
		if s.Kind != yaml.ScalarNode || isNull(s) {
			v.add(SevError, RuleShape, s, indexPath(path, i), "each sink is named by a string, not %s", kindName(s))
			continue
		}
		if v.sinkList && !v.sinks[s.Value] {
			if len(names) == 0 {
				for k := range v.sinks {
					names = append(names, k)
				}
				sort.Strings(names)
			}
			v.add(SevWarning, RuleSinkUndefined, s, indexPath(path, i), "sink %q is not defined in %s: the runner sends this playbook's findings nowhere%s", s.Value, sinkKeys[v.format], suggest(s.Value, names))
		}
	}
}

// trigger checks one item of a playbook's triggers: exactly one known trigger key with
// a mapping of params (the runner's Trigger model), then the params.
func (v *validator) trigger(t *yaml.Node, path string) (trig, bool) {
	if t.Kind != yaml.MappingNode {
		v.add(SevError, RuleShape, t, path, "each trigger is a mapping with one trigger key, such as - on_pod_update: {}, not %s", kindName(t))
		return trig{}, false
	}
	var found []int
	var nulls, unknown []int
	for i := 0; i+1 < len(t.Content); i += 2 {
		k := t.Content[i]
		if _, ok := catalogue.LookupTrigger(k.Value); ok {
			if isNull(t.Content[i+1]) {
				nulls = append(nulls, i)
			} else {
				found = append(found, i)
			}
			continue
		}
		unknown = append(unknown, i)
	}
	if len(found) == 0 {
		switch {
		case len(nulls) > 0:
			k := t.Content[nulls[0]]
			v.add(SevError, RuleTriggerCount, k, path+"."+k.Value, "trigger %s has no value, which the runner reads as no trigger at all: write %s: {}", k.Value, k.Value)
		case len(unknown) > 0:
			k := t.Content[unknown[0]]
			v.add(SevError, RuleUnknownTrigger, k, path, "unknown trigger %q%s", k.Value, suggest(k.Value, triggerKeys()))
		default:
			v.add(SevError, RuleTriggerCount, t, path, "an empty trigger: name one, such as - on_pod_update: {}")
		}
		return trig{}, false
	}
	if len(found) > 1 {
		var keys []string
		for _, i := range found {
			keys = append(keys, t.Content[i].Value)
		}
		v.add(SevError, RuleTriggerCount, t.Content[found[1]], path, "this item holds %d triggers (%s): the runner takes exactly one per item; write each as its own - item", len(found), strings.Join(keys, ", "))
		return trig{}, false
	}
	k, params := t.Content[found[0]], t.Content[found[0]+1]
	def, _ := catalogue.LookupTrigger(k.Value)
	for _, i := range unknown {
		u := t.Content[i]
		v.add(SevWarning, RuleUnknownKey, u, path+"."+u.Value, "%q next to trigger %s is ignored by the runner%s", u.Value, k.Value, suggest(u.Value, triggerKeys()))
	}
	v.triggerParams(def, k, params, path+"."+k.Value)
	return trig{key: def.Key, event: def.Event, node: k}, true
}

func (v *validator) triggerParams(def *catalogue.Trigger, k, params *yaml.Node, path string) {
	owner := "trigger " + def.Key
	if params.Kind != yaml.MappingNode {
		v.add(SevError, RuleTriggerParam, params, path, "the parameters of %s must be a mapping ({} for none), not %s", owner, kindName(params))
		return
	}
	model, _ := catalogue.LookupModel(def.Params)
	if !def.ChangeFilters {
		if cf := lookupKey(params, "change_filters"); cf != nil {
			v.add(SevError, RuleChangeFilters, cf, path+".change_filters", "%s takes no change_filters: the runner refuses the configuration; its own parameters select the events", owner)
		}
	}
	unknownSev := SevWarning
	if def.Strict {
		unknownSev = SevError
	}
	skip := skipTriggerKeys
	if !def.ChangeFilters {
		skip = skipTriggerKeysNoCF
	}
	v.object(model, params, path, owner, modelCheck{sev: SevError, rule: RuleTriggerParam, unknownSev: unknownSev, missingSev: SevError, strict: def.Strict, skip: skip})

	if sc := lookup(params, "scope"); sc != nil {
		v.scope(sc, path+".scope", def)
	}
	if ls := lookup(params, "labels_selector"); ls != nil && ls.Kind == yaml.ScalarNode && !isNull(ls) {
		v.labelsSelector(ls, path+".labels_selector", owner)
	}
	if def.Event == "ScheduledExecutionEvent" && def.Key == "on_schedule" {
		v.schedule(params, path)
	}
	if def.Event == "HelmReleasesEvent" && v.sinkList && !v.robusta {
		v.add(SevWarning, RuleHelmNoPlatform, k, path, "%s never fires here: Helm releases are discovered by the Robusta platform sink, and %s has no robusta_sink", def.Key, sinkKeys[v.format])
	}
	if v.format == FormatValues {
		v.watchedKind(def, k, path)
	}
}

// watchedKind notes a Kubernetes trigger whose kind the chart's kubewatch does not send
// to the runner: the trigger is valid but never fires until that is turned on.
func (v *validator) watchedKind(def *catalogue.Trigger, k *yaml.Node, path string) {
	switch {
	case def.ChartResource != "":
		on, said := v.watched[def.ChartResource], v.watchedSet[def.ChartResource]
		if (!def.WatchedByDefault && !on) || (said && !on) {
			v.add(SevInfo, RuleUnwatchedKind, k, path, "%s fires only when the chart watches %s objects: set kubewatch.config.resource.%s: true in the Helm values", def.Key, def.Kind, def.ChartResource)
		}
	case def.Kind != "" && def.Kind != "Any" && !def.WatchedByDefault:
		v.add(SevInfo, RuleUnwatchedKind, k, path, "%s does not fire with the stock chart: its kubewatch.config.resource has no entry for %s objects, so the runner is never told about them", def.Key, def.Kind)
	}
}

// skipTriggerKeys are checked by their own rules, not as plain params.
var (
	skipTriggerKeys     = map[string]bool{"scope": true}
	skipTriggerKeysNoCF = map[string]bool{"scope": true, "change_filters": true}
)

// action checks one item of a playbook's actions against the catalogue and the
// playbook's triggers.
func (v *validator) action(a *yaml.Node, path string, trigs []trig) {
	if a.Kind != yaml.MappingNode {
		v.add(SevError, RuleShape, a, path, "each action is a mapping with one action name, such as - pod_events_enricher: {}, not %s", kindName(a))
		return
	}
	if len(a.Content) != 2 {
		var keys []string
		for i := 0; i < len(a.Content); i += 2 {
			keys = append(keys, a.Content[i].Value)
		}
		at := a
		if len(a.Content) > 2 {
			at = a.Content[2]
		}
		v.add(SevError, RuleShape, at, path, "an action item names exactly one action; this one has %d keys (%s): write each action as its own - item (its parameters go under it)", len(keys), strings.Join(keys, ", "))
		return
	}
	k, params := a.Content[0], a.Content[1]
	name := k.Value
	path += "." + name
	def, ok := v.known.action(name)
	if !ok {
		v.add(SevWarning, RuleUnknownAction, k, path, "unknown action %q: not one of Robusta's actions; fine if it comes from a playbook repository you load (--actions-from DIR checks it)%s", name, suggest(name, v.known.actionNames()))
		return
	}
	if def.Deprecated != "" {
		// The chart's own lists still use some deprecated actions; the user did not
		// write those, so they are only noted.
		sev := SevWarning
		if chartLists[v.list] {
			sev = SevInfo
		}
		v.add(sev, RuleDeprecated, k, path, "action %s is deprecated: %s", name, def.Deprecated)
	}
	for _, t := range trigs {
		if def.Event == "" || t.event == "" || catalogue.IsSubclass(t.event, def.Event) {
			continue
		}
		v.add(SevError, RuleEventMismatch, k, path, "action %s needs a %s, but trigger %s gives a %s: the runner refuses the playbook%s", name, def.Event, t.key, t.event, fitting(def.Event))
	}
	model, hasModel := v.known.model(def.Params)
	owner := "action " + name
	if def.Params == "" {
		if params.Kind == yaml.MappingNode && len(params.Content) > 0 {
			v.add(SevWarning, RuleParamUnknown, params.Content[0], path, "%s takes no parameters: the runner ignores these", owner)
		} else if !isNull(params) && params.Kind != yaml.MappingNode {
			v.add(SevError, RuleActionParams, params, path, "the parameters of %s must be a mapping ({} for none), not %s", owner, kindName(params))
		}
		return
	}
	if isNull(params) {
		v.add(SevError, RuleActionParams, k, path, "%s has no value, and the runner fails loading an action with parameters but none given: write %s: {}", owner, name)
		return
	}
	if params.Kind != yaml.MappingNode {
		v.add(SevError, RuleActionParams, params, path, "the parameters of %s must be a mapping ({} for none), not %s", owner, kindName(params))
		return
	}
	if !hasModel {
		return
	}
	// The runner builds an action's params when it runs it, so a mistake there fails
	// that run only; an action with a pre-deploy rewrite has them built at load, and a
	// mistake refuses the whole config.
	sev := SevWarning
	if preDeployActions[name] {
		sev = SevError
	}
	v.object(model, params, path, owner, modelCheck{sev: sev, rule: RuleParamType, unknownSev: SevWarning, missingSev: sev, envRefs: true, globals: v.globals})
}

// preDeployActions are the actions whose params class has a pre_deploy_func, which the
// runner calls while loading the config (playbooks/robusta_playbooks/configuration_ab_testing.py).
var preDeployActions = map[string]bool{"config_ab_testing": true}

// fitting names the triggers whose events an action of class ev takes.
func fitting(ev string) string {
	ts := catalogue.TriggersFor(ev)
	if len(ts) == 0 {
		return ""
	}
	const show = 6
	if len(ts) > show {
		return fmt.Sprintf("; triggers that fit: %s and %d more", strings.Join(ts[:show], ", "), len(ts)-show)
	}
	return "; triggers that fit: " + strings.Join(ts, ", ")
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
	limit := len(name)/3 + 1
	for _, c := range candidates {
		if d := len(c) - len(name); d > limit || -d > limit {
			continue
		}
		if d := editDistance(name, c); d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	return best, best != "" && bestD <= limit
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
