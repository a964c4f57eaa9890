package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestQuote(t *testing.T) {
	long := strings.Repeat("é", 150)
	cases := []struct{ in, want string }{
		{"short", `"short"`},
		{`a "b"`, `"a \"b\""`},
		{long, `"` + strings.Repeat("é", MaxQuoted) + `…"`},
	}
	for _, tc := range cases {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%.20q...) = %.40q..., want %.40q...", tc.in, got, tc.want)
		}
	}
}

func TestDecodeError(t *testing.T) {
	type Alert struct {
		Labels map[string]string `json:"labels"`
		Count  int               `json:"count"`
	}
	type body struct {
		Alerts []Alert `json:"alerts"`
		Alert
	}
	cases := []struct {
		name, in string
		into     func() any
		want     string
	}{
		{"list for an object", `[1, 2]`, func() any { return &map[string]any{} }, "the top level: expected an object, got a list"},
		{"object for a list", `{"alerts": {"a": 1}}`, func() any { return &body{} }, `field "alerts": expected a list, got an object`},
		{"string for a number", `{"count": "three"}`, func() any { return &body{} }, `field "count": expected a whole number, got a string`},
		{"nested", `{"alerts": [{"labels": []}]}`, func() any { return &body{} }, `field "alerts.labels": expected an object, got a list`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, dec := range []struct {
				name string
				fn   func([]byte, any) error
			}{{"json", json.Unmarshal}, {"yaml", func(b []byte, v any) error { return yaml.Unmarshal(b, v) }}} {
				err := dec.fn([]byte(tc.in), tc.into())
				if err == nil {
					t.Fatalf("%s: no error", dec.name)
				}
				got := DecodeError(err).Error()
				if got != tc.want || strings.Contains(got, "Go value") || strings.Contains(got, "struct") {
					t.Errorf("%s: %q, want %q (from %v)", dec.name, got, tc.want, err)
				}
			}
		})
	}
	if other := (json.Unmarshal([]byte("{"), &map[string]any{})); DecodeError(other) != other {
		t.Error("other errors must pass through")
	}
}
