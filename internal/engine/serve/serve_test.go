package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/localapi"
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
	const tok = "test-token"
	h := (&Server{KF: kube.NewFactory(kube.Options{Kubeconfig: "/nonexistent"}), Log: &log,
		Guard: localapi.Guard{Token: tok, Listen: "127.0.0.1:5000"}}).Handler()
	req := func(method, path, body string) *http.Request {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Host = "127.0.0.1:5000"
		r.Header.Set("Authorization", "Bearer "+tok)
		if method == "POST" {
			r.Header.Set("Content-Type", "application/json")
		}
		return r
	}
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
		{"POST", "/api/trigger", "{", 400, `the body is not valid JSON: it ends before the object is complete`},
		{"POST", "/api/trigger", "", 400, `the body is empty`},
		{"POST", "/api/trigger", `{"action_name": "x",}`, 400, `the body is not valid JSON: invalid character '}' looking for beginning of object key string (at byte 21)`},
		{"POST", "/api/trigger", `{"action_name": 5}`, 400, `action_name must be a JSON string, got a JSON number`},
		{"POST", "/api/trigger", `{"action_name": "x", "action_params": [1]}`, 400, `action_params must be a JSON object, got a JSON array`},
		{"POST", "/api/trigger", `["x"]`, 400, `the body must be a JSON object, got a JSON array`},
		{"POST", "/api/trigger", `{"action_name": "x"} {}`, 400, `more than one JSON value`},
		{"POST", "/api/trigger", `{"action_name": "x", "sync_response": "yes"}`, 400, `sync_response must be a JSON boolean, got a JSON string`},
		{"POST", "/api/trigger", `{"action_params":{}}`, 400, `action_name is required`},
		{"POST", "/api/trigger", `{"action_name":"nope"}`, 200, `{"error_code":4603,"msg":"External action not found nope","success":false}`},
		{"POST", "/api/trigger", `{"action_name":"serve_test_note","action_params":{"colour":"zebra-red"}}`, 200, `"error_code":4602`},
		{"POST", "/api/trigger", `{"action_name":"serve_test_note","action_params":{"text":"zebra-hi"}}`, 200, `{"success":true}`},
		{"POST", "/api/trigger", `{"action_name":"serve_test_note","action_params":{"text":"hi"},"sync_response":true}`, 200, `"title":"hi"`},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req(tc.method, tc.path, tc.body))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, rec.Code, rec.Body.String())
		}
		if rec.Header().Get("Content-Length") == "" {
			t.Errorf("%s %s: no Content-Length", tc.method, tc.path)
		}
	}
	// A sync reply holds findings the trigger client reads back.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req("POST", "/api/trigger", `{"action_name":"serve_test_note","action_params":{"text":"back"},"sync_response":true}`))
	var reply struct {
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || len(reply.Findings) != 1 || engine.FromPlatform(reply.Findings[0]).Title != "back" {
		t.Fatalf("%v %s", err, rec.Body.String())
	}
	if !strings.Contains(log.String(), "ERROR nope: error 4603 (action not found), params {}") || !strings.Contains(log.String(), "ran serve_test_note with params {text} in ") {
		t.Fatalf("log:\n%s", log.String())
	}
	// Param values never reach the log.
	if strings.Contains(log.String(), "zebra") {
		t.Fatalf("log shows param values:\n%s", log.String())
	}
}

// The server is guarded: refusals never reach an action, and say so in the log.
func TestHandlerGuarded(t *testing.T) {
	var log bytes.Buffer
	ran := 0
	engine.Register(&engine.Action{Name: "serve_test_exec", Event: "ExecutionBaseEvent", RunsCommands: true,
		NewParams: func() any { return &noteParams{} },
		Do:        func(context.Context, *engine.Run, any) error { ran++; return nil }})
	for _, tc := range []struct {
		name      string
		allowExec bool
		host      string
		header    map[string]string
		status    int
		want      string
	}{
		{"cross-site text/plain", true, "127.0.0.1:5000", map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain", "Authorization": "Bearer tok"}, 403, "cross-origin"},
		{"rebinding", true, "evil.example:5000", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer tok"}, 403, "DNS rebinding"},
		{"no token", true, "127.0.0.1:5000", map[string]string{"Content-Type": "application/json"}, 401, "missing or wrong token"},
		{"text/plain", true, "127.0.0.1:5000", map[string]string{"Content-Type": "text/plain", "Authorization": "Bearer tok"}, 415, "Content-Type"},
		{"exec without --allow-exec", false, "127.0.0.1:5000", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer tok"}, 403, "restart it with robusta local serve --allow-exec"},
		{"exec with --allow-exec", true, "127.0.0.1:5000", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer tok"}, 200, `{"success":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log.Reset()
			before := ran
			h := (&Server{KF: kube.NewFactory(kube.Options{Kubeconfig: "/nonexistent"}), Log: &log, AllowExec: tc.allowExec,
				Guard: localapi.Guard{Token: "tok", Listen: "127.0.0.1:5000"}}).Handler()
			r := httptest.NewRequest("POST", "/api/trigger", strings.NewReader(`{"action_name":"serve_test_exec","action_params":{"text":"touch canary-value"}}`))
			r.Host = tc.host
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
			if got := ran - before; got != map[bool]int{true: 1}[tc.status == 200] {
				t.Fatalf("action ran %d times", got)
			}
			if tc.status != 200 && !strings.Contains(log.String(), "REFUSED") {
				t.Fatalf("log:\n%s", log.String())
			}
			if strings.Contains(log.String(), "canary-value") {
				t.Fatalf("log shows param values:\n%s", log.String())
			}
		})
	}
}
