package actions

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
)

func init() {
	engine.Register(&engine.Action{Name: "argo_app_sync", Event: "ExecutionBaseEvent", Mutating: true,
		Doc:       "Ask Argo CD to sync an application (POST /api/v1/applications/NAME/sync), at most once per rate_limit_seconds",
		NewParams: func() any { return &argoAppParams{} }, Do: argoAppSync})
}

type argoAppParams struct {
	ArgoURL              string `param:"argo_url" required:"true" doc:"Argo CD server URL; NAME.NAMESPACE.svc addresses are reached through a port-forward"`
	ArgoToken            string `param:"argo_token" required:"true" doc:"Argo CD API token"`
	ArgoVerifyServerCert bool   `param:"argo_verify_server_cert" default:"true" doc:"verify the server's TLS certificate"`
	ArgoAppName          string `param:"argo_app_name" required:"true" doc:"the application to sync"`
	RateLimitSeconds     int    `param:"rate_limit_seconds" default:"1800" doc:"sync the same application at most once in this many seconds"`
}

func argoAppSync(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*argoAppParams)
	if strings.TrimSpace(params.ArgoAppName) == "" {
		return &engine.ParamsError{Action: "argo_app_sync", Err: errors.New("argo_app_name is empty: name the Argo CD application to sync")}
	}
	// The runner's URL is used as given: the path is appended to it.
	u, err := url.Parse(strings.TrimSpace(params.ArgoURL))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return &engine.ParamsError{Action: "argo_app_sync", Err: fmt.Errorf("argo_url %q: want http(s)://HOST[:PORT], e.g. https://argocd-server.argocd.svc", params.ArgoURL)}
	}
	path := "/api/v1/applications/" + url.PathEscape(params.ArgoAppName) + "/sync"
	if !r.Limiter.MarkAndTest("argo_app_sync", params.ArgoURL+params.ArgoAppName, time.Duration(params.RateLimitSeconds)*time.Second) {
		r.Notes = append(r.Notes, fmt.Sprintf("argo_app_sync: %s was synced less than %d seconds ago; skipped, as the runner's rate limit does", params.ArgoAppName, params.RateLimitSeconds))
		return nil
	}
	if !r.Apply {
		r.Notes = append(r.Notes, "dry run: nothing was sent; run again with --apply to sync")
		r.Finding.AddEnrichment("Dry run", engine.Markdown(fmt.Sprintf("Would send POST %s%s", strings.TrimSuffix(u.Path, "/"), path)))
		return nil
	}
	conn, done := connector(ctx, r)
	defer done()
	ep, err := conn.Endpoint(ctx, monitoring.Service("argo cd"), params.ArgoURL)
	if err != nil {
		return err
	}
	c := monitoring.NewClient(ep)
	c.Header.Set("Authorization", "Bearer "+params.ArgoToken)
	if !params.ArgoVerifyServerCert {
		c.HTTP.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // the user's argo_verify_server_cert: false
	}
	_, err = c.Do(ctx, http.MethodPost, path, nil, nil)
	success := err == nil
	var se *monitoring.StatusError
	if err != nil && !errors.As(err, &se) {
		return fmt.Errorf("argo cd sync of %s: %w", params.ArgoAppName, err)
	}
	if se != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("argo_app_sync: Argo CD answered HTTP %d: %s", se.Code, strings.TrimSpace(se.Body)))
	}
	word := map[bool]string{true: "success", false: "failure"}[success]
	f := r.Finding
	f.Title, f.AggregationKey = "Argo CD application sync", "ArgoAppSync"
	f.Type = engine.TypeReport
	f.AddEnrichment("", engine.Markdown(fmt.Sprintf("Argo CD app sync for application: *%s* ended with *%s*", params.ArgoAppName, word)))
	return nil
}
