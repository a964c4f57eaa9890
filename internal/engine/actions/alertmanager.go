package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
)

func init() {
	engine.Register(&engine.Action{Name: "get_silences", Event: "ExecutionBaseEvent",
		Doc:       "List Alertmanager's silences",
		NewParams: func() any { return &amConn{} }, Do: getSilences})
	engine.Register(&engine.Action{Name: "add_silence", Event: "ExecutionBaseEvent", Mutating: true,
		Doc:       "Create (or, with id, update) an Alertmanager silence (printed, not sent, unless --apply)",
		NewParams: func() any { return &addSilenceParams{} }, Do: addSilence})
	engine.Register(&engine.Action{Name: "delete_silence", Event: "ExecutionBaseEvent", Mutating: true,
		Doc:       "Expire an Alertmanager silence by id (printed, not sent, unless --apply)",
		NewParams: func() any { return &deleteSilenceParams{} }, Do: deleteSilence})
	engine.Register(&engine.Action{Name: "alertmanager_alert", Event: "ExecutionBaseEvent", Mutating: true,
		Doc:       "Send a simulated alert to Alertmanager (printed, not sent, unless --apply)",
		NewParams: func() any { return &amAlertParams{} }, Do: alertmanagerAlert})
}

// amConn is the runner's AlertManagerParams.
type amConn struct {
	Flavor            string            `param:"alertmanager_flavor" doc:"grafana for Grafana's built-in Alertmanager"`
	URL               string            `param:"alertmanager_url" doc:"Alertmanager URL (default: --alertmanager-url, else found in the cluster)"`
	Auth              string            `param:"alertmanager_auth" doc:"Authorization header value"`
	AdditionalHeaders map[string]string `param:"alertmanager_additional_headers" doc:"extra HTTP headers on every request"`
	GrafanaAPIKey     string            `param:"grafana_api_key" doc:"Grafana API key (sent as a Bearer token; wins over alertmanager_auth)"`
}

// client reaches Alertmanager (Grafana for the grafana flavor) with the runner's
// headers; prefix is the flavor's path prefix of the silences API.
func (p *amConn) client(ctx context.Context, r *engine.Run) (c *monitoring.Client, prefix string, done func(), err error) {
	conn, done := connector(ctx, r)
	svc := monitoring.Alertmanager
	if p.Flavor == "grafana" {
		svc, prefix = monitoring.Grafana, "/api/alertmanager/grafana"
	}
	ep, err := conn.Endpoint(ctx, svc, p.URL)
	if err != nil {
		done()
		return nil, "", nil, err
	}
	c = monitoring.NewClient(ep)
	switch {
	case p.GrafanaAPIKey != "":
		c.Header.Set("Authorization", "Bearer "+p.GrafanaAPIKey)
	case p.Auth != "":
		c.Header.Set("Authorization", p.Auth)
	}
	for k, v := range p.AdditionalHeaders {
		c.Header.Set(k, v)
	}
	return c, prefix, done, nil
}

type silence struct {
	ID     string `json:"id"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
	Comment   string    `json:"comment"`
	CreatedBy string    `json:"createdBy"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	Matchers  []matcher `json:"matchers"`
}

type matcher struct {
	IsEqual *bool  `json:"isEqual,omitempty"`
	IsRegex bool   `json:"isRegex"`
	Name    string `json:"name"`
	Value   string `json:"value"`
}

// pyJSON writes v as Python's json.dumps does: ", " and ": " between items.
func pyJSONMatchers(ms []matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		eq := m.IsEqual == nil || *m.IsEqual // older Alertmanagers omit it: equal
		name, _ := json.Marshal(m.Name)
		val, _ := json.Marshal(m.Value)
		parts[i] = fmt.Sprintf(`{"isEqual": %t, "isRegex": %t, "name": %s, "value": %s}`, eq, m.IsRegex, name, val)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pyISO is Python's isoformat(timespec="seconds") of an aware time.
func pyISO(t time.Time) string { return t.Format("2006-01-02T15:04:05-07:00") }

func getSilences(ctx context.Context, r *engine.Run, p any) error {
	c, prefix, done, err := p.(*amConn).client(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	body, err := c.Do(ctx, http.MethodGet, prefix+"/api/v2/silences", nil, nil)
	if err != nil {
		return fmt.Errorf("alertmanager request failed: %w", err)
	}
	var list []silence
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("%s: not a list of silences: %v", c.Endpoint.Via, err)
	}
	if len(list) == 0 {
		r.Finding.AddEnrichment("", engine.Markdown("*There are no silences*"))
		return nil
	}
	rows := make([][]string, 0, len(list))
	for _, s := range list {
		rows = append(rows, []string{s.ID, fmt.Sprintf(`{"state": %q}`, s.Status.State), s.Comment, s.CreatedBy,
			pyISO(s.StartsAt), pyISO(s.EndsAt), pyJSONMatchers(s.Matchers)})
	}
	r.Finding.AddEnrichment("", engine.Table("Silences", []string{"id", "status", "comment", "createdBy", "startsAt", "endsAt", "matchers"}, rows))
	return nil
}

type addSilenceParams struct {
	amConn
	ID        string `param:"id" doc:"the silence to update; empty creates one"`
	Comment   string `param:"comment" required:"true" doc:"why"`
	CreatedBy string `param:"createdBy" required:"true" doc:"who"`
	StartsAt  string `param:"startsAt" required:"true" doc:"start (ISO 8601, or Unix seconds)"`
	EndsAt    string `param:"endsAt" required:"true" doc:"end (ISO 8601, or Unix seconds)"`
	Matchers  []any  `param:"matchers" required:"true" doc:"[{name, value, isRegex, isEqual}]"`
}

// parseDateTime reads a datetime param as pydantic does: ISO 8601 or Unix seconds.
func parseDateTime(name, v string) (time.Time, error) {
	if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
		return time.Unix(0, int64(f*1e9)).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(v)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q: want an ISO 8601 time (2024-01-02T10:00:00Z) or Unix seconds", name, v)
}

func (p *addSilenceParams) body() (map[string]any, error) {
	start, err := parseDateTime("startsAt", p.StartsAt)
	if err != nil {
		return nil, err
	}
	end, err := parseDateTime("endsAt", p.EndsAt)
	if err != nil {
		return nil, err
	}
	if !end.After(start) {
		return nil, fmt.Errorf("endsAt %s is not after startsAt %s", p.EndsAt, p.StartsAt)
	}
	var ms []matcher
	for i, raw := range p.Matchers {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("matchers[%d]: want an object with name, value and isRegex", i)
		}
		var d struct {
			IsEqual bool   `param:"isEqual" default:"true"`
			IsRegex bool   `param:"isRegex" required:"true"`
			Name    string `param:"name" required:"true"`
			Value   string `param:"value" required:"true"`
		}
		if err := engine.Decode(m, &d); err != nil {
			return nil, fmt.Errorf("matchers[%d]: %v", i, err)
		}
		mt := matcher{IsRegex: d.IsRegex, Name: d.Name, Value: d.Value}
		if !d.IsEqual {
			// Only a non-default isEqual is sent, as the runner does, for old Alertmanagers.
			f := false
			mt.IsEqual = &f
		}
		ms = append(ms, mt)
	}
	if len(ms) == 0 {
		return nil, errors.New("matchers is empty: a silence needs at least one matcher")
	}
	b := map[string]any{"comment": p.Comment, "createdBy": p.CreatedBy, "startsAt": start.Format(time.RFC3339Nano),
		"endsAt": end.Format(time.RFC3339Nano), "matchers": ms}
	if p.ID != "" {
		b["id"] = p.ID
	}
	return b, nil
}

func addSilence(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*addSilenceParams)
	body, err := params.body()
	if err != nil {
		return &engine.ParamsError{Action: "add_silence", Err: err}
	}
	if !r.Apply {
		return dryRunBody(r, "POST", "/api/v2/silences", body)
	}
	c, prefix, done, err := params.client(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	resp, err := c.Do(ctx, http.MethodPost, prefix+"/api/v2/silences", nil, body)
	if err != nil {
		return fmt.Errorf("add silence failed: %w", err)
	}
	var out struct {
		SilenceID string `json:"silenceID"`
		ID        any    `json:"id"` // Grafana's Alertmanager answers with id
	}
	_ = json.Unmarshal(resp, &out)
	id := out.SilenceID
	if id == "" && out.ID != nil {
		id = fmt.Sprint(out.ID)
	}
	if id == "" {
		return fmt.Errorf("add silence failed: the answer holds no silence id: %.200s", resp)
	}
	r.Finding.AddEnrichment("", engine.Table("New Silence", []string{"id"}, [][]string{{id}}))
	return nil
}

// dryRunBody shows what a mutating HTTP action would send.
func dryRunBody(r *engine.Run, method, path string, body any) error {
	js, err := json.MarshalIndent(body, "", "  ")
	if err != nil {
		return err
	}
	r.Notes = append(r.Notes, "dry run: nothing was sent; run again with --apply to send it")
	r.Finding.AddEnrichment("Dry run", engine.Markdown(fmt.Sprintf("Would send %s %s:", method, path)), engine.JSON(string(js)))
	return nil
}

type deleteSilenceParams struct {
	amConn
	ID string `param:"id" required:"true" doc:"the silence's id"`
}

func deleteSilence(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*deleteSilenceParams)
	if strings.TrimSpace(params.ID) == "" {
		return &engine.ParamsError{Action: "delete_silence", Err: errors.New("id is empty: give the silence's id (see get_silences)")}
	}
	path := "/api/v2/silence/" + url.PathEscape(params.ID)
	if !r.Apply {
		r.Notes = append(r.Notes, "dry run: nothing was sent; run again with --apply to send it")
		r.Finding.AddEnrichment("Dry run", engine.Markdown("Would send DELETE "+path))
		return nil
	}
	c, prefix, done, err := params.client(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	// The runner does not look at the answer; a refusal is worth saying here.
	if _, err := c.Do(ctx, http.MethodDelete, prefix+path, nil, nil); err != nil {
		return fmt.Errorf("delete silence failed: %w", err)
	}
	r.Finding.AddEnrichment("", engine.Table("Deleted Silence", []string{"id"}, [][]string{{params.ID}}))
	return nil
}

type amAlertParams struct {
	amConn
	AlertName   string `param:"alert_name" default:"KubePodNotReady" doc:"alertname label"`
	PodName     string `param:"pod_name" doc:"pod label"`
	Namespace   string `param:"namespace" default:"default" doc:"namespace label"`
	Status      string `param:"status" default:"firing" doc:"firing or resolved"`
	Severity    string `param:"severity" default:"error" doc:"severity label"`
	Description string `param:"description" default:"simulated alert manager alert" doc:"description annotation"`
	Summary     string `param:"summary" default:"alert manager alert created by Robusta" doc:"summary annotation"`
	Labels      string `param:"labels" doc:"more labels: key1=val1, key2=val2"`
	Annotations string `param:"annotations" doc:"more annotations: key1=val1, key2=val2"`
}

// parsePairs reads "k1=v1, k2=v2" as the runner's parse_by_operator with "=".
func parsePairs(name, s string) (map[string]string, error) {
	out := map[string]string{}
	for _, seg := range strings.Split(s, ",") {
		seg = strings.TrimSpace(seg)
		if seg == "" {
			continue
		}
		k, v, ok := strings.Cut(seg, "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q has no '=': write key=value, key2=value2", name, seg)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func alertmanagerAlert(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*amAlertParams)
	labels := map[string]string{"alertname": params.AlertName, "severity": params.Severity, "namespace": params.Namespace}
	if params.PodName != "" {
		labels["pod"] = params.PodName
	}
	extra, err := parsePairs("labels", params.Labels)
	if err != nil {
		return &engine.ParamsError{Action: "alertmanager_alert", Err: err}
	}
	for k, v := range extra {
		labels[k] = v
	}
	annotations := map[string]string{"summary": params.Summary, "description": params.Description}
	extra, err = parsePairs("annotations", params.Annotations)
	if err != nil {
		return &engine.ParamsError{Action: "alertmanager_alert", Err: err}
	}
	for k, v := range extra {
		annotations[k] = v
	}
	alerts := []map[string]any{{"status": params.Status, "labels": labels, "annotations": annotations}}
	if !r.Apply {
		return dryRunBody(r, "POST", "/api/v2/alerts", alerts)
	}
	c, _, done, err := params.client(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	// Not under the grafana flavor's prefix: the runner posts alerts to the base URL.
	b, _ := json.Marshal(alerts)
	if _, err := c.Do(ctx, http.MethodPost, "/api/v2/alerts", nil, bytes.Clone(b)); err != nil {
		return fmt.Errorf("alertmanager request failed: %w", err)
	}
	r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("Sent alert %s (%s) to %s", params.AlertName, params.Status, c.Endpoint.Via)))
	return nil
}
