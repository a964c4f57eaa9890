package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

type noteParams struct {
	Text string `param:"text" required:"true"`
}

func init() {
	engine.Register(&engine.Action{Name: "serve_test_note", Event: "ExecutionBaseEvent", NewParams: func() any { return &noteParams{} },
		Do: func(_ context.Context, r *engine.Run, p any) error {
			r.Finding.Title = p.(*noteParams).Text
			return nil
		}})
}

// The parts of the API that need no cluster: health, reload, malformed requests,
// unknown actions, bad params and a base-event action with its finding.
func TestHandler(t *testing.T) {
	var log bytes.Buffer
	h := (&Server{KF: kube.NewFactory(kube.Options{Kubeconfig: "/nonexistent"}), Log: &log}).Handler()
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/healthz", "", 200, `{"status":"OK"}`},
		{"POST", "/api/playbooks/reload", "{}", 200, `{"success":true}`},
		{"GET", "/api/trigger", "", 405, `"POST only"`},
		{"POST", "/api/alerts", `{"alerts":[]}`, 501, `robusta local run ACTION --alert FILE`},
		{"POST", "/api/trigger", "{", 400, `"error_code":4700`},
		{"POST", "/api/trigger", `{"action_params":{}}`, 400, `action_name is required`},
		{"POST", "/api/trigger", `{"action_name":"nope"}`, 200, `{"error_code":4603,"msg":"External action not found nope","success":false}`},
		{"POST", "/api/trigger", `{"action_name":"serve_test_note","action_params":{"colour":"red"}}`, 200, `"error_code":4602`},
		{"POST", "/api/trigger", `{"action_name":"serve_test_note","action_params":{"text":"hi"}}`, 200, `{"success":true}`},
		{"POST", "/api/trigger", `{"action_name":"serve_test_note","action_params":{"text":"hi"},"sync_response":true}`, 200, `"title":"hi"`},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, rec.Code, rec.Body.String())
		}
		if rec.Header().Get("Content-Length") == "" {
			t.Errorf("%s %s: no Content-Length", tc.method, tc.path)
		}
	}
	// A sync reply holds findings the trigger client reads back.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/api/trigger", strings.NewReader(`{"action_name":"serve_test_note","action_params":{"text":"back"},"sync_response":true}`)))
	var reply struct {
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || len(reply.Findings) != 1 || engine.FromPlatform(reply.Findings[0]).Title != "back" {
		t.Fatalf("%v %s", err, rec.Body.String())
	}
	if !strings.Contains(log.String(), "ERROR nope: External action not found nope (4603)") || !strings.Contains(log.String(), "ran serve_test_note with params {text=hi}") {
		t.Fatalf("log:\n%s", log.String())
	}
}
