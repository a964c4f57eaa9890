// Package slack is slack_sink: a finding as a chat.postMessage with Block Kit blocks,
// its file blocks uploaded into the message's thread through Slack's external upload
// flow (files.getUploadURLExternal, the upload, files.completeUploadExternal).
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// Type is the sinksConfig key.
const Type = "slack_sink"

// Slack's documented limits.
const (
	maxBlocks     = 50
	maxSectionLen = 3000
	maxHeaderLen  = 150
)

type params struct {
	Channel           string `param:"slack_channel" required:"true" doc:"channel the findings are posted to"`
	APIKey            string `param:"api_key" required:"true" doc:"bot token (xoxb-...)"`
	MaxLogFileLimitKB int    `param:"max_log_file_limit_kb" default:"1000" doc:"file blocks larger than this are cut"`
	ChannelOverride   string `param:"channel_override" doc:"channel per finding: cluster_name, labels.KEY, annotations.KEY or a text with $-placeholders of them"`
	InvestigateLink   bool   `param:"investigate_link" default:"true" doc:"not used locally (no Robusta UI)"`
	DisableHolmesNote bool   `param:"disable_holmes_note" doc:"not used locally"`
}

// Sink posts findings to Slack.
type Sink struct {
	name    string
	p       params
	base    string
	client  *http.Client
	cluster string
	// group is the sink's grouping; nil sends each finding as its own message.
	group *grouper
	logf  func(format string, args ...any)
}

// New builds a Slack sink from its sinksConfig entry.
func New(c sinks.Config, opts sinks.Options) (sinks.Sink, error) {
	name := c.Name()
	var p params
	if _, err := sinks.DecodeParams(c, &p); err != nil {
		return nil, fmt.Errorf("sink %s: %w", name, err)
	}
	var err error
	if p.ChannelOverride, err = sinks.ValidateChannelOverride(p.ChannelOverride); err != nil {
		return nil, fmt.Errorf("sink %s: %w", name, err)
	}
	s := &Sink{name: name, p: p, base: opts.BaseURL(name, "https://slack.com/api"), client: opts.Client(), cluster: opts.ClusterName, logf: opts.Logf}
	if g, ok := c.Params["grouping"]; ok && g != nil {
		gp, err := parseGrouping(g, func(msg string) {
			if opts.Logf != nil {
				opts.Logf("sink %s: %s", name, msg)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("sink %s: %w", name, err)
		}
		s.group = newGrouper(gp)
	}
	return s, nil
}

func (s *Sink) Name() string { return s.name }
func (s *Sink) Type() string { return Type }

// apiResp is the envelope of every Slack Web API answer.
type apiResp struct {
	OK        bool   `json:"ok"`
	Error     string `json:"error"`
	Channel   string `json:"channel"`
	TS        string `json:"ts"`
	UploadURL string `json:"upload_url"`
	FileID    string `json:"file_id"`
	Files     []struct {
		ID        string `json:"id"`
		Permalink string `json:"permalink"`
	} `json:"files"`
}

// call posts to a Web API method and decodes the envelope. Slack answers 200 with
// ok:false for most errors; only rate limits and server errors are worth retrying.
func (s *Sink) call(ctx context.Context, method, ctype string, body []byte) (apiResp, bool, error) {
	req, err := http.NewRequest(http.MethodPost, s.base+"/"+method, bytes.NewReader(body))
	if err != nil {
		return apiResp{}, false, fmt.Errorf("slack %s: bad base URL", s.name)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+s.p.APIKey)
	b, retry, err := sinks.Do(ctx, s.client, "slack "+method, req)
	if err != nil {
		return apiResp{}, retry, err
	}
	var r apiResp
	if err := json.Unmarshal(b, &r); err != nil {
		return r, true, fmt.Errorf("slack %s: answer is not JSON: %s", method, sinks.Excerpt(b))
	}
	if !r.OK {
		return r, r.Error == "ratelimited" || r.Error == "internal_error" || r.Error == "service_unavailable",
			fmt.Errorf("slack %s: %s", method, r.Error)
	}
	return r, false, nil
}

// Send posts the finding, through the sink's grouping when it has one.
func (s *Sink) Send(ctx context.Context, f *engine.Finding) (bool, error) {
	if s.group != nil {
		return s.sendGrouped(ctx, f)
	}
	return s.sendFinding(ctx, f, "")
}

// sendFinding posts the message, in the thread of threadTS when set, then uploads its
// files into the message's thread. A failed upload is not retried: that would post
// the message twice.
func (s *Sink) sendFinding(ctx context.Context, f *engine.Finding, threadTS string) (bool, error) {
	msg := map[string]any{
		"channel": s.channel(f),
		"text":    f.Title, // the notification text when blocks cannot be shown
		"blocks":  Blocks(f, s.cluster),
	}
	if threadTS != "" {
		msg["thread_ts"] = threadTS
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return false, fmt.Errorf("encoding slack message: %w", err)
	}
	r, retry, err := s.call(ctx, "chat.postMessage", "application/json; charset=utf-8", body)
	if err != nil {
		return retry, err
	}
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			// An empty file (engine.EmptyFile) is not uploaded: the runner's sinks skip
			// its EmptyFileBlock.
			if b.Type != engine.BlockFile || len(b.Data) == 0 {
				continue
			}
			// A reply's files go to its thread: Slack threads have one level.
			parent := r.TS
			if threadTS != "" {
				parent = threadTS
			}
			if _, err := s.upload(ctx, r.Channel, parent, b); err != nil {
				return false, fmt.Errorf("message posted but file %q not uploaded: %w", b.Name, err)
			}
		}
	}
	return false, nil
}

// channel is the finding's channel: channel_override evaluated for it, as the runner.
func (s *Sink) channel(f *engine.Finding) string {
	return sinks.ChannelFor(s.p.ChannelOverride, s.p.Channel, s.cluster, f.Subject.Labels, f.Subject.Annotations)
}

// uploaded is a file shared through the upload flow.
type uploaded struct{ id, permalink string }

func (s *Sink) upload(ctx context.Context, channelID, ts string, b engine.Block) (uploaded, error) {
	data := b.Data
	if limit := s.p.MaxLogFileLimitKB * 1024; limit > 0 && len(data) > limit {
		data = data[len(data)-limit:] // keep the end: the latest log lines
	}
	name := b.Name
	if name == "" {
		name = "file"
	}
	form := url.Values{"filename": {name}, "length": {strconv.Itoa(len(data))}}
	r, _, err := s.call(ctx, "files.getUploadURLExternal", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil {
		return uploaded{}, err
	}
	req, err := http.NewRequest(http.MethodPost, r.UploadURL, bytes.NewReader(data))
	if err != nil {
		return uploaded{}, fmt.Errorf("slack gave an invalid upload URL")
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if _, _, err := sinks.Do(ctx, s.client, "slack file upload", req); err != nil {
		return uploaded{}, err
	}
	done := map[string]any{
		"files":      []map[string]string{{"id": r.FileID, "title": name}},
		"channel_id": channelID,
		"thread_ts":  ts,
	}
	body, _ := json.Marshal(done)
	c, _, err := s.call(ctx, "files.completeUploadExternal", "application/json; charset=utf-8", body)
	if err != nil {
		return uploaded{}, err
	}
	u := uploaded{id: r.FileID}
	if len(c.Files) > 0 {
		u.permalink = c.Files[0].Permalink
	}
	return u, nil
}

// Blocks renders a finding as Block Kit blocks within Slack's limits.
func Blocks(f *engine.Finding, cluster string) []map[string]any {
	var out []map[string]any
	out = append(out, header(f.Title))
	ctx := fmt.Sprintf("*Severity:* %s", f.Severity)
	if cluster != "" {
		ctx += fmt.Sprintf("   *Cluster:* %s", cluster)
	}
	if f.Subject.Name != "" {
		ctx += fmt.Sprintf("   *Subject:* %s %s", strings.ToLower(f.Subject.Kind), path(f.Subject))
	}
	out = append(out, map[string]any{"type": "context", "elements": []any{mrkdwn(ctx)}})
	if f.Description != "" {
		out = append(out, section(f.Description))
	}
	var links []string
	for _, l := range f.Links {
		links = append(links, fmt.Sprintf("<%s|%s>", l.URL, l.Name))
	}
	if len(links) > 0 {
		out = append(out, section(strings.Join(links, "  ")))
	}
	for _, e := range f.Enrichments {
		if e.Title != "" {
			out = append(out, section("*"+e.Title+"*"))
		}
		for _, b := range e.Blocks {
			out = append(out, block(b)...)
		}
	}
	if len(out) > maxBlocks {
		out = append(out[:maxBlocks-1], section(fmt.Sprintf("_%d more blocks not shown_", len(out)-maxBlocks+1)))
	}
	return out
}

func path(s engine.Subject) string {
	if s.Namespace != "" {
		return s.Namespace + "/" + s.Name
	}
	return s.Name
}

func mrkdwn(t string) map[string]any { return map[string]any{"type": "mrkdwn", "text": t} }

func section(t string) map[string]any {
	return map[string]any{"type": "section", "text": mrkdwn(cut(t, maxSectionLen))}
}

func header(t string) map[string]any {
	return map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": cut(t, maxHeaderLen)}}
}

// cut shortens s to n characters (Slack counts characters, not bytes).
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func block(b engine.Block) []map[string]any {
	switch b.Type {
	case engine.BlockMarkdown:
		return []map[string]any{section(b.Text)}
	case engine.BlockHeader:
		return []map[string]any{header(b.Text)}
	case engine.BlockDivider:
		return []map[string]any{{"type": "divider"}}
	case engine.BlockList:
		var lines []string
		for _, it := range b.Items {
			lines = append(lines, "• "+it)
		}
		return []map[string]any{section(strings.Join(lines, "\n"))}
	case engine.BlockJSON:
		return []map[string]any{section("```" + b.Text + "```")}
	case engine.BlockTable, engine.BlockKubernetesFields:
		return []map[string]any{section("```" + table(b) + "```")}
	case engine.BlockDiffs:
		var lines []string
		for _, r := range b.Rows {
			if len(r) == 3 {
				lines = append(lines, fmt.Sprintf("*%s*: %s ➡️ %s", r[0], r[1], r[2]))
			}
		}
		return []map[string]any{section(strings.Join(lines, "\n"))}
	case engine.BlockCallback:
		// Buttons call back into the runner; locally they show as the action to run.
		return []map[string]any{section(fmt.Sprintf("%s: `%s`", b.Name, b.Text))}
	}
	return nil // file blocks are uploaded, not rendered
}

func table(b engine.Block) string {
	var sb strings.Builder
	if b.Name != "" {
		sb.WriteString(b.Name + "\n")
	}
	sb.WriteString(strings.Join(b.Headers, " | ") + "\n")
	for _, r := range b.Rows {
		sb.WriteString(strings.Join(r, " | ") + "\n")
	}
	if b.Truncated > 0 {
		fmt.Fprintf(&sb, "(%d more rows)\n", b.Truncated)
	}
	return sb.String()
}
