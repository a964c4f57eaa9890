package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PromAuth is the runner's Prometheus connection params (PrometheusParams).
type PromAuth struct {
	Auth              string            // prometheus_auth: the Authorization header's value
	QueryString       string            // prometheus_url_query_string: k=v&k2=v2 on every request
	Headers           map[string]string // prometheus_additional_headers
	AdditionalLabels  map[string]string // prometheus_additional_labels
	AddAdditionalLbls bool              // add_additional_labels
}

// PromClient is a client of the Prometheus HTTP API.
type PromClient struct {
	*Client
	Auth PromAuth
}

// NewPromClient returns a client of ep with the runner's auth params.
func NewPromClient(ep *Endpoint, a PromAuth) (*PromClient, error) {
	c := NewClient(ep)
	if a.Auth != "" {
		c.Header.Set("Authorization", a.Auth)
	}
	for k, v := range a.Headers {
		c.Header.Set(k, v)
	}
	if qs := strings.TrimPrefix(a.QueryString, "?"); qs != "" {
		q, err := url.ParseQuery(qs)
		if err != nil {
			return nil, fmt.Errorf("prometheus_url_query_string %q: %v", a.QueryString, err)
		}
		c.Query = q
	}
	return &PromClient{Client: c, Auth: a}, nil
}

// Series is one time series of a matrix or vector result.
type Series struct {
	Metric     map[string]string `json:"metric"`
	Timestamps []float64         `json:"timestamps"`
	Values     []float64         `json:"values"`
}

// Result is a query's answer.
type Result struct {
	Type   string   `json:"result_type"` // matrix, vector, scalar, string
	Series []Series `json:"series,omitempty"`
	// Scalar holds a scalar result.
	Scalar float64 `json:"scalar,omitempty"`
}

var bracketsComma = regexp.MustCompile(`\{\s*,`)

// WithAdditionalLabels adds the multi-cluster labels to every selector of query, as
// the runner does: each "}" gets `, key="value"` before it, and "{," is mended.
func WithAdditionalLabels(query string, a PromAuth) string {
	if len(a.AdditionalLabels) == 0 || !a.AddAdditionalLbls {
		return query
	}
	keys := make([]string, 0, len(a.AdditionalLabels))
	for k := range a.AdditionalLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var extra strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&extra, ", %s=\"%s\"", k, a.AdditionalLabels[k])
	}
	q := strings.ReplaceAll(query, "}", extra.String()+"}")
	return bracketsComma.ReplaceAllString(q, "{")
}

// Resolution is the number of points the runner asks for over a duration: 250 up to
// an hour, one a minute up to a day, one every 5 minutes up to a week, else 3000.
func Resolution(d time.Duration) int {
	switch {
	case d <= time.Hour:
		return 250
	case d <= 24*time.Hour:
		return int(math.Ceil(d.Seconds() / 60))
	case d <= 7*24*time.Hour:
		return int(math.Ceil(d.Seconds() / 300))
	}
	return 3000
}

// DefaultStep is the runner's step for a range: duration/resolution seconds, at least
// 1, written as Python writes a float ("14.4", "1.0").
func DefaultStep(d time.Duration) string {
	s := math.Max(d.Seconds()/float64(Resolution(d)), 1.0)
	out := strconv.FormatFloat(s, 'f', -1, 64)
	if !strings.Contains(out, ".") {
		out += ".0"
	}
	return out
}

// QueryRange runs a range query (the additional labels added) and returns its result.
func (c *PromClient) QueryRange(ctx context.Context, query string, start, end time.Time, step string) (*Result, error) {
	if step == "" {
		step = DefaultStep(end.Sub(start))
	}
	form := url.Values{
		"query": {WithAdditionalLabels(query, c.Auth)},
		"start": {promTime(start)},
		"end":   {promTime(end)},
		"step":  {step},
	}
	return c.api(ctx, "/api/v1/query_range", form)
}

// Query runs an instant query at t (now when zero).
func (c *PromClient) Query(ctx context.Context, query string, t time.Time) (*Result, error) {
	form := url.Values{"query": {WithAdditionalLabels(query, c.Auth)}}
	if !t.IsZero() {
		form.Set("time", promTime(t))
	}
	return c.api(ctx, "/api/v1/query", form)
}

// Get calls another API path (labels, series, label values) and returns its data.
func (c *PromClient) Get(ctx context.Context, path string, q url.Values) (json.RawMessage, error) {
	body, err := c.Do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return nil, promError(body, err)
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%s: not a Prometheus API answer: %v", c.Endpoint.Via, err)
	}
	if env.Status != "success" {
		return nil, fmt.Errorf("prometheus: %s", env.Error)
	}
	return env.Data, nil
}

func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 3, 64)
}

// api posts a form (long queries fit in a body) and decodes the result.
func (c *PromClient) api(ctx context.Context, path string, form url.Values) (*Result, error) {
	body, err := c.Do(ctx, http.MethodPost, path, nil, form)
	if err != nil {
		return nil, promError(body, err)
	}
	return DecodeResult(body)
}

// promError prefers Prometheus' own error text (a bad query) to the HTTP status.
func promError(body []byte, err error) error {
	var env struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != "" {
		return fmt.Errorf("prometheus: %s", env.Error)
	}
	return err
}

// DecodeResult reads a /api/v1/query or query_range answer.
func DecodeResult(body []byte) (*Result, error) {
	var env struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("not a Prometheus API answer: %v", err)
	}
	if env.Status != "success" {
		return nil, fmt.Errorf("prometheus: %s", env.Error)
	}
	r := &Result{Type: env.Data.ResultType}
	switch r.Type {
	case "matrix":
		var raw []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		}
		if err := json.Unmarshal(env.Data.Result, &raw); err != nil {
			return nil, fmt.Errorf("matrix result: %v", err)
		}
		for _, s := range raw {
			ser := Series{Metric: s.Metric}
			for _, p := range s.Values {
				t, v, err := samplePair(p)
				if err != nil {
					return nil, err
				}
				ser.Timestamps, ser.Values = append(ser.Timestamps, t), append(ser.Values, v)
			}
			r.Series = append(r.Series, ser)
		}
	case "vector":
		var raw []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(env.Data.Result, &raw); err != nil {
			return nil, fmt.Errorf("vector result: %v", err)
		}
		for _, s := range raw {
			t, v, err := samplePair(s.Value)
			if err != nil {
				return nil, err
			}
			r.Series = append(r.Series, Series{Metric: s.Metric, Timestamps: []float64{t}, Values: []float64{v}})
		}
	case "scalar":
		var p [2]any
		if err := json.Unmarshal(env.Data.Result, &p); err != nil {
			return nil, fmt.Errorf("scalar result: %v", err)
		}
		_, v, err := samplePair(p)
		if err != nil {
			return nil, err
		}
		r.Scalar = v
	}
	return r, nil
}

func samplePair(p [2]any) (float64, float64, error) {
	t, ok := p[0].(float64)
	if !ok {
		return 0, 0, fmt.Errorf("sample time %v is not a number", p[0])
	}
	s, ok := p[1].(string)
	if !ok {
		return 0, 0, fmt.Errorf("sample value %v is not a string", p[1])
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("sample value %q: %v", s, err)
	}
	return t, v, nil
}

// AddedTo is query as sent, the additional labels added.
func (a PromAuth) AddedTo(query string) string { return WithAdditionalLabels(query, a) }
