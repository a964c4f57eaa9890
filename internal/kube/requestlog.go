package kube

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// requestLogger is the -v request log: one line per API request on stderr with method,
// path, status and duration. It never prints headers, bodies or query strings, which
// may carry tokens or secret content.
type requestLogger struct {
	next http.RoundTripper
	mu   *sync.Mutex // shared by every client of one factory: lines never interleave
	w    io.Writer
	now  func() time.Time
}

func (l *requestLogger) RoundTrip(req *http.Request) (*http.Response, error) {
	start := l.now()
	resp, err := l.next.RoundTrip(req)
	took := l.now().Sub(start).Round(time.Millisecond)
	status := ""
	if err != nil {
		status = "error: " + err.Error()
	} else {
		status = resp.Status
	}
	l.mu.Lock()
	fmt.Fprintf(l.w, "API %s %s %s (%s)\n", req.Method, req.URL.Path, status, took)
	l.mu.Unlock()
	return resp, err
}

// wrapRequestLog returns the rest.Config transport wrapper that logs to w.
func wrapRequestLog(w io.Writer) func(http.RoundTripper) http.RoundTripper {
	mu := &sync.Mutex{}
	return func(rt http.RoundTripper) http.RoundTripper {
		return &requestLogger{next: rt, mu: mu, w: w, now: time.Now}
	}
}
