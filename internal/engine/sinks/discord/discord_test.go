package discord

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/sinktest"
)

func TestDiscordEmbedLimits(t *testing.T) {
	var msg struct {
		Embeds []struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			Color       int    `json:"color"`
			Fields      []struct{ Name, Value string }
		} `json:"embeds"`
	}
	srv := sinktest.Start(t, http.StatusNoContent, "")
	s, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "d", "url": "https://discord.com/api/webhooks/1/s3cret"}}, srv.Options("d"))
	if err != nil {
		t.Fatal(err)
	}
	f := &engine.Finding{Title: strings.Repeat("T", 300), Description: "desc", Severity: engine.High}
	for i := 0; i < 30; i++ {
		f.AddEnrichment("e", engine.Markdown(strings.Repeat("v", 2000)))
	}
	if _, err := s.Send(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if ct := srv.Last(t).Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	srv.LastJSON(t, &msg)
	if len(msg.Embeds) != 1 {
		t.Fatalf("embeds = %d", len(msg.Embeds))
	}
	e := msg.Embeds[0]
	total := len([]rune(e.Title)) + len([]rune(e.Description))
	for _, fl := range e.Fields {
		if len([]rune(fl.Value)) > maxFieldValue {
			t.Errorf("field value of %d characters", len([]rune(fl.Value)))
		}
		total += len([]rune(fl.Name)) + len([]rune(fl.Value))
	}
	if len([]rune(e.Title)) > maxTitle || len(e.Fields) > maxFields || total > maxTotal || len(e.Fields) == 0 {
		t.Errorf("title %d, fields %d, total %d: outside Discord's limits", len([]rune(e.Title)), len(e.Fields), total)
	}
	if e.Color != 0xd32f2f {
		t.Errorf("color %x", e.Color)
	}
}
