package all

import (
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

func TestNew(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		typ    string
		params map[string]any
		skip   string // part of the skip reason, when skipped
		err    string // part of the error, when refused
	}{
		{"file_sink", map[string]any{"file_name": dir + "/f.jsonl"}, "", ""},
		{"file_sink", map[string]any{}, "without file_name", ""},
		{"webhook_sink", map[string]any{"url": "http://127.0.0.1:1/h"}, "", ""},
		{"webhook_sink", map[string]any{}, "", "url is required"},
		{"slack_sink", map[string]any{"slack_channel": "c", "api_key": "xoxb-1"}, "", ""},
		{"slack_sink", map[string]any{"api_key": "xoxb-1"}, "", `"slack_channel"`},
		{"ms_teams_sink", map[string]any{"webhook_url": "http://127.0.0.1:1/t"}, "", ""},
		{"discord_sink", map[string]any{"url": "http://127.0.0.1:1/d"}, "", ""},
		{"telegram_sink", map[string]any{"bot_token": "1:x", "chat_id": 5}, "", ""},
		{"pagerduty_sink", map[string]any{"api_key": "k"}, "", ""},
		{"opsgenie_sink", map[string]any{"api_key": "k"}, "", ""},
		{"google_chat_sink", map[string]any{"webhook_url": "http://127.0.0.1:1/g"}, "", ""},
		{"mail_sink", map[string]any{"mailto": "mailto://u:p@127.0.0.1:25?from=a@example.com&to=b@example.com"}, "", ""},
		{"mattermost_sink", map[string]any{"url": "http://x", "token": "t", "channel": "c"}, "has no mattermost_sink", ""},
	}
	for _, c := range cases {
		c.params["name"] = "s"
		s, skip, err := New(sinks.Config{Type: c.typ, Params: c.params}, sinks.Options{})
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %v: err = %v, want %q", c.typ, c.params, err, c.err)
			}
		case c.skip != "":
			if s != nil || err != nil || !strings.Contains(skip, c.skip) {
				t.Errorf("%s: sink %v, skip %q, err %v; want skipped for %q", c.typ, s, skip, err, c.skip)
			}
		default:
			if err != nil || s == nil || s.Type() != c.typ || s.Name() != "s" {
				t.Errorf("%s: sink %v, skip %q, err %v", c.typ, s, skip, err)
			}
		}
	}
	if got := len(Types()); got != 10 {
		t.Errorf("Types() = %v, want the 10 sink types", Types())
	}
}
