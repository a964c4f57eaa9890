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
	_, err = New(sinks.Config{Type: Type, Params: map[string]any{"name": "og", "api_key": "k", "teams": []any{"{{ labels.team }}"}}}, sinks.Options{})
	if err == nil || !strings.Contains(err.Error(), "template") {
		t.Errorf("template team: err = %v", err)
	}
}
