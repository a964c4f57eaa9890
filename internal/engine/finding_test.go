package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

// The type's value goes in the finding's JSON (the runner's file sink writes the enum
// value) and its name where the runner uses the enum name (webhook JSON, sink scopes);
// an unset type is the runner's default, issue.
func TestFindingType(t *testing.T) {
	for _, c := range []struct {
		typ         FindingType
		value, name string
	}{
		{"", "issue", "ISSUE"},
		{TypeIssue, "issue", "ISSUE"},
		{TypeConfChange, "configuration_change", "CONF_CHANGE"},
		{TypeHealthCheck, "health_check", "HEALTH_CHECK"},
		{TypeReport, "report", "REPORT"},
		{TypeAIAnalysis, "ai_analysis", "AI_ANALYSIS"},
	} {
		if c.typ.Value() != c.value || c.typ.Name() != c.name {
			t.Errorf("%q: value %q name %q, want %q %q", c.typ, c.typ.Value(), c.typ.Name(), c.value, c.name)
		}
		b, err := json.Marshal(&Finding{Title: "t", Type: c.typ})
		if err != nil || !strings.Contains(string(b), `"finding_type":"`+c.value+`"`) {
			t.Errorf("%q: JSON %s (%v)", c.typ, b, err)
		}
	}
}

// The runner's sync reply carries finding_type as its value; reading it back keeps it.
func TestPlatformFindingType(t *testing.T) {
	f := &Finding{Title: "t", Type: TypeReport}
	m := f.Platform()
	if m["finding_type"] != "report" {
		t.Fatalf("finding_type = %v", m["finding_type"])
	}
	if got := FromPlatform(m).Type; got != TypeReport {
		t.Fatalf("read back %q", got)
	}
	if m := (&Finding{Title: "t"}).Platform(); m["finding_type"] != "issue" {
		t.Fatalf("default finding_type = %v", m["finding_type"])
	}
}
