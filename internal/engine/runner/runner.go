package runner

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/engine/triggers"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// Recorder receives the watch's counts (the metrics endpoint implements it).
type Recorder interface {
	EventSeen(trigger string)
	EventMatched(trigger string)
	ActionRun(action string)
	ActionFailed(action string)
	QueueDepth(n int)
	InformerLag(kind string, d time.Duration)
	SinkSent(sink string)
	SinkFailed(sink string)
	SinkDropped(sink string)
}

type nopRecorder struct{}

func (nopRecorder) EventSeen(string)                  {}
func (nopRecorder) EventMatched(string)               {}
func (nopRecorder) ActionRun(string)                  {}
func (nopRecorder) ActionFailed(string)               {}
func (nopRecorder) QueueDepth(int)                    {}
func (nopRecorder) InformerLag(string, time.Duration) {}
func (nopRecorder) SinkSent(string)                   {}
func (nopRecorder) SinkFailed(string)                 {}
func (nopRecorder) SinkDropped(string)                {}

// SinkFactory builds a sink from its sinksConfig entry; a nil sink with skip set
// means this engine does not run it, and why.
type SinkFactory func(cfg sinks.Config) (s sinks.Sink, skip string, err error)

// Runner runs a Config against incoming events.
type Runner struct {
	KF *kube.Factory
	// Find is where the runner pod is (-n, --runner-pod), for the actions that need it.
	Find kube.FindOptions
	// Apply lets mutating actions change the cluster (else server-side dry run).
	Apply bool
	// ActionTimeout bounds each action.
	ActionTimeout time.Duration
	// Workers run events in parallel; QueueSize bounds the events waiting.
	Workers, QueueSize int
	// Always are sinks that get every finding (the terminal).
	Always []sinks.Sink
	// NewSink builds the sinks of sinksConfig.
	NewSink SinkFactory
	Rec     Recorder
	Logf    func(format string, args ...any)
	// Schedule runs the on_schedule playbooks; nil leaves them unscheduled.
	Schedule *Scheduler

	// Counts for the status line: events queued, dropped and done; findings handed
	// to the sinks.
	queued, dropped, done, findings atomic.Int64

	cfg     atomic.Pointer[loaded]
	qmu     sync.RWMutex // Submit against Stop closing the queue
	closed  bool
	queue   chan *triggers.Incoming
	limiter *engine.RateLimiter
	wg      sync.WaitGroup
	ctx     context.Context
	nsl     nsLabels // namespace labels for sink scopes
	// workloads are the top-level workloads seen, for the findings' owner workload.
	workloads engine.Workloads
}

// loaded is a config with its sinks, swapped whole on reload.
type loaded struct {
	cfg  *Config
	disp *dispatcher
}

// Start checks and installs cfg and starts the workers; they stop when ctx ends.
func (r *Runner) Start(ctx context.Context, cfg *Config) error {
	if r.Rec == nil {
		r.Rec = nopRecorder{}
	}
	if r.Logf == nil {
		r.Logf = func(string, ...any) {}
	}
	if r.Workers <= 0 {
		r.Workers = 4
	}
	if r.QueueSize <= 0 {
		r.QueueSize = 1000
	}
	if r.ActionTimeout <= 0 {
		r.ActionTimeout = time.Minute
	}
	r.ctx = ctx
	r.limiter = engine.NewRateLimiter()
	r.queue = make(chan *triggers.Incoming, r.QueueSize)
	if err := r.install(cfg); err != nil {
		return err
	}
	for i := 0; i < r.Workers; i++ {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for in := range r.queue {
				r.Rec.QueueDepth(len(r.queue))
				r.process(ctx, in)
				r.done.Add(1)
			}
		}()
	}
	return nil
}

// Install swaps in a new configuration (a reload); the old one's sinks drain in the
// background.
func (r *Runner) Install(cfg *Config) error { return r.install(cfg) }

func (r *Runner) install(cfg *Config) error {
	d := &dispatcher{boxes: map[string]*outbox{}, unknown: func(n string) {
		r.Logf("a playbook names sink %s, which sinksConfig does not have", n)
	}}
	for _, s := range r.Always {
		d.always = append(d.always, newOutbox(s, r.QueueSize, r.Logf, r.Rec))
	}
	if err := r.installSinks(cfg, d); err != nil {
		return err
	}
	d.start(r.ctx)
	old := r.cfg.Swap(&loaded{cfg: cfg, disp: d})
	if r.Schedule != nil {
		r.Schedule.Start(r.ctx, cfg, func(pb *Playbook, count int) {
			r.Submit(&triggers.Incoming{Event: scheduledEvent(count), ScheduleID: pb.ID, Received: time.Now()})
		}, r.Logf)
	}
	if old != nil {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			old.disp.close(ctx)
		}()
	}
	return nil
}

// Config is the running configuration.
func (r *Runner) Config() *Config { return r.cfg.Load().cfg }

// Submit queues an event; false when the queue is full and it was dropped.
func (r *Runner) Submit(in *triggers.Incoming) bool {
	r.qmu.RLock()
	defer r.qmu.RUnlock()
	if r.closed {
		return false
	}
	select {
	case r.queue <- in:
		r.queued.Add(1)
		r.Rec.QueueDepth(len(r.queue))
		return true
	default:
		r.dropped.Add(1)
		r.Logf("queue full (%d): %s event dropped", cap(r.queue), describe(in))
		return false
	}
}

// Stats are the runner's counts so far.
type Stats struct {
	// Queued, Dropped and Done count events: taken into the queue, refused by a full
	// queue, and processed by a worker.
	Queued, Dropped, Done int64
	// Waiting is the queue's length now, of Capacity.
	Waiting, Capacity int
	// Findings is how many findings went to the sinks.
	Findings int64
}

// Stats reads the counts; safe at any time after Start.
func (r *Runner) Stats() Stats {
	return Stats{Queued: r.queued.Load(), Dropped: r.dropped.Load(), Done: r.done.Load(),
		Waiting: len(r.queue), Capacity: cap(r.queue), Findings: r.findings.Load()}
}

// Stop closes the queue, lets the workers finish what is queued and the sinks
// deliver, until ctx ends.
func (r *Runner) Stop(ctx context.Context) {
	if r.Schedule != nil {
		r.Schedule.Stop()
	}
	r.qmu.Lock()
	r.closed = true
	close(r.queue)
	r.qmu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.Logf("stopping: events still queued or running were not finished")
	}
	r.cfg.Load().disp.close(ctx)
}

func describe(in *triggers.Incoming) string { return in.Name() }

// process runs the playbooks in order for one event: the first matching trigger of a
// playbook fires it; its actions run in order; a playbook with `stop: true` that fires
// ends the later playbooks. The findings the playbooks make are the event's, per
// sink, and go to the sinks once the last playbook has run, as in the runner.
func (r *Runner) process(ctx context.Context, in *triggers.Incoming) {
	if !in.Resolve() {
		r.Logf("%s event: its object could not be read, skipped", in.Name())
		return
	}
	l := r.cfg.Load()
	// As the runner's internal discovery playbook, which runs before the user's.
	r.workloads.Observe(in.Event)
	ef := newEventFindings()
	defer func() {
		ef.setWorkloads(&r.workloads)
		r.findings.Add(int64(l.disp.deliver(ef)))
	}()
	if in.ScheduleID != "" {
		// A scheduled run is for its own playbook only.
		for _, pb := range l.cfg.Playbooks {
			if pb.ID == in.ScheduleID {
				r.Rec.EventMatched("on_schedule")
				r.runPlaybook(ctx, pb, in, nil, l, ef)
				break // identical playbooks share the id and are one job, as in the runner
			}
		}
		return
	}
	for _, pb := range l.cfg.Playbooks {
		fired := false
		var diffs []engine.Diff
		for _, t := range pb.Triggers {
			r.Rec.EventSeen(t.Key())
			if !t.Matches(in) {
				continue
			}
			if rl, ok := t.(triggers.RateLimited); ok {
				if key, period, ok := rl.RateLimit(in); ok && !r.limiter.MarkAndTest(t.Key()+"_"+pb.ID, key, period) {
					continue
				}
			}
			r.Rec.EventMatched(t.Key())
			fired = true
			if d, ok := t.(triggers.Differ); ok {
				diffs = d.Diffs(in)
			}
			break
		}
		if !fired {
			continue
		}
		// A silencer (stop_processing) ends the event as `stop: true` does.
		if silenced := r.runPlaybook(ctx, pb, in, diffs, l, ef); pb.Stop || silenced {
			return
		}
	}
}

// runPlaybook runs one playbook's actions into the event's findings ef, for the
// playbook's sinks (its own list, else the default sinks) and the terminal. An action
// that stops the chain (engine.Run.Stop) ends this playbook only; it reports whether
// a silencer stopped the event's processing (engine.Run.StopProcessing). As in the
// runner, a finding made before the silencer ran is still sent.
//
// The actions work on one finding, as in `local run`; after each, what it did becomes
// the runner's operation on the event's findings (see eventFindings.record): a new
// finding, blocks for the active findings, or changes to the findings there are.
func (r *Runner) runPlaybook(ctx context.Context, pb *Playbook, in *triggers.Incoming, diffs []engine.Diff, l *loaded, ef *eventFindings) bool {
	// Each playbook gets its own copy of the event, as the runner builds one execution
	// event per trigger: the filtered differences are that trigger's.
	ev := *in.Event
	ev.Diffs, ev.Triggered = diffs, true
	e := &ev
	def := func() *engine.Finding {
		f := engine.NewFinding(e, defaultTitle(e))
		if e.Alert == nil {
			f.Source = "kubernetes_api_server"
			f.AggregationKey = defaultKey(e)
		}
		return f
	}
	keys := append([]string{terminalKey}, l.disp.sinksOf(pb.Sinks)...)
	run := &engine.Run{Event: e, KF: r.KF, Runner: r.Find, Apply: r.Apply, Limiter: r.limiter, Finding: def()}
	if a := ef.active(keys); a != nil {
		// An earlier playbook made a finding for these sinks: customise_finding
		// changes it, so it must see that there is one.
		c := cloneFinding(a)
		c.SetFingerprint()
		run.Finding.Fingerprint = c.Fingerprint
	}
	for _, s := range pb.Steps {
		m := markOf(run.Finding)
		r.Rec.ActionRun(s.Action.Name)
		if err := r.runAction(ctx, run, s); err != nil {
			r.Rec.ActionFailed(s.Action.Name)
			r.Logf("playbook %s: %s on %s: %v", pb.label(), s.Action.Name, describe(in), err)
			run.Finding.AddEnrichment("Error", engine.Markdown(fmt.Sprintf("Action %s failed: %v", s.Action.Name, err)))
		}
		ef.record(keys, s.Action.Name, m, run.Finding, def)
		if run.Stop {
			break
		}
	}
	for _, n := range run.Notes {
		r.Logf("playbook %s: %s", pb.label(), n)
	}
	return run.StopProcessing
}

func (pb *Playbook) label() string {
	if pb.Name != "" {
		return pb.Name
	}
	return fmt.Sprintf("#%d", pb.Index+1)
}

// runAction runs one action with its timeout; a panic becomes its error.
func (r *Runner) runAction(ctx context.Context, run *engine.Run, s engine.Step) (err error) {
	ctx, cancel := context.WithTimeout(ctx, r.ActionTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v (%s)", p, firstFrame(debug.Stack()))
		}
	}()
	if !s.Action.Accepts(run.Event) {
		return fmt.Errorf("it takes a %s, and this event is a %s", s.Action.Event, run.Event.Class)
	}
	return s.Action.Execute(ctx, run, s.Params)
}

// firstFrame is the panicking function's line, for the log (not a stack trace).
func firstFrame(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") && i+3 < len(lines) {
			return strings.TrimSpace(lines[i+3])
		}
	}
	return "unknown place"
}

// defaultTitle is the title of the event's default finding, the one enrichments go
// to when no action made a finding, as the runner's create_default_finding words it:
// "Update to pod NAME" for a Kubernetes change, "General scheduled task" for a
// schedule, "Robusta notification" otherwise.
func defaultTitle(e *engine.Event) string {
	op := strings.ToLower(e.Operation)
	switch {
	case e.Class == scheduledEvent(0).Class:
		return "General scheduled task"
	case e.Obj != nil && op != "":
		return fmt.Sprintf("%s to %s %s", strings.ToUpper(op[:1])+op[1:], strings.ToLower(e.Kind), e.Obj.GetName())
	case op != "":
		return "Kubernetes " + op
	}
	return "Robusta notification"
}

// defaultKey is the default finding's aggregation key, as the runner sets it.
func defaultKey(e *engine.Event) string {
	switch {
	case e.Class == scheduledEvent(0).Class:
		return "GeneralScheduledTask"
	case e.Operation != "":
		return "GenericChange"
	}
	return "GenericFindingKey"
}
