package opsgenie

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

func TestOpsgenieAlert(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/alerts" || r.Header.Get("Authorization") != "GenieKey k3y" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s auth %q ctype %q", r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &got)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	s, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "og", "api_key": "k3y", "teams": []any{"noc"}, "tags": []any{"k8s"}}}, sinks.Options{BaseURLs: map[string]string{"og": srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	f := &engine.Finding{Title: strings.Repeat("m", 200), Severity: engine.Low}
	f.AddEnrichment("", engine.Markdown("details here"))
	if _, err := s.Send(context.Background(), f); err != nil {
		t.Fatal(err)
	}
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
