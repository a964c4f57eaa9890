package monitoring

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Grafana client reads the dashboard by uid, then posts one annotation for the
// dashboard, or one per panel whose title holds the substring (rows and top-level
// panels), with the runner's body, bearer key and whole-second milliseconds.
func TestAnnotateDashboard(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+string(b))
		mu.Unlock()
		switch r.URL.Path {
		case "/grafana/api/dashboards/uid/abc":
			_, _ = io.WriteString(w, `{"dashboard":{"id":42,"rows":[{"panels":[{"id":1,"title":"CPU usage"},{"id":2,"title":"Memory"}]}],"panels":[{"id":3,"title":"cpu by pod"}]}}`)
		case "/grafana/api/annotations":
			_, _ = io.WriteString(w, `{"id":7,"message":"Annotation added"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/grafana")
	g := NewGrafanaClient(&Endpoint{Base: u, Via: u.String()}, "key1")
	at := time.Unix(1700000000, 900_000_000)
	ctx := context.Background()

	for _, tc := range []struct {
		name, panel string
		dry         bool
		want        []string
	}{
		{"whole dashboard", "", false, []string{
			`GET /grafana/api/dashboards/uid/abc Bearer key1 `,
			`POST /grafana/api/annotations Bearer key1 {"dashboardId":42,"panelId":null,"time":1700000000000,"timeEnd":null,"tags":["a",null],"text":"hi"}`}},
		{"panels by title", "CPU", false, []string{
			`GET /grafana/api/dashboards/uid/abc Bearer key1 `,
			`POST /grafana/api/annotations Bearer key1 {"dashboardId":42,"panelId":1,"time":1700000000000,"timeEnd":null,"tags":["a",null],"text":"hi"}`,
			`POST /grafana/api/annotations Bearer key1 {"dashboardId":42,"panelId":3,"time":1700000000000,"timeEnd":null,"tags":["a",null],"text":"hi"}`}},
		{"dry run reads only", "", true, []string{`GET /grafana/api/dashboards/uid/abc Bearer key1 `}},
		{"no panel matches", "disk", false, []string{`GET /grafana/api/dashboards/uid/abc Bearer key1 `}},
	} {
		got = nil
		list, err := g.AnnotateDashboard(ctx, "abc", "hi", at, []any{"a", nil}, tc.panel, tc.dry)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: sent\n%s\nwant\n%s", tc.name, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
		if tc.dry && len(list) != 1 {
			t.Errorf("%s: %d annotations shown, want 1", tc.name, len(list))
		}
	}

	if _, err := g.AnnotateDashboard(ctx, "nope", "hi", at, nil, "", false); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("unknown dashboard: %v", err)
	}
}
