// Package serve serves the Robusta runner's HTTP API (ROBUSTA.md) from the local
// engine: /healthz, POST /api/trigger and POST /api/playbooks/reload, with the
// runner's replies and error codes, so `robusta playbooks trigger` (or curl) can talk
// to this machine as to an in-cluster runner.
package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
)

// Server answers the runner API with the engine's actions against KF's cluster.
type Server struct {
	KF *kube.Factory
	// Apply lets mutating actions change the cluster (else server-side dry run).
	Apply bool
	// Log gets one line per request, as the runner logs them.
	Log io.Writer

	limiter *engine.RateLimiter
	logMu   sync.Mutex
}

// Handler is the HTTP handler of the API.
func (s *Server) Handler() http.Handler {
	s.limiter = engine.NewRateLimiter()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		Reply(w, http.StatusOK, map[string]any{"status": "OK"})
	})
	mux.HandleFunc("/api/trigger", s.trigger)
	mux.HandleFunc("/api/alerts", func(w http.ResponseWriter, r *http.Request) {
		// The runner runs its on_prometheus_alert playbooks here; the local engine has
		// no playbook configuration, so it says so rather than accept and drop alerts.
		s.logf("ERROR alerts received, but the local engine runs no playbooks for alerts")
		fail(w, http.StatusNotImplemented, &engine.TriggerError{Code: engine.CodeUnexpected,
			Msg: "the local engine runs no playbooks for alerts: run an action on an alert with robusta local run ACTION --alert FILE"})
	})
	mux.HandleFunc("/api/playbooks/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			Reply(w, http.StatusMethodNotAllowed, map[string]any{"success": false, "msg": "POST only"})
			return
		}
		s.logf("reload: the local engine has no playbook configuration to reload")
		Reply(w, http.StatusOK, map[string]any{"success": true})
	})
	return mux
}

func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		Reply(w, http.StatusMethodNotAllowed, map[string]any{"success": false, "msg": "POST only"})
		return
	}
	var req playbooks.TriggerRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.ActionName == "" {
		fail(w, http.StatusBadRequest, &engine.TriggerError{Code: engine.CodeUnexpected, Msg: "invalid request: action_name is required"})
		return
	}
	start := time.Now()
	f, notes, err := s.run(r, req)
	if err != nil {
		var te *engine.TriggerError
		if !errors.As(err, &te) {
			te = &engine.TriggerError{Code: engine.CodeUnexpected, Msg: err.Error()}
		}
		s.logf("ERROR %s: %s (%d)", req.ActionName, te.Msg, te.Code)
		fail(w, http.StatusOK, te)
		return
	}
	s.logf("ran %s with params %s in %s%s", req.ActionName, paramList(req.ActionParams), time.Since(start).Round(time.Millisecond), noteList(notes))
	out := map[string]any{"success": true}
	if req.SyncResponse {
		out["findings"] = []any{f.Platform()}
	}
	Reply(w, http.StatusOK, out)
}

func (s *Server) run(r *http.Request, req playbooks.TriggerRequest) (*engine.Finding, []string, error) {
	a, ok := engine.Lookup(req.ActionName)
	if !ok {
		return nil, nil, &engine.TriggerError{Code: engine.CodeActionNotFound, Msg: "External action not found " + req.ActionName}
	}
	ev, params, err := engine.ManualEvent(r.Context(), s.KF, a, req.ActionParams)
	if err != nil {
		return nil, nil, err
	}
	title := a.Name
	if ev.Obj != nil {
		title += " on " + ev.Obj.GetName()
	}
	run := &engine.Run{Event: ev, Finding: engine.NewFinding(ev, title), KF: s.KF, Apply: s.Apply, Limiter: s.limiter}
	if err := a.Execute(r.Context(), run, params); err != nil {
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

func (s *Server) logf(format string, args ...any) {
	if s.Log == nil {
		return
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.Log, "%s %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

func paramList(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, p[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func noteList(notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, "; ") + ")"
}

func fail(w http.ResponseWriter, code int, te *engine.TriggerError) {
	Reply(w, code, map[string]any{"success": false, "msg": te.Msg, "error_code": te.Code})
}

// Reply answers with JSON and a Content-Length: kwok's port-forward needs it to see
// the end of the reply.
func Reply(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
