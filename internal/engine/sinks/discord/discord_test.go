package discord

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

func TestDiscordEmbedLimits(t *testing.T) {
	var msg struct {
		Embeds []struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			Color       int    `json:"color"`
			Fields      []struct{ Name, Value string }
		} `json:"embeds"`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &msg); err != nil {
			t.Error(err)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "d", "url": "https://discord.com/api/webhooks/1/s3cret"}}, sinks.Options{BaseURLs: map[string]string{"d": srv.URL}})
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
