package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

type testParams struct {
	Tail     int      `param:"tail" default:"100" doc:"lines"`
	Previous bool     `param:"previous"`
	Regex    string   `param:"filter_regex"`
	Mode     string   `param:"mode" default:"fast" enum:"fast|slow"`
	Title    string   `param:"title" required:"true"`
	Fields   []string `param:"fields"`
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name string
		raw  string
		want testParams
		err  string
	}{
		{"defaults", `{"title":"t"}`, testParams{Tail: 100, Mode: "fast", Title: "t"}, ""},
		{"string coerced", `{"title":"t","tail":"5","previous":"true"}`, testParams{Tail: 5, Previous: true, Mode: "fast", Title: "t"}, ""},
		{"typed", `{"title":"t","tail":7,"previous":false,"fields":["a","b"],"mode":"slow"}`, testParams{Tail: 7, Mode: "slow", Title: "t", Fields: []string{"a", "b"}}, ""},
		{"comma list", `{"title":"t","fields":"a, b"}`, testParams{Tail: 100, Mode: "fast", Title: "t", Fields: []string{"a", "b"}}, ""},
		{"unknown", `{"title":"t","colour":1}`, testParams{}, `unknown parameter "colour": allowed are fields, filter_regex, mode, previous, tail, title`},
		{"missing required", `{}`, testParams{}, `missing required parameter "title"`},
		{"bad int", `{"title":"t","tail":"lots"}`, testParams{}, `parameter "tail": want a whole number, got "lots"`},
		{"fraction", `{"title":"t","tail":1.5}`, testParams{}, `want a whole number, got 1.5`},
		{"bad bool", `{"title":"t","previous":"maybe"}`, testParams{}, `want true or false`},
		{"enum", `{"title":"t","mode":"medium"}`, testParams{}, `"medium" is not one of fast, slow`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var raw map[string]any
			_ = json.Unmarshal([]byte(tc.raw), &raw)
			var got testParams
			err := Decode(raw, &got)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tc.want)
			if string(gj) != string(wj) {
				t.Fatalf("got %s want %s", gj, wj)
			}
		})
	}
	docs := Params(testParams{})
	if len(docs) != 6 || docs[0].Name != "tail" || docs[0].Default != "100" || docs[3].Enum[1] != "slow" || !docs[4].Required {
		t.Fatalf("%+v", docs)
	}
}

type groupParams struct {
	Matchers    []string `param:"matchers" required:"true"`
	Key         string   `param:"aggregation_key" required:"true"`
	Description string   `param:"description"`
}

type groupsParams struct {
	Groups []groupParams `param:"groups" required:"true"`
}

// A list of nested objects decodes item by item with the top level's rules, and an
// error says which item and which key is wrong.
func TestDecodeListOfObjects(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      []groupParams
		err       string
	}{
		{"two items", `{"groups":[{"matchers":["A","B"],"aggregation_key":"k1"},{"matchers":"C","aggregation_key":"k2","description":"d"}]}`,
			[]groupParams{{Matchers: []string{"A", "B"}, Key: "k1"}, {Matchers: []string{"C"}, Key: "k2", Description: "d"}}, ""},
		{"empty list", `{"groups":[]}`, []groupParams{}, ""},
		{"missing key in item", `{"groups":[{"matchers":["A"],"aggregation_key":"k"},{"matchers":["B"]}]}`, nil,
			`parameter "groups": item 1: missing required parameter "aggregation_key"`},
		{"unknown key in item", `{"groups":[{"matchers":["A"],"aggregation_key":"k","colour":1}]}`, nil,
			`parameter "groups": item 0: unknown parameter "colour": allowed are aggregation_key, description, matchers`},
		{"item not an object", `{"groups":["A"]}`, nil, `parameter "groups": item 0: want an object (key: value), got string`},
		{"not a list", `{"groups":{"matchers":["A"]}}`, nil, `parameter "groups": want a list`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var raw map[string]any
			if err := json.Unmarshal([]byte(tc.raw), &raw); err != nil {
				t.Fatal(err)
			}
			var got groupsParams
			err := Decode(raw, &got)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(got.Groups)
			b, _ := json.Marshal(tc.want)
			if string(a) != string(b) {
				t.Fatalf("got %s, want %s", a, b)
			}
		})
	}
	if d := Params(&groupsParams{}); len(d) != 1 || d[0].Type != "list of object" {
		t.Fatalf("Params: %+v", d)
	}
}
