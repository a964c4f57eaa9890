package sinks

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// Recorder is told about each finding's fate per sink; the runner feeds its metrics
// from it. Calls come from the sinks' worker goroutines.
type Recorder interface {
	SinkSent(sink string)
	SinkFailed(sink string)
	SinkDropped(sink string)
}

type nopRecorder struct{}

func (nopRecorder) SinkSent(string)    {}
func (nopRecorder) SinkFailed(string)  {}
func (nopRecorder) SinkDropped(string) {}

// Delivery limits. Vars so tests can shorten the backoff.
var (
	// QueueSize bounds the findings waiting per sink; beyond it Dispatch drops.
	QueueSize = 256
	// Backoff is applied between attempts while Send says retry; Steps bounds attempts.
	Backoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 5, Cap: 30 * time.Second}
	// SendTimeout bounds one Send call.
	SendTimeout = 30 * time.Second
)

// Factory builds a sink from its config entry.
type Factory func(c Config, r Route, opts Options) (Sink, error)

// Set is the configured sinks with their routing and one delivery queue each.
// Dispatch never blocks; Close drains the queues.
type Set struct {
	opts        Options
	routes      []Route
	workers     map[string]*worker
	unsupported []string
	skipped     map[string]bool // names of the unsupported sinks

	mu       sync.Mutex
	recorder Recorder
	closed   bool
	wg       sync.WaitGroup
	stop     context.CancelFunc
	ctx      context.Context
}

type worker struct {
	sink  Sink
	queue chan *engine.Finding
}

// NewSet builds a Set from built sinks with their routes (same order as sinksConfig,
// which matters for stop). unsupported lists "name (type)" entries that were skipped.
func NewSet(entries []Entry, unsupported []Unsupported, opts Options) (*Set, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Set{opts: opts, workers: map[string]*worker{}, skipped: map[string]bool{}, recorder: opts.Recorder, ctx: ctx, stop: cancel}
	for _, u := range unsupported {
		s.skipped[u.Name] = true
		s.unsupported = append(s.unsupported, fmt.Sprintf("%s (%s)", u.Name, u.Type))
	}
	if s.recorder == nil {
		s.recorder = nopRecorder{}
	}
	for _, e := range entries {
		name := e.Sink.Name()
		if _, dup := s.workers[name]; dup {
			cancel()
			return nil, fmt.Errorf("sinksConfig: two sinks are named %q; give each sink a unique name", name)
		}
		w := &worker{sink: e.Sink, queue: make(chan *engine.Finding, QueueSize)}
		s.workers[name] = w
		s.routes = append(s.routes, e.Route)
		s.wg.Add(1)
		go s.run(w)
	}
	return s, nil
}

// Unsupported is a sinksConfig entry of a type this build does not deliver to.
type Unsupported struct{ Name, Type string }

// Entry is one built sink and its routing.
type Entry struct {
	Sink  Sink
	Route Route
}

// SetRecorder replaces the recorder; nil restores the no-op one.
func (s *Set) SetRecorder(r Recorder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r == nil {
		r = nopRecorder{}
	}
	s.recorder = r
}

func (s *Set) rec() Recorder {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recorder
}

// Names returns the names of the sinks that deliver, sorted.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.workers))
	for n := range s.workers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Unsupported returns "name (type)" for each sinksConfig entry whose type this build
// cannot deliver to; the runner names them at start-up.
func (s *Set) Unsupported() []string { return append([]string(nil), s.unsupported...) }

// CheckPlaybookSinks returns an error naming any sink a playbook lists that is not in
// sinksConfig, so the runner can refuse the config at load time. Sinks of an
// unsupported type are configured (and already named by Unsupported), so not an error.
func (s *Set) CheckPlaybookSinks(names []string) error {
	var bad []string
	for _, n := range names {
		if _, ok := s.workers[n]; !ok && !s.skipped[n] {
			bad = append(bad, n)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("playbook names unknown sinks %q; configured sinks are %q: add them to sinksConfig or fix the names", bad, s.Names())
	}
	return nil
}

// Targets returns the sink names a finding goes to: the playbook's sinks when it names
// some, else each default sink whose match/scope accepts it, in config order, stopping
// after a matching sink with stop: true.
func (s *Set) Targets(f *engine.Finding, playbookSinks []string) ([]string, error) {
	if len(playbookSinks) > 0 {
		var out []string
		for _, n := range playbookSinks {
			if _, ok := s.workers[n]; ok {
				out = append(out, n)
			}
		}
		return out, s.CheckPlaybookSinks(playbookSinks)
	}
	var out []string
	for _, r := range s.routes {
		if !r.Default {
			continue
		}
		if !r.Accepts(f) {
			continue
		}
		out = append(out, r.Name)
		if r.Stop {
			break
		}
	}
	return out, nil
}

// Dispatch queues f for its target sinks without blocking. A full queue drops the
// finding for that sink (logged, recorded). Unknown playbook sinks are logged and the
// known ones still get the finding.
func (s *Set) Dispatch(f *engine.Finding, playbookSinks []string) {
	targets, err := s.Targets(f, playbookSinks)
	if err != nil {
		s.logf("%v", err)
	}
	// The lock spans the sends so Close cannot close a queue under us; sends never block.
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range targets {
		w := s.workers[n]
		if s.closed {
			s.recorder.SinkDropped(n)
			s.logf("sink %s: finding %q dropped: sinks are shutting down", n, f.Title)
			continue
		}
		select {
		case w.queue <- f:
		default:
			s.recorder.SinkDropped(n)
			s.logf("sink %s: queue full (%d), finding %q dropped", n, QueueSize, f.Title)
		}
	}
}

func (s *Set) run(w *worker) {
	defer s.wg.Done()
	for f := range w.queue {
		s.deliver(w.sink, f)
	}
}

func (s *Set) deliver(sk Sink, f *engine.Finding) {
	name := sk.Name()
	var lastErr error
	attempts := 0
	err := wait.ExponentialBackoffWithContext(s.ctx, Backoff, func(ctx context.Context) (bool, error) {
		attempts++
		sctx, cancel := context.WithTimeout(ctx, SendTimeout)
		defer cancel()
		retry, err := sk.Send(sctx, f)
		if err == nil {
			return true, nil
		}
		lastErr = err
		if !retry {
			return false, err
		}
		return false, nil
	})
	switch {
	case err == nil:
		s.rec().SinkSent(name)
	case lastErr != nil && errors.Is(err, lastErr):
		// Send refused it for good (bad payload, credentials): no retry.
		s.rec().SinkFailed(name)
		s.logf("sink %s: finding %q not delivered: %v", name, f.Title, lastErr)
	default:
		// Retries exhausted, or Close gave up waiting.
		s.rec().SinkDropped(name)
		s.logf("sink %s: finding %q dropped after %d attempts: %v (last error: %v)", name, f.Title, attempts, err, lastErr)
	}
}

// Close stops intake and waits for the queues to drain, up to ctx; what is left when
// ctx ends is abandoned (retries are cut short).
func (s *Set) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	for _, w := range s.workers {
		close(w.queue)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.stop()
		return nil
	case <-ctx.Done():
		s.stop()
		<-done
		return fmt.Errorf("closing sinks: %w", ctx.Err())
	}
}

func (s *Set) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}
