package sinks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/engine"
)

// commonParams are SinkBaseParams' keys: routing, read by ParseRoute, or runner
// features (grouping, activity, mute_intervals) the sink packages do not decode.
var commonParams = []string{"name", "send_svg", "prefer_redirect_to_platform", "default", "match", "scope", "activity", "mute_intervals", "grouping", "stop"}

// DecodeParams fills dst (a struct with `param` tags, see engine.Decode) from a sink
// entry's own params. Keys the runner knows for this sink type but this build does
// not use are skipped and returned, so a values file written for the cluster loads
// here too; keys the runner does not know are an error.
func DecodeParams(c Config, dst any) (unused []string, err error) {
	ours := map[string]bool{}
	for _, p := range engine.Params(dst) {
		ours[p.Name] = true
	}
	known := map[string]bool{}
	for _, k := range commonParams {
		known[k] = true
	}
	if cs, ok := catalogue.LookupSink(c.Type); ok {
		for _, p := range cs.ParamsOf() {
			known[p.Name] = true
		}
	}
	raw := map[string]any{}
	for k, v := range c.Params {
		switch {
		case ours[k]:
			raw[k] = v
		case known[k]:
			if !contains(commonParams, k) {
				unused = append(unused, k)
			}
		default:
			raw[k] = v // engine.Decode names it and the allowed keys
		}
	}
	if err := engine.Decode(raw, dst); err != nil {
		return nil, err
	}
	return unused, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// BaseURL returns the override for the named sink, or def.
func (o Options) BaseURL(sink, def string) string {
	if u, ok := o.BaseURLs[sink]; ok && u != "" {
		return strings.TrimRight(u, "/")
	}
	return def
}

// Client returns the HTTP client to use.
func (o Options) Client() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// Do sends req and classifies the answer the way Send reports it: 2xx is success;
// 408, 429 and 5xx and transport errors are retried; other statuses are not. Errors
// never contain the URL (webhook URLs and bot tokens are secrets), only the service
// name and a short excerpt of the answer. The response body is returned on success.
func Do(ctx context.Context, client *http.Client, service string, req *http.Request) (body []byte, retry bool, err error) {
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop "Post <url>:"
		}
		return nil, true, fmt.Errorf("%s: %s request failed: %v", service, req.Method, err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return body, false, nil
	}
	retry = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500
	return body, retry, fmt.Errorf("%s answered %s: %s", service, resp.Status, Excerpt(body))
}

// Excerpt is the start of a service's answer, on one line, for error messages.
func Excerpt(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// PostJSON posts payload (bytes as they are, anything else JSON-encoded) to target with
// the given headers through Do. service names the sink in errors; target is never in them,
// as sink URLs often carry credentials.
func PostJSON(ctx context.Context, client *http.Client, service, target string, payload any, header http.Header) (retry bool, err error) {
	body, ok := payload.([]byte)
	if !ok {
		if body, err = json.Marshal(payload); err != nil {
			return false, fmt.Errorf("%s: encoding the message: %w", service, err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("%s: the sink's URL is not valid", service)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	_, retry, err = Do(ctx, client, service, req)
	return retry, err
}
