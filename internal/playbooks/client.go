package playbooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"
)

// TriggerRequest is the body of POST /api/trigger (see ROBUSTA.md).
type TriggerRequest struct {
	ActionName   string         `json:"action_name"`
	ActionParams map[string]any `json:"action_params"`
	Sinks        []string       `json:"sinks,omitempty"`
	NoSinks      bool           `json:"no_sinks,omitempty"`
	SyncResponse bool           `json:"sync_response,omitempty"`
}

// Body is the exact JSON sent for r.
func (r TriggerRequest) Body() ([]byte, error) {
	if r.ActionParams == nil {
		r.ActionParams = map[string]any{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <, > and & as typed
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encode trigger request: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Response is the runner's JSON reply. Raw keeps every field for -o json.
type Response struct {
	Success   bool             `json:"success"`
	Msg       string           `json:"msg,omitempty"`
	ErrorCode int              `json:"error_code,omitempty"`
	Findings  []map[string]any `json:"findings,omitempty"`
	Raw       map[string]any   `json:"-"`
}

// Runner error codes and what they mean in plain words (robusta/utils/error_codes.py).
var errorCodeHelp = map[int]string{
	4600: "the action is not registered in the runner: check its name, and that the playbook repository holding it is loaded",
	4601: "the action cannot run on this kind of event: pass the object it expects (--pod, --deployment, --job or --node)",
	4602: "the action's parameters are invalid: check their names and types (robusta local actions ACTION lists them)",
	4603: "no action with this name exists in the runner: check the spelling, or load the repository that defines it",
	4604: "this action cannot be triggered manually (change-event actions need an old and a new object)",
	4605: "the parameters needed to build the event are missing or invalid: pod and deployment actions need name and namespace (--pod NS/NAME)",
	4606: "the runner could not build the event: the object named by the parameters was not found",
	4700: "the runner hit an unexpected error: see its logs (robusta logs)",
	4702: "the resource was not found",
	4704: "the runner is not permitted to access this resource (its RBAC rules do not allow it)",
}

// ExplainErrorCode returns the plain-language meaning of a runner error code.
func ExplainErrorCode(code int) string {
	if s, ok := errorCodeHelp[code]; ok {
		return s
	}
	return ""
}

// RunnerError is a reply with success: false.
type RunnerError struct {
	Code int
	Msg  string
}

func (e *RunnerError) Error() string {
	msg := firstLine(e.Msg)
	s := fmt.Sprintf("the runner refused the request (error %d): %s", e.Code, msg)
	if help := ExplainErrorCode(e.Code); help != "" {
		s += " -- " + help
	}
	return s
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// RefusedError is a request the server refused before running anything: no or a wrong
// token, a refused action (robusta local serve without --allow-exec), a wrong
// Content-Type.
type RefusedError struct {
	Status int
	Msg    string
}

func (e *RefusedError) Error() string {
	s := fmt.Sprintf("the server refused the request (HTTP %d %s), nothing ran: %s", e.Status, http.StatusText(e.Status), firstLine(e.Msg))
	if e.Status == http.StatusUnauthorized {
		s += " -- with robusta local serve, use --local (it reads the token file) or set ROBUSTA_LOCAL_TOKEN"
	}
	return s
}

// OutcomeUnknownError means the request was fully sent and then the connection failed:
// the runner may or may not have run the action. It is never retried.
type OutcomeUnknownError struct{ Err error }

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("request sent, outcome unknown: the connection failed before the runner answered (%v); the action may have run: check the runner's logs (robusta logs --since 1m) before retrying", e.Err)
}
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// Client calls the runner's HTTP API at BaseURL (through a port-forward).
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// RetryFor bounds retries of a request that failed before it was fully written.
	RetryFor time.Duration
	// ReplyTimeout bounds the wait for a reply once a request is written (0: none).
	// A runner that died mid-request may never close the stream (port-forward through
	// some proxies does not pass the close on), so the wait must end somewhere.
	ReplyTimeout time.Duration
	// Token, when set, is sent as a bearer token. `robusta local serve` requires it; a
	// runner ignores it.
	Token string
}

// NewClient returns a client that never reuses connections, so no request is
// silently re-sent on a stale connection. Requests are bounded by their context only:
// an action may take long to run.
func NewClient(baseURL string, retryFor time.Duration) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), RetryFor: retryFor, HTTP: &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}}
}

// Ping sends GET /healthz once; any HTTP answer means the runner's server listens.
func (c *Client) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/healthz", nil)
	if err != nil {
		return err
	}
	c.authorize(req)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("the runner's HTTP server did not answer: %v", unwrapURLErr(err))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// Trigger sends POST /api/trigger. A failure before the request was fully written is
// retried until ctx ends; after that it is an OutcomeUnknownError, never a resend.
func (c *Client) Trigger(ctx context.Context, r TriggerRequest) (*Response, error) {
	body, err := r.Body()
	if err != nil {
		return nil, err
	}
	return c.post(ctx, "/api/trigger", body)
}

// Reload sends POST /api/playbooks/reload.
func (c *Client) Reload(ctx context.Context) (*Response, error) {
	return c.post(ctx, "/api/playbooks/reload", []byte("{}"))
}

func (c *Client) post(ctx context.Context, path string, body []byte) (*Response, error) {
	giveUp := time.Now().Add(c.RetryFor)
	var out *Response
	var last error
	err := retryBackoff(50*time.Millisecond).Until(ctx, true, false, func(ctx context.Context) (bool, error) {
		var wrote atomic.Bool
		trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		}}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, c.BaseURL+path, bytes.NewReader(body))
		if err != nil {
			return false, err
		}
		req.Header.Set("Content-Type", "application/json")
		c.authorize(req)
		resp, err := c.doWithReplyTimeout(req, &wrote)
		if err == nil {
			defer resp.Body.Close()
			out, err = decodeResponse(resp)
			return true, err
		}
		// Once the request went out the runner may have acted: never send it twice.
		if wrote.Load() {
			return false, &OutcomeUnknownError{Err: unwrapURLErr(err)}
		}
		last = unwrapURLErr(err)
		if time.Now().After(giveUp) {
			return false, fmt.Errorf("could not send the request to the runner: %v", last)
		}
		return false, nil
	})
	if err != nil && last != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil, fmt.Errorf("could not send the request to the runner: %v", last)
	}
	return out, err
}

func (c *Client) authorize(req *http.Request) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
}

// errNoReply is the cause given when ReplyTimeout ran out.
type errNoReply time.Duration

func (e errNoReply) Error() string {
	return fmt.Sprintf("no reply within %s", time.Duration(e))
}

// doWithReplyTimeout sends req; once it is fully written (*wrote), the reply must
// start within ReplyTimeout or the request is cancelled.
func (c *Client) doWithReplyTimeout(req *http.Request, wrote *atomic.Bool) (*http.Response, error) {
	if c.ReplyTimeout <= 0 {
		return c.HTTP.Do(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var writtenAt time.Time
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if wrote.Load() && writtenAt.IsZero() {
					writtenAt = time.Now()
				}
				if !writtenAt.IsZero() && time.Since(writtenAt) > c.ReplyTimeout {
					cancel(errNoReply(c.ReplyTimeout))
					return
				}
			}
		}
	}()
	resp, err := c.HTTP.Do(req.WithContext(ctx))
	close(done)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && errors.As(cause, new(errNoReply)) {
			cancel(nil)
			return nil, cause
		}
		cancel(nil)
		return nil, err
	}
	// The body is read right after; keep the context alive until then.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func unwrapURLErr(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

func decodeResponse(resp *http.Response) (*Response, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, &OutcomeUnknownError{Err: fmt.Errorf("reading the reply: %w", err)}
	}
	var out Response
	if err := json.Unmarshal(b, &out.Raw); err != nil {
		return nil, fmt.Errorf("the runner answered HTTP %d with something that is not JSON: %q", resp.StatusCode, truncate(string(b), 200))
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("the runner's reply has unexpected fields: %v", err)
	}
	if !out.Success {
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusUnsupportedMediaType:
			// Refused before any action ran (robusta local serve's guard).
			return &out, &RefusedError{Status: resp.StatusCode, Msg: out.Msg}
		}
		if _, ok := out.Raw["success"]; !ok && resp.StatusCode >= 400 {
			return &out, fmt.Errorf("the runner answered HTTP %d: %s", resp.StatusCode, truncate(string(b), 200))
		}
		return &out, &RunnerError{Code: out.ErrorCode, Msg: out.Msg}
	}
	return &out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
