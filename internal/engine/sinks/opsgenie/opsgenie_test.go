package opsgenie

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/sinktest"
)

func TestOpsgenieAlert(t *testing.T) {
	var got map[string]any
	srv := sinktest.Start(t, http.StatusAccepted, "")
	s, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "og", "api_key": "k3y", "teams": []any{"noc"}, "tags": []any{"k8s"}}}, srv.Options("og"))
	if err != nil {
		t.Fatal(err)
	}
	f := &engine.Finding{Title: strings.Repeat("m", 200), Severity: engine.Low}
	f.AddEnrichment("", engine.Markdown("details here"))
	if _, err := s.Send(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if r := srv.Last(t); r.Path != "/v2/alerts" || r.Header.Get("Authorization") != "GenieKey k3y" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s auth %q ctype %q", r.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"))
	}
	srv.LastJSON(t, &got)
	if len([]rune(got["message"].(string))) > maxMessage || got["priority"] != "P4" || got["alias"] == "" {
		t.Errorf("alert = %v", got)
	}
	if !strings.Contains(got["description"].(string), "details here") || got["responders"] == nil || got["tags"] == nil {
		t.Errorf("alert = %v", got)
	}
}

// Teams and tags with $-placeholders are evaluated per finding as the runner's
// ChannelTransformer: a missing label falls back to default_team (or is left out),
// repeats go, and the tags start with the cluster name.
func TestOpsgenieTemplatedTeamsAndTags(t *testing.T) {
	for _, c := range []struct {
		name        string
		teams, tags []any
		defaultTeam string
		labels      map[string]string
		wantTeams   string
		wantTags    string
	}{
		{"label team", []any{"$labels.team", "noc"}, []any{"env-$labels.env"}, "", map[string]string{"team": "payments", "env": "prod"}, "payments noc", "kind-1 env-prod"},
		{"missing label uses default_team", []any{"${labels.team}"}, nil, "sre", map[string]string{}, "sre", "kind-1"},
		{"missing label without default is left out", []any{"$labels.team", "noc"}, []any{"$labels.env"}, "", nil, "noc", "kind-1"},
		{"cluster and repeats", []any{"$cluster_name-oncall", "kind-1-oncall"}, []any{"kind-1"}, "", nil, "kind-1-oncall", "kind-1"},
		{"literal is kept", []any{"labels.team"}, nil, "", map[string]string{"team": "x"}, "labels.team", "kind-1"},
	} {
		params := map[string]any{"name": "og", "api_key": "k", "teams": c.teams, "tags": c.tags, "default_team": c.defaultTeam}
		s, err := New(sinks.Config{Type: Type, Params: params}, sinks.Options{ClusterName: "kind-1"})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		a := s.(*Sink).Alert(&engine.Finding{Title: "x", Subject: engine.Subject{Name: "p", Labels: c.labels}})
		var teams []string
		rs, _ := a["responders"].([]map[string]string)
		for _, r := range rs {
			teams = append(teams, r["name"])
		}
		tags, _ := a["tags"].([]string)
		if strings.Join(teams, " ") != c.wantTeams || strings.Join(tags, " ") != c.wantTags {
			t.Errorf("%s: teams %v tags %v, want %q and %q", c.name, teams, tags, c.wantTeams, c.wantTags)
		}
	}
}
