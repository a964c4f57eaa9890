package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/graph"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
)

func init() {
	engine.Register(&engine.Action{Name: "prometheus_enricher", Event: "ExecutionBaseEvent",
		Doc:       "Run a PromQL range query over the last duration_minutes (or a date range) and attach its graph",
		NewParams: func() any { return &promQueryParams{} }, Do: prometheusEnricher})
	engine.Register(&engine.Action{Name: "prometheus_all_available_metrics", Event: "ExecutionBaseEvent",
		Doc:       "List every metric name Prometheus has",
		NewParams: func() any { return &promConn{} }, Do: prometheusAllMetrics})
	engine.Register(&engine.Action{Name: "prometheus_get_series", Event: "ExecutionBaseEvent",
		Doc:       "List the series matching selectors, optionally in a time range",
		NewParams: func() any { return &promSeriesParams{} }, Do: prometheusGetSeries})
	engine.Register(&engine.Action{Name: "prometheus_get_label_names", Event: "ExecutionBaseEvent",
		Doc:       "List Prometheus' label names, optionally for matching series and a time range",
		NewParams: func() any { return &promLabelNamesParams{} }, Do: prometheusGetLabelNames})
	engine.Register(&engine.Action{Name: "prometheus_sla_enricher", Event: "ExecutionBaseEvent",
		Doc:       "Compare an instant query's value with a threshold and title the finding SLA or SLA VIOLATION",
		NewParams: func() any { return &promSLAParams{} }, Do: prometheusSLAEnricher})
}

// promConn is the runner's PrometheusParams: where Prometheus is and how to talk to it.
// prometheus_url comes from the chart's globalConfig in the runner; locally from this
// param, --prometheus-url, or discovery.
type promConn struct {
	PrometheusURL       string            `param:"prometheus_url" doc:"Prometheus URL (default: --prometheus-url, else found in the cluster)"`
	PrometheusAuth      string            `param:"prometheus_auth" doc:"Authorization header value, e.g. Bearer TOKEN"`
	QueryString         string            `param:"prometheus_url_query_string" doc:"extra query string on every request"`
	AdditionalHeaders   map[string]string `param:"prometheus_additional_headers" doc:"extra HTTP headers on every request"`
	AdditionalLabels    map[string]string `param:"prometheus_additional_labels" doc:"labels added to every selector of every query (multi-cluster Prometheus)"`
	AddAdditionalLabels bool              `param:"add_additional_labels" default:"true" doc:"add prometheus_additional_labels to queries"`
	GraphsOverrides     []any             `param:"prometheus_graphs_overrides" doc:"replace resource graph queries: [{resource_type, item_type, query, values_format}]"`
}

func (p *promConn) auth() monitoring.PromAuth {
	return monitoring.PromAuth{Auth: p.PrometheusAuth, QueryString: p.QueryString, Headers: p.AdditionalHeaders,
		AdditionalLabels: p.AdditionalLabels, AddAdditionalLbls: p.AddAdditionalLabels}
}

// connector is the run's (one port-forward per service for the whole chain), or a
// connector of this action alone, closed by done.
func connector(ctx context.Context, r *engine.Run) (c *monitoring.Connector, done func()) {
	if c := monitoring.FromContext(ctx); c != nil {
		return c, func() {}
	}
	c = monitoring.NewConnector(r.KF, monitoring.URLs{})
	return c, c.Close
}

// prom returns a Prometheus client and a function to call when the action is done.
func (p *promConn) prom(ctx context.Context, r *engine.Run) (*monitoring.PromClient, func(), error) {
	conn, done := connector(ctx, r)
	ep, err := conn.Endpoint(ctx, monitoring.Prometheus, p.PrometheusURL)
	if err != nil {
		done()
		return nil, nil, err
	}
	c, err := monitoring.NewPromClient(ep, p.auth())
	if err != nil {
		done()
		return nil, nil, &engine.ParamsError{Action: "prometheus", Err: err}
	}
	return c, done, nil
}

type promQueryParams struct {
	promConn
	PromQLQuery string `param:"promql_query" required:"true" doc:"the PromQL query"`
	Duration    any    `param:"duration" required:"true" doc:"{duration_minutes: N} or {starts_at: '2024-01-02 10:00:00 UTC', ends_at: ...}"`
	Step        string `param:"step" doc:"query resolution: 100s, 3d or seconds (default: the runner's, 250 points an hour)"`
}

// pyTimeLayout is the runner's "%Y-%m-%d %H:%M:%S %Z".
const pyTimeLayout = "2006-01-02 15:04:05 MST"

// queryRange reads the duration param: the last duration_minutes, or a date range.
func queryRange(d any, now time.Time) (time.Time, time.Time, error) {
	m, ok := d.(map[string]any)
	if !ok {
		return time.Time{}, time.Time{}, fmt.Errorf("duration: want {duration_minutes: N} or {starts_at: ..., ends_at: ...}, got %v", d)
	}
	if v, ok := m["duration_minutes"]; ok {
		var p struct {
			Minutes int `param:"duration_minutes" required:"true"`
		}
		if err := engine.Decode(map[string]any{"duration_minutes": v}, &p); err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("duration: %v", err)
		}
		end := now.UTC().Truncate(time.Second)
		return end.Add(-time.Duration(p.Minutes) * time.Minute), end, nil
	}
	s, _ := m["starts_at"].(string)
	e, _ := m["ends_at"].(string)
	if s == "" || e == "" {
		return time.Time{}, time.Time{}, fmt.Errorf("duration: want duration_minutes, or both starts_at and ends_at")
	}
	start, err1 := time.Parse(pyTimeLayout, s)
	end, err2 := time.Parse(pyTimeLayout, e)
	if err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("duration: times must look like '2024-01-02 10:00:00 UTC' (got %q and %q)", s, e)
	}
	return start, end, nil
}

func prometheusEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*promQueryParams)
	if strings.TrimSpace(params.PromQLQuery) == "" {
		return &engine.ParamsError{Action: "prometheus_enricher", Err: errors.New("promql_query is empty: give a PromQL query")}
	}
	start, end, err := queryRange(params.Duration, time.Now())
	if err != nil {
		return &engine.ParamsError{Action: "prometheus_enricher", Err: err}
	}
	c, done, err := params.prom(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	res, err := c.QueryRange(ctx, params.PromQLQuery, start, end, params.Step)
	if err != nil {
		var se *monitoring.StatusError
		if errors.As(err, &se) || strings.HasPrefix(err.Error(), "prometheus: ") {
			// The runner attaches Prometheus' error as the block's result.
			r.Finding.AddEnrichment("", engine.Markdown("Prometheus query failed: "+err.Error()), engine.Markdown("```\n"+params.PromQLQuery+"\n```"))
			return nil
		}
		return err
	}
	r.Finding.AddEnrichment("", resultBlocks(params.PromQLQuery, params.PromQLQuery, graph.Plain, res, nil)...)
	return nil
}

// resultBlocks shows a query result: a graph of a matrix, a table of a vector, the
// value of a scalar.
func resultBlocks(title, query string, format graph.Format, res *monitoring.Result, labelOf func(i int) string) []engine.Block {
	switch res.Type {
	case "matrix":
		return []engine.Block{engine.Graph(chartOf(title, query, format, res.Series, labelOf))}
	case "vector":
		rows := make([][]string, 0, len(res.Series))
		for _, s := range res.Series {
			rows = append(rows, []string{metricString(s.Metric), graph.FormatValue(format, s.Values[0])})
		}
		return []engine.Block{engine.Markdown("```\n" + query + "\n```"), engine.Table("result", []string{"series", "value"}, rows)}
	case "scalar":
		return []engine.Block{engine.Markdown(fmt.Sprintf("```\n%s\n```\n= %s", query, graph.FormatValue(format, res.Scalar)))}
	}
	return []engine.Block{engine.Markdown(fmt.Sprintf("```\n%s\n```\nresult of type %s", query, res.Type))}
}

// chartOf makes a chart of series, each labelled as the runner labels it: its
// container, pod or node label, else its other label values (job left out), else
// labelOf's fallback.
func chartOf(title, query string, format graph.Format, series []monitoring.Series, labelOf func(i int) string) *graph.Chart {
	c := &graph.Chart{Title: title, Query: query, Format: format}
	for i, s := range series {
		label := targetName(s.Metric)
		if label == "" {
			keys := make([]string, 0, len(s.Metric))
			for k := range s.Metric {
				if k != "job" {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			vals := make([]string, len(keys))
			for j, k := range keys {
				vals[j] = s.Metric[k]
			}
			label = strings.Join(vals, " ")
		}
		if label == "" && labelOf != nil {
			label = labelOf(i)
		}
		c.Series = append(c.Series, graph.Series{Label: label, Timestamps: s.Timestamps, Values: s.Values})
	}
	return c
}

func targetName(m map[string]string) string {
	for _, l := range []string{"container", "pod", "node"} {
		if v, ok := m[l]; ok {
			return v
		}
	}
	return ""
}

func metricString(m map[string]string) string {
	name := m["__name__"]
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, m[k])
	}
	return name + "{" + strings.Join(parts, ", ") + "}"
}

func prometheusAllMetrics(ctx context.Context, r *engine.Run, p any) error {
	c, done, err := p.(*promConn).prom(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	data, err := c.Get(ctx, "/api/v1/label/__name__/values", nil)
	if err != nil {
		return err
	}
	return addJSON(r, "metrics", data)
}

// addJSON attaches {key: data} as the runner's JsonBlock does.
func addJSON(r *engine.Run, key string, data json.RawMessage) error {
	b, err := json.Marshal(map[string]json.RawMessage{key: data})
	if err != nil {
		return err
	}
	r.Finding.AddEnrichment("", engine.JSON(string(b)))
	return nil
}

type promSeriesParams struct {
	promConn
	Match     []string `param:"match" required:"true" doc:"series selectors"`
	StartTime string   `param:"start_time" doc:"start of the range (RFC 3339 or Unix seconds)"`
	EndTime   string   `param:"end_time" doc:"end of the range (RFC 3339 or Unix seconds)"`
}

// promTimeParam checks a datetime param and passes it on in a form Prometheus reads.
func promTimeParam(name, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return v, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 3, 64), nil
		}
	}
	return "", fmt.Errorf("%s %q: want an ISO 8601 time (2024-01-02T10:00:00Z) or Unix seconds", name, v)
}

func prometheusGetSeries(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*promSeriesParams)
	q := url.Values{"match[]": params.Match}
	for name, v := range map[string]string{"start": params.StartTime, "end": params.EndTime} {
		s, err := promTimeParam(name+"_time", v)
		if err != nil {
			return &engine.ParamsError{Action: "prometheus_get_series", Err: err}
		}
		if s != "" {
			q.Set(name, s)
		}
	}
	c, done, err := params.prom(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	data, err := c.Get(ctx, "/api/v1/series", q)
	if err != nil {
		return err
	}
	return addJSON(r, "series", data)
}

type promLabelNamesParams struct {
	promConn
	Match []string `param:"match" doc:"series selectors"`
	Start string   `param:"start" doc:"start of the range"`
	End   string   `param:"end" doc:"end of the range"`
	Limit int      `param:"limit" doc:"most label names to return"`
}

func prometheusGetLabelNames(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*promLabelNamesParams)
	q := url.Values{}
	if len(params.Match) > 0 {
		q["match[]"] = params.Match
	}
	for name, v := range map[string]string{"start": params.Start, "end": params.End} {
		s, err := promTimeParam(name, v)
		if err != nil {
			return &engine.ParamsError{Action: "prometheus_get_label_names", Err: err}
		}
		if s != "" {
			q.Set(name, s)
		}
	}
	if params.Limit > 0 {
		q.Set("limit", strconv.Itoa(params.Limit))
	}
	c, done, err := params.prom(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	data, err := c.Get(ctx, "/api/v1/labels", q)
	if err != nil {
		return err
	}
	return addJSON(r, "labels", data)
}

type promSLAParams struct {
	promConn
	PromQLQuery string  `param:"promql_query" required:"true" doc:"an instant query giving a scalar or vector"`
	Operator    string  `param:"operator" required:"true" doc:"one of < > == != (anything else means >)"`
	Threshold   float64 `param:"threshold" required:"true" doc:"the SLA's threshold"`
}

func prometheusSLAEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*promSLAParams)
	if strings.TrimSpace(params.PromQLQuery) == "" {
		return &engine.ParamsError{Action: "prometheus_sla_enricher", Err: errors.New("promql_query is empty: give a PromQL query")}
	}
	op := params.Operator
	if op != "<" && op != ">" && op != "==" && op != "!=" {
		op = ">" // as the runner
	}
	c, done, err := params.prom(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	res, err := c.Query(ctx, params.PromQLQuery, time.Time{})
	if err != nil {
		if strings.HasPrefix(err.Error(), "prometheus: ") {
			r.Finding.AddEnrichment("", engine.Markdown("Prometheus query failed: "+err.Error()))
			return nil
		}
		return err
	}
	var v float64
	switch res.Type {
	case "scalar":
		v = res.Scalar
	case "vector":
		if len(res.Series) > 0 {
			v = res.Series[len(res.Series)-1].Values[0]
		}
	}
	violated := map[string]bool{">": v > params.Threshold, "<": v < params.Threshold,
		"==": v == params.Threshold, "!=": v != params.Threshold}[op]
	r.Finding.AddEnrichment("", engine.Markdown("*SLA Query* : "+params.PromQLQuery))
	word := "SLA"
	if violated {
		word = "SLA VIOLATION"
	}
	opName := map[string]string{"<": "lt", "==": "eq", ">": "gt", "!=": "ne"}[op]
	r.Finding.Title = strings.TrimSpace(fmt.Sprintf("%s %.3f %s %s %s", word, v, opName, pyFloat(params.Threshold), r.Finding.Title))
	return nil
}

// pyFloat writes a float as Python's str() does for the common cases (1.0, 0.25).
func pyFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Sprint(f)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// pyTemplate is Python's string.Template.safe_substitute over a map whose missing
// keys read "<missing>" (the runner's defaultdict): $name and ${name} are replaced,
// $$ is a dollar.
var pyTemplateRef = regexp.MustCompile(`(?i)\$(?:(\$)|([_a-z][_a-z0-9]*)|\{([_a-z][_a-z0-9]*)\})`)

func pyTemplate(s string, vars map[string]string) string {
	return pyTemplateRef.ReplaceAllStringFunc(s, func(m string) string {
		g := pyTemplateRef.FindStringSubmatch(m)
		if g[1] != "" {
			return "$"
		}
		name := g[2] + g[3]
		if v, ok := vars[name]; ok {
			return v
		}
		return "<missing>"
	})
}
