package runner

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/engine/triggers"
)

func podUpdate(ns, name string) *triggers.Incoming {
	o := &unstructured.Unstructured{Object: map[string]any{"kind": "Pod", "metadata": map[string]any{"name": name, "namespace": ns}}}
	return &triggers.Incoming{Event: engine.ChangeEvent("Pod", "update", o, o)}
}

// summary is what a sink got: each finding as title{enrichment texts}.
func (m *memSink) summary() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, f := range m.got {
		var texts []string
		for _, e := range f.Enrichments {
			for _, b := range e.Blocks {
				texts = append(texts, b.Text)
			}
		}
		out = append(out, f.Title+"{"+strings.Join(texts, ",")+"}")
	}
	return strings.Join(out, " ")
}

// runEvents runs the values' playbooks on the events through sinks named in the
// values' sinksConfig (memory sinks of those names) and returns what each got, the
// terminal as "terminal".
func runEvents(t *testing.T, values string, events ...*triggers.Incoming) map[string]string {
	t.Helper()
	cfg := load(t, values)
	got := map[string]*memSink{"terminal": {name: "terminal"}}
	r := &Runner{Workers: 1, Always: []sinks.Sink{got["terminal"]}, NewSink: func(c sinks.Config) (sinks.Sink, string, error) {
		s := &memSink{name: c.Name()}
		got[s.name] = s
		return s, "", nil
	}}
	if err := r.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	for _, in := range events {
		r.Submit(in)
	}
	stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.Stop(stop)
	out := map[string]string{}
	for n, s := range got {
		out[n] = s.summary()
	}
	return out
}

// How the findings of several playbooks on one event reach the sinks, as the runner's
// event handler (playbooks_event_handler_impl.py handle_trigger, __handle_findings)
// and ExecutionBaseEvent's sink_findings make them: one list per sink shared by the
// event's playbooks, enrichments into each sink's active finding, new findings at the
// head, customise_finding over every finding of its sinks, playbook `stop`, sink
// `stop` ending the event's whole delivery, and all of it sent after the last
// playbook. Each case failed on the old per-playbook dispatch.
func TestEventFindings(t *testing.T) {
	const sinksConfig = `sinksConfig:
- file_sink: {name: prod-only, file_name: /nonexistent/a, scope: {include: [{namespace: prod}]}}
- file_sink: {name: every, file_name: /nonexistent/b}
- file_sink: {name: manual, file_name: /nonexistent/c, default: false}
`
	cases := []struct {
		name      string
		playbooks string
		events    []*triggers.Incoming
		want      map[string]string
	}{{
		name: "a later playbook's enrichment joins the earlier finding of the sinks they share; stop ends the rest",
		playbooks: `
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "one $name", aggregation_key: one}}]
- triggers: [{on_pod_update: {}}]
  actions: [{template_enricher: {template: "more on $name"}}]
  sinks: [manual, prod-only]
  stop: true
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "never", aggregation_key: never}}]
`,
		events: []*triggers.Incoming{podUpdate("prod", "api"), podUpdate("dev", "web")},
		want: map[string]string{
			"terminal": "one api{more on api} one web{more on web}",
			// prod-only's scope refuses dev's finding.
			"prod-only": "one api{more on api}",
			// The second playbook did not name every: no enrichment there.
			"every": "one api{} one web{}",
			// manual had no finding yet: the event's default one takes the block.
			"manual": "Update to pod api{more on api} Update to pod web{more on web}",
		},
	}, {
		name: "new findings go first; playbook sinks replace the default ones but keep their scope",
		playbooks: `
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "first", aggregation_key: a}}]
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "second", aggregation_key: b}}, {template_enricher: {template: "x"}}]
  sinks: [prod-only, manual]
`,
		events: []*triggers.Incoming{podUpdate("dev", "web")},
		want: map[string]string{
			"terminal":  "second{x} first{}",
			"prod-only": "",
			"every":     "first{}",
			"manual":    "second{x}",
		},
	}, {
		name: "customise_finding changes every finding its sinks have, earlier playbooks' too",
		playbooks: `
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "first", aggregation_key: a}}]
  sinks: [every]
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "second", aggregation_key: b}}]
  sinks: [manual]
- triggers: [{on_pod_update: {}}]
  actions: [{customise_finding: {title: "renamed $name"}}]
  sinks: [every]
`,
		events: []*triggers.Incoming{podUpdate("dev", "web")},
		want: map[string]string{
			"terminal":  "renamed web{} renamed web{}",
			"prod-only": "",
			"every":     "renamed web{}",
			"manual":    "second{}",
		},
	}, {
		name: "a playbook without a finding sends nothing",
		playbooks: `
- triggers: [{on_pod_update: {}}]
  actions: [{echo: {message: hi}}, {customise_finding: {title: "nothing to change"}}]
`,
		events: []*triggers.Incoming{podUpdate("prod", "api")},
		want:   map[string]string{"terminal": "", "prod-only": "", "every": "", "manual": ""},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := runEvents(t, sinksConfig+"customPlaybooks:"+c.playbooks, c.events...)
			if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(c.want)) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(sorted(got), "\n"), strings.Join(sorted(c.want), "\n"))
			}
		})
	}
}

// A sink with stop: true ends the event's delivery at the first finding it accepts:
// its own later findings and every later sink get nothing. A finding it refuses does
// not stop anything.
func TestEventFindingsSinkStop(t *testing.T) {
	values := `sinksConfig:
- file_sink: {name: prod-stop, file_name: /nonexistent/a, stop: true, match: {namespace: prod}}
- file_sink: {name: rest, file_name: /nonexistent/b}
customPlaybooks:
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "x $namespace", aggregation_key: x}}]
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "y $namespace", aggregation_key: y}}]
`
	got := runEvents(t, values, podUpdate("prod", "api"), podUpdate("dev", "web"))
	want := map[string]string{
		"terminal":  "y prod{} x prod{} y dev{} x dev{}",
		"prod-stop": "y prod{}",
		"rest":      "y dev{} x dev{}",
	}
	if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(sorted(got), "\n"), strings.Join(sorted(want), "\n"))
	}
}

func sorted(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+": "+v)
	}
	sort.Strings(out)
	return out
}

// The default finding is worded and keyed as the runner's create_default_finding.
func TestDefaultFinding(t *testing.T) {
	pod := podUpdate("prod", "api").Event
	created := *pod
	created.Operation = "create"
	for _, c := range []struct {
		e          *engine.Event
		title, key string
	}{
		{pod, "Update to pod api", "GenericChange"},
		{&created, "Create to pod api", "GenericChange"},
		{scheduledEvent(0), "General scheduled task", "GeneralScheduledTask"},
		{&engine.Event{Class: "ExecutionBaseEvent"}, "Robusta notification", "GenericFindingKey"},
	} {
		if title, key := defaultTitle(c.e), defaultKey(c.e); title != c.title || key != c.key {
			t.Errorf("%s %s: %q %q, want %q %q", c.e.Class, c.e.Operation, title, key, c.title, c.key)
		}
	}
}
