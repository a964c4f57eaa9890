// Package opsgenie is opsgenie_sink: a finding as an Opsgenie alert (Alert API v2).
package opsgenie

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// Type is the sinksConfig key.
const Type = "opsgenie_sink"

// The Alert API's field limits.
const (
	maxMessage     = 130
	maxDescription = 15000
)

type params struct {
	APIKey             string   `param:"api_key" required:"true" doc:"Opsgenie API integration key"`
	Teams              []string `param:"teams" doc:"responder teams; an entry with $labels.KEY, $annotations.KEY or $cluster_name is evaluated per finding"`
	DefaultTeam        string   `param:"default_team" doc:"team used when teams is empty"`
	Tags               []string `param:"tags" doc:"alert tags after the cluster name; $-placeholders as in teams"`
	Host               string   `param:"host" doc:"API host, e.g. https://api.eu.opsgenie.com"`
	ExtraDetailsLabels bool     `param:"extra_details_labels" doc:"add the subject's labels to the alert details"`
}

// Sink creates Opsgenie alerts.
type Sink struct {
	sinks.HTTP
	p       params
	cluster string
}

// New builds an Opsgenie sink from its sinksConfig entry.
func New(c sinks.Config, opts sinks.Options) (sinks.Sink, error) {
	h, p, err := sinks.NewHTTP(c, opts, func(p *params) string {
		if p.Host == "" {
			return "https://api.opsgenie.com"
		}
		return strings.TrimRight(p.Host, "/")
	})
	if err != nil {
		return nil, err
	}
	h.URL += "/v2/alerts"
	return &Sink{HTTP: h, p: *p, cluster: opts.ClusterName}, nil
}

// resolve is the runner's __resolve_templates: each value with a $ is evaluated for
// the finding (empty when it names a label or annotation the finding lacks and there
// is no fallback), others are taken as they are; empty values and repeats are left
// out; prepend, when set, comes first.
func (s *Sink) resolve(values []string, f *engine.Finding, fallback, prepend string) []string {
	var out []string
	if prepend != "" {
		out = append(out, prepend)
	}
	for _, v := range values {
		if strings.Contains(v, "$") {
			v = sinks.ChannelFor(v, fallback, s.cluster, f.Subject.Labels, f.Subject.Annotations)
		}
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func (s *Sink) Type() string { return Type }

// priority maps severities as the runner does; anything else is P3.
func priority(sv engine.Severity) string {
	switch sv {
	case engine.High:
		return "P1"
	case engine.Low:
		return "P4"
	case engine.Info:
		return "P5"
	}
	return "P3"
}

// Alert builds the create-alert body.
func (s *Sink) Alert(f *engine.Finding) map[string]any {
	alias := f.Fingerprint
	if alias == "" {
		g := *f
		g.SetFingerprint()
		alias = g.Fingerprint
	}
	desc := f.Description
	if t := sinks.FindingText(f); t != "" {
		desc = strings.TrimSpace(desc + "\n\n" + t)
	}
	details := map[string]string{"Resource": f.Subject.Name, "Namespace": f.Subject.Namespace, "Kind": f.Subject.Kind, "Source": f.Source}
	if s.p.ExtraDetailsLabels {
		for k, v := range f.Subject.Labels {
			details[k] = v
		}
	}
	teams := s.resolve(s.p.Teams, f, s.p.DefaultTeam, "")
	if len(teams) == 0 && s.p.DefaultTeam != "" {
		teams = []string{s.p.DefaultTeam}
	}
	var responders []map[string]string
	for _, t := range teams {
		responders = append(responders, map[string]string{"name": t, "type": "team"})
	}
	a := map[string]any{
		"message":     sinks.Cut(f.Title, maxMessage),
		"alias":       alias,
		"description": sinks.Cut(desc, maxDescription),
		"source":      "Robusta",
		"priority":    priority(f.Severity),
		"details":     details,
	}
	if responders != nil {
		a["responders"] = responders
	}
	if tags := s.resolve(s.p.Tags, f, "", s.cluster); len(tags) > 0 {
		a["tags"] = tags
	}
	return a
}

// Send creates the alert; Opsgenie answers 202 and processes it asynchronously.
func (s *Sink) Send(ctx context.Context, f *engine.Finding) (bool, error) {
	return s.Post(ctx, "opsgenie", s.Alert(f), http.Header{"Authorization": {"GenieKey " + s.p.APIKey}})
}
