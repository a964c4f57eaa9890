// Package msteams is ms_teams_sink: a finding as an Adaptive Card posted to a Teams
// incoming webhook (or a Power Automate workflow URL, which takes the same message).
package msteams

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// Type is the sinksConfig key.
const Type = "ms_teams_sink"

// maxPayload is Teams' message size limit (about 28 KB); the card is cut below it.
const maxPayload = 28000

type params struct {
	WebhookURL      string `param:"webhook_url" required:"true" doc:"Teams incoming webhook or workflow URL"`
	WebhookOverride string `param:"webhook_override" doc:"webhook URL per finding from its annotations: annotations.KEY or a text with $annotations.KEY; a value that is not a URL names an environment variable"`
	SendFiles       bool   `param:"send_files" doc:"not used locally: files are listed by name"`
}

// Sink posts Adaptive Cards.
type Sink struct {
	sinks.HTTP
	cluster  string
	override string
	getenv   func(string) string
}

// New builds a Teams sink from its sinksConfig entry.
func New(c sinks.Config, opts sinks.Options) (sinks.Sink, error) {
	h, p, err := sinks.NewHTTP(c, opts, func(p *params) string { return p.WebhookURL })
	if err != nil {
		return nil, err
	}
	override, err := sinks.ValidateWebhookOverride(p.WebhookOverride)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", h.Name(), err)
	}
	return &Sink{HTTP: h, cluster: opts.ClusterName, override: override, getenv: os.Getenv}, nil
}

func (s *Sink) Type() string { return Type }

func text(t string, extra map[string]any) map[string]any {
	b := map[string]any{"type": "TextBlock", "text": t, "wrap": true}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// Message builds the webhook message: one Adaptive Card attachment.
func (s *Sink) Message(f *engine.Finding) ([]byte, error) {
	body := []any{text(f.Title, map[string]any{"size": "Large", "weight": "Bolder"})}
	facts := []map[string]string{{"title": "Severity", "value": string(f.Severity)}}
	if s.cluster != "" {
		facts = append(facts, map[string]string{"title": "Cluster", "value": s.cluster})
	}
	if f.Subject.Name != "" {
		facts = append(facts, map[string]string{"title": "Subject", "value": strings.Trim(strings.ToLower(f.Subject.Kind)+" "+f.Subject.Namespace+"/"+f.Subject.Name, " /")})
	}
	body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	if f.Description != "" {
		body = append(body, text(f.Description, nil))
	}
	for _, e := range f.Enrichments {
		if e.Title != "" {
			body = append(body, text(e.Title, map[string]any{"weight": "Bolder", "separator": true}))
		}
		for _, b := range e.Blocks {
			if b.Type == engine.BlockFile {
				if len(b.Data) > 0 { // the runner skips an EmptyFileBlock
					body = append(body, text("File: "+b.Name, map[string]any{"isSubtle": true}))
				}
				continue
			}
			if lines := sinks.BlockLines(b); len(lines) > 0 {
				mono := b.Type == engine.BlockTable || b.Type == engine.BlockKubernetesFields || b.Type == engine.BlockJSON
				extra := map[string]any{}
				if mono {
					extra["fontType"] = "Monospace"
				}
				// Adaptive Card text is markdown: separate lines need blank lines.
				body = append(body, text(strings.Join(lines, "\n\n"), extra))
			}
		}
	}
	var actions []any
	for _, l := range f.Links {
		actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": l.Name, "url": l.URL})
	}
	for {
		card := map[string]any{
			"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
			"type":    "AdaptiveCard",
			"version": "1.4",
			"body":    body,
			"msteams": map[string]any{"width": "Full"},
		}
		if actions != nil {
			card["actions"] = actions
		}
		msg := map[string]any{"type": "message", "attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content":     card,
		}}}
		b, err := json.Marshal(msg)
		if err != nil || len(b) <= maxPayload || len(body) <= 2 {
			return b, err
		}
		// Too big for Teams: drop the last element and say so.
		body = append(body[:len(body)-2], text("(message shortened to fit Teams' size limit)", map[string]any{"isSubtle": true}))
	}
}

// Send posts the card.
func (s *Sink) Send(ctx context.Context, f *engine.Finding) (bool, error) {
	b, err := s.Message(f)
	if err != nil {
		return false, fmt.Errorf("encoding teams card: %w", err)
	}
	to := s.HTTP
	to.URL = sinks.WebhookFor(s.override, s.URL, f.Subject.Annotations, s.getenv)
	return to.Post(ctx, "teams", b, nil)
}
