package actions

import (
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	helmtime "helm.sh/helm/v3/pkg/time"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// Severity and aggregation key by release status, as HelmReleasesEvent gives them.
func TestHelmSeverityAndKey(t *testing.T) {
	for _, tc := range []struct {
		status string
		sev    engine.Severity
		key    string
	}{
		{"deployed", engine.Info, "Helm Release Info"},
		{"uninstalled", engine.Info, "Helm Release Info"},
		{"failed", engine.High, "Helm Release Info"},
		{"unknown", engine.High, "Helm Release Info"},
		{"superseded", engine.High, "Helm Release Info"},
		{"pending-install", engine.High, "Helm Release Unhealthy"},
		{"pending-upgrade", engine.High, "Helm Release Unhealthy"},
		{"pending-rollback", engine.High, "Helm Release Unhealthy"},
		{"uninstalling", engine.High, "Helm Release Unhealthy"},
	} {
		if sev, key := helmSeverity(tc.status), helmAggregationKey(tc.status); sev != tc.sev || key != tc.key {
			t.Errorf("%s: %s %q, want %s %q", tc.status, sev, key, tc.sev, tc.key)
		}
	}
}

// The markdown lists the release's fields; description, notes and chart only when set.
func TestHelmText(t *testing.T) {
	at := helmtime.Time{Time: time.Date(2026, 3, 4, 15, 6, 7, 0, time.UTC)}
	rel := &release.Release{Name: "web", Namespace: "apps", Version: 3,
		Info:  &release.Info{Status: release.StatusFailed, FirstDeployed: at, LastDeployed: at, Description: "Upgrade failed", Notes: "line 1\nline 2\n"},
		Chart: &chart.Chart{Metadata: &chart.Metadata{Name: "webchart", Version: "1.2.3"}}}
	want := "Helm release `apps/web` is currently in the `failed` status\n\nRelease information:\n\n" +
		"  ● *Name*: `web`\n\n  ● *Namespace*: `apps`\n\n  ● *Status*: `failed`\n\n  ● *Revision*: `3`\n\n" +
		"  ● *First Deployed*: `Mar 04, 2026, 03:06:07 PM+0000`\n\n  ● *Last Deployed*: `Mar 04, 2026, 03:06:07 PM+0000`\n\n" +
		"  ● *Description*: `Upgrade failed`\n\n  ● *Notes*: `line 1line 2`\n\n" +
		"\nChart Information:\n\n  ● *Name*: `webchart`\n\n  ● *Version*: `1.2.3`\n\n\n"
	if got := helmText(rel); got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
	if got := helmTitle(rel); got != "Helm release apps/web - version: 1.2.3 - status: failed" {
		t.Errorf("title %q", got)
	}
	rel.Chart, rel.Info.Description, rel.Info.Notes = nil, "", ""
	got := helmText(rel)
	if strings.Contains(got, "Chart Information") || strings.Contains(got, "Description") || strings.Contains(got, "Notes") {
		t.Errorf("optional parts shown: %q", got)
	}
	if got := helmTitle(rel); got != "Helm release apps/web - status: failed" {
		t.Errorf("title %q", got)
	}
}
