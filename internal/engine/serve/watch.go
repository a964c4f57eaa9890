package serve

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/metrics"
	"github.com/robusta-dev/robusta-go/internal/engine/triggers"
	"github.com/robusta-dev/robusta-go/internal/localapi"
)

// Backend is what the watch API drives: the runner of `local watch`.
type Backend interface {
	// Submit queues an incoming event; false means the queue is full and it was
	// dropped.
	Submit(in *triggers.Incoming) bool
	// Reload re-reads the playbook configuration.
	Reload(ctx context.Context) error
	// Trigger runs one action by hand, as POST /api/trigger does on the runner; with
	// sync it returns the findings. Errors that are *engine.TriggerError carry the
	// runner's error code.
	Trigger(ctx context.Context, action string, params map[string]any, sync bool) ([]*engine.Finding, error)
}

// Watch serves the runner's API for `local watch`: the same routes as the runner
// (POST /api/trigger, /api/alerts, /api/playbooks/reload; GET /healthz) plus GET
// /metrics, behind the same Guard as `local serve`.
type Watch struct {
	Backend Backend
	// Dyn resolves the objects alerts name; nil makes alert events without objects.
	Dyn dynamic.Interface
	// Relabels is the runner's alertRelabel config, applied to each alert first.
	Relabels []triggers.Relabel
	// RelabelsFrom, when set, gives the alertRelabel config in force at each webhook
	// instead of Relabels, so a reload's alertRelabel applies to the next alerts.
	RelabelsFrom func() []triggers.Relabel
	// Metrics is served on /metrics (nil: 404).
	Metrics *metrics.Metrics
	Log     io.Writer
	Guard   localapi.Guard
	// DedupTTL is how long an alert state is remembered so Alertmanager's resends do
	// not run playbooks again (the runner's default: two hours).
	DedupTTL time.Duration

	log     lineLog
	dedupMu sync.Mutex
	seen    map[string]time.Time
	now     func() time.Time
}

// dedupMax bounds the remembered alert states, as the runner's cache does.
const dedupMax = 100_000

// Handler is the HTTP handler of the watch API.
func (s *Watch) Handler() http.Handler {
	if s.DedupTTL == 0 {
		s.DedupTTL = 2 * time.Hour
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.seen = map[string]time.Time{}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		localapi.Reply(w, http.StatusOK, map[string]any{"status": "OK"})
	})
	mux.Handle("/metrics", s.Metrics.Handler())
	mux.HandleFunc("/api/trigger", postOnly(s.trigger))
	mux.HandleFunc("/api/alerts", postOnly(s.alerts))
	mux.HandleFunc("/api/playbooks/reload", postOnly(s.reload))
	g := s.Guard
	// /metrics names actions and sinks, so it needs the token like the rest;
	// Prometheus sends it with the scrape config's authorization credentials.
	g.Open = []string{"/healthz"}
	g.Refused = logRefused(s.logf)
	return g.Wrap(mux)
}

func postOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			localapi.Reply(w, http.StatusMethodNotAllowed, map[string]any{"success": false, "msg": "POST only"})
			return
		}
		h(w, r)
	}
}

func (s *Watch) trigger(w http.ResponseWriter, r *http.Request) {
	req, ok := readTrigger(w, r, s.logf)
	if !ok {
		return
	}
	name := logName(req.ActionName)
	start := time.Now()
	findings, err := s.Backend.Trigger(r.Context(), req.ActionName, req.ActionParams, req.SyncResponse)
	if err != nil {
		failTrigger(w, s.logf, name, req.ActionParams, err)
		return
	}
	s.logf("ran %s with params %s in %s", name, paramNames(req.ActionParams), time.Since(start).Round(time.Millisecond))
	out := map[string]any{"success": true}
	if req.SyncResponse {
		fs := make([]any, 0, len(findings))
		for _, f := range findings {
			fs = append(fs, f.Platform())
		}
		out["findings"] = fs
	}
	localapi.Reply(w, http.StatusOK, out)
}

func (s *Watch) reload(w http.ResponseWriter, r *http.Request) {
	if err := s.Backend.Reload(r.Context()); err != nil {
		s.logf("ERROR reload: %v", err)
		localapi.Reply(w, http.StatusOK, map[string]any{"success": false, "msg": "reload failed, the previous playbooks stay loaded: " + err.Error()})
		return
	}
	s.logf("reloaded the playbooks")
	localapi.Reply(w, http.StatusOK, map[string]any{"success": true})
}

// alerts takes an Alertmanager webhook: each alert is relabelled, checked against
// recent ones, resolved to the object its labels name and queued. A full queue
// answers 503 so Alertmanager sends the group again; the dropped alerts are not
// remembered, so the resend runs them.
func (s *Watch) alerts(w http.ResponseWriter, r *http.Request) {
	as, err := triggers.ParseWebhook(r.Body)
	if err != nil {
		s.logf("ERROR alerts: %v", err)
		localapi.Reply(w, http.StatusBadRequest, map[string]any{"success": false, "msg": err.Error()})
		return
	}
	relabels := s.Relabels
	if s.RelabelsFrom != nil {
		relabels = s.RelabelsFrom()
	}
	queued, dup, dropped := 0, 0, 0
	for _, wa := range as {
		a := wa.Alert
		triggers.ApplyRelabels(&a, relabels)
		key := wa.DedupKey()
		if s.recent(key) {
			dup++
			continue
		}
		ev := s.resolve(r.Context(), &a)
		if !s.Backend.Submit(&triggers.Incoming{Event: ev, Received: s.now()}) {
			dropped++
			continue
		}
		s.remember(key)
		queued++
	}
	s.logf("alerts: %d received, %d queued, %d already seen, %d dropped", len(as), queued, dup, dropped)
	if dropped > 0 {
		localapi.Reply(w, http.StatusServiceUnavailable, map[string]any{"success": false,
			"msg": fmt.Sprintf("the event queue is full: %d of %d alerts dropped, send them again later", dropped, len(as))})
		return
	}
	localapi.Reply(w, http.StatusOK, map[string]any{"success": true})
}

func (s *Watch) resolve(ctx context.Context, a *engine.Alert) *engine.Event {
	if s.Dyn == nil {
		return &engine.Event{Class: engine.AlertEvent, Alert: a}
	}
	ev, note, err := engine.ResolveAlert(ctx, s.Dyn, a)
	if err != nil {
		// The alert still runs its playbooks, without its object, as in the runner.
		s.logf("alert %s: looking up its object: %v", logName(a.Name()), err)
		return &engine.Event{Class: engine.AlertEvent, Alert: a}
	}
	if note != "" {
		s.logf("alert %s: %s", logName(a.Name()), note)
	}
	return ev
}

func (s *Watch) recent(key string) bool {
	s.dedupMu.Lock()
	defer s.dedupMu.Unlock()
	t, ok := s.seen[key]
	return ok && s.now().Sub(t) < s.DedupTTL
}

func (s *Watch) remember(key string) {
	s.dedupMu.Lock()
	defer s.dedupMu.Unlock()
	now := s.now()
	if len(s.seen) >= dedupMax {
		for k, t := range s.seen {
			if now.Sub(t) >= s.DedupTTL {
				delete(s.seen, k)
			}
		}
		// Still full of live entries: forget an arbitrary one, as a bounded cache must.
		for k := range s.seen {
			if len(s.seen) < dedupMax {
				break
			}
			delete(s.seen, k)
		}
	}
	s.seen[key] = now
}

func (s *Watch) logf(format string, args ...any) { s.log.printf(s.Log, format, args...) }
