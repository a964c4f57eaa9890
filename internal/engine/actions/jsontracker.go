package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
)

func init() {
	engine.Register(&engine.Action{Name: "json_change_tracker", Event: "KubernetesAnyChangeEvent",
		Doc:       "POST the changed object as JSON, with its operation, to a URL (an in-cluster one through a port-forward)",
		NewParams: func() any { return &jsonTrackerParams{} }, Do: jsonChangeTracker})
}

type jsonTrackerParams struct {
	URL     string            `param:"url" required:"true" doc:"where to POST; NAME.NAMESPACE.svc addresses are reached through a port-forward"`
	Headers map[string]string `param:"headers" doc:"request headers"`
}

func jsonChangeTracker(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*jsonTrackerParams)
	if strings.TrimSpace(params.URL) == "" {
		return &engine.ParamsError{Action: "json_change_tracker", Err: errors.New("url is empty: give where to post the changes")}
	}
	u, err := monitoring.ParseURL(params.URL)
	if err != nil {
		return &engine.ParamsError{Action: "json_change_tracker", Err: fmt.Errorf("url %q: %v", params.URL, err)}
	}
	ev := r.Event
	doc := map[string]any{}
	for k, v := range ev.Obj.Object {
		doc[k] = v
	}
	doc["operation"] = ev.Operation
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	c, done, err := urlClient(ctx, r, u, params.Headers)
	if err != nil {
		return err
	}
	defer done()
	if _, err := c.Do(ctx, http.MethodPost, "", nil, body); err != nil {
		// The runner only logs this; here the user is told.
		return fmt.Errorf("post the %s of %s %s to %s: %w", ev.Operation, strings.ToLower(ev.Kind), ev.Obj.GetName(), params.URL, err)
	}
	// The runner makes no finding; the note says what was sent.
	r.Notes = append(r.Notes, fmt.Sprintf("json_change_tracker: posted the %s of %s %s (%d bytes of JSON) to %s", ev.Operation, strings.ToLower(ev.Kind), ev.Obj.GetName(), len(body), params.URL))
	return nil
}
