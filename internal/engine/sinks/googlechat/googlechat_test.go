package googlechat

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

func TestGoogleChatMessage(t *testing.T) {
	var got map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.URL.Query().Get("key") != "K" {
			t.Errorf("ctype %q query %q", r.Header.Get("Content-Type"), r.URL.RawQuery)
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &got)
	}))
	defer srv.Close()
	s, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "gc", "webhook_url": srv.URL + "/v1/spaces/S/messages?key=K&token=T"}}, sinks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &engine.Finding{Title: "Evicted", Severity: engine.Medium}
	f.AddEnrichment("", engine.Markdown(strings.Repeat("y", 6000)))
	if _, err := s.Send(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if txt := got["text"]; !strings.HasPrefix(txt, "*Evicted* (MEDIUM)") || len([]rune(txt)) > maxText {
		t.Errorf("text of %d characters: %.30q", len([]rune(got["text"])), got["text"])
	}
}
