package actions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
)

func init() {
	engine.Register(&engine.Action{Name: "report_rendering_task", Event: "ExecutionBaseEvent",
		Doc: "Render Grafana panels to PNG images through the runner's grafana-renderer container and attach them to a report finding. " +
			"The renderer is reached at $GRAFANA_RENDERER_URL when set (as the runner reads it), else through a port-forward to port 8281 of the runner pod",
		NewParams: func() any { return &reportParams{} }, Do: reportRenderingTask})
}

// Where the runner's grafana-renderer container listens inside the runner pod (the
// runner's GRAFANA_RENDERER_URL default is http://127.0.0.1:8281/render).
const (
	rendererEnv  = "GRAFANA_RENDERER_URL"
	rendererPort = 8281
	rendererPath = "/render"
)

// rendererRefused is what the runner adds when the renderer cannot be reached.
const rendererRefused = "Could not connect to the grafana-renderer container. " +
	"Enable it with `grafanaRenderer.enableContainer: true` in the Helm values"

// reportParams is the runner's ReportParams. fields_to_monitor and delays are read by
// deployment_status_report, which schedules this action; they do nothing here.
type reportParams struct {
	GrafanaAPIKey    string   `param:"grafana_api_key" required:"true" doc:"Grafana API key the renderer uses to read the panels (never printed)"`
	ReportName       string   `param:"report_name" default:"Deployment change report" doc:"the finding's title"`
	FieldsToMonitor  []string `param:"fields_to_monitor" default:"image" doc:"for deployment_status_report: spec fields whose change starts a report (unused here)"`
	Delays           []int    `param:"delays" required:"true" doc:"for deployment_status_report: seconds between the reports it schedules (unused here)"`
	ReportsPanelURLs []string `param:"reports_panel_urls" required:"true" doc:"Grafana panel URLs (d-solo/...) to render, one image each; prefer relative times (from=now-1h&to=now)"`
}

func reportRenderingTask(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*reportParams)
	f := r.Finding
	f.Title, f.AggregationKey, f.Severity = params.ReportName, "GrafanaReport", engine.Info
	f.Type = engine.TypeReport
	f.SetFingerprint()
	if len(params.ReportsPanelURLs) == 0 {
		return nil
	}
	endpoint, done, err := rendererEndpoint(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	blocks, err := renderPanels(ctx, endpoint, params.GrafanaAPIKey, params.ReportsPanelURLs)
	if err != nil {
		var ce *rendererConnError
		if !errors.As(err, &ce) {
			return err
		}
		// As the runner: panels rendered before the failure stay, then the advice.
		blocks = append(blocks, engine.Markdown(rendererRefused))
		r.Notes = append(r.Notes, "report_rendering_task: "+ce.Error())
	}
	for _, b := range blocks {
		f.AddEnrichment("", b)
	}
	return nil
}

// rendererEndpoint is $GRAFANA_RENDERER_URL, else /render on a port-forward to the
// renderer container of the runner pod.
func rendererEndpoint(ctx context.Context, r *engine.Run) (string, func(), error) {
	if raw := strings.TrimSpace(os.Getenv(rendererEnv)); raw != "" {
		u, err := monitoring.ParseURL(raw)
		if err != nil {
			return "", nil, cli.UsageErrorf("%s=%q: %v; set it to the renderer's URL, such as http://127.0.0.1:8281/render", rendererEnv, raw, err)
		}
		return u.String(), func() {}, nil
	}
	if r.KF == nil {
		return "", nil, cli.UsageErrorf("no cluster to find the grafana renderer in: set %s to the renderer's URL", rendererEnv)
	}
	// The runner the command names (-n, --runner-pod), as the command itself finds it.
	pod, err := r.KF.FindRunner(ctx, r.Runner)
	if err != nil {
		return "", nil, cli.WithHint(fmt.Errorf("finding the runner pod whose grafana-renderer container renders the panels: %w", err),
			runnerHint(err, r.Runner))
	}
	pf, err := r.KF.OpenPortForward(ctx, pod.Namespace, pod.Name, rendererPort)
	if err != nil {
		return "", nil, fmt.Errorf("port-forward to the grafana renderer (%s port %d): %w", pod.Ref(), rendererPort, err)
	}
	return (&url.URL{Scheme: "http", Host: pf.Addr(), Path: rendererPath}).String(), pf.Close, nil
}

// runnerHint says how to point the action at the right runner: the one-line advice
// of runner discovery (-n, --runner-pod) when it found none or several, else how to
// get a renderer at all.
func runnerHint(err error, find kube.FindOptions) string {
	var none *kube.NoRunnerError
	var several *kube.SeveralRunnersError
	switch {
	case errors.As(err, &none) && (find.Namespace != "" || find.RunnerPod != ""):
		return fmt.Sprintf("pass -n NS (the runner's namespace) or --runner-pod NS/POD, or set %s to a renderer's URL", rendererEnv)
	case errors.As(err, &none):
		return fmt.Sprintf("is Robusta installed in this cluster (context)? Pass -n NS or --runner-pod NS/POD where it runs, or set %s to a renderer's URL", rendererEnv)
	case errors.As(err, &several):
		return "pick one install with -n NS or --runner-pod NS/POD"
	case errors.As(err, new(*cli.UsageError)):
		return "" // a malformed --runner-pod: its message says the fix
	}
	return fmt.Sprintf("install Robusta with grafanaRenderer.enableContainer: true, or set %s to a renderer's URL", rendererEnv)
}

// rendererConnError is a failure to reach the renderer, which the runner reports in
// the finding rather than failing the action.
type rendererConnError struct {
	endpoint string
	err      error
}

func (e *rendererConnError) Error() string {
	return fmt.Sprintf("cannot reach the grafana renderer at %s: %v", e.endpoint, e.err)
}

func (e *rendererConnError) Unwrap() error { return e.err }

// renderPanels POSTs each panel URL to the renderer as a form (apiKey, panelUrl), as
// the runner does, and returns each answer's body as a file "panel.png". The answer
// is attached whatever its status, as in the runner.
func renderPanels(ctx context.Context, endpoint, apiKey string, panels []string) ([]engine.Block, error) {
	client := &http.Client{Timeout: 2 * time.Minute}
	var blocks []engine.Block
	for _, panel := range panels {
		form := url.Values{"apiKey": {apiKey}, "panelUrl": {panel}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
		if err != nil {
			return blocks, fmt.Errorf("grafana renderer request to %s: %w", endpoint, err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return blocks, ctx.Err()
			}
			// *url.Error quotes the request URL, which holds no secret (the key is in
			// the body); keep only the cause.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return blocks, &rendererConnError{endpoint: endpoint, err: err}
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return blocks, &rendererConnError{endpoint: endpoint, err: fmt.Errorf("reading the image of %s: %w", panel, err)}
		}
		blocks = append(blocks, engine.File("panel.png", body))
	}
	return blocks, nil
}
