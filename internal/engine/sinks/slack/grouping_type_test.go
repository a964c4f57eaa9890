package slack

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// Grouping by the finding type (the runner's attribute map key "type", enum names)
// keeps configuration changes apart from issues, and the summary names the type.
func TestGroupingByFindingType(t *testing.T) {
	cs := &chatServer{t: t}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	s, _ := groupedSink(t, srv.URL, `{group_by: [type], notification_mode: {summary: {threaded: false, by: [type]}}}`)
	change := &engine.Finding{Title: "deployment/prod/api.yaml updated", AggregationKey: "ConfigurationChange/KubernetesResource/Change",
		Severity: engine.Info, Type: engine.TypeConfChange, Subject: engine.Subject{Kind: "deployment", Name: "api", Namespace: "prod"}}
	for _, f := range []*engine.Finding{change, crash("prod", "api-1", "api")} {
		if _, err := s.Send(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	calls := cs.take()
	if len(calls) != 2 || calls[0].Method != "chat.postMessage" || calls[1].Method != "chat.postMessage" {
		t.Fatalf("want one summary per type: %+v", calls)
	}
	for i, want := range []struct{ criteria, table string }{
		{"*Matching criteria*: `type: CONF_CHANGE`", "```\n type        |   Fired |   Resolved\n-------------+---------+------------\n CONF_CHANGE |       1 |          0\n```"},
		{"*Matching criteria*: `type: ISSUE`", "```\n type   |   Fired |   Resolved\n--------+---------+------------\n ISSUE  |       1 |          0\n```"},
	} {
		got := sectionTexts(calls[i])
		if len(got) < 5 || got[2] != want.criteria || got[4] != want.table {
			t.Errorf("summary %d:\n%s\nwant criteria %q and table\n%s", i, strings.Join(got, "\n"), want.criteria, want.table)
		}
	}
}
