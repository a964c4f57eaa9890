package config

import (
	"strings"
	"testing"
)

func findingLines(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.String())
	}
	return strings.Join(out, "\n")
}

// Aliases and merge keys read as Helm reads them: valid files have no findings, and a
// finding inside merged or aliased content points at the line the content is on.
func TestAliasesAndMergeKeys(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       string // findings, one per line
		check      func(t *testing.T, f *File)
	}{
		{name: "alias for actions", yaml: `acts: &acts
- create_finding: {title: t, aggregation_key: k}
customPlaybooks:
- triggers: [{on_pod_update: {}}]
  actions: *acts
`},
		{name: "merge key", yaml: `base: &base
  triggers: [{on_pod_update: {}}]
  actions: [{pod_events_enricher: {}}]
customPlaybooks:
- <<: *base
  name: merged
`, check: func(t *testing.T, f *File) {
			pbs := f.Playbooks(false)
			if len(pbs) != 1 || pbs[0].Name != "merged" || pbs[0].Triggers[0] != "on_pod_update" || pbs[0].Actions[0] != "pod_events_enricher" {
				t.Fatalf("%+v", pbs)
			}
		}},
		{name: "explicit keys win over merged ones, the first merged mapping over later ones", yaml: `a: &a
  triggers: [{on_pod_updat: {}}]
  actions: [{pod_events_enricher: {}}]
b: &b
  name: from-b
  actions: [{create_finding: {aggregation_key: k}}]
customPlaybooks:
- <<: [*b, *a]
  triggers: [{on_pod_update: {}}]
`, check: func(t *testing.T, f *File) {
			pbs := f.Playbooks(false)
			if len(pbs) != 1 || pbs[0].Name != "from-b" || pbs[0].Triggers[0] != "on_pod_update" || pbs[0].Actions[0] != "create_finding" {
				t.Fatalf("%+v", pbs)
			}
		}, want: `f.yaml:6:30: warning: action create_finding needs parameter title (here or in globalConfig) (customPlaybooks[0].actions[0].create_finding)`},
		{name: "a finding in aliased content points at the anchor's text", yaml: `acts: &acts
- create_finding: {title: t, aggregation_key: k}
- logs_enricher: {previous: lots}
customPlaybooks:
- triggers: [{on_pod_update: {}}]
  actions: *acts
`, want: `f.yaml:3:29: warning: action logs_enricher parameter previous must be true or false, not the string "lots" (customPlaybooks[0].actions[1].logs_enricher.previous)`},
		{name: "a merged playbook with no triggers is reported on its own line", yaml: `base: &base
  actions: [{pod_events_enricher: {}}]
customPlaybooks:
- name: x
- <<: *base
  name: y
`, want: `f.yaml:4:3: error: the playbook has no triggers: add a list such as triggers: [{on_pod_update: {}}] (customPlaybooks[0].triggers)
f.yaml:4:3: error: the playbook has no actions: add a list such as actions: [{create_finding: {title: ..., aggregation_key: ...}}] (customPlaybooks[0].actions)
f.yaml:5:3: error: the playbook has no triggers: add a list such as triggers: [{on_pod_update: {}}] (customPlaybooks[1].triggers)`},
		{name: "a whole list by alias", yaml: `pbs: &i
- triggers: [{on_pod_updat: {}}]
  actions: [{pod_events_enricher: {}}]
customPlaybooks: *i
`, want: `f.yaml:2:15: error: unknown trigger "on_pod_updat": did you mean "on_pod_update"? (customPlaybooks[0].triggers[0])`},
		{name: "a quoted << is an ordinary key", yaml: `base: &base
  triggers: [{on_pod_update: {}}]
customPlaybooks:
- "<<": *base
  actions: [{pod_events_enricher: {}}]
`, want: `f.yaml:4:3: warning: a playbook has no key "<<": the runner ignores it (a playbook takes triggers, actions, sinks, stop and name) (customPlaybooks[0].<<)
f.yaml:4:3: error: the playbook has no triggers: add a list such as triggers: [{on_pod_update: {}}] (customPlaybooks[0].triggers)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("f.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := findingLines(Validate(f)); got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
}

func TestAliasErrors(t *testing.T) {
	bomb := `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
customPlaybooks: [*h]
`
	cases := []struct{ name, yaml, want string }{
		{"alias bomb", bomb, "aliases expand the file to more than"},
		{"merge of a scalar", "s: &s x\ncustomPlaybooks:\n- <<: *s\n", "f.yaml:3:7: a merge key (<<) takes a mapping or a list of mappings"},
		{"alias inside its own anchor", "a: &a [1, *a]\n", "f.yaml:1:11: alias *a refers to a node that contains it"},
		{"merge of itself", "a: &a {x: 1, <<: *a}\n", "f.yaml:1:18: alias *a refers to a node that contains it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// Parse errors carry the line yaml.v3 found, as file:LINE: msg, else file: msg.
func TestParseErrorLines(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"customPlaybooks:\n- a: 1\n  b: [unclosed\n", "x.yaml:3: did not find expected ',' or ']'"},
		{"a: 1\n\tb: 2\n", "x.yaml:2: found a tab character that violates indentation"},
		{"a: 1\nb: c: d\n", "x.yaml:2: mapping values are not allowed in this context"},
		{"a: 1\nb:\n  - x\n  y: 2\n", "x.yaml:4: did not find expected '-' indicator"},
		{"a: 1\n- b\n", "x.yaml:2: did not find expected key"},
		{"- a list\n", "x.yaml:1:1: the top level must be a mapping of keys"},
		{"a: *nowhere\n", "x.yaml:1: unknown anchor 'nowhere' referenced"},
	}
	for _, tc := range cases {
		_, err := Parse("x.yaml", []byte(tc.yaml))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want prefix %q", tc.yaml, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), ": yaml:") || strings.Contains(err.Error(), ":0:") {
			t.Errorf("%q: %v", tc.yaml, err)
		}
	}
	f := (&ParseError{File: "x.yaml", Msg: "broken"}).Finding()
	if f.String() != "x.yaml: error: broken" {
		t.Fatal(f.String())
	}
}
