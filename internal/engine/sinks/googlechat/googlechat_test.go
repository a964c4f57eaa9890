package googlechat

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/sinktest"
)

func TestGoogleChatMessage(t *testing.T) {
	var got map[string]string
	srv := sinktest.Start(t, http.StatusOK, "")
	s, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "gc", "webhook_url": srv.URL + "/v1/spaces/S/messages?key=K&token=T"}}, sinks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &engine.Finding{Title: "Evicted", Severity: engine.Medium}
	f.AddEnrichment("", engine.Markdown(strings.Repeat("y", 6000)))
	if _, err := s.Send(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if r := srv.Last(t); !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Query.Get("key") != "K" {
		t.Errorf("ctype %q query %q", r.Header.Get("Content-Type"), r.Query.Encode())
	}
	srv.LastJSON(t, &got)
	if txt := got["text"]; !strings.HasPrefix(txt, "*Evicted* (MEDIUM)") || len([]rune(txt)) > maxText {
		t.Errorf("text of %d characters: %.30q", len([]rune(got["text"])), got["text"])
	}
}
