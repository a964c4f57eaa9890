package actions

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
)

func init() {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut} {
		method := m
		name := "http_" + strings.ToLower(method)
		a := &engine.Action{Name: name, Event: "ExecutionBaseEvent",
			Doc: fmt.Sprintf("Send an HTTP %s to a URL (an in-cluster one through a port-forward); with get_response, attach the answer", method),
			Do:  func(ctx context.Context, r *engine.Run, p any) error { return httpAction(ctx, r, method, p) }}
		if method == http.MethodGet {
			a.NewParams = func() any { return &httpGetParams{} }
		} else {
			a.NewParams = func() any { return &httpSendParams{} }
		}
		engine.Register(a)
	}
}

type httpGetParams struct {
	URL         string `param:"url" required:"true" doc:"the URL; NAME.NAMESPACE.svc addresses are reached through a port-forward"`
	GetResponse bool   `param:"get_response" doc:"attach the answer's body"`
	Params      any    `param:"params" doc:"query string: an object of key: value"`
}

type httpSendParams struct {
	URL         string            `param:"url" required:"true" doc:"the URL; NAME.NAMESPACE.svc addresses are reached through a port-forward"`
	Data        any               `param:"data" doc:"body: an object (sent form-encoded, as the runner's requests does) or a string"`
	Headers     map[string]string `param:"headers" doc:"request headers"`
	GetResponse bool              `param:"get_response" doc:"attach the answer's body"`
}

// formOf turns an object into form values, sorted by key.
func formOf(name string, v any) (url.Values, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want an object of key: value, got %T", name, v)
	}
	out := url.Values{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch x := m[k].(type) {
		case []any:
			for _, it := range x {
				out.Add(k, fmt.Sprint(it))
			}
		default:
			out.Set(k, fmt.Sprint(x))
		}
	}
	return out, nil
}

func httpAction(ctx context.Context, r *engine.Run, method string, p any) error {
	var raw string
	var query url.Values
	var body any
	var headers map[string]string
	var getResponse bool
	name := "http_" + strings.ToLower(method)
	switch params := p.(type) {
	case *httpGetParams:
		raw, getResponse = params.URL, params.GetResponse
		if params.Params != nil {
			q, err := formOf("params", params.Params)
			if err != nil {
				return &engine.ParamsError{Action: name, Err: err}
			}
			query = q
		}
	case *httpSendParams:
		raw, getResponse, headers = params.URL, params.GetResponse, params.Headers
		switch d := params.Data.(type) {
		case nil:
		case string:
			body = []byte(d)
		default:
			f, err := formOf("data", d)
			if err != nil {
				return &engine.ParamsError{Action: name, Err: err}
			}
			body = f
		}
	}
	u, err := monitoring.ParseURL(raw)
	if err != nil {
		return &engine.ParamsError{Action: name, Err: fmt.Errorf("url %q: %v", raw, err)}
	}
	c, done, err := urlClient(ctx, r, u, headers)
	if err != nil {
		return err
	}
	defer done()
	if b, ok := body.([]byte); ok && c.Header.Get("Content-Type") == "" {
		// A string body goes as it is; requests sets no content type for it.
		c.Header.Set("Content-Type", "text/plain")
		body = b
	}
	r.Finding.AggregationKey = map[string]string{"GET": "HttpGet", "POST": "HttpPost", "PUT": "HttpPut"}[method]
	resp, err := c.Do(ctx, method, "", query, body)
	if err != nil {
		if se, ok := err.(*monitoring.StatusError); ok {
			// requests does not raise on an error status: the runner reports the body.
			resp = []byte(se.Body)
		} else {
			r.Finding.Title = raw + " is un-reachable"
			r.Finding.AddEnrichment("", engine.Markdown("*Error*\n```\n"+err.Error()+"\n```"))
			return nil
		}
	}
	if getResponse {
		r.Finding.Title = "Response received from " + raw + " "
		r.Finding.AddEnrichment("", engine.File("Response.txt: ", resp))
		return nil
	}
	r.Finding.Title = raw + " status check"
	return nil
}

// urlClient is a client for any URL u, with u's query and the given headers: the
// run's connector forwards to in-cluster Services and passes other hosts through.
// done releases the connector; on error there is nothing to release.
func urlClient(ctx context.Context, r *engine.Run, u *url.URL, headers map[string]string) (c *monitoring.Client, done func(), err error) {
	conn, done := connector(ctx, r)
	base := *u
	base.RawQuery = ""
	ep, err := conn.Endpoint(ctx, monitoring.Service("http"), base.String())
	if err != nil {
		done()
		return nil, nil, err
	}
	c = monitoring.NewClient(ep)
	c.Query = u.Query()
	for k, v := range headers {
		c.Header.Set(k, v)
	}
	return c, done, nil
}
