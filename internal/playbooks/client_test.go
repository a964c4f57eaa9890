package playbooks

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestTriggerRequestBody(t *testing.T) {
	cases := []struct {
		req  TriggerRequest
		want string
	}{
		{TriggerRequest{ActionName: "a"}, `{"action_name":"a","action_params":{}}`},
		{TriggerRequest{ActionName: "a", ActionParams: map[string]any{"html": "<b>&</b>"}, NoSinks: true},
			`{"action_name":"a","action_params":{"html":"<b>&</b>"},"no_sinks":true}`},
		{TriggerRequest{ActionName: "a", Sinks: []string{"s1"}, SyncResponse: true},
			`{"action_name":"a","action_params":{},"sinks":["s1"],"sync_response":true}`},
	}
	for _, tc := range cases {
		b, err := tc.req.Body()
		if err != nil || string(b) != tc.want {
			t.Errorf("Body() = %s, %v; want %s", b, err, tc.want)
		}
	}
}

func TestClientReplies(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{"success", 200, `{"success": true}`, ""},
		{"runner error", 200, `{"success": false, "msg": "Action x requires PodEvent\ntraceback...", "error_code": 4601}`,
			"the runner refused the request (error 4601): Action x requires PodEvent ... -- the action cannot run on this kind of event"},
		{"not json", 502, `<html>bad gateway</html>`, "answered HTTP 502 with something that is not JSON"},
		{"http error json", 500, `{"detail": "boom"}`, `answered HTTP 500: {"detail": "boom"}`},
		{"unknown code", 200, `{"success": false, "msg": "m", "error_code": 9999}`, "(error 9999): m"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			resp, err := NewClient(srv.URL, time.Second).Trigger(context.Background(), TriggerRequest{ActionName: "x"})
			if tc.wantErr == "" {
				if err != nil || !resp.Success {
					t.Fatalf("%v %+v", err, resp)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestClientRetriesOnlyBeforeTheRequestIsWritten(t *testing.T) {
	// A server that accepts, reads the request and closes without answering: the
	// request was written, so it must not be sent again.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			c.Close()
		}
	}()
	_, err = NewClient("http://"+l.Addr().String(), 2*time.Second).Trigger(context.Background(), TriggerRequest{ActionName: "x"})
	var ou *OutcomeUnknownError
	if !errors.As(err, &ou) {
		t.Fatalf("want OutcomeUnknownError, got %v", err)
	}
	if n := accepted.Load(); n != 1 {
		t.Fatalf("connections = %d, want 1", n)
	}

	// Nothing listening: nothing was written, so it retries until RetryFor ends.
	closed := l.Addr().String()
	l.Close()
	start := time.Now()
	_, err = NewClient("http://"+closed, 300*time.Millisecond).Trigger(context.Background(), TriggerRequest{ActionName: "x"})
	if err == nil || errors.As(err, &ou) || !strings.Contains(err.Error(), "could not send the request") {
		t.Fatalf("want a send error, got %v", err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatalf("gave up after %s, before RetryFor", time.Since(start))
	}
}

func TestReplyTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	c := NewClient(srv.URL, time.Second)
	c.ReplyTimeout = 200 * time.Millisecond
	_, err := c.Trigger(context.Background(), TriggerRequest{ActionName: "x"})
	if err == nil || !strings.Contains(err.Error(), "request sent, outcome unknown") || !strings.Contains(err.Error(), "no reply within 200ms") {
		t.Fatalf("got %v", err)
	}
}

// What reaches a real HTTP server: the method, path, headers and exact JSON body of a
// trigger (values unchanged), and the token only when one is set.
func TestClientSendsTheRequest(t *testing.T) {
	type seen struct {
		method, path, ctype, auth, body string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), string(b)}
		io.WriteString(w, `{"success": true}`)
	}))
	defer srv.Close()
	req := TriggerRequest{ActionName: "pod_bash_enricher", ActionParams: map[string]any{"bash_command": `echo "$HOME" 'q' <&> ünï`, "tail": 5},
		Sinks: []string{"slack"}, SyncResponse: true}
	for _, tc := range []struct {
		token, wantAuth string
	}{{"", ""}, {"tok-123", "Bearer tok-123"}} {
		c := NewClient(srv.URL+"/", time.Second)
		c.Token = tc.token
		if _, err := c.Trigger(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		s := <-got
		want := seen{"POST", "/api/trigger", "application/json", tc.wantAuth,
			`{"action_name":"pod_bash_enricher","action_params":{"bash_command":"echo \"$HOME\" 'q' <&> ünï","tail":5},"sinks":["slack"],"sync_response":true}`}
		if s != want {
			t.Fatalf("server saw %+v\nwant %+v", s, want)
		}
		if _, err := c.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s.path != "/api/playbooks/reload" || s.body != "{}" || s.auth != tc.wantAuth {
			t.Fatalf("reload: %+v", s)
		}
	}
}

// Each runner error code comes back as an error that says in plain words what to do;
// a refusal by robusta local serve's guard says nothing ran.
func TestClientExplainsErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		status int
		reply  string
		want   string
	}{
		{200, `{"success":false,"msg":"m","error_code":4600}`, "not registered in the runner"},
		{200, `{"success":false,"msg":"m","error_code":4601}`, "cannot run on this kind of event"},
		{200, `{"success":false,"msg":"m","error_code":4602}`, "parameters are invalid"},
		{200, `{"success":false,"msg":"m","error_code":4603}`, "no action with this name"},
		{200, `{"success":false,"msg":"m","error_code":4604}`, "cannot be triggered manually"},
		{200, `{"success":false,"msg":"m","error_code":4605}`, "need name and namespace"},
		{200, `{"success":false,"msg":"m","error_code":4606}`, "object named by the parameters was not found"},
		{200, `{"success":false,"msg":"m","error_code":4700}`, "robusta logs"},
		{200, `{"success":false,"msg":"m","error_code":4702}`, "resource was not found"},
		{200, `{"success":false,"msg":"m","error_code":4704}`, "RBAC"},
		{401, `{"success":false,"msg":"missing or wrong token"}`, "refused the request (HTTP 401 Unauthorized), nothing ran: missing or wrong token -- with robusta local serve, use --local"},
		{403, `{"success":false,"msg":"pod_ps runs commands"}`, "(HTTP 403 Forbidden), nothing ran: pod_ps runs commands"},
		{415, `{"success":false,"msg":"Content-Type"}`, "(HTTP 415 Unsupported Media Type), nothing ran"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.reply)
		}))
		_, err := NewClient(srv.URL, time.Second).Trigger(context.Background(), TriggerRequest{ActionName: "x"})
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.reply, err, tc.want)
		}
	}
}
