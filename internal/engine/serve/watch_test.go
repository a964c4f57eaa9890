package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynfake "k8s.io/client-go/dynamic/fake"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/metrics"
	"github.com/robusta-dev/robusta-go/internal/engine/triggers"
	"github.com/robusta-dev/robusta-go/internal/localapi"
)

// fakeBackend records what the API hands it.
type fakeBackend struct {
	mu        sync.Mutex
	submitted []*triggers.Incoming
	full      bool
	reloads   int
	reloadErr error
	calls     []string
}

func (b *fakeBackend) Submit(in *triggers.Incoming) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.full {
		return false
	}
	b.submitted = append(b.submitted, in)
	return true
}

func (b *fakeBackend) Reload(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reloads++
	return b.reloadErr
}

func (b *fakeBackend) Trigger(_ context.Context, action string, params map[string]any, sync bool) ([]*engine.Finding, error) {
	b.mu.Lock()
	b.calls = append(b.calls, action)
	b.mu.Unlock()
	switch action {
	case "missing":
		return nil, &engine.TriggerError{Code: engine.CodeActionNotFound, Msg: "External action not found missing"}
	case "boom":
		return nil, errors.New("it broke")
	}
	ev := &engine.Event{Class: "ExecutionBaseEvent"}
	f := engine.NewFinding(ev, "ran "+action)
	return []*engine.Finding{f}, nil
}

const watchTok = "watch-token"

func startWatch(t *testing.T, w *Watch) (*httptest.Server, func(method, path, body string, hdr ...string) (int, string)) {
	t.Helper()
	srv := httptest.NewServer(nil)
	w.Guard = localapi.Guard{Token: watchTok, Listen: srv.Listener.Addr().String()}
	srv.Config.Handler = w.Handler()
	t.Cleanup(srv.Close)
	do := func(method, path, body string, hdr ...string) (int, string) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+watchTok)
		if method == "POST" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			if hdr[i] == "Host" {
				req.Host = hdr[i+1]
			} else if hdr[i+1] == "" {
				req.Header.Del(hdr[i])
			} else {
				req.Header.Set(hdr[i], hdr[i+1])
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	return srv, do
}

func TestWatchAPI(t *testing.T) {
	b := &fakeBackend{}
	m := metrics.New()
	m.ActionRun("x")
	var log bytes.Buffer
	_, do := startWatch(t, &Watch{Backend: b, Metrics: m, Log: &log})
	for _, tc := range []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		want                     string
	}{
		{"health without token", "GET", "/healthz", "", []string{"Authorization", ""}, 200, `{"status":"OK"}`},
		{"metrics need the token", "GET", "/metrics", "", []string{"Authorization", ""}, 401, "token"},
		{"metrics refuse a foreign Host", "GET", "/metrics", "", []string{"Host", "evil.example"}, 403, "DNS rebinding"},
		{"metrics", "GET", "/metrics", "", nil, 200, `robusta_local_actions_run_total{action="x"} 1`},
		{"trigger needs the token", "POST", "/api/trigger", `{"action_name":"a"}`, []string{"Authorization", ""}, 401, "missing or wrong token"},
		{"trigger refuses other origins", "POST", "/api/trigger", `{"action_name":"a"}`, []string{"Origin", "http://evil.example"}, 403, "cross-origin"},
		{"trigger refuses text/plain", "POST", "/api/trigger", `{"action_name":"a"}`, []string{"Content-Type", "text/plain"}, 415, "application/json"},
		{"alerts need the token", "POST", "/api/alerts", `{"alerts":[]}`, []string{"Authorization", ""}, 401, "token"},
		{"reload needs the token", "POST", "/api/playbooks/reload", `{}`, []string{"Authorization", ""}, 401, "token"},
		{"trigger GET", "GET", "/api/trigger", "", nil, 405, "POST only"},
		{"trigger async", "POST", "/api/trigger", `{"action_name":"note"}`, nil, 200, `{"success":true}`},
		{"trigger sync returns findings", "POST", "/api/trigger", `{"action_name":"note","sync_response":true}`, nil, 200, `"title":"ran note"`},
		{"trigger runner error code", "POST", "/api/trigger", `{"action_name":"missing"}`, nil, 200, `"error_code":4603`},
		{"trigger other errors are 4700", "POST", "/api/trigger", `{"action_name":"boom"}`, nil, 200, `"error_code":4700`},
		{"trigger bad body", "POST", "/api/trigger", `{`, nil, 400, "invalid request: the body is not valid JSON"},
		{"trigger without action", "POST", "/api/trigger", `{}`, nil, 400, "action_name is required"},
		{"reload", "POST", "/api/playbooks/reload", `{}`, nil, 200, `{"success":true}`},
		{"alerts bad body", "POST", "/api/alerts", `{"status":"firing"}`, nil, 400, `no \"alerts\" list`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(tc.method, tc.path, tc.body, tc.hdr...)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s, want %d containing %s", status, body, tc.status, tc.want)
			}
		})
	}
	if b.reloads != 1 {
		t.Errorf("reloads %d, want 1 (refused requests must not reach the backend)", b.reloads)
	}
	if strings.Join(b.calls, ",") != "note,note,missing,boom" {
		t.Errorf("backend calls %v", b.calls)
	}
	b.reloadErr = errors.New("bad yaml")
	if status, body := do("POST", "/api/playbooks/reload", `{}`); status != 200 || !strings.Contains(body, `"success":false`) || !strings.Contains(body, "bad yaml") {
		t.Errorf("failed reload: %d %s", status, body)
	}
}

func TestWatchAlerts(t *testing.T) {
	pod := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "api-1", "namespace": "prod"}}}
	dyn := dynfake.NewSimpleDynamicClient(runtime.NewScheme(), pod)
	b := &fakeBackend{}
	_, do := startWatch(t, &Watch{Backend: b, Dyn: dyn,
		Relabels: []triggers.Relabel{{Source: "exported_pod", Target: "pod", Operation: "replace"}}})
	body := `{"version":"4","alerts":[
	 {"status":"firing","labels":{"alertname":"Crash","exported_pod":"api-1","namespace":"prod"},"annotations":{},"startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f1"},
	 {"status":"firing","labels":{"alertname":"Gone","pod":"nope","namespace":"prod"},"annotations":{},"startsAt":"2026-01-01T00:00:00Z","fingerprint":"f2"}]}`
	if status, out := do("POST", "/api/alerts", body); status != 200 || out != `{"success":true}` {
		t.Fatalf("%d %s", status, out)
	}
	if len(b.submitted) != 2 {
		t.Fatalf("%d submitted", len(b.submitted))
	}
	ev := b.submitted[0].Event
	if ev.Class != engine.AlertEvent || ev.Alert.Labels["pod"] != "api-1" || ev.Alert.Labels["exported_pod"] != "" || ev.Kind != "Pod" || ev.Obj == nil || ev.Obj.GetName() != "api-1" {
		t.Fatalf("first alert event %+v (labels %v)", ev, ev.Alert.Labels)
	}
	if ev := b.submitted[1].Event; ev.Obj != nil || ev.Alert.Name() != "Gone" {
		t.Fatalf("second alert event %+v", ev)
	}
	// Alertmanager's resend of the same states runs nothing; a resolved state does.
	do("POST", "/api/alerts", body)
	if len(b.submitted) != 2 {
		t.Fatalf("resend submitted again: %d", len(b.submitted))
	}
	resolved := strings.Replace(body, `"status":"firing","labels":{"alertname":"Gone"`, `"status":"resolved","labels":{"alertname":"Gone"`, 1)
	do("POST", "/api/alerts", resolved)
	if len(b.submitted) != 3 || b.submitted[2].Event.Alert.Status != "resolved" {
		t.Fatalf("resolved state not submitted: %d", len(b.submitted))
	}

	// A full queue: 503, and the alert is not remembered, so the resend runs it.
	b.full = true
	other := strings.ReplaceAll(body, `"fingerprint":"f`, `"fingerprint":"g`)
	status, out := do("POST", "/api/alerts", other)
	if status != 503 || !strings.Contains(out, "queue is full") {
		t.Fatalf("full queue: %d %s", status, out)
	}
	b.full = false
	do("POST", "/api/alerts", other)
	if len(b.submitted) != 5 {
		t.Fatalf("resend after a full queue: %d submitted, want 5", len(b.submitted))
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
}

// RelabelsFrom is read at each webhook: a reload's alertRelabel applies to the next
// alerts, and Relabels is then not used.
func TestWatchRelabelsFollowReload(t *testing.T) {
	var mu sync.Mutex
	current := []triggers.Relabel{{Source: "exported_pod", Target: "pod", Operation: "replace"}}
	b := &fakeBackend{}
	_, do := startWatch(t, &Watch{Backend: b,
		Relabels: []triggers.Relabel{{Source: "static", Target: "pod", Operation: "replace"}},
		RelabelsFrom: func() []triggers.Relabel {
			mu.Lock()
			defer mu.Unlock()
			return current
		}})
	alert := func(fp string) string {
		return `{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A","exported_pod":"p1","src_pod":"p2","static":"p3"},"annotations":{},"fingerprint":"` + fp + `"}]}`
	}
	do("POST", "/api/alerts", alert("f1"))
	mu.Lock()
	current = []triggers.Relabel{{Source: "src_pod", Target: "pod", Operation: "replace"}}
	mu.Unlock()
	do("POST", "/api/alerts", alert("f2"))
	if len(b.submitted) != 2 {
		t.Fatalf("%d submitted", len(b.submitted))
	}
	for i, want := range []string{"p1", "p2"} {
		if got := b.submitted[i].Event.Alert.Labels["pod"]; got != want {
			t.Errorf("alert %d: pod label %q, want %q", i+1, got, want)
		}
	}
}
