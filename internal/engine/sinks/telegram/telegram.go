// Package telegram is telegram_sink: a finding as a Bot API sendMessage.
package telegram

import (
	"context"
	"fmt"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// Type is the sinksConfig key.
const Type = "telegram_sink"

// maxText is the Bot API's limit on a message's text.
const maxText = 4096

type params struct {
	BotToken  string `param:"bot_token" required:"true" doc:"bot token from BotFather"`
	ChatID    string `param:"chat_id" required:"true" doc:"chat the bot posts to"`
	ThreadID  int    `param:"thread_id" doc:"topic of a forum chat"`
	SendFiles bool   `param:"send_files" default:"true" doc:"not used locally yet: files are listed by name"`
}

// Sink posts through the Telegram Bot API.
type Sink struct {
	sinks.HTTP // URL is the Bot API's base; Send adds the token and method
	p          params
}

// New builds a Telegram sink from its sinksConfig entry.
func New(c sinks.Config, opts sinks.Options) (sinks.Sink, error) {
	// chat_id may be written as a number.
	if v, ok := c.Params["chat_id"].(int); ok {
		c.Params = copyWith(c.Params, "chat_id", fmt.Sprint(v))
	}
	if v, ok := c.Params["chat_id"].(float64); ok {
		c.Params = copyWith(c.Params, "chat_id", fmt.Sprintf("%.0f", v))
	}
	h, p, err := sinks.NewHTTP(c, opts, func(*params) string { return "https://api.telegram.org" })
	if err != nil {
		return nil, err
	}
	return &Sink{HTTP: h, p: *p}, nil
}

func copyWith(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m))
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

func (s *Sink) Type() string { return Type }

// Text is the message: the title, the description and the enrichments as plain text
// (no parse_mode, so no markup escaping can fail), cut to the API's limit.
func Text(f *engine.Finding) string {
	parts := []string{string(f.Severity) + " " + f.Title}
	if f.Description != "" {
		parts = append(parts, f.Description)
	}
	if t := sinks.FindingText(f); t != "" {
		parts = append(parts, t)
	}
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			if b.Type == engine.BlockFile && len(b.Data) > 0 { // the runner skips an EmptyFileBlock
				parts = append(parts, "File: "+b.Name)
			}
		}
	}
	return sinks.Cut(strings.Join(parts, "\n\n"), maxText)
}

// Send calls sendMessage. The token is part of the URL path, so errors never show it
// (sinks.Do drops the URL).
func (s *Sink) Send(ctx context.Context, f *engine.Finding) (bool, error) {
	msg := map[string]any{"chat_id": s.p.ChatID, "text": Text(f), "disable_web_page_preview": true}
	if s.p.ThreadID != 0 {
		msg["message_thread_id"] = s.p.ThreadID
	}
	// The token is part of the path: PostJSON keeps URLs out of its errors.
	return sinks.PostJSON(ctx, s.Client, "telegram "+s.SinkName, s.URL+"/bot"+s.p.BotToken+"/sendMessage", msg, nil)
}
