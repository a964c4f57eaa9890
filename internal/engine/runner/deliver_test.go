package runner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/webhook"
)

// sinkCounts is a Recorder keeping the sink counts.
type sinkCounts struct {
	nopRecorder
	mu                    sync.Mutex
	sent, failed, dropped map[string]int
}

func newSinkCounts() *sinkCounts {
	return &sinkCounts{sent: map[string]int{}, failed: map[string]int{}, dropped: map[string]int{}}
}
func (c *sinkCounts) SinkSent(s string)    { c.mu.Lock(); c.sent[s]++; c.mu.Unlock() }
func (c *sinkCounts) SinkFailed(s string)  { c.mu.Lock(); c.failed[s]++; c.mu.Unlock() }
func (c *sinkCounts) SinkDropped(s string) { c.mu.Lock(); c.dropped[s]++; c.mu.Unlock() }
func (c *sinkCounts) get(m map[string]int, s string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return m[s]
}

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, format+"\n", args...)
}
func (l *logBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func hookSink(t *testing.T, name, url string) sinks.Sink {
	t.Helper()
	s, err := webhook.New(sinks.Config{Type: "webhook_sink", Params: map[string]any{"name": name, "url": url, "format": "json", "authorization": "Bearer tok-s3cret"}}, sinks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fastBox(s sinks.Sink, size, steps int, lg *logBuf, rec Recorder) *outbox {
	o := newOutbox(s, size, lg.logf, rec)
	o.backoff = wait.Backoff{Duration: 10 * time.Millisecond, Factor: 2, Steps: steps}
	return o
}

// A 500 then a 200: the finding arrives once and counts as sent.
func TestOutboxRetryDeliversOnce(t *testing.T) {
	var hits, delivered atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.WriteHeader(500)
			return
		}
		delivered.Add(1)
	}))
	defer srv.Close()
	rec, lg := newSinkCounts(), &logBuf{}
	d := &dispatcher{boxes: map[string]*outbox{"h": fastBox(hookSink(t, "h", srv.URL), 10, 5, lg, rec)}, routes: []sinks.Route{{Name: "h", Default: true}}}
	d.start(context.Background())
	sendOne(d, &engine.Finding{Title: "t"}, nil)
	d.close(context.Background())
	if hits.Load() != 2 || delivered.Load() != 1 || rec.get(rec.sent, "h") != 1 || rec.get(rec.failed, "h") != 0 {
		t.Errorf("hits=%d delivered=%d sent=%v failed=%v", hits.Load(), delivered.Load(), rec.sent, rec.failed)
	}
}

// A stuck sink neither blocks dispatch nor the other sinks; past its queue it drops,
// counted and logged.
func TestOutboxStuckSinkDoesNotBlock(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	var fastHits atomic.Int32
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fastHits.Add(1) }))
	defer fast.Close()
	rec, lg := newSinkCounts(), &logBuf{}
	const size, n = 20, 70
	d := &dispatcher{boxes: map[string]*outbox{
		"slow": fastBox(hookSink(t, "slow", slow.URL), size, 1, lg, rec),
		"fast": fastBox(hookSink(t, "fast", fast.URL), n, 1, lg, rec),
	}, routes: []sinks.Route{{Name: "slow", Default: true}, {Name: "fast", Default: true}}}
	d.start(context.Background())
	start := time.Now()
	for i := 0; i < n; i++ {
		sendOne(d, &engine.Finding{Title: fmt.Sprint(i)}, nil)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("dispatching %d findings took %v with a stuck sink", n, el)
	}
	// One is in flight, size wait, the rest are dropped.
	if got := rec.get(rec.dropped, "slow"); got < n-size-1 {
		t.Errorf("slow sink dropped %d, want at least %d", got, n-size-1)
	}
	if !strings.Contains(lg.String(), "queue full") {
		t.Errorf("drops not logged:\n%s", lg.String())
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return fastHits.Load() == n, nil
	}); err != nil {
		t.Errorf("fast sink got %d of %d behind a stuck one", fastHits.Load(), n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	d.close(ctx) // returns at ctx's end though the slow sink is stuck
}

// A sink that keeps failing gives up after its attempts, counted as failed, and the
// log names the attempts without the secrets of the URL or the header.
func TestOutboxGivesUpWithoutSecrets(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(503)
	}))
	defer srv.Close()
	rec, lg := newSinkCounts(), &logBuf{}
	d := &dispatcher{boxes: map[string]*outbox{
		"h":    fastBox(hookSink(t, "h", srv.URL), 10, 3, lg, rec),
		"dead": fastBox(hookSink(t, "dead", "http://127.0.0.1:1/bot-tok-s3cret/send"), 10, 2, lg, rec),
	}, routes: []sinks.Route{{Name: "h", Default: true}, {Name: "dead", Default: true}},
		unknown: func(n string) { lg.logf("unknown sink %s", n) }}
	d.start(context.Background())
	sendOne(d, &engine.Finding{Title: "t"}, nil)
	sendOne(d, &engine.Finding{Title: "t2"}, []string{"h", "missing"})
	d.close(context.Background())
	if hits.Load() != 6 || rec.get(rec.failed, "h") != 2 || rec.get(rec.sent, "h") != 0 || rec.get(rec.failed, "dead") != 1 {
		t.Errorf("hits=%d failed=%v sent=%v, want 3 attempts per finding and 2 failures", hits.Load(), rec.failed, rec.sent)
	}
	out := lg.String()
	if !strings.Contains(out, "not delivered after 3 attempt(s)") || !strings.Contains(out, "unknown sink missing") {
		t.Errorf("logs lack the attempts or the unknown sink:\n%s", out)
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("a secret reached the logs:\n%s", out)
	}
}

// A refusal for good (no retry) is one attempt.
func TestOutboxNoRetryOnRefusal(t *testing.T) {
	rec, lg := newSinkCounts(), &logBuf{}
	s := &funcSink{name: "r", send: func() (bool, error) { return false, errors.New("bad payload") }}
	d := &dispatcher{boxes: map[string]*outbox{"r": fastBox(s, 5, 5, lg, rec)}, routes: []sinks.Route{{Name: "r", Default: true}}}
	d.start(context.Background())
	sendOne(d, &engine.Finding{Title: "t"}, nil)
	d.close(context.Background())
	if s.calls.Load() != 1 || rec.get(rec.failed, "r") != 1 {
		t.Errorf("calls=%d failed=%v", s.calls.Load(), rec.failed)
	}
}

type funcSink struct {
	name  string
	calls atomic.Int32
	send  func() (bool, error)
}

func (f *funcSink) Name() string { return f.name }
func (f *funcSink) Type() string { return "func" }
func (f *funcSink) Send(context.Context, *engine.Finding) (bool, error) {
	f.calls.Add(1)
	return f.send()
}

// The runner routes through the sinks' scope and match: a sink excluding the
// namespace gets nothing from it, the playbook's named sinks pass their match too,
// and a sink of a type the engine lacks still ends the list with its stop.
func TestRunnerRoutesByScopeAndMatch(t *testing.T) {
	cfg := load(t, `sinksConfig:
- file_sink: {name: all, file_name: /unused}
- file_sink: {name: not-prod, file_name: /unused, scope: {exclude: [{namespace: prod}]}}
- file_sink: {name: high-only, file_name: /unused, default: false, match: {severity: HIGH}}
- file_sink: {name: info-only, file_name: /unused, default: false, match: {severity: INFO}}
customPlaybooks:
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "default $name", aggregation_key: a}}]
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "named $name", aggregation_key: b}}]
  sinks: [high-only, info-only, missing]
`)
	got := map[string]*memSink{}
	lg := &logBuf{}
	r := &Runner{Workers: 1, Logf: lg.logf, NewSink: func(c sinks.Config) (sinks.Sink, string, error) {
		s := &memSink{name: c.Name()}
		got[s.name] = s
		return s, "", nil
	}}
	if err := r.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	r.Submit(crashingPod("api-1"))
	stop, c := context.WithTimeout(context.Background(), 5*time.Second)
	defer c()
	r.Stop(stop)
	for name, want := range map[string]string{"all": "[default api-1]", "not-prod": "[]", "high-only": "[named api-1]", "info-only": "[]"} {
		if titles := fmt.Sprint(got[name].titles()); titles != want {
			t.Errorf("sink %s got %s, want %s", name, titles, want)
		}
	}
	if !strings.Contains(lg.String(), "names sink missing, which sinksConfig does not have") {
		t.Errorf("unknown sink not logged:\n%s", lg.String())
	}
}

func TestRunnerRefusesBadSinkRouting(t *testing.T) {
	for _, c := range []struct{ sinks, want string }{
		{"- file_sink: {name: a, file_name: x}\n- webhook_sink: {name: a, url: http://x}", "two sinks are named a"},
		{"- file_sink: {name: a, file_name: x, match: {colour: red}}", `unknown attribute "colour"`},
		{"- file_sink: {name: a, file_name: x, scope: {include: [{name: '('}]}}", "bad regex"},
	} {
		cfg := &Config{}
		for _, l := range strings.Split(c.sinks, "\n") {
			var m []map[string]map[string]any
			if err := yaml.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			for typ, p := range m[0] {
				cfg.Sinks = append(cfg.Sinks, SinkConfig{Type: typ, Name: p["name"].(string), Params: p})
			}
		}
		r := &Runner{Workers: 1}
		err := r.Start(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.sinks, err, c.want)
		}
	}
}

// sendOne delivers an event that made the one finding f for a playbook naming the
// given sinks.
func sendOne(d *dispatcher, f *engine.Finding, named []string) {
	ef := newEventFindings()
	ef.addFinding(append([]string{terminalKey}, d.sinksOf(named)...), f)
	d.deliver(ef)
}
