// Package serve serves the Robusta runner's HTTP API (ROBUSTA.md) from the local
// engine: /healthz, POST /api/trigger and POST /api/playbooks/reload, with the
// runner's replies and error codes, so `robusta playbooks trigger` (or curl) can talk
// to this machine as to an in-cluster runner. Every request but GET /healthz passes
// a localapi.Guard first: the server acts with the user's cluster credentials.
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/localapi"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
)

// Server answers the runner API with the engine's actions against KF's cluster.
type Server struct {
	KF *kube.Factory
	// Apply lets mutating actions change the cluster (else server-side dry run).
	Apply bool
	// AllowExec lets actions that run commands in pods (Action.RunsCommands) run.
	AllowExec bool
	// Log gets one line per request, as the runner logs them: action and param
	// names, never param values.
	Log io.Writer
	// Guard checks every request but GET /healthz (localapi). Its zero value still
	// refuses foreign Hosts and Origins and bodies that are not JSON; set Token.
	Guard localapi.Guard

	limiter *engine.RateLimiter
	log     lineLog
}

// Handler is the HTTP handler of the API.
func (s *Server) Handler() http.Handler {
	s.limiter = engine.NewRateLimiter()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		localapi.Reply(w, http.StatusOK, map[string]any{"status": "OK"})
	})
	mux.HandleFunc("/api/trigger", postOnly(s.trigger))
	mux.HandleFunc("/api/alerts", func(w http.ResponseWriter, r *http.Request) {
		// The runner runs its on_prometheus_alert playbooks here; the local engine has
		// no playbook configuration, so it says so rather than accept and drop alerts.
		s.logf("ERROR alerts received, but the local engine runs no playbooks for alerts")
		fail(w, http.StatusNotImplemented, &engine.TriggerError{Code: engine.CodeUnexpected,
			Msg: "the local engine runs no playbooks for alerts: run an action on an alert with robusta local run ACTION --alert FILE"})
	})
	mux.HandleFunc("/api/playbooks/reload", postOnly(func(w http.ResponseWriter, r *http.Request) {
		s.logf("reload: the local engine has no playbook configuration to reload")
		localapi.Reply(w, http.StatusOK, map[string]any{"success": true})
	}))
	g := s.Guard
	g.Open = []string{"/healthz"}
	g.Refused = logRefused(s.logf)
	return g.Wrap(mux)
}

func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	req, ok := readTrigger(w, r, s.logf)
	if !ok {
		return
	}
	name := logName(req.ActionName)
	if a, ok := engine.Lookup(req.ActionName); ok && a.RunsCommands && !s.AllowExec {
		s.logf("REFUSED %s: it runs commands in pods and the server was started without --allow-exec", name)
		localapi.Reply(w, http.StatusForbidden, map[string]any{"success": false,
			"msg": req.ActionName + " runs commands in pods, which this server does not allow: restart it with robusta local serve --allow-exec"})
		return
	}
	start := time.Now()
	f, notes, err := s.run(r, req)
	if err != nil {
		failTrigger(w, s.logf, name, req.ActionParams, err)
		return
	}
	s.logf("ran %s with params %s in %s%s", name, paramNames(req.ActionParams), time.Since(start).Round(time.Millisecond), noteList(notes))
	out := map[string]any{"success": true}
	if req.SyncResponse {
		out["findings"] = []any{f.Platform()}
	}
	localapi.Reply(w, http.StatusOK, out)
}

// maxBody bounds a trigger request; real ones are a few hundred bytes.
const maxBody = 1 << 20

// decodeTrigger reads the request body and says what is wrong with it in words a
// person writing curl commands can act on.
func decodeTrigger(w http.ResponseWriter, r *http.Request) (playbooks.TriggerRequest, error) {
	var req playbooks.TriggerRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	err := dec.Decode(&req)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return req, errors.New(`the body is empty: send a JSON object such as {"action_name": "...", "action_params": {...}}`)
	case errors.As(err, &big):
		return req, fmt.Errorf("the body is larger than %d bytes", maxBody)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return req, errors.New("the body is not valid JSON: it ends before the object is complete")
	case errors.As(err, &syn):
		return req, fmt.Errorf("the body is not valid JSON: %v (at byte %d)", syn, syn.Offset)
	case errors.As(err, &typ) && typ.Field == "":
		return req, fmt.Errorf("the body must be a JSON object, got a JSON %s", typ.Value)
	case errors.As(err, &typ):
		return req, fmt.Errorf("%s must be a JSON %s, got a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case err != nil:
		return req, fmt.Errorf("the body is not a valid request: %v", err)
	}
	if dec.More() {
		return req, errors.New("the body holds more than one JSON value: send one object")
	}
	if strings.TrimSpace(req.ActionName) == "" {
		return req, errors.New("action_name is required")
	}
	return req, nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	}
	return goKind
}

// logName keeps the log one line per request whatever the client called the action.
func logName(s string) string {
	for _, c := range s {
		if !(c == '_' || c == '-' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return strconv.Quote(s)
		}
	}
	return s
}

// codeMeaning is a few words per runner error code, for the log.
func codeMeaning(code int) string {
	switch code {
	case engine.CodeActionNotFound:
		return "action not found"
	case engine.CodeEventMismatch:
		return "event type mismatch"
	case engine.CodeParamsInvalid:
		return "params invalid"
	case engine.CodeNotManual:
		return "cannot run manually"
	case engine.CodeEventParams:
		return "event params invalid"
	case engine.CodeEventNotBuilt:
		return "object not found"
	case engine.CodeNotPermitted:
		return "not permitted"
	}
	return "unexpected error"
}

func (s *Server) run(r *http.Request, req playbooks.TriggerRequest) (*engine.Finding, []string, error) {
	return RunAction(r.Context(), s.KF, s.Apply, s.limiter, req.ActionName, req.ActionParams)
}

// RunAction runs one action as the runner's manual trigger does: the event from the
// params that name an object, the rest as the action's params; errors are
// *engine.TriggerError with the runner's codes where the runner has one.
func RunAction(ctx context.Context, kf *kube.Factory, apply bool, limiter *engine.RateLimiter, name string, raw map[string]any) (*engine.Finding, []string, error) {
	a, ok := engine.Lookup(name)
	if !ok {
		return nil, nil, &engine.TriggerError{Code: engine.CodeActionNotFound, Msg: "External action not found " + name}
	}
	ev, params, err := engine.ManualEvent(ctx, kf, a, raw)
	if err != nil {
		return nil, nil, err
	}
	title := a.Name
	if ev.Obj != nil {
		title += " on " + ev.Obj.GetName()
	}
	run := &engine.Run{Event: ev, Finding: engine.NewFinding(ev, title), KF: kf, Apply: apply, Limiter: limiter}
	if err := a.Execute(ctx, run, params); err != nil {
		var inc *engine.IncompatibleError
		var pe *engine.ParamsError
		switch {
		case errors.As(err, &inc):
			return nil, nil, &engine.TriggerError{Code: engine.CodeEventMismatch, Msg: err.Error()}
		case errors.As(err, &pe):
			return nil, nil, &engine.TriggerError{Code: engine.CodeParamsInvalid, Msg: err.Error()}
		}
		return nil, nil, err
	}
	run.Finding.SetFingerprint()
	return run.Finding, run.Notes, nil
}

func (s *Server) logf(format string, args ...any) { s.log.printf(s.Log, format, args...) }

// lineLog writes timestamped lines, one request's at a time, to a writer shared
// by concurrent requests.
type lineLog struct{ mu sync.Mutex }

// printf writes one line to w; a nil w keeps no log.
func (l *lineLog) printf(w io.Writer, format string, args ...any) {
	if w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(w, "%s %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// logRefused logs a request the guard refused (no token, wrong host, ...).
func logRefused(logf func(string, ...any)) func(r *http.Request, status int, why string) {
	return func(r *http.Request, status int, why string) {
		logf("REFUSED %s %s from %s (%d): %s", r.Method, r.URL.EscapedPath(), r.RemoteAddr, status, why)
	}
}

// readTrigger decodes a trigger request; a bad one is logged and answered, and
// ok is false.
func readTrigger(w http.ResponseWriter, r *http.Request, logf func(string, ...any)) (req playbooks.TriggerRequest, ok bool) {
	req, err := decodeTrigger(w, r)
	if err != nil {
		logf("ERROR invalid request: %v", err)
		fail(w, http.StatusBadRequest, &engine.TriggerError{Code: engine.CodeUnexpected, Msg: "invalid request: " + err.Error()})
		return req, false
	}
	return req, true
}

// failTrigger answers a trigger whose action failed with the runner's error reply
// (an error that is no TriggerError is CodeUnexpected). The message may quote
// param values (an object's name, a command): the log keeps to the action and
// the kind of failure.
func failTrigger(w http.ResponseWriter, logf func(string, ...any), name string, params map[string]any, err error) {
	var te *engine.TriggerError
	if !errors.As(err, &te) {
		te = &engine.TriggerError{Code: engine.CodeUnexpected, Msg: err.Error()}
	}
	logf("ERROR %s: error %d (%s), params %s", name, te.Code, codeMeaning(te.Code), paramNames(params))
	fail(w, http.StatusOK, te)
}

// paramNames lists the names of the params, never their values: a value may be a
// command or a secret.
func paramNames(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, logName(k))
	}
	sort.Strings(keys)
	return "{" + strings.Join(keys, ", ") + "}"
}

func noteList(notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, "; ") + ")"
}

func fail(w http.ResponseWriter, code int, te *engine.TriggerError) {
	localapi.Reply(w, code, map[string]any{"success": false, "msg": te.Msg, "error_code": te.Code})
}
