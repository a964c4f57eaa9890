package scope

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// data is a plain Data for the tests: strings and maps present when set; custom
// attributes hold when the value is "yes".
type data struct {
	strs map[string]string
	maps map[string]map[string]string
}

func (d data) String(a string) (string, bool) { v, ok := d.strs[a]; return v, ok }

func (d data) Map(a string) (map[string]string, bool) { m, ok := d.maps[a]; return m, ok }

func (d data) Custom(_, v string) bool { return v == "yes" }

func parse(t *testing.T, y string, o Options) (*Scope, error) {
	t.Helper()
	var raw any
	if err := yaml.Unmarshal([]byte(y), &raw); err != nil {
		t.Fatal(err)
	}
	return Parse(raw, o)
}

// Each Options field is a difference between sinks and triggers: every row loads the
// same scope under the option on and off and wants a different outcome, so losing
// the option's effect fails the row.
func TestOptions(t *testing.T) {
	d := data{
		strs: map[string]string{"name": "api-1", "namespace": "prod"},
		maps: map[string]map[string]string{"labels": {"app": "api", "tier": " web "}, "namespace_labels": {"env": "production"}},
	}
	maps := Options{MapAttributes: []string{"labels", "namespace_labels"}}
	known := maps
	known.Known = []string{"name", "namespace", "labels", "namespace_labels"}
	strictKeys := maps
	strictKeys.StrictKeys = true
	strictTerms := maps
	strictTerms.StrictTerms = true
	custom := maps
	custom.CustomAttributes = []string{"attributes"}
	type outcome struct {
		err   string // a load error mentioning this; "" loads
		match bool
	}
	cases := []struct {
		name    string
		scope   string
		on, off Options
		wantOn  outcome
		wantOff outcome
	}{
		{"Known refuses an unknown attribute; without it the attribute never holds",
			"{exclude: [{colour: red}]}", known, maps, outcome{err: `unknown attribute "colour"`}, outcome{match: true}},
		{"StrictKeys refuses a misspelt key; without it the key is ignored",
			"{inclde: [{name: x}], include: [{name: 'api-.*'}]}", strictKeys, maps, outcome{err: `unknown key "inclde"`}, outcome{match: true}},
		{"StrictTerms refuses a term without =; without it the term never holds",
			"{include: [{labels: app}]}", strictTerms, maps, outcome{err: "key=regex"}, outcome{match: false}},
		{"StrictTerms refuses a term's bad regex; without it the term never holds",
			"{include: [{labels: 'app=('}]}", strictTerms, maps, outcome{err: "bad regex"}, outcome{match: false}},
		{"a bad term fails its value only: another value can still hold",
			"{include: [{labels: [app, 'app=api']}]}", strictTerms, maps, outcome{err: "key=regex"}, outcome{match: true}},
		{"CustomAttributes go to Data.Custom; otherwise the value is a regex on the string data",
			"{include: [{attributes: 'yes'}]}", custom, maps, outcome{match: true}, outcome{match: false}},
		{"MapAttributes take key=regex terms; otherwise the value is a regex on the string data",
			"{include: [{namespace_labels: 'env=prod.*'}]}", maps, Options{}, outcome{match: true}, outcome{match: false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, side := range []struct {
				o    Options
				want outcome
			}{{c.on, c.wantOn}, {c.off, c.wantOff}} {
				s, err := parse(t, c.scope, side.o)
				if side.want.err != "" {
					if err == nil || !strings.Contains(err.Error(), side.want.err) {
						t.Errorf("%+v: err = %v, want it to mention %q", side.o, err, side.want.err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%+v: %v", side.o, err)
				}
				if got := s.Matches(d); got != side.want.match {
					t.Errorf("%+v: Matches = %v, want %v", side.o, got, side.want.match)
				}
			}
		})
	}
}

func TestMatches(t *testing.T) {
	d := data{
		strs: map[string]string{"name": "api-1", "namespace": "prod"},
		maps: map[string]map[string]string{"labels": {"app": "api", "tier": " web "}},
	}
	o := Options{MapAttributes: []string{"labels", "annotations"}}
	cases := []struct {
		scope string
		want  bool
	}{
		{"{include: [{name: api}]}", false}, // full match, not a prefix
		{"{include: [{name: 'api-\\d'}]}", true},
		{"{include: [{name: [web, 'api-1']}]}", true},                      // any value
		{"{include: [{name: 'api-1', namespace: dev}]}", false},            // every attribute
		{"{include: [{namespace: dev}, {namespace: prod}]}", true},         // any entry
		{"{include: [{name: '.*'}], exclude: [{namespace: prod}]}", false}, // exclude first
		{"{exclude: [{namespace: dev}]}", true},
		{"{include: [{node: '.*'}]}", false},          // absent string attribute
		{"{include: [{annotations: 'a!=b'}]}", false}, // absent map attribute
		{"{include: [{labels: 'tier=web'}]}", true},   // the label's value is trimmed
		{"{include: [{labels: ' app = a.i , tier != db'}]}", true},
		{"{include: [{labels: 'tier!=web'}]}", false},
		{"{include: [{labels: 'team!=x'}]}", false}, // a missing key fails != too
	}
	for _, c := range cases {
		s, err := parse(t, c.scope, o)
		if err != nil {
			t.Fatalf("%s: %v", c.scope, err)
		}
		if got := s.Matches(d); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.scope, got, c.want)
		}
	}
}

// A term splits at its first "=", as the runner's label_matches: "a=b!=c" is key a
// with regex "b!=c", not key "a=b" negated.
func TestParseTermsFirstEquals(t *testing.T) {
	terms, err := ParseTerms("a=b!=c", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(terms) != 1 || terms[0].Key != "a" || terms[0].Neg || !terms[0].Re.MatchString("b!=c") {
		t.Fatalf("terms = %+v", terms)
	}
	if !TermsHold(terms, map[string]string{"a": "b!=c"}) || TermsHold(terms, map[string]string{"a=b": "x"}) {
		t.Error("a=b!=c held on the wrong data")
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ scope, want string }{
		{"x", "include and/or exclude"},
		{"{}", "include or exclude"},
		{"{include: []}", "non-empty"},
		{"{include: [x]}", "include[0] must be a map"},
		{"{exclude: [{name: [1]}]}", "exclude[0].name: want a string or a list of strings"},
		{"{include: [{name: '(?<=x)y'}]}", "RE2"},
	} {
		if _, err := parse(t, c.scope, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.scope, err, c.want)
		}
	}
}
