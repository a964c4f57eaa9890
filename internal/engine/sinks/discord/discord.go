// Package discord is discord_sink: a finding as embeds posted to a Discord webhook.
package discord

import (
	"context"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// Type is the sinksConfig key.
const Type = "discord_sink"

// Discord's documented embed limits.
const (
	maxTitle       = 256
	maxDescription = 4096
	maxFields      = 25
	maxFieldName   = 256
	maxFieldValue  = 1024
	maxTotal       = 6000 // all text of all embeds of a message
)

type params struct {
	URL string `param:"url" required:"true" doc:"Discord webhook URL"`
}

// Sink posts to a Discord webhook.
type Sink struct {
	sinks.HTTP
}

// New builds a Discord sink from its sinksConfig entry.
func New(c sinks.Config, opts sinks.Options) (sinks.Sink, error) {
	h, _, err := sinks.NewHTTP(c, opts, func(p *params) string { return p.URL })
	if err != nil {
		return nil, err
	}
	return &Sink{HTTP: h}, nil
}

func (s *Sink) Type() string { return Type }

func color(sv engine.Severity) int {
	switch sv {
	case engine.High:
		return 0xd32f2f
	case engine.Medium, engine.Low:
		return 0xf9a825
	}
	return 0x2e7d32
}

// Message builds the webhook body: one embed within Discord's limits.
func Message(f *engine.Finding) map[string]any {
	title := sinks.Cut(f.Title, maxTitle)
	desc := sinks.Cut(f.Description, maxDescription)
	total := len([]rune(title)) + len([]rune(desc))
	var fields []map[string]any
	for _, e := range f.Enrichments {
		v := sinks.FindingText(&engine.Finding{Enrichments: []engine.Enrichment{{Blocks: e.Blocks}}})
		if v == "" {
			continue
		}
		name := e.Title
		if name == "" {
			name = "Details"
		}
		name, v = sinks.Cut(name, maxFieldName), sinks.Cut(v, maxFieldValue)
		n := len([]rune(name)) + len([]rune(v))
		if len(fields) == maxFields || total+n > maxTotal {
			break
		}
		total += n
		fields = append(fields, map[string]any{"name": name, "value": v})
	}
	embed := map[string]any{"title": title, "color": color(f.Severity)}
	if desc != "" {
		embed["description"] = desc
	}
	if fields != nil {
		embed["fields"] = fields
	}
	return map[string]any{"embeds": []any{embed}}
}

// Send posts the embed; Discord answers 204 (or 200 with ?wait=true).
func (s *Sink) Send(ctx context.Context, f *engine.Finding) (bool, error) {
	return s.Post(ctx, "discord", Message(f), nil)
}
