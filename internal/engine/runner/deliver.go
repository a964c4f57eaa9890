package runner

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// sendTimeout bounds one Send call.
const sendTimeout = 30 * time.Second

// outbox delivers to one sink from its own goroutine, so a slow or failing sink never
// holds up event intake or the other sinks: a bounded queue, retries with exponential
// backoff for what the sink says may succeed later, and a count of what was dropped.
type outbox struct {
	sink    sinks.Sink
	queue   chan *engine.Finding
	backoff wait.Backoff
	logf    func(string, ...any)
	rec     Recorder
	dropped atomic.Int64
	done    chan struct{}
}

func newOutbox(s sinks.Sink, size int, logf func(string, ...any), rec Recorder) *outbox {
	o := &outbox{sink: s, queue: make(chan *engine.Finding, size), logf: logf, rec: rec, done: make(chan struct{}),
		backoff: wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 5, Cap: 10 * time.Second}}
	return o
}

// offer queues a finding; a full queue drops it and counts it.
func (o *outbox) offer(f *engine.Finding) {
	select {
	case o.queue <- f:
	default:
		n := o.dropped.Add(1)
		o.rec.SinkDropped(o.sink.Name())
		o.logf("sink %s: queue full, finding %q dropped (%d dropped so far)", o.sink.Name(), f.Title, n)
	}
}

// run delivers until the queue is closed and empty, or ctx ends.
func (o *outbox) run(ctx context.Context) {
	defer close(o.done)
	for f := range o.queue {
		var last error
		attempts := 0
		err := wait.ExponentialBackoffWithContext(ctx, o.backoff, func(ctx context.Context) (bool, error) {
			attempts++
			// One stuck call must not hold the sink's queue forever.
			ctx, cancel := context.WithTimeout(ctx, sendTimeout)
			defer cancel()
			retry, err := o.sink.Send(ctx, f)
			if err == nil {
				return true, nil
			}
			last = err
			if !retry {
				return false, err
			}
			return false, nil
		})
		if err != nil {
			if last == nil {
				last = err
			}
			o.rec.SinkFailed(o.sink.Name())
			o.logf("sink %s: finding %q not delivered after %d attempt(s): %v", o.sink.Name(), f.Title, attempts, last)
			continue
		}
		o.rec.SinkSent(o.sink.Name())
	}
}

// dispatcher hands an event's findings to the sinks as the runner's finding handler
// does (sinks.Plan): each sink's findings through its scope and match, up to the first
// one a sink with stop takes.
type dispatcher struct {
	// routes are every sinksConfig entry in order, boxes the ones this engine
	// delivers to: a skipped sink still routes (its stop still ends the delivery).
	routes  []sinks.Route
	boxes   map[string]*outbox
	always  []*outbox // the terminal: every finding, whatever the playbook names
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	unknown func(string)
}

func (d *dispatcher) start(ctx context.Context) {
	ctx, d.cancel = context.WithCancel(ctx)
	for _, b := range d.all() {
		d.wg.Add(1)
		go func(b *outbox) { defer d.wg.Done(); b.run(ctx) }(b)
	}
}

func (d *dispatcher) all() []*outbox {
	out := append([]*outbox(nil), d.always...)
	for _, r := range d.routes {
		if b, ok := d.boxes[r.Name]; ok {
			out = append(out, b)
		}
	}
	return out
}

// sinksOf is a playbook's sinks: the ones it names, else the default ones (the
// runner treats an empty list as none named).
func (d *dispatcher) sinksOf(named []string) []string {
	if len(named) > 0 {
		return named
	}
	return sinks.DefaultSinks(d.routes)
}

// deliver queues an event's findings for the sinks and says how many findings the
// event made (the terminal's count).
func (d *dispatcher) deliver(ef *eventFindings) int {
	made := ef.bySink[terminalKey]
	for _, f := range made {
		f.SetFingerprint()
		for _, b := range d.always {
			b.offer(f)
		}
	}
	order := make([]string, 0, len(ef.order))
	for _, k := range ef.order {
		if k != terminalKey {
			order = append(order, k)
		}
	}
	plan, unknown := sinks.Plan(d.routes, order, ef.bySink, time.Now())
	for _, n := range unknown {
		if d.unknown != nil {
			d.unknown(n)
		}
	}
	for _, p := range plan {
		p.Finding.SetFingerprint()
		if b, ok := d.boxes[p.Sink]; ok {
			b.offer(p.Finding)
		}
	}
	return len(made)
}

// close lets the outboxes drain until ctx ends, then stops them.
func (d *dispatcher) close(ctx context.Context) {
	for _, b := range d.all() {
		close(b.queue)
	}
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	d.cancel()
	d.wg.Wait()
}

// installSinks builds the routes and outboxes of cfg's sinksConfig into d. Every
// entry routes; the ones NewSink cannot build are named and skipped.
func (r *Runner) installSinks(cfg *Config, d *dispatcher) error {
	for _, sc := range cfg.Sinks {
		route, err := sinks.ParseRoute(sc.Params)
		if err != nil {
			return fmt.Errorf("sinksConfig %s: %w", sc.Type, err)
		}
		for _, prev := range d.routes {
			if prev.Name == route.Name {
				return fmt.Errorf("sinksConfig: two sinks are named %s; give each sink its own name", route.Name)
			}
		}
		route.NamespaceLabels = r.namespaceLabels
		if g, ok := sc.Params["grouping"]; ok && g != nil && sc.Type != "slack_sink" {
			// Only the runner's Slack sink groups; the others warn and send each finding.
			r.Logf("! sink %s: %s sinks do not support grouping; each finding is sent on its own", route.Name, sc.Type)
		}
		d.routes = append(d.routes, route)
		if r.NewSink == nil {
			continue
		}
		s, skip, err := r.NewSink(sinks.Config{Type: sc.Type, Params: sc.Params})
		if err != nil {
			return err // the sinks' errors name the sink
		}
		if s == nil {
			r.Logf("! skipped: sink %s: %s", sc.Name, skip)
			continue
		}
		d.boxes[sc.Name] = newOutbox(s, r.QueueSize, r.Logf, r.Rec)
	}
	return nil
}

// nsLabelsTTL is how long the namespaces' labels are kept. The runner keeps them 30
// minutes; a minute here, so a label changed while developing is seen soon.
const nsLabelsTTL = time.Minute

// nsLabels caches every namespace's labels, listed at once as the runner does, for
// sink scopes on namespace_labels.
type nsLabels struct {
	mu   sync.Mutex
	at   time.Time
	byNS map[string]map[string]string
}

// namespaceLabels is ns's labels; nil without a cluster or when the list fails
// (logged), as the runner then sees no labels.
func (r *Runner) namespaceLabels(ns string) map[string]string {
	if r.KF == nil || ns == "" {
		return nil
	}
	c := &r.nsl
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byNS == nil || time.Since(c.at) > nsLabelsTTL {
		c.byNS, c.at = map[string]map[string]string{}, time.Now()
		cs, err := r.KF.Clientset()
		if err == nil {
			ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
			defer cancel()
			var list *corev1.NamespaceList
			if list, err = cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil {
				for _, n := range list.Items {
					c.byNS[n.Name] = n.Labels
				}
			}
		}
		if err != nil {
			r.Logf("sink scopes see no namespace labels: listing namespaces: %v", err)
		}
	}
	return c.byNS[ns]
}
