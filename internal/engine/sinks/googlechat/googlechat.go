// Package googlechat is google_chat_sink: a finding as a text message posted to a
// Google Chat space's incoming webhook.
package googlechat

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// Type is the sinksConfig key.
const Type = "google_chat_sink"

// maxText keeps a message under Google Chat's 4,096-character text limit.
const maxText = 4096

type params struct {
	WebhookURL string `param:"webhook_url" required:"true" doc:"the space's incoming webhook URL (holds its key and token)"`
}

// Sink posts to a Google Chat webhook.
type Sink struct {
	sinks.HTTP
}

// New builds a Google Chat sink from its sinksConfig entry.
func New(c sinks.Config, opts sinks.Options) (sinks.Sink, error) {
	h, _, err := sinks.NewHTTP(c, opts, func(p *params) string { return p.WebhookURL })
	if err != nil {
		return nil, err
	}
	return &Sink{HTTP: h}, nil
}

func (s *Sink) Type() string { return Type }

// Text is the message in Google Chat's text formatting (*bold*).
func Text(f *engine.Finding) string {
	parts := []string{fmt.Sprintf("*%s* (%s)", f.Title, f.Severity)}
	if f.Description != "" {
		parts = append(parts, f.Description)
	}
	if t := sinks.FindingText(f); t != "" {
		parts = append(parts, t)
	}
	for _, l := range f.Links {
		parts = append(parts, fmt.Sprintf("<%s|%s>", l.URL, l.Name))
	}
	return sinks.Cut(strings.Join(parts, "\n\n"), maxText)
}

// Send posts the message.
func (s *Sink) Send(ctx context.Context, f *engine.Finding) (bool, error) {
	return s.Post(ctx, "google chat", map[string]string{"text": Text(f)},
		http.Header{"Content-Type": {"application/json; charset=UTF-8"}})
}
