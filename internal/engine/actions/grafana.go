package actions

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
)

func init() {
	engine.Register(&engine.Action{Name: "add_alert_lines_to_grafana", Event: engine.AlertEvent, Mutating: true,
		Doc:       "Mark the alert on a Grafana dashboard (or the panels whose title holds grafana_dashboard_panel) as an annotation tagged with its labels",
		NewParams: func() any { return &grafanaAnnotationParams{} }, Do: addAlertLinesToGrafana})
	engine.Register(&engine.Action{Name: "add_deployment_lines_to_grafana", Event: "KubernetesAnyChangeEvent", Mutating: true,
		Doc:       "Mark a top-level workload's image change on a Grafana dashboard as an annotation",
		NewParams: func() any { return &grafanaAnnotationParams{} }, Do: addDeploymentLinesToGrafana})
}

// grafanaConn is the runner's GrafanaParams. grafana_url unset means Grafana is found
// as the runner finds it (--grafana-url, else the Service labelled
// app.kubernetes.io/name=grafana, port-forwarded).
type grafanaConn struct {
	GrafanaAPIKey       string `param:"grafana_api_key" required:"true" doc:"Grafana API key (or service account token) with write access"`
	GrafanaDashboardUID string `param:"grafana_dashboard_uid" required:"true" doc:"the dashboard's uid, as in its URL"`
	GrafanaURL          string `param:"grafana_url" doc:"Grafana URL (default: --grafana-url, else found in the cluster)"`
}

type grafanaAnnotationParams struct {
	grafanaConn
	Panel       string   `param:"grafana_dashboard_panel" doc:"annotate only the panels whose title holds this text"`
	ClusterName string   `param:"cluster_name" doc:"a tag of the annotation (the chart's globalConfig.cluster_name in the runner)"`
	ClusterZone string   `param:"cluster_zone" doc:"a tag of the annotation, when set"`
	CustomTags  []string `param:"custom_tags" doc:"more tags of the annotation"`
}

func (p *grafanaConn) grafana(ctx context.Context, r *engine.Run) (*monitoring.GrafanaClient, func(), error) {
	conn, done := connector(ctx, r)
	ep, err := conn.Endpoint(ctx, monitoring.Grafana, p.GrafanaURL)
	if err != nil {
		done()
		return nil, nil, err
	}
	return monitoring.NewGrafanaClient(ep, p.GrafanaAPIKey), done, nil
}

// annotate adds text to the dashboard as the runner's add_line_to_dashboard does; a
// dry run (no --apply) reads the dashboard and shows the annotations it would add.
func (p *grafanaConn) annotate(ctx context.Context, r *engine.Run, action, text string, tags []any, panel string) error {
	if strings.TrimSpace(p.GrafanaDashboardUID) == "" {
		return &engine.ParamsError{Action: action, Err: errors.New("grafana_dashboard_uid is empty: give the dashboard's uid (the part after /d/ in its URL)")}
	}
	g, done, err := p.grafana(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	list, err := g.AnnotateDashboard(ctx, p.GrafanaDashboardUID, text, time.Now(), tags, panel, !r.Apply)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%s: no panel of dashboard %s has %q in its title, so nothing was annotated (as in the runner)", action, p.GrafanaDashboardUID, panel))
		return nil
	}
	if !r.Apply {
		return dryRunBody(r, "POST", "/api/annotations", list)
	}
	rows := make([][]string, len(list))
	for i, a := range list {
		panelID := "whole dashboard"
		if a.PanelID != nil {
			panelID = fmt.Sprint(*a.PanelID)
		}
		rows[i] = []string{fmt.Sprint(a.DashboardID), panelID, time.UnixMilli(a.Time).UTC().Format(time.RFC3339)}
	}
	r.Finding.AddEnrichment("Grafana annotations", engine.Table("added", []string{"dashboard id", "panel", "time"}, rows))
	return nil
}

// alertTitle is the runner's get_title of an alert event.
func alertTitle(a *engine.Alert) string {
	if s := a.Annotations["summary"]; s != "" {
		return s
	}
	return a.Labels["alertname"]
}

func addAlertLinesToGrafana(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*grafanaAnnotationParams)
	a := r.Event.Alert
	desc := ""
	if d := alertDescription(a); d != "" {
		desc = "<pre>" + d + "</pre>"
	}
	text := fmt.Sprintf(`<h2>%s</h2><a href="%s">Open in AlertManager</a>%s`, alertTitle(a), a.GeneratorURL, desc)
	// One "key=value" tag per label; the runner keeps the webhook's label order, which
	// a decoded alert no longer has, so they are sorted.
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tags := make([]any, len(keys))
	for i, k := range keys {
		tags[i] = k + "=" + a.Labels[k]
	}
	return params.annotate(ctx, r, "add_alert_lines_to_grafana", text, tags, params.Panel)
}

func addDeploymentLinesToGrafana(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*grafanaAnnotationParams)
	ev := r.Event
	newList, oldList := images(ev.Obj), images(ev.Old)
	newImages, oldImages := asMap(newList), asMap(oldList)
	if sameImages(newImages, oldImages) {
		r.Notes = append(r.Notes, "add_deployment_lines_to_grafana: no image changed, so the runner adds no annotation")
		return nil
	}
	if newImages == nil || oldImages == nil {
		return fmt.Errorf("the %s event has containers on one side only (old: %d images, new: %d); the runner's action fails on such an event, give an old version with containers (--old FILE)",
			ev.Operation, len(oldImages), len(newImages))
	}
	if len(ev.Obj.GetOwnerReferences()) != 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("add_deployment_lines_to_grafana: %s %s is owned by another object, and the runner annotates only top-level objects", strings.ToLower(ev.Kind), ev.Obj.GetName()))
		return nil
	}
	msg := ""
	if !sameKeys(newImages, oldImages) {
		msg = fmt.Sprintf("number or names of images changed<br /><br />new<pre>%s</pre>old<pre>%s</pre>", pyDictRepr(newList), pyDictRepr(oldList))
	} else {
		for _, im := range newList {
			if old := oldImages[im.k]; old != im.v {
				msg += fmt.Sprintf("image name:<pre>%s</pre>new tag:<pre>%s</pre>old tag<pre>%s</pre><hr class='solid'>", im.k, im.v, old)
			}
		}
	}
	tags := []any{ev.Obj.GetName(), orNil(ev.Obj.GetNamespace()), orNil(params.ClusterName)}
	if params.ClusterZone != "" {
		tags = append(tags, params.ClusterZone)
	}
	for _, t := range params.CustomTags {
		tags = append(tags, t)
	}
	return params.annotate(ctx, r, "add_deployment_lines_to_grafana", msg, tags, params.Panel)
}

// orNil is s, or nil (JSON null, the runner's None) when empty.
func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
