package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GrafanaTimeout is the runner's GRAFANA_READ_TIMEOUT default.
const GrafanaTimeout = 20 * time.Second

// GrafanaClient talks to Grafana's HTTP API (below /api) with an API key sent as a
// bearer token, as the runner's Grafana client does.
type GrafanaClient struct {
	*Client
}

// NewGrafanaClient returns a client of ep authenticated with apiKey.
func NewGrafanaClient(ep *Endpoint, apiKey string) *GrafanaClient {
	c := NewClient(ep)
	c.HTTP.Timeout = GrafanaTimeout
	if apiKey != "" {
		c.Header.Set("Authorization", "Bearer "+apiKey)
	}
	return &GrafanaClient{Client: c}
}

// Dashboard is what the runner reads of a dashboard: its numeric id and its panels.
type Dashboard struct {
	ID     int64
	Panels []Panel
}

// Panel is a dashboard panel.
type Panel struct {
	ID    int64
	Title string
}

// Dashboard reads the dashboard with uid (GET /api/dashboards/uid/UID).
func (g *GrafanaClient) Dashboard(ctx context.Context, uid string) (*Dashboard, error) {
	body, err := g.Do(ctx, http.MethodGet, "/api/dashboards/uid/"+url.PathEscape(uid), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("grafana dashboard %s: %w", uid, err)
	}
	type panel struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
	}
	var doc struct {
		Dashboard *struct {
			ID   int64 `json:"id"`
			Rows []struct {
				Panels []panel `json:"panels"`
			} `json:"rows"`
			Panels []panel `json:"panels"`
		} `json:"dashboard"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("grafana dashboard %s: not a Grafana answer: %v", uid, err)
	}
	if doc.Dashboard == nil {
		return nil, fmt.Errorf("grafana dashboard %s: the answer has no dashboard", uid)
	}
	d := &Dashboard{ID: doc.Dashboard.ID}
	// The runner walks the rows of old-style dashboards; newer dashboards keep their
	// panels at the top level, and are read too.
	for _, r := range doc.Dashboard.Rows {
		for _, p := range r.Panels {
			d.Panels = append(d.Panels, Panel(p))
		}
	}
	for _, p := range doc.Dashboard.Panels {
		d.Panels = append(d.Panels, Panel(p))
	}
	return d, nil
}

// PanelsWith returns the ids of the panels whose title holds sub, ignoring case.
func (d *Dashboard) PanelsWith(sub string) []int64 {
	var ids []int64
	for _, p := range d.Panels {
		if strings.Contains(strings.ToLower(p.Title), strings.ToLower(sub)) {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

// Annotation is the body of POST /api/annotations as the runner's client sends it:
// every key present, null when unset.
type Annotation struct {
	DashboardID int64  `json:"dashboardId"`
	PanelID     *int64 `json:"panelId"`
	Time        int64  `json:"time"`
	TimeEnd     *int64 `json:"timeEnd"`
	Tags        []any  `json:"tags"` // strings, or null where the runner has None
	Text        string `json:"text"`
}

// AddAnnotation posts a.
func (g *GrafanaClient) AddAnnotation(ctx context.Context, a Annotation) error {
	if a.Tags == nil {
		a.Tags = []any{}
	}
	if _, err := g.Do(ctx, http.MethodPost, "/api/annotations", nil, a); err != nil {
		return fmt.Errorf("grafana annotation: %w", err)
	}
	return nil
}

// AnnotateDashboard adds text as an annotation at t on the dashboard with uid, as
// the runner's add_line_to_dashboard does: on the whole dashboard, or, with
// panelSubstring, on each panel whose title holds it. With dryRun it only reads the
// dashboard. It returns the annotations sent (or that would be).
func (g *GrafanaClient) AnnotateDashboard(ctx context.Context, uid, text string, t time.Time, tags []any, panelSubstring string, dryRun bool) ([]Annotation, error) {
	d, err := g.Dashboard(ctx, uid)
	if err != nil {
		return nil, err
	}
	// Grafana takes milliseconds; the runner drops the sub-second part first.
	ms := t.Unix() * 1000
	var list []Annotation
	if panelSubstring == "" {
		list = append(list, Annotation{DashboardID: d.ID, Time: ms, Tags: tags, Text: text})
	} else {
		for _, id := range d.PanelsWith(panelSubstring) {
			id := id
			list = append(list, Annotation{DashboardID: d.ID, PanelID: &id, Time: ms, Tags: tags, Text: text})
		}
	}
	if dryRun {
		return list, nil
	}
	for i, a := range list {
		if err := g.AddAnnotation(ctx, a); err != nil {
			return list[:i], err
		}
	}
	return list, nil
}
