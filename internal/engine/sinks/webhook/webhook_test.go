package webhook

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

type got struct {
	auth, ctype string
	body        []byte
}

func server(t *testing.T, status int) (*httptest.Server, chan got) {
	ch := make(chan got, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("method = %s, want POST", r.Method)
		}
		b, _ := io.ReadAll(r.Body)
		ch <- got{r.Header.Get("Authorization"), r.Header.Get("Content-Type"), b}
		w.WriteHeader(status)
		io.WriteString(w, "nope")
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func finding() *engine.Finding {
	f := &engine.Finding{Title: "Job failed", Description: "backup exited 1", Severity: engine.High, Source: "KUBERNETES_API_SERVER",
		AggregationKey: "JobFailure", Subject: engine.Subject{Kind: "Job", Name: "backup", Namespace: "ops", Labels: map[string]string{"app": "backup"}}}
	f.AddEnrichment("", engine.Markdown("*status*: Failed"), engine.Diffs([][]string{{"spec.image", "a:1", "a:2"}}))
	f.AddEnrichment("logs", engine.Markdown(strings.Repeat("x", 5000)))
	return f
}

func newSink(t *testing.T, params map[string]any, srv *httptest.Server) sinks.Sink {
	t.Helper()
	params["name"] = "hook"
	s, err := New(sinks.Config{Type: Type, Params: params}, sinks.Route{Name: "hook"},
		sinks.Options{BaseURLs: map[string]string{"hook": srv.URL}, ClusterName: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWebhookJSON(t *testing.T) {
	srv, ch := server(t, 200)
	s := newSink(t, map[string]any{"url": "https://example.invalid/h", "format": "json", "authorization": "Bearer s3cret", "size_limit": 1000}, srv)
	if _, err := s.Send(context.Background(), finding()); err != nil {
		t.Fatal(err)
	}
	g := <-ch
	if g.auth != "Bearer s3cret" || g.ctype != "application/json" {
		t.Errorf("auth %q ctype %q", g.auth, g.ctype)
	}
	if len(g.body) > 1000 {
		t.Errorf("payload %d bytes, over size_limit 1000", len(g.body))
	}
	var m map[string]any
	if err := json.Unmarshal(g.body, &m); err != nil {
		t.Fatalf("payload is not JSON: %v", err)
	}
	if m["title"] != "Job failed" || m["cluster_name"] != "dev" || m["severity"] != "HIGH" {
		t.Errorf("payload = %v", m)
	}
	if sub, _ := m["subject"].(map[string]any); sub["kind"] != "job" || sub["namespace"] != "ops" {
		t.Errorf("subject = %v", m["subject"])
	}
	// The 5000-byte enrichment does not fit: enrichments are the key dropped.
	if _, ok := m["enrichments"]; ok {
		t.Errorf("enrichments kept past size_limit")
	}
}

func TestWebhookTextCutsAtSizeLimit(t *testing.T) {
	srv, ch := server(t, 200)
	s := newSink(t, map[string]any{"url": "https://example.invalid/h"}, srv)
	if _, err := s.Send(context.Background(), finding()); err != nil {
		t.Fatal(err)
	}
	g := <-ch
	body := string(g.body)
	if !strings.HasPrefix(g.ctype, "text/plain") || g.auth != "" {
		t.Errorf("ctype %q auth %q", g.ctype, g.auth)
	}
	for _, want := range []string{"Job failed", "Source: dev", "backup exited 1", "*status*: Failed", "*spec.image*: a:1 ==> a:2"} {
		if !strings.Contains(body, want) {
			t.Errorf("text payload lacks %q:\n%s", want, body)
		}
	}
	if len(body) >= 4096 || strings.Contains(body, "xxxx") {
		t.Errorf("the 5000-byte line should be left out under the default 4096 limit (got %d bytes)", len(body))
	}
}

func TestWebhookErrorsClassifiedAndSecretFree(t *testing.T) {
	for _, c := range []struct {
		status int
		retry  bool
	}{{500, true}, {503, true}, {429, true}, {400, false}, {401, false}} {
		srv, _ := server(t, c.status)
		s := newSink(t, map[string]any{"url": "https://example.invalid/h", "authorization": "Bearer s3cret"}, srv)
		retry, err := s.Send(context.Background(), finding())
		if err == nil || retry != c.retry {
			t.Errorf("status %d: retry=%v err=%v, want retry=%v", c.status, retry, err, c.retry)
		}
		if err != nil && (strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), srv.URL)) {
			t.Errorf("error leaks a secret or the URL: %v", err)
		}
	}
}

func TestWebhookParamErrors(t *testing.T) {
	for _, c := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"name": "h"}, `missing required parameter "url"`},
		{map[string]any{"name": "h", "url": "http://x", "format": "xml"}, "not one of text, json"},
		{map[string]any{"name": "h", "url": "http://x", "size_limit": 0}, "size_limit must be positive"},
	} {
		_, err := New(sinks.Config{Type: Type, Params: c.params}, sinks.Route{Name: "h"}, sinks.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.params, err, c.want)
		}
	}
}
