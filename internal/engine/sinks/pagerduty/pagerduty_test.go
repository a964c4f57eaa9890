package pagerduty

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/sinktest"
)

func TestPagerDutyEvent(t *testing.T) {
	var got map[string]any
	srv := sinktest.Start(t, http.StatusAccepted, `{"status":"success","dedup_key":"x"}`)
	opts := srv.Options("pd")
	opts.ClusterName = "dev"
	s, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "pd", "api_key": "R0UTING"}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := &engine.Finding{Title: strings.Repeat("t", 2000), Severity: engine.Low, AggregationKey: "CrashLoop", Subject: engine.Subject{Kind: "Pod", Name: "api", Namespace: "prod"}}
	f.AddEnrichment("", engine.Markdown("restarted 5 times"))
	if _, err := s.Send(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if r := srv.Last(t); r.Path != "/v2/enqueue" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s content type %q", r.Method, r.Path, r.Header.Get("Content-Type"))
	}
	srv.LastJSON(t, &got)
	if got["routing_key"] != "R0UTING" || got["event_action"] != "trigger" || got["dedup_key"] == "" {
		t.Errorf("event = %v", got)
	}
	p := got["payload"].(map[string]any)
	// Required payload fields and the enum of severities.
	if len([]rune(p["summary"].(string))) > maxSummary || p["source"] != "dev" || p["severity"] != "warning" {
		t.Errorf("payload = %v", p)
	}
	if p["component"] != "pod/prod/api" || !strings.Contains(p["custom_details"].(map[string]any)["state_message"].(string), "restarted 5 times") {
		t.Errorf("payload = %v", p)
	}
	f.Title = "[RESOLVED] x"
	s.Send(context.Background(), f)
	srv.LastJSON(t, &got)
	if got["event_action"] != "resolve" {
		t.Errorf("resolved finding sent as %v", got["event_action"])
	}
}

func TestSeverityMap(t *testing.T) {
	for sv, want := range map[engine.Severity]string{engine.High: "critical", engine.Medium: "critical", engine.Low: "warning", engine.Info: "info", engine.Debug: "info"} {
		if got := severity(sv); got != want {
			t.Errorf("%s -> %s, want %s", sv, got, want)
		}
	}
}
