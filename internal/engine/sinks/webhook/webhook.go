// Package webhook is webhook_sink: each finding POSTed to a URL as text or JSON, in
// the runner's shapes and within its size_limit.
package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// Sink posts findings to a webhook.
type Sink struct {
	name, url, format, auth string
	sizeLimit               int
	slack                   bool
	cluster                 string
	client                  *http.Client
}

// New builds a webhook_sink from its params (url, size_limit 4096, authorization,
// format text|json, slack_webhook); opts.BaseURLs[name] replaces url.
func New(cfg sinks.Config, opts sinks.Options) (*Sink, error) {
	p := cfg.Params
	s := &Sink{format: "text", sizeLimit: 4096, cluster: opts.ClusterName, client: opts.HTTPClient}
	s.name, _ = p["name"].(string)
	s.url, _ = p["url"].(string)
	if u := opts.BaseURLs[s.name]; u != "" {
		s.url = u
	}
	if s.url == "" {
		return nil, fmt.Errorf("webhook_sink %s: url is required", s.name)
	}
	if f, ok := p["format"].(string); ok && f != "" {
		s.format = f
	}
	if s.format != "text" && s.format != "json" {
		return nil, fmt.Errorf("webhook_sink %s: format %q is not text or json", s.name, s.format)
	}
	switch n := p["size_limit"].(type) {
	case int:
		s.sizeLimit = n
	case int64:
		s.sizeLimit = int(n)
	case float64:
		s.sizeLimit = int(n)
	}
	s.auth, _ = p["authorization"].(string)
	s.slack, _ = p["slack_webhook"].(bool)
	if s.client == nil {
		s.client = &http.Client{Timeout: 30 * time.Second}
	}
	return s, nil
}

func (s *Sink) Name() string { return s.name }
func (s *Sink) Type() string { return "webhook_sink" }

// Send posts the finding. Network errors, 429 and 5xx are worth a retry; other
// refusals are not. Errors never carry the authorization header.
func (s *Sink) Send(ctx context.Context, f *engine.Finding) (bool, error) {
	var body []byte
	contentType := "text/plain; charset=utf-8"
	if s.format == "json" {
		var err error
		if body, err = json.Marshal(s.jsonMessage(f)); err != nil {
			return false, err
		}
		contentType = "application/json"
	} else {
		body = []byte(s.textMessage(f))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("webhook_sink %s: %w", s.name, err)
	}
	req.Header.Set("Content-Type", contentType)
	if s.auth != "" {
		req.Header.Set("Authorization", s.auth)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// The URL is left out: webhook URLs often carry their credentials.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return true, fmt.Errorf("webhook_sink %s: %v", s.name, redact(redact(err.Error(), s.url), s.auth))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		return retry, fmt.Errorf("webhook_sink %s: the webhook answered %s", s.name, resp.Status)
	}
	return false, nil
}

func redact(msg, secret string) string {
	if secret == "" {
		return msg
	}
	return strings.ReplaceAll(msg, secret, "***")
}

// textMessage is the runner's text format: title, links, source, description and the
// text of the blocks, one paragraph each, stopping before size_limit bytes.
func (s *Sink) textMessage(f *engine.Finding) string {
	lines := []string{f.Title}
	for _, l := range f.Links {
		lines = append(lines, l.Name+": "+l.URL)
	}
	lines = append(lines, "Source: "+s.cluster, f.Description)
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			lines = append(lines, blockText(b)...)
		}
	}
	var msg strings.Builder
	for _, line := range lines {
		if line == "" {
			continue
		}
		wrapped := dedent("\n" + strings.Repeat(" ", 16) + line + "\n" + strings.Repeat(" ", 16))
		if msg.Len()+len(wrapped) >= s.sizeLimit {
			break
		}
		msg.WriteString(wrapped)
	}
	return msg.String()
}

// blockText is the runner's plain text of a block: headers, list items, markdown and
// JSON as they are, diffs as "*path*: old ==> new"; tables and files have none.
func blockText(b engine.Block) []string {
	switch b.Type {
	case engine.BlockHeader, engine.BlockMarkdown, engine.BlockJSON:
		return []string{b.Text}
	case engine.BlockList:
		return b.Items
	case engine.BlockDiffs:
		var out []string
		for _, r := range b.Rows {
			if len(r) == 3 {
				out = append(out, fmt.Sprintf("*%s*: %s ==> %s", r[0], r[1], r[2]))
			}
		}
		return out
	}
	return nil
}

// dedent is Python's textwrap.dedent: the whitespace common to the lines that have
// text is removed, and lines of only whitespace become empty.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	margin, first := "", true
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ws := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		switch {
		case first:
			margin, first = ws, false
		case strings.HasPrefix(ws, margin):
		case strings.HasPrefix(margin, ws):
			margin = ws
		default:
			margin = commonPrefix(margin, ws)
		}
	}
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			lines[i] = ""
		} else {
			lines[i] = strings.TrimPrefix(l, margin)
		}
	}
	return strings.Join(lines, "\n")
}

func commonPrefix(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[:i]
}

// jsonMessage is the runner's JSON format, key by key in its order, leaving out the
// keys from the first one that would pass size_limit (enrichments are last so they
// go first). Keys the local engine has no value for are null, as the runner's are
// for a finding without them.
func (s *Sink) jsonMessage(f *engine.Finding) any {
	links := make([]map[string]any, 0, len(f.Links))
	for _, l := range f.Links {
		links = append(links, map[string]any{"name": l.Name, "url": l.URL, "type": nullIfEmpty(l.Type)})
	}
	kv := []struct {
		k string
		v any
	}{
		{"title", f.Title},
		{"description", nullIfEmpty(f.Description)},
		{"cluster_name", s.cluster},
		{"account_id", ""},
		{"severity", string(f.Severity)},
		{"source", strings.ToUpper(f.Source)},
		{"finding_type", f.Type.Name()},
		{"aggregation_key", f.AggregationKey},
		{"failure", true},
		{"fingerprint", f.Fingerprint},
		{"starts_at", time.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00")},
		{"ends_at", nil},
		{"id", uuid4()},
		{"category", nil},
		{"service", nil},
		{"service_key", ""},
		{"creation_date", time.Now().Format("2006-01-02 15:04:05.000000")},
		{"investigate_uri", nil},
		{"add_silence_url", false},
		{"subject", map[string]any{"name": f.Subject.Name, "kind": f.Subject.Kind, "namespace": nullIfEmpty(f.Subject.Namespace),
			"node": nullIfEmpty(f.Subject.Node), "container": nil, "labels": f.Subject.Labels, "annotations": map[string]string{}}},
		{"links", links},
		{"enrichments", f.Enrichments},
	}
	msg := orderedMap{}
	size := 0
	for _, p := range kv {
		pair, _ := json.Marshal(map[string]any{p.k: p.v})
		n := pyJSONLen(pair)
		if size+n > s.sizeLimit {
			break
		}
		msg = append(msg, [2]any{p.k, p.v})
		size += n
	}
	if s.slack {
		get := func(k string) any {
			for _, p := range msg {
				if p[0] == k {
					return p[1]
				}
			}
			return nil
		}
		labels := "None"
		if len(f.Subject.Labels) > 0 {
			var parts []string
			for k, v := range f.Subject.Labels {
				parts = append(parts, k+": "+v)
			}
			labels = strings.Join(parts, ", ")
		}
		return map[string]string{"text": fmt.Sprintf("*Title:* %v\n*Description:* %v\n*Failure:* %v\n*Aggregation Key:* %v\n*labels*: %s\n",
			get("title"), pyStr(get("description")), "True", get("aggregation_key"), labels)}
	}
	return msg
}

// pyJSONLen is the length Python's json.dumps gives the same value, which the runner
// measures: ", " and ": " between items, non-ASCII as \uXXXX escapes (a pair for
// characters past the BMP), and <, >, & unescaped (Go escapes them).
func pyJSONLen(b []byte) int {
	n, inStr := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr && c == '\\':
			if strings.HasPrefix(string(b[i:]), `\u003c`) || strings.HasPrefix(string(b[i:]), `\u003e`) || strings.HasPrefix(string(b[i:]), `\u0026`) {
				n++
				i += 5
				continue
			}
			n += 2
			i++
			continue
		case c == '"':
			inStr = !inStr
			n++
		case !inStr && (c == ',' || c == ':'):
			n += 2
		case c >= 0x80:
			r := []rune(string(b[i:min(i+4, len(b))]))[0]
			size := len(string(r))
			if r > 0xFFFF {
				n += 12
			} else {
				n += 6
			}
			i += size - 1
		default:
			n++
		}
	}
	return n
}

func pyStr(v any) any {
	if v == nil {
		return "None"
	}
	return v
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// orderedMap marshals as a JSON object keeping its key order.
type orderedMap [][2]any

func (m orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p[0])
		v, err := json.Marshal(p[1])
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func uuid4() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}
