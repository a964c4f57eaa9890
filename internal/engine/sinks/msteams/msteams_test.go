package msteams

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/sinktest"
)

func TestTeamsAdaptiveCard(t *testing.T) {
	srv := sinktest.Start(t, http.StatusOK, "1")
	opts := srv.Options("t")
	opts.ClusterName = "dev"
	s, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "t", "webhook_url": "https://x.webhook.office.com/s3cret"}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := &engine.Finding{Title: "OOMKilled", Severity: engine.High, Subject: engine.Subject{Kind: "Pod", Name: "api", Namespace: "prod"}}
	f.AddEnrichment("Memory", engine.Markdown("limit 128Mi"))
	f.AddEnrichment("logs", engine.Markdown(strings.Repeat("log line\n", 5000)))
	if _, err := s.Send(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	r := srv.Last(t)
	if r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", r.Header.Get("Content-Type"))
	}
	raw := r.Body
	if len(raw) > maxPayload {
		t.Errorf("payload %d bytes, over Teams' limit", len(raw))
	}
	var msg struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type    string           `json:"type"`
				Version string           `json:"version"`
				Body    []map[string]any `json:"body"`
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Type != "message" || len(msg.Attachments) != 1 || msg.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" {
		t.Fatalf("message = %s", raw)
	}
	c := msg.Attachments[0].Content
	if c.Type != "AdaptiveCard" || c.Version == "" || c.Body[0]["text"] != "OOMKilled" {
		t.Errorf("card = %+v", c)
	}
	if !strings.Contains(string(raw), "limit 128Mi") || !strings.Contains(string(raw), "shortened") {
		t.Errorf("card lacks the enrichment or the shortening note")
	}
}

// webhook_override takes the URL from the finding's annotation, or from the
// environment variable the annotation names; the sink's webhook otherwise.
func TestTeamsWebhookOverride(t *testing.T) {
	main, team := sinktest.Start(t, http.StatusOK, "1"), sinktest.Start(t, http.StatusOK, "1")
	s, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "t", "webhook_url": main.URL + "/main", "webhook_override": "${annotations.teams-webhook}"}}, sinks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.(*Sink).getenv = func(k string) string {
		if k == "PAYMENTS_WEBHOOK" {
			return team.URL + "/from-env"
		}
		return ""
	}
	for _, c := range []struct {
		annotation string
		svc        *sinktest.Service
		path       string
	}{
		{team.URL + "/team", team, "/team"},
		{"", main, "/main"},                     // no annotation
		{"PAYMENTS_WEBHOOK", team, "/from-env"}, // not a URL: an environment variable
		{"UNSET_VARIABLE", main, "/main"},
	} {
		f := &engine.Finding{Title: "x", Subject: engine.Subject{Name: "api"}}
		if c.annotation != "" {
			f.Subject.Annotations = map[string]string{"teams-webhook": c.annotation}
		}
		if _, err := s.Send(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		if got := c.svc.Last(t).Path; got != c.path {
			t.Errorf("annotation %q: posted to %s, want %s", c.annotation, got, c.path)
		}
	}
	_, err = New(sinks.Config{Type: Type, Params: map[string]any{"name": "t", "webhook_url": "https://x", "webhook_override": "labels.team"}}, sinks.Options{})
	if err == nil || !strings.HasPrefix(err.Error(), `sink t: webhook_override "labels.team" names no annotation`) {
		t.Errorf("labels override: err = %v", err)
	}
}
