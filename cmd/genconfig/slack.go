package genconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// SlackAPIEnv overrides Slack's Web API base URL (a stand-in in tests, a proxy).
const SlackAPIEnv = "ROBUSTA_SLACK_API_URL"

const defaultSlackAPI = "https://slack.com/api"

// SlackError is a Slack Web API reply with ok: false.
type SlackError struct {
	Code    string // Slack's error code: channel_not_found, not_in_channel, ...
	Channel string
}

func (e *SlackError) Error() string {
	ch := "#" + e.Channel
	switch e.Code {
	case "channel_not_found":
		return fmt.Sprintf("Slack: channel_not_found: %s does not exist in the workspace of this key, or it is private and the Robusta app is not in it: check the name, or invite the app to the channel (/invite @Robusta)", ch)
	case "not_in_channel":
		return fmt.Sprintf("Slack: not_in_channel: the Robusta app is not a member of %s: invite it (/invite @Robusta in the channel) and try again", ch)
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked":
		return fmt.Sprintf("Slack: %s: the Slack key was refused: use the Bot User OAuth Token (xoxb-...) of an installed app", e.Code)
	case "is_archived":
		return fmt.Sprintf("Slack: is_archived: %s is archived: unarchive it or choose another channel", ch)
	case "missing_scope":
		return "Slack: missing_scope: the app may not post messages: add the chat:write scope and reinstall it"
	}
	return fmt.Sprintf("Slack: %s while posting to %s: see https://api.slack.com/methods/chat.postMessage#errors", e.Code, ch)
}

// welcomeBlocks is the message that proves the channel works.
func welcomeBlocks() []map[string]any {
	header := func(t string) map[string]any {
		return map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": t, "emoji": true}}
	}
	section := func(t string) map[string]any {
		return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": t}}
	}
	return []map[string]any{
		header(":large_green_circle: Robusta is connected"),
		header("Findings about your cluster will be posted in this channel."),
		section("This message was sent by `robusta gen-config` to check the channel."),
		section("Questions or feedback: <mailto:support@robusta.dev|support@robusta.dev>"),
	}
}

// verifySlackChannel posts a welcome message to channel with key through
// chat.postMessage, as the Python CLI does before writing the Slack sink.
func verifySlackChannel(ctx context.Context, base, key, channel string, debug io.Writer) error {
	body, err := json.Marshal(map[string]any{
		"channel":        channel,
		"text":           "Welcome to Robusta",
		"blocks":         welcomeBlocks(),
		"display_as_bot": true,
		"unfurl_links":   true,
		"unfurl_media":   true,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	u := strings.TrimRight(base, "/") + "/chat.postMessage"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s=%s: %w", SlackAPIEnv, base, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("verify the Slack channel: %w (pass --skip-verify to write the sink without checking)", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if debug != nil {
		fmt.Fprintf(debug, "debug: POST %s: %d %s\n", u, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	var r struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("verify the Slack channel: %s answered %d, not Slack's JSON (pass --skip-verify to write the sink without checking)", u, resp.StatusCode)
	}
	if !r.OK {
		if r.Error == "" {
			r.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		return &SlackError{Code: r.Error, Channel: channel}
	}
	return nil
}
