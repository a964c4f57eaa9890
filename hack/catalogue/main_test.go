package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sample() *extracted {
	return &extracted{
		RobustaCommit: "0123456789abcdef0123456789abcdef01234567",
		Actions:       []action{{Name: "logs_enricher"}, {Name: "pod_events_enricher"}},
		Triggers:      []trigger{{Key: "on_pod_update"}},
		Sinks:         []sink{{Key: "slack_sink"}},
	}
}

func writeNotes(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notes.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMergeNotes(t *testing.T) {
	d := sample()
	path := writeNotes(t, `
actions:
  logs_enricher: {summary: "Pod logs", class: A, mutating: false, deprecated: "", local: true}
triggers:
  on_pod_update: {summary: "A pod changed"}
`)
	missing, err := mergeNotes(d, path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"action pod_events_enricher", "sink slack_sink"}; !reflect.DeepEqual(missing, want) {
		t.Errorf("missing = %v, want %v", missing, want)
	}
	if a := d.Actions[0]; a.Summary != "Pod logs" || a.Class != "A" || !a.Local {
		t.Errorf("merged action = %+v", a)
	}
	if d.Triggers[0].Summary != "A pod changed" {
		t.Errorf("merged trigger = %+v", d.Triggers[0])
	}
}

func TestMergeNotesRejects(t *testing.T) {
	for _, tc := range []struct {
		name, notes, want string
	}{
		{"unknown action", "actions:\n  no_such_action: {summary: x, class: A, local: true}\n", "action no_such_action"},
		{"unknown trigger", "triggers:\n  on_nothing: {summary: x}\n", "trigger on_nothing"},
		{"unknown sink", "sinks:\n  carrier_pigeon_sink: {summary: x}\n", "sink carrier_pigeon_sink"},
		{"bad class", "actions:\n  logs_enricher: {summary: x, class: E, local: true}\n", `class "E"`},
		{"runner-only without reason", "actions:\n  logs_enricher: {summary: x, class: A, local: false}\n", "no reason"},
		{"unknown field", "actions:\n  logs_enricher: {summary: x, class: A, local: true, colour: red}\n", "colour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mergeNotes(sample(), writeNotes(t, tc.notes))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestCheckDanglingReferences(t *testing.T) {
	d := sample()
	d.Events = []eventClass{{Name: "PodEvent"}}
	d.Models = []model{{Name: "LogEnricherParams", Params: []param{{Name: "regex_replacer_patterns", Type: typ{Kind: "list", Elem: &typ{Kind: "object", Model: "NamedRegexPattern"}}}}}}
	d.Actions = []action{{Name: "logs_enricher", Event: "PodEvent", Params: "LogEnricherParams"}}
	d.Triggers, d.Sinks = nil, nil
	if err := check(d); err == nil || !strings.Contains(err.Error(), "NamedRegexPattern") {
		t.Errorf("check = %v, want the missing nested model named", err)
	}
	d.Models = append(d.Models, model{Name: "NamedRegexPattern"})
	if err := check(d); err != nil {
		t.Errorf("check = %v", err)
	}
	d.Actions[0].Event = "PodEvnt"
	if err := check(d); err == nil || !strings.Contains(err.Error(), "PodEvnt") {
		t.Errorf("check = %v, want the unknown event named", err)
	}
}
