package telegram

import (
	"context"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/sinktest"
)

const token = "123456:S3CRET-token"

func TestTelegramSendMessage(t *testing.T) {
	var got map[string]any
	const answer = `{"ok":false,"description":"Unauthorized"}`
	srv := sinktest.Start(t, 200, answer)
	s, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "tg", "bot_token": token, "chat_id": -100123, "thread_id": 7}}, srv.Options("tg"))
	if err != nil {
		t.Fatal(err)
	}
	f := &engine.Finding{Title: "Crash", Severity: engine.High}
	f.AddEnrichment("", engine.Markdown(strings.Repeat("x", 5000)))
	if _, err := s.Send(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if r := srv.Last(t); r.Path != "/bot"+token+"/sendMessage" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("path %s content type %q", r.Path, r.Header.Get("Content-Type"))
	}
	srv.LastJSON(t, &got)
	if got["chat_id"] != "-100123" || got["message_thread_id"] != float64(7) {
		t.Errorf("message = %v", got)
	}
	if txt := got["text"].(string); len([]rune(txt)) > maxText || !strings.HasPrefix(txt, "HIGH Crash") {
		t.Errorf("text of %d characters starting %.20q", len([]rune(txt)), txt)
	}
	srv.Answer(401, answer)
	retry, err := s.Send(context.Background(), f)
	if err == nil || retry || strings.Contains(err.Error(), "S3CRET") {
		t.Errorf("401: retry=%v err=%v (must not retry nor show the token)", retry, err)
	}
}
