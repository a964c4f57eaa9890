package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/robusta-dev/robusta-go/internal/localapi"
)

// StandIn stands in for the Robusta runner's HTTP API (ROBUSTA.md): /healthz,
// POST /api/trigger and POST /api/playbooks/reload, with the runner's error replies.
// It records every request and, when LogFile is set, logs like the runner does, so
// `robusta logs` and --show-logs have something to show.
type StandIn struct {
	// Actions the stand-in knows. An action not listed answers 4603.
	Actions map[string]StandInAction
	// LogFile gets a CRI-format line per request (kwok serves it as the pod's log).
	LogFile string
	// CloseAfterBody makes /api/trigger read the whole request, record it and then
	// drop the connection without answering.
	CloseAfterBody bool

	mu       sync.Mutex
	requests []Recorded
	server   *http.Server
	listener net.Listener
}

// StandInAction describes how the stand-in answers for one action.
type StandInAction struct {
	// NeedsObject: the action takes a Kubernetes object event, so the manual trigger
	// needs name (and, unless Cluster, namespace); missing ones answer 4605.
	NeedsObject bool
	Cluster     bool
	// Reply, when set, is the whole JSON reply (for example with findings).
	Reply map[string]any
}

// Recorded is one request the stand-in received.
type Recorded struct {
	Method string
	Path   string
	Body   []byte
}

// Start listens on 127.0.0.1 (port 0 picks a free one, or addr like "127.0.0.1:5000").
func (s *StandIn) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("runner stand-in: %w", err)
	}
	s.listener = l
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		localapi.Reply(w, http.StatusOK, map[string]any{"status": "OK"})
	})
	mux.HandleFunc("/api/trigger", s.trigger)
	mux.HandleFunc("/api/playbooks/reload", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.record(r, body)
		if r.Method != http.MethodPost {
			localapi.Reply(w, http.StatusMethodNotAllowed, map[string]any{"success": false, "msg": "POST only"})
			return
		}
		s.log("Reloading playbook configuration")
		localapi.Reply(w, http.StatusOK, map[string]any{"success": true})
	})
	s.server = &http.Server{Handler: mux}
	go func() { _ = s.server.Serve(l) }()
	return nil
}

// Addr is the address the stand-in listens on.
func (s *StandIn) Addr() string { return s.listener.Addr().String() }

// Close stops the server.
func (s *StandIn) Close() error { return s.server.Close() }

// Requests returns a copy of what was received so far.
func (s *StandIn) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.requests...)
}

func (s *StandIn) record(r *http.Request, body []byte) {
	s.mu.Lock()
	s.requests = append(s.requests, Recorded{Method: r.Method, Path: r.URL.Path, Body: body})
	s.mu.Unlock()
}

func (s *StandIn) log(line string) {
	if s.LogFile != "" {
		_ = WriteCRILog(s.LogFile, line)
	}
}

func (s *StandIn) trigger(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	s.record(r, body)
	if err != nil {
		return
	}
	if s.CloseAfterBody {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
	}
	if r.Method != http.MethodPost {
		localapi.Reply(w, http.StatusMethodNotAllowed, map[string]any{"success": false, "msg": "POST only"})
		return
	}
	var req struct {
		ActionName   string         `json:"action_name"`
		ActionParams map[string]any `json:"action_params"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.ActionName == "" {
		localapi.Reply(w, http.StatusBadRequest, map[string]any{"success": false, "msg": "invalid request: action_name is required", "error_code": 4700})
		return
	}
	act, ok := s.Actions[req.ActionName]
	if !ok {
		msg := "External action not found " + req.ActionName
		s.log("ERROR " + msg)
		localapi.Reply(w, http.StatusOK, map[string]any{"success": false, "msg": msg, "error_code": 4603})
		return
	}
	if act.NeedsObject {
		_, hasName := req.ActionParams["name"]
		_, hasNS := req.ActionParams["namespace"]
		if !hasName || (!act.Cluster && !hasNS) {
			msg := fmt.Sprintf("Failed to create execution instance for %s: name and namespace are required", req.ActionName)
			s.log("ERROR " + msg)
			localapi.Reply(w, http.StatusOK, map[string]any{"success": false, "msg": msg, "error_code": 4605})
			return
		}
	}
	s.log(fmt.Sprintf("running action %s with params %v", req.ActionName, req.ActionParams))
	if act.Reply != nil {
		localapi.Reply(w, http.StatusOK, act.Reply)
		return
	}
	localapi.Reply(w, http.StatusOK, map[string]any{"success": true})
}
