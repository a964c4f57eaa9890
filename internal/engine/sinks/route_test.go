package sinks

import (
	"strings"
	"testing"
	"time"

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
	pod := &engine.Finding{Title: "Crashing pod api-1", Severity: engine.High, Source: "kubernetes_api_server",
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
		{"source is the enum name", "name: s\nmatch: {source: KUBERNETES_API_SERVER}", true},
		{"severity is the enum name", "name: s\nscope: {include: [{severity: HIGH}]}", true},
		{"type is ISSUE", "name: s\nscope: {include: [{type: ISSUE}]}", true},
		{"no node is None", "name: s\nscope: {include: [{node: None}]}", true},
		{"scope and match together: exclude, then match", "name: s\nmatch: {severity: HIGH}\nscope: {exclude: [{namespace: dev}]}", true},
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

// TestPlan is the runner's finding handler (playbooks_event_handler_impl.py,
// __handle_findings) on one event's findings per sink: each sink in turn, each of its
// findings through accepts(), and the first finding a stop sink accepts ends the
// whole event's delivery, later sinks and that sink's later findings included.
func TestPlan(t *testing.T) {
	var routes []Route
	for _, c := range []string{
		"name: all",
		"name: quiet\ndefault: false",
		"name: prod-stop\nmatch: {namespace: prod}\nstop: true",
		"name: after-stop",
		"name: no-prod\nscope: {exclude: [{namespace: prod}]}",
	} {
		routes = append(routes, route(t, c))
	}
	if got := strings.Join(DefaultSinks(routes), ","); got != "all,prod-stop,after-stop,no-prod" {
		t.Errorf("DefaultSinks = %s", got)
	}
	prod := func(title string) *engine.Finding {
		return &engine.Finding{Title: title, Subject: engine.Subject{Namespace: "prod"}}
	}
	dev := func(title string) *engine.Finding {
		return &engine.Finding{Title: title, Subject: engine.Subject{Namespace: "dev"}}
	}
	cases := []struct {
		name     string
		order    []string
		findings map[string][]*engine.Finding
		want     string
		unknown  string
	}{
		{"stop ends every later sink", []string{"all", "prod-stop", "after-stop"},
			map[string][]*engine.Finding{"all": {prod("a")}, "prod-stop": {prod("b")}, "after-stop": {prod("c")}}, "all:a prod-stop:b", ""},
		{"stop ends the stop sink's own later findings", []string{"prod-stop", "all"},
			map[string][]*engine.Finding{"prod-stop": {dev("d1"), prod("p1"), prod("p2")}, "all": {dev("x")}}, "prod-stop:p1", ""},
		{"stop only when its sink accepted", []string{"prod-stop", "after-stop"},
			map[string][]*engine.Finding{"prod-stop": {dev("d")}, "after-stop": {dev("d")}}, "after-stop:d", ""},
		{"order is the event's, not sinksConfig's", []string{"no-prod", "quiet", "all"},
			map[string][]*engine.Finding{"all": {dev("1")}, "quiet": {dev("2")}, "no-prod": {dev("3"), prod("4")}}, "no-prod:3 quiet:2 all:1", ""},
		{"unknown sink reported, others served", []string{"nope", "all"},
			map[string][]*engine.Finding{"nope": {dev("n")}, "all": {dev("a")}}, "all:a", "nope"},
		{"a sink named without findings is no delivery", []string{"nope", "all"},
			map[string][]*engine.Finding{"all": {dev("a")}}, "all:a", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, unknown := Plan(routes, c.order, c.findings, time.Now())
			var got []string
			for _, d := range plan {
				got = append(got, d.Sink+":"+d.Finding.Title)
			}
			if strings.Join(got, " ") != c.want || strings.Join(unknown, ",") != c.unknown {
				t.Errorf("Plan = %v (unknown %v), want %s (unknown %q)", got, unknown, c.want, c.unknown)
			}
		})
	}
}

// A subject kind the runner has no subject type for is its TYPE_NONE, "None"; a
// finding without a namespace has the namespace "None".
func TestAttrStringNone(t *testing.T) {
	f := &engine.Finding{Subject: engine.Subject{Kind: "ReplicaSet", Name: "rs"}}
	for attr, want := range map[string]string{"kind": "None", "namespace": "None", "name": "rs", "source": "NONE"} {
		if got := attrString(attr, f); got != want {
			t.Errorf("%s = %q, want %q", attr, got, want)
		}
	}
}

// The runner's attribute map holds the finding type's enum name under "type", so a
// scope or grouping can select configuration changes or reports.
func TestAttrStringType(t *testing.T) {
	for typ, want := range map[engine.FindingType]string{"": "ISSUE", engine.TypeConfChange: "CONF_CHANGE", engine.TypeReport: "REPORT"} {
		if got := attrString("type", &engine.Finding{Type: typ}); got != want {
			t.Errorf("type of %q = %q, want %q", typ, got, want)
		}
	}
}

// Activity and mute intervals as the runner's timing.py evaluates them.
func TestAcceptsAt(t *testing.T) {
	f := &engine.Finding{Title: "t", Subject: engine.Subject{Namespace: "prod"}}
	// Thursday 2026-01-01 09:30:00 UTC is 10:30 in Paris.
	thu := time.Date(2026, 1, 1, 9, 30, 0, 0, time.UTC)
	cases := []struct {
		name string
		cfg  string
		at   time.Time
		want bool
	}{
		{"no timing", "name: s", thu, true},
		{"active day, whole day", "name: s\nactivity: {intervals: [{days: [thr]}]}", thu, true},
		{"inactive day", "name: s\nactivity: {intervals: [{days: [MON, FRI]}]}", thu, false},
		{"within hours, UTC default", "name: s\nactivity: {intervals: [{days: [THR], hours: [{start: '09:00', end: '09:30'}]}]}", thu, true},
		{"end second included, next one not", "name: s\nactivity: {intervals: [{days: [THR], hours: [{start: '09:00', end: '09:30'}]}]}", thu.Add(time.Second), false},
		{"hours in the zone", "name: s\nactivity: {timezone: Europe/Paris, intervals: [{days: [THR], hours: [{start: '10:00', end: '11:00'}]}]}", thu, true},
		{"any interval", "name: s\nactivity: {intervals: [{days: [MON]}, {days: [THR], hours: [{start: '00:00', end: '01:00'}, {start: '09:00', end: '10:00'}]}]}", thu, true},
		{"muted", "name: s\nmute_intervals: [{start_date: '2026-01-01 09:00', end_date: '2026-01-01 09:30'}]", thu, false},
		{"mute ends at its minute", "name: s\nmute_intervals: [{start_date: '2026-01-01 09:00', end_date: '2026-01-01 09:29'}]", thu, true},
		{"mute in its zone", "name: s\nmute_intervals: [{start_date: '2026-01-01 10:00', end_date: '2026-01-01 11:00', timezone: Europe/Paris}]", thu, false},
		{"mute wins over activity", "name: s\nactivity: {intervals: [{days: [THR]}]}\nmute_intervals: [{start_date: '2025-12-31 00:00', end_date: '2026-01-02 00:00'}]", thu, false},
		{"scope still applies", "name: s\nscope: {exclude: [{namespace: prod}]}\nactivity: {intervals: [{days: [THR]}]}", thu, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := route(t, c.cfg).AcceptsAt(f, c.at); got != c.want {
				t.Errorf("AcceptsAt = %v, want %v", got, c.want)
			}
		})
	}
}

func TestTimingErrors(t *testing.T) {
	for _, c := range []struct{ cfg, want string }{
		{"name: s\nactivity: {intervals: []}", "at least one interval"},
		{"name: s\nactivity: {intervals: [{days: [THU]}]}", "invalid day name THU"},
		{"name: s\nactivity: {timezone: Mars/Base, intervals: [{days: [MON]}]}", `unknown timezone "Mars/Base"`},
		{"name: s\nactivity: {intervals: [{days: [MON], hours: [{start: '9:00', end: '10:00'}]}]}", "intervals[0].hours[0].start: invalid time 9:00"},
		{"name: s\nactivity: {intervals: [{days: [MON], hours: [{start: '09:00', end: '24:00'}]}]}", "invalid time 24:00"},
		{"name: s\nmute_intervals: [{start_date: '2026-01-01', end_date: '2026-01-02 00:00'}]", "mute_intervals[0].start_date: invalid date-time"},
		{"name: s\nmute_intervals: [{start_date: '2026-13-01 00:00', end_date: '2026-01-02 00:00'}]", "invalid date-time 2026-13-01"},
		{"name: s\nmute_intervals: {start_date: x}", "mute_intervals: must be a list"},
	} {
		var p map[string]any
		if err := yaml.Unmarshal([]byte(c.cfg), &p); err != nil {
			t.Fatal(err)
		}
		_, err := ParseRoute(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.cfg, err, c.want)
		}
	}
}
