package monitoring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxResponse caps what is read from a service's answer.
const MaxResponse = 64 << 20

// Client sends requests to one service endpoint with the runner's auth params.
type Client struct {
	Endpoint *Endpoint
	// Header goes on every request (Authorization, the additional headers).
	Header http.Header
	// Query is added to every request's query string (prometheus_url_query_string).
	Query url.Values
	HTTP  *http.Client
}

// NewClient returns a client with a 60 s timeout, the runner's default for Prometheus
// requests.
func NewClient(ep *Endpoint) *Client {
	return &Client{Endpoint: ep, Header: http.Header{}, Query: url.Values{}, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// StatusError is an HTTP answer other than 2xx.
type StatusError struct {
	Method, URL string
	Code        int
	Body        string
}

func (e *StatusError) Error() string {
	body := strings.TrimSpace(e.Body)
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	if body != "" {
		body = ": " + body
	}
	return fmt.Sprintf("%s %s: HTTP %d%s", e.Method, e.URL, e.Code, body)
}

// Do sends method to path (below the endpoint's base) with query and an optional
// body (form values for url.Values, JSON otherwise), and returns the answer's body.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	u := *c.Endpoint.Base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	q := url.Values{}
	for k, v := range c.Query {
		q[k] = append(q[k], v...)
	}
	for k, v := range query {
		q[k] = append(q[k], v...)
	}
	u.RawQuery = q.Encode()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/json"
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, ctype = bytes.NewReader(js), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if ctype != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", c.Endpoint.Via, method, unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", c.Endpoint.Via, err)
	}
	if resp.StatusCode/100 != 2 {
		return data, &StatusError{Method: method, URL: redacted(u), Code: resp.StatusCode, Body: string(data)}
	}
	return data, nil
}

// redacted is a URL for messages: no user info, no query (it may hold a token).
func redacted(u url.URL) string {
	u.User, u.RawQuery = nil, ""
	return u.String()
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
