package runner

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

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
		err := wait.ExponentialBackoffWithContext(ctx, o.backoff, func(ctx context.Context) (bool, error) {
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
			o.logf("sink %s: finding %q not delivered: %v", o.sink.Name(), f.Title, last)
			continue
		}
		o.rec.SinkSent(o.sink.Name())
	}
}

// dispatcher routes findings to the sinks: the playbook's named sinks when it names
// some, else every sink whose default is not false.
type dispatcher struct {
	boxes   map[string]*outbox
	order   []string
	always  []*outbox // stdout: every finding, whatever the playbook names
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
	for _, n := range d.order {
		out = append(out, d.boxes[n])
	}
	return out
}

func (d *dispatcher) dispatch(f *engine.Finding, named []string, defaults map[string]bool) {
	for _, b := range d.always {
		b.offer(f)
	}
	if len(named) > 0 {
		for _, n := range named {
			if b, ok := d.boxes[n]; ok {
				b.offer(f)
			} else if d.unknown != nil {
				d.unknown(n)
			}
		}
		return
	}
	for _, n := range d.order {
		if defaults[n] {
			d.boxes[n].offer(f)
		}
	}
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
