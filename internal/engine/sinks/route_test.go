package sinks

import (
	"context"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func route(t *testing.T, y string) Route {
	t.Helper()
	var p map[string]any
	if err := yaml.Unmarshal([]byte(y), &p); err != nil {
		t.Fatal(err)
	}
	r, err := ParseRoute(p)
	if err != nil {
		t.Fatalf("ParseRoute: %v", err)
	}
	return r
}

func TestRouteAccepts(t *testing.T) {
	pod := &engine.Finding{Title: "Crashing pod api-1", Severity: engine.High, Source: "KUBERNETES_API_SERVER",
		AggregationKey: "CrashLoopBackoff",
		Subject:        engine.Subject{Kind: "Pod", Name: "api-1", Namespace: "prod", Labels: map[string]string{"app": "api", "tier": "web"}}}
	nsLabels := map[string]map[string]string{"prod": {"env": "production"}}
	cases := []struct {
		name string
		cfg  string
		want bool
	}{
		{"no routing params", "name: s", true},
		{"match prefix regex like re.match", "name: s\nmatch: {namespace: pro}", true},
		{"match mismatch", "name: s\nmatch: {namespace: dev}", false},
		{"match list is any-of", "name: s\nmatch: {severity: [LOW, HIGH]}", true},
		{"match all attributes", "name: s\nmatch: {severity: HIGH, kind: deploy}", false},
		{"match kind is lower-case", "name: s\nmatch: {kind: pod}", true},
		{"match identifier", "name: s\nmatch: {identifier: Crash}", true},
		{"match labels subset", "name: s\nmatch: {labels: 'app=api,tier=web'}", true},
		{"match labels exact value", "name: s\nmatch: {labels: 'app=ap'}", false},
		{"scope include full-match", "name: s\nscope: {include: [{namespace: pro}]}", false},
		{"scope include full regex", "name: s\nscope: {include: [{namespace: pro.*}]}", true},
		{"scope include any entry", "name: s\nscope: {include: [{namespace: dev}, {name: 'api-\\d'}]}", true},
		{"scope entry needs all attributes", "name: s\nscope: {include: [{namespace: prod, severity: LOW}]}", false},
		{"scope include wins over match", "name: s\nmatch: {namespace: dev}\nscope: {include: [{namespace: prod}]}", true},
		{"unmatched include refuses though match holds", "name: s\nmatch: {namespace: prod}\nscope: {include: [{namespace: dev}]}", false},
		{"exclude first", "name: s\nscope: {include: [{namespace: prod}], exclude: [{name: api.*}]}", false},
		{"exclude not matching", "name: s\nscope: {exclude: [{name: web.*}]}", true},
		{"scope labels regex terms", "name: s\nscope: {include: [{labels: 'app=a.i, tier!=db'}]}", true},
		{"scope labels negation", "name: s\nscope: {include: [{labels: 'tier!=web'}]}", false},
		{"scope missing label", "name: s\nscope: {include: [{labels: 'team!=x'}]}", false},
		{"scope namespace_labels", "name: s\nscope: {include: [{namespace_labels: 'env=prod.*'}]}", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := route(t, c.cfg)
			r.NamespaceLabels = func(ns string) map[string]string { return nsLabels[ns] }
			if got := r.Accepts(pod); got != c.want {
				t.Errorf("Accepts = %v, want %v", got, c.want)
			}
		})
	}
}

func TestParseRouteErrors(t *testing.T) {
	cases := []struct{ cfg, want string }{
		{"default: true", "no name"},
		{"name: s\ndefault: yes please", "default must be true or false"},
		{"name: s\nmatch: {colour: red}", `unknown attribute "colour"`},
		{"name: s\nmatch: {name: '('}", "bad regex"},
		{"name: s\nmatch: {labels: app}", "not key=value"},
		{"name: s\nscope: {}", "include and/or exclude"},
		{"name: s\nscope: {include: []}", "non-empty"},
		{"name: s\nscope: {inclde: [{name: x}]}", `unknown key "inclde"`},
		{"name: s\nscope: {include: [{labels: app}]}", "key=regex"},
	}
	for _, c := range cases {
		var p map[string]any
		if err := yaml.Unmarshal([]byte(c.cfg), &p); err != nil {
			t.Fatal(err)
		}
		_, err := ParseRoute(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want it to mention %q", c.cfg, err, c.want)
		}
	}
}

// nameSink only has a name: Targets never calls Send.
type nameSink string

func (s nameSink) Name() string { return string(s) }
func (s nameSink) Type() string { return "test" }
func (s nameSink) Send(context.Context, *engine.Finding) (bool, error) {
	return false, nil
}

func TestTargets(t *testing.T) {
	cfgs := []string{
		"name: all",
		"name: quiet\ndefault: false",
		"name: prod-stop\nmatch: {namespace: prod}\nstop: true",
		"name: after-stop",
	}
	var entries []Entry
	for _, c := range cfgs {
		r := route(t, c)
		entries = append(entries, Entry{Sink: nameSink(r.Name), Route: r})
	}
	s, err := NewSet(entries, []Unsupported{{Name: "chat", Type: "zulip_sink"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	prod := &engine.Finding{Subject: engine.Subject{Namespace: "prod"}}
	dev := &engine.Finding{Subject: engine.Subject{Namespace: "dev"}}
	cases := []struct {
		name     string
		f        *engine.Finding
		playbook []string
		want     []string
		err      string
	}{
		{"default sinks, stop ends the list", prod, nil, []string{"all", "prod-stop"}, ""},
		{"stop only when its sink matched", dev, nil, []string{"all", "after-stop"}, ""},
		{"playbook sinks override default and match", dev, []string{"quiet", "prod-stop"}, []string{"quiet", "prod-stop"}, ""},
		{"unsupported sink is known, not delivered", dev, []string{"chat", "all"}, []string{"all"}, ""},
		{"unknown playbook sink is an error", dev, []string{"nope", "all"}, []string{"all"}, `unknown sinks ["nope"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Targets(c.f, c.playbook)
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("Targets = %v, want %v", got, c.want)
			}
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("err = %v, want %q", err, c.err)
			}
		})
	}
	if got := s.Unsupported(); len(got) != 1 || got[0] != "chat (zulip_sink)" {
		t.Errorf("Unsupported = %v", got)
	}
	if got := strings.Join(s.Names(), ","); got != "after-stop,all,prod-stop,quiet" {
		t.Errorf("Names = %v", got)
	}
}
