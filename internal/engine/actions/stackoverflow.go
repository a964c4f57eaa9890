package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
)

func init() {
	engine.Register(&engine.Action{Name: "show_stackoverflow_search", Event: "ExecutionBaseEvent",
		Doc:       "List Stack Overflow's most relevant questions for a search term (the Stack Exchange API)",
		NewParams: func() any { return &stackOverflowParams{} }, Do: showStackOverflowSearch})
}

// stackExchangeAPI is the public Stack Exchange API the runner asks.
const stackExchangeAPI = "https://api.stackexchange.com/2.2"

type stackOverflowParams struct {
	SearchTerm string `param:"search_term" required:"true" doc:"what to search for, e.g. an alert name"`
	APIURL     string `param:"stackexchange_api_url" doc:"Stack Exchange API base URL (default https://api.stackexchange.com/2.2): a mirror or proxy"`
}

func showStackOverflowSearch(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*stackOverflowParams)
	if strings.TrimSpace(params.SearchTerm) == "" {
		return &engine.ParamsError{Action: "show_stackoverflow_search", Err: errors.New("search_term is empty: give what to search for")}
	}
	base := params.APIURL
	if base == "" {
		base = stackExchangeAPI
	}
	u, err := monitoring.ParseURL(base)
	if err != nil {
		return &engine.ParamsError{Action: "show_stackoverflow_search", Err: fmt.Errorf("stackexchange_api_url %q: %v", base, err)}
	}
	c := monitoring.NewClient(&monitoring.Endpoint{Base: u, Via: u.String()})
	// The runner's query string, in its order.
	u2 := *u
	u2.Path += "/search/advanced"
	u2.RawQuery = "order=desc&sort=relevance&q=" + strings.ReplaceAll(url.QueryEscape(params.SearchTerm), "+", "%20") + "&site=stackoverflow"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u2.String(), nil)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("stack exchange search: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Items []struct {
			Link  string `json:"link"`
			Title string `json:"title"`
		} `json:"items"`
		ErrorMessage string `json:"error_message"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, monitoring.MaxResponse)).Decode(&out); err != nil {
		return fmt.Errorf("stack exchange search: HTTP %d, not a Stack Exchange answer: %v", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stack exchange search: HTTP %d: %s", resp.StatusCode, out.ErrorMessage)
	}
	f := r.Finding
	f.Title, f.Source, f.AggregationKey = params.SearchTerm+" StackOverflow Results", "prometheus", "ShowStackoverflowSearch"
	if len(out.Items) == 0 {
		f.AddEnrichment("", engine.Markdown(fmt.Sprintf(`Sorry, StackOverflow doesn't know anything about "%s"`, params.SearchTerm)))
		return nil
	}
	items := make([]string, len(out.Items))
	for i, a := range out.Items {
		items[i] = fmt.Sprintf("<%s|%s>", a.Link, a.Title)
	}
	f.AddEnrichment("", engine.List(items...))
	return nil
}
