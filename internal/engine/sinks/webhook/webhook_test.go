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

type received struct {
	contentType, auth string
	body              []byte
}

func server(t *testing.T, status int) (*httptest.Server, chan received) {
	ch := make(chan received, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- received{r.Header.Get("Content-Type"), r.Header.Get("Authorization"), b}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func finding() *engine.Finding {
	f := &engine.Finding{Title: "Job Failed", Description: "etl failed", Severity: engine.High, Source: "kubernetes_api_server",
		AggregationKey: "job_failure", Subject: engine.Subject{Kind: "job", Name: "etl", Namespace: "batch", Labels: map[string]string{"app": "etl"}}}
	f.AddEnrichment("", engine.Markdown("*Job status*: Failed"), engine.Diffs([][]string{{"spec.image", "a:1", "a:2"}}),
		engine.Table("t", []string{"a"}, [][]string{{"1"}}))
	f.SetFingerprint()
	return f
}

func TestText(t *testing.T) {
	srv, ch := server(t, 200)
	s, err := New(sinks.Config{Type: "webhook_sink", Params: map[string]any{"name": "hook", "url": srv.URL, "authorization": "Bearer s3cret"}},
		sinks.Options{ClusterName: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	if retry, err := s.Send(context.Background(), finding()); err != nil || retry {
		t.Fatal(retry, err)
	}
	got := <-ch
	want := "\nJob Failed\n\nSource: laptop\n\netl failed\n\n*Job status*: Failed\n\n*spec.image*: a:1 ==> a:2\n"
	if string(got.body) != want || got.auth != "Bearer s3cret" || !strings.HasPrefix(got.contentType, "text/plain") {
		t.Fatalf("%q %q %q\nwant %q", got.body, got.auth, got.contentType, want)
	}
	// size_limit: paragraphs stop before the limit.
	s.sizeLimit = 40
	_, _ = s.Send(context.Background(), finding())
	if got := <-ch; string(got.body) != "\nJob Failed\n\nSource: laptop\n" {
		t.Fatalf("%q", got.body)
	}
}

func TestJSON(t *testing.T) {
	srv, ch := server(t, 200)
	s, _ := New(sinks.Config{Params: map[string]any{"name": "hook", "url": "http://unused", "format": "json"}},
		sinks.Options{ClusterName: "laptop", BaseURLs: map[string]string{"hook": srv.URL}})
	_, _ = s.Send(context.Background(), finding())
	got := <-ch
	var m map[string]any
	if err := json.Unmarshal(got.body, &m); err != nil || got.contentType != "application/json" {
		t.Fatal(err, got.contentType)
	}
	sub, _ := m["subject"].(map[string]any)
	if m["title"] != "Job Failed" || m["severity"] != "HIGH" || m["source"] != "KUBERNETES_API_SERVER" || m["cluster_name"] != "laptop" ||
		m["aggregation_key"] != "job_failure" || sub["name"] != "etl" || sub["kind"] != "job" || m["enrichments"] == nil {
		t.Fatalf("%s", got.body)
	}
	if m["finding_type"] != "ISSUE" {
		t.Fatalf("default finding_type = %v", m["finding_type"])
	}
	if !strings.HasPrefix(string(got.body), `{"title":"Job Failed","description":"etl failed","cluster_name":"laptop"`) {
		t.Fatalf("keys out of the runner's order: %s", got.body)
	}
	// The runner's webhook JSON names the type by its enum name.
	conf := finding()
	conf.Type = engine.TypeConfChange
	_, _ = s.Send(context.Background(), conf)
	got = <-ch
	m = nil
	if err := json.Unmarshal(got.body, &m); err != nil || m["finding_type"] != "CONF_CHANGE" {
		t.Fatalf("finding_type = %v (%v)", m["finding_type"], err)
	}
	// A small size_limit drops the enrichments (last) first.
	s.sizeLimit = 900
	_, _ = s.Send(context.Background(), finding())
	got = <-ch
	m = nil
	_ = json.Unmarshal(got.body, &m)
	if _, ok := m["enrichments"]; ok || m["links"] == nil || pyJSONLen(got.body) > 900 {
		t.Fatalf("%d bytes: %s", len(got.body), got.body)
	}
	// slack_webhook: the runner's one-text message.
	s.slack, s.sizeLimit = true, 4096
	_, _ = s.Send(context.Background(), finding())
	got = <-ch
	if string(got.body) != `{"text":"*Title:* Job Failed\n*Description:* etl failed\n*Failure:* True\n*Aggregation Key:* job_failure\n*labels*: app: etl\n"}` {
		t.Fatalf("%s", got.body)
	}
}

func TestRetryAndSecrets(t *testing.T) {
	for _, c := range []struct {
		status int
		retry  bool
	}{{500, true}, {503, true}, {429, true}, {400, false}, {401, false}} {
		srv, _ := server(t, c.status)
		s, _ := New(sinks.Config{Params: map[string]any{"name": "hook", "url": srv.URL, "authorization": "tok-123"}}, sinks.Options{})
		retry, err := s.Send(context.Background(), finding())
		if err == nil || retry != c.retry || strings.Contains(err.Error(), "tok-123") {
			t.Errorf("%d: retry %v, err %v", c.status, retry, err)
		}
	}
	s, _ := New(sinks.Config{Params: map[string]any{"name": "hook", "url": "http://127.0.0.1:1/path-tok-456", "authorization": "tok-123"}}, sinks.Options{})
	retry, err := s.Send(context.Background(), finding())
	if err == nil || !retry || strings.Contains(err.Error(), "tok-123") || strings.Contains(err.Error(), "tok-456") {
		t.Errorf("unreachable: retry %v, err %v", retry, err)
	}
	if _, err := New(sinks.Config{Params: map[string]any{"name": "hook"}}, sinks.Options{}); err == nil {
		t.Error("no url accepted")
	}
}

func TestPyJSONLen(t *testing.T) {
	for _, c := range []struct {
		v    any
		want int
	}{
		{map[string]any{"title": "Job Failed"}, len(`{"title": "Job Failed"}`)},
		{map[string]any{"a": []int{1, 2}}, len(`{"a": [1, 2]}`)},
		{map[string]any{"t": "é<b>"}, len(`{"t": "\u00e9<b>"}`)},
		{map[string]any{"t": "a\"b"}, len(`{"t": "a\"b"}`)},
	} {
		b, _ := json.Marshal(c.v)
		if got := pyJSONLen(b); got != c.want {
			t.Errorf("%s: %d, want %d", b, got, c.want)
		}
	}
}

func TestParamErrors(t *testing.T) {
	for _, c := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"name": "h"}, "url is required"},
		{map[string]any{"name": "h", "url": "http://x", "format": "xml"}, `format "xml" is not text or json`},
	} {
		_, err := New(sinks.Config{Type: "webhook_sink", Params: c.params}, sinks.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.params, err, c.want)
		}
	}
}
