// Package sinktest is the fake web service the sink packages' tests post to: it
// records every request and answers with a status and body the test chooses.
package sinktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// Request is one request the service received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Service is a running fake service; it is closed when the test ends.
type Service struct {
	URL string

	mu     sync.Mutex
	status int
	answer string
	got    []Request
}

// Start runs a service answering every request with status and answer.
func Start(t testing.TB, status int, answer string) *Service {
	t.Helper()
	s := &Service{status: status, answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: b})
		status, answer := s.status, s.answer
		s.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Answer changes what the following requests get.
func (s *Service) Answer(status int, answer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.answer = status, answer
}

// Last is the latest request; the test fails at once when there was none.
func (s *Service) Last(t testing.TB) Request {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) == 0 {
		t.Fatal("the sink sent nothing to the service")
	}
	return s.got[len(s.got)-1]
}

// LastJSON decodes the latest request's body into v.
func (s *Service) LastJSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(s.Last(t).Body, v); err != nil {
		t.Fatalf("the body is not JSON: %v", err)
	}
}

// Options routes the named sink to the service (as --sink-url does).
func (s *Service) Options(sink string) sinks.Options {
	return sinks.Options{BaseURLs: map[string]string{sink: s.URL}}
}
