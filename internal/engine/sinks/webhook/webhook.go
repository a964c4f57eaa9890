// Package webhook is webhook_sink: a finding POSTed to a URL as plain text or JSON,
// cut to size_limit bytes the way the runner cuts it.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// Type is the sinksConfig key.
const Type = "webhook_sink"

type params struct {
	URL           string `param:"url" required:"true" doc:"where findings are POSTed"`
	SizeLimit     int    `param:"size_limit" default:"4096" doc:"maximum payload size in bytes"`
	Authorization string `param:"authorization" doc:"Authorization header value"`
	Format        string `param:"format" default:"text" enum:"text|json" doc:"payload format"`
	SlackWebhook  bool   `param:"slack_webhook" doc:"wrap the JSON summary as a Slack incoming-webhook text"`
}

// Sink posts findings to a webhook.
type Sink struct {
	name    string
	p       params
	url     string
	client  *http.Client
	cluster string
}

// New builds a webhook sink from its sinksConfig entry.
func New(c sinks.Config, r sinks.Route, opts sinks.Options) (sinks.Sink, error) {
	var p params
	if _, err := sinks.DecodeParams(c, &p); err != nil {
		return nil, fmt.Errorf("sink %s: %w", r.Name, err)
	}
	if p.SizeLimit <= 0 {
		return nil, fmt.Errorf("sink %s: size_limit must be positive, got %d", r.Name, p.SizeLimit)
	}
	return &Sink{name: r.Name, p: p, url: opts.BaseURL(r.Name, p.URL), client: opts.Client(), cluster: opts.ClusterName}, nil
}

func (s *Sink) Name() string { return s.name }
func (s *Sink) Type() string { return Type }

// Send posts the finding.
func (s *Sink) Send(ctx context.Context, f *engine.Finding) (bool, error) {
	var body []byte
	ctype := "text/plain; charset=utf-8"
	if s.p.Format == "json" {
		m, err := s.jsonPayload(f)
		if err != nil {
			return false, err
		}
		body, ctype = m, "application/json"
	} else {
		body = []byte(s.textPayload(f))
	}
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		// The URL is a secret for many services: name the sink, not the URL.
		return false, fmt.Errorf("sink %s: url is not a valid URL", s.name)
	}
	req.Header.Set("Content-Type", ctype)
	if s.p.Authorization != "" {
		req.Header.Set("Authorization", s.p.Authorization)
	}
	_, retry, err := sinks.Do(ctx, s.client, "webhook "+s.name, req)
	return retry, err
}

// textPayload is the title, links, cluster, description and the blocks' text, one
// per line; lines stop before the payload would reach size_limit.
func (s *Sink) textPayload(f *engine.Finding) string {
	lines := []string{f.Title}
	for _, l := range f.Links {
		lines = append(lines, fmt.Sprintf("%s: %s", l.Name, l.URL))
	}
	lines = append(lines, "Source: "+s.cluster, f.Description)
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			lines = append(lines, sinks.BlockLines(b)...)
		}
	}
	var out strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		w := "\n" + l + "\n"
		if out.Len()+len(w) >= s.p.SizeLimit {
			break
		}
		out.WriteString(w)
	}
	return out.String()
}

type kv struct {
	k string
	v any
}

// jsonPayload adds the finding's fields in a fixed order while each key/value pair
// still fits in size_limit, enrichments last so they are the first thing dropped.
func (s *Sink) jsonPayload(f *engine.Finding) ([]byte, error) {
	fields := []kv{
		{"title", f.Title},
		{"description", f.Description},
		{"cluster_name", s.cluster},
		{"severity", string(f.Severity)},
		{"source", f.Source},
		{"aggregation_key", f.AggregationKey},
		{"fingerprint", f.Fingerprint},
		{"subject", map[string]any{"name": f.Subject.Name, "kind": strings.ToLower(f.Subject.Kind), "namespace": f.Subject.Namespace, "node": f.Subject.Node, "labels": f.Subject.Labels}},
		{"links", f.Links},
		{"enrichments", f.Enrichments},
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	size, n := 0, 0
	for _, field := range fields {
		pair, err := json.Marshal(map[string]any{field.k: field.v})
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", field.k, err)
		}
		if size+len(pair) > s.p.SizeLimit {
			break
		}
		size += len(pair)
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(pair[1 : len(pair)-1])
		n++
	}
	buf.WriteByte('}')
	if !s.p.SlackWebhook {
		return buf.Bytes(), nil
	}
	var m map[string]any
	_ = json.Unmarshal(buf.Bytes(), &m)
	var labels []string
	for k, v := range f.Subject.Labels {
		labels = append(labels, k+": "+v)
	}
	sort.Strings(labels)
	text := fmt.Sprintf("*Title:* %v\n*Description:* %v\n*Aggregation Key:* %v\n*labels*: %s\n", m["title"], m["description"], m["aggregation_key"], strings.Join(labels, ", "))
	return json.Marshal(map[string]string{"text": text})
}
