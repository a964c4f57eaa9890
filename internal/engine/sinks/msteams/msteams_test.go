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
