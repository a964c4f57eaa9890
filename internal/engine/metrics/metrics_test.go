package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

func TestMetrics(t *testing.T) {
	m := New()
	m.EventSeen("kubernetes")
	m.EventSeen("kubernetes")
	m.EventMatched("on_pod_update")
	m.ActionRun("logs_enricher")
	m.ActionFailed("logs_enricher")
	m.QueueDepth(7)
	m.InformerLag("Pod", 1500*time.Millisecond)
	m.SinkSent("slack")
	m.SinkFailed("slack")
	m.SinkDropped("file")
	out := scrape(t, m)
	for _, want := range []string{
		`robusta_local_events_seen_total{trigger="kubernetes"} 2`,
		`robusta_local_events_matched_total{trigger="on_pod_update"} 1`,
		`robusta_local_actions_run_total{action="logs_enricher"} 1`,
		`robusta_local_actions_failed_total{action="logs_enricher"} 1`,
		`robusta_local_queue_depth 7`,
		`robusta_local_informer_lag_seconds{kind="Pod"} 1.5`,
		`robusta_local_sink_sent_total{sink="slack"} 1`,
		`robusta_local_sink_failed_total{sink="slack"} 1`,
		`robusta_local_sink_dropped_total{sink="file"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
	// Two instances do not share counts (own registries).
	if strings.Contains(scrape(t, New()), `events_seen_total{`) {
		t.Error("a new Metrics sees another's counts")
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.EventSeen("x")
	m.QueueDepth(1)
	m.InformerLag("Pod", time.Second)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 404 {
		t.Fatalf("nil metrics answered %d", rec.Code)
	}
}
