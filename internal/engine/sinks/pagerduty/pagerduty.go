// Package pagerduty is pagerduty_sink: findings as PagerDuty Events API v2 events.
package pagerduty

import (
	"context"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// Type is the sinksConfig key.
const Type = "pagerduty_sink"

// maxSummary is the Events API's limit on payload.summary.
const maxSummary = 1024

type params struct {
	APIKey string `param:"api_key" required:"true" doc:"integration (routing) key of the PagerDuty service"`
}

// Sink sends Events API v2 events.
type Sink struct {
	sinks.HTTP
	key     string
	cluster string
}

// New builds a PagerDuty sink from its sinksConfig entry.
func New(c sinks.Config, opts sinks.Options) (sinks.Sink, error) {
	h, p, err := sinks.NewHTTP(c, opts, func(*params) string { return "https://events.pagerduty.com" })
	if err != nil {
		return nil, err
	}
	h.URL += "/v2/enqueue"
	return &Sink{HTTP: h, key: p.APIKey, cluster: opts.ClusterName}, nil
}

func (s *Sink) Type() string { return Type }

// severity maps Robusta's severities onto the four the Events API accepts, as the
// runner does.
func severity(sv engine.Severity) string {
	switch sv {
	case engine.Low:
		return "warning"
	case engine.Info, engine.Debug:
		return "info"
	}
	return "critical"
}

// Event builds the Events API v2 body for a finding.
func (s *Sink) Event(f *engine.Finding) map[string]any {
	action := "trigger"
	if strings.HasPrefix(f.Title, "[RESOLVED]") {
		action = "resolve" // the runner marks resolved alerts in the title
	}
	source := s.cluster
	if source == "" {
		source = "robusta-local"
	}
	details := map[string]any{"state_message": sinks.FindingText(f)}
	if f.Description != "" {
		details["description"] = f.Description
	}
	var links []map[string]string
	for _, l := range f.Links {
		links = append(links, map[string]string{"href": l.URL, "text": l.Name})
	}
	dedup := f.Fingerprint
	if dedup == "" {
		f2 := *f
		f2.SetFingerprint()
		dedup = f2.Fingerprint
	}
	ev := map[string]any{
		"routing_key":  s.key,
		"event_action": action,
		"dedup_key":    dedup,
		"payload": map[string]any{
			"summary":        sinks.Cut(f.Title, maxSummary),
			"severity":       severity(f.Severity),
			"source":         source,
			"component":      strings.Trim(strings.ToLower(f.Subject.Kind)+"/"+f.Subject.Namespace+"/"+f.Subject.Name, "/"),
			"class":          f.AggregationKey,
			"custom_details": details,
		},
	}
	if links != nil {
		ev["links"] = links
	}
	return ev
}

// Send enqueues the event; PagerDuty answers 202 when it accepted it.
func (s *Sink) Send(ctx context.Context, f *engine.Finding) (bool, error) {
	return s.Post(ctx, "pagerduty", s.Event(f), nil)
}
