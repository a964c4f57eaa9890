package actions

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// fakeRenderer answers each POST with "png:" + the panel URL and records the forms.
type fakeRenderer struct {
	mu    sync.Mutex
	forms []map[string]string
	ctype []string
}

func (f *fakeRenderer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/render" {
		http.Error(w, "want POST /render", http.StatusNotFound)
		return
	}
	if err := req.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	form := map[string]string{}
	for k := range req.PostForm {
		form[k] = req.PostForm.Get(k)
	}
	f.forms = append(f.forms, form)
	f.ctype = append(f.ctype, req.Header.Get("Content-Type"))
	f.mu.Unlock()
	_, _ = w.Write([]byte("png:" + req.PostForm.Get("panelUrl")))
}

func runRenderer(t *testing.T, rendererURL string, raw map[string]any) (*engine.Run, error) {
	t.Helper()
	t.Setenv(rendererEnv, rendererURL)
	a, ok := engine.Lookup("report_rendering_task")
	if !ok {
		t.Fatal("report_rendering_task is not registered")
	}
	p := a.NewParams()
	if err := engine.Decode(raw, p); err != nil {
		t.Fatalf("decode: %v", err)
	}
	ev := &engine.Event{Class: "ExecutionBaseEvent"}
	r := &engine.Run{Event: ev, Finding: engine.NewFinding(ev, "t")}
	return r, a.Do(context.Background(), r, p)
}

func TestRendererPostsEachPanel(t *testing.T) {
	fr := &fakeRenderer{}
	srv := httptest.NewServer(fr)
	defer srv.Close()
	panels := []any{"http://grafana/d-solo/a?panelId=1&from=now-1h&to=now", "http://grafana/d-solo/b?panelId=3"}
	r, err := runRenderer(t, srv.URL+"/render", map[string]any{
		"grafana_api_key": "s3cret", "delays": []any{60}, "reports_panel_urls": panels,
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	f := r.Finding
	if f.Title != "Deployment change report" || f.AggregationKey != "GrafanaReport" || f.Severity != engine.Info {
		t.Errorf("finding title %q, aggregation key %q, severity %q", f.Title, f.AggregationKey, f.Severity)
	}
	if len(fr.forms) != len(panels) {
		t.Fatalf("renderer got %d requests, want %d", len(fr.forms), len(panels))
	}
	for i, form := range fr.forms {
		want := map[string]string{"apiKey": "s3cret", "panelUrl": panels[i].(string)}
		if len(form) != len(want) || form["apiKey"] != want["apiKey"] || form["panelUrl"] != want["panelUrl"] {
			t.Errorf("request %d form %v, want %v", i, form, want)
		}
		if fr.ctype[i] != "application/x-www-form-urlencoded" {
			t.Errorf("request %d content type %q", i, fr.ctype[i])
		}
	}
	if len(f.Enrichments) != len(panels) {
		t.Fatalf("%d enrichments, want one per panel: %+v", len(f.Enrichments), f.Enrichments)
	}
	for i, e := range f.Enrichments {
		if len(e.Blocks) != 1 {
			t.Fatalf("enrichment %d has %d blocks", i, len(e.Blocks))
		}
		b := e.Blocks[0]
		if b.Type != engine.BlockFile || b.Name != "panel.png" || !bytes.Equal(b.Data, []byte("png:"+panels[i].(string))) {
			t.Errorf("enrichment %d block %s %q %q", i, b.Type, b.Name, b.Data)
		}
	}
	if strings.Contains(strings.Join(r.Notes, " "), "s3cret") {
		t.Errorf("notes show the api key: %v", r.Notes)
	}
}

func TestRendererReportName(t *testing.T) {
	srv := httptest.NewServer(&fakeRenderer{})
	defer srv.Close()
	r, err := runRenderer(t, srv.URL+"/render", map[string]any{
		"grafana_api_key": "k", "delays": []any{60}, "reports_panel_urls": []any{"http://g/p"}, "report_name": "Rollout of api",
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Finding.Title != "Rollout of api" {
		t.Errorf("title %q", r.Finding.Title)
	}
	// deployment_status_report.py:52: the report is a REPORT finding.
	if r.Finding.Type != engine.TypeReport {
		t.Errorf("type %q", r.Finding.Type)
	}
}

func TestRendererConnectionRefused(t *testing.T) {
	// A port that was just free: nothing listens on it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r, err := runRenderer(t, "http://"+addr+"/render", map[string]any{
		"grafana_api_key": "s3cret", "delays": []any{60}, "reports_panel_urls": []any{"http://g/p1", "http://g/p2"},
	})
	if err != nil {
		t.Fatalf("a refused connection must end in the finding, not an error: %v", err)
	}
	f := r.Finding
	if len(f.Enrichments) != 1 || len(f.Enrichments[0].Blocks) != 1 {
		t.Fatalf("want one advice block, got %+v", f.Enrichments)
	}
	b := f.Enrichments[0].Blocks[0]
	if b.Type != engine.BlockMarkdown || !strings.Contains(b.Text, "grafanaRenderer.enableContainer: true") {
		t.Errorf("block %s %q", b.Type, b.Text)
	}
	notes := strings.Join(r.Notes, " ")
	if !strings.Contains(notes, addr) || strings.Contains(notes, "s3cret") {
		t.Errorf("notes should name the address and not the key: %q", notes)
	}
}

func TestRendererBadEnvURL(t *testing.T) {
	_, err := runRenderer(t, "http://", map[string]any{
		"grafana_api_key": "k", "delays": []any{60}, "reports_panel_urls": []any{"http://g/p"},
	})
	if err == nil || !strings.Contains(err.Error(), rendererEnv) {
		t.Fatalf("error %v, want one naming %s", err, rendererEnv)
	}
}

// The hint follows what runner discovery said: with -n or --runner-pod given and no
// runner there, the user is told to fix those; several installs, to pick one.
func TestRendererRunnerHint(t *testing.T) {
	none := cli.WithHint(&kube.NoRunnerError{Where: `namespace "x"`}, "discovery's own hint")
	for _, tc := range []struct {
		name string
		err  error
		find kube.FindOptions
		want string
	}{
		{"no runner where -n says", none, kube.FindOptions{Namespace: "x"}, "pass -n NS (the runner's namespace) or --runner-pod NS/POD, or set GRAFANA_RENDERER_URL"},
		{"no runner anywhere", none, kube.FindOptions{}, "is Robusta installed in this cluster (context)? Pass -n NS or --runner-pod NS/POD"},
		{"several installs", &kube.SeveralRunnersError{}, kube.FindOptions{}, "pick one install with -n NS or --runner-pod NS/POD"},
		{"malformed --runner-pod", cli.UsageErrorf("--runner-pod %q: use NAMESPACE/POD", "x"), kube.FindOptions{RunnerPod: "x"}, ""},
		{"not ready", &kube.NotReadyError{}, kube.FindOptions{}, "install Robusta with grafanaRenderer.enableContainer: true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runnerHint(fmt.Errorf("finding: %w", tc.err), tc.find)
			if (tc.want == "") != (got == "") || !strings.HasPrefix(got, tc.want) {
				t.Fatalf("hint %q, want one starting %q", got, tc.want)
			}
		})
	}
}
