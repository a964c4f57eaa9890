package all

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

type counts struct {
	mu                    sync.Mutex
	sent, failed, dropped map[string]int
}

func newCounts() *counts {
	return &counts{sent: map[string]int{}, failed: map[string]int{}, dropped: map[string]int{}}
}
func (c *counts) SinkSent(s string)    { c.mu.Lock(); c.sent[s]++; c.mu.Unlock() }
func (c *counts) SinkFailed(s string)  { c.mu.Lock(); c.failed[s]++; c.mu.Unlock() }
func (c *counts) SinkDropped(s string) { c.mu.Lock(); c.dropped[s]++; c.mu.Unlock() }
func (c *counts) get(m map[string]int, s string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return m[s]
}

type logs struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, format+"\n", args...)
}
func (l *logs) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func fastBackoff(t *testing.T, steps int) {
	old := sinks.Backoff
	sinks.Backoff = wait.Backoff{Duration: 10 * time.Millisecond, Factor: 2, Steps: steps}
	t.Cleanup(func() { sinks.Backoff = old })
}

func hook(name, url string) sinks.Config {
	return sinks.Config{Type: "webhook_sink", Params: map[string]any{"name": name, "url": url, "format": "json", "authorization": "Bearer tok-s3cret"}}
}

func TestRetryDeliversOnce(t *testing.T) {
	fastBackoff(t, 5)
	var hits, delivered atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.WriteHeader(500)
			return
		}
		delivered.Add(1)
	}))
	defer srv.Close()
	rec, lg := newCounts(), &logs{}
	set, err := New([]sinks.Config{hook("h", srv.URL)}, sinks.Options{Recorder: rec, Logf: lg.logf})
	if err != nil {
		t.Fatal(err)
	}
	set.Dispatch(&engine.Finding{Title: "t"}, nil)
	if err := set.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 2 || delivered.Load() != 1 {
		t.Errorf("hits=%d delivered=%d, want 2 and 1", hits.Load(), delivered.Load())
	}
	if rec.get(rec.sent, "h") != 1 || rec.get(rec.failed, "h")+rec.get(rec.dropped, "h") != 0 {
		t.Errorf("recorder sent=%v failed=%v dropped=%v", rec.sent, rec.failed, rec.dropped)
	}
}

func TestSlowSinkDoesNotBlockDispatch(t *testing.T) {
	release := make(chan struct{})
	var fastHits atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fastHits.Add(1) }))
	defer fast.Close()
	rec, lg := newCounts(), &logs{}
	set, err := New([]sinks.Config{hook("slow", slow.URL), hook("fast", fast.URL)}, sinks.Options{Recorder: rec, Logf: lg.logf})
	if err != nil {
		t.Fatal(err)
	}
	n := sinks.QueueSize + 50
	start := time.Now()
	for i := 0; i < n; i++ {
		set.Dispatch(&engine.Finding{Title: fmt.Sprint(i)}, nil)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Dispatch of %d findings took %v with a stuck sink", n, d)
	}
	// Past the queue bound the stuck sink drops (the one in flight is not queued).
	if d := rec.get(rec.dropped, "slow"); d < 49 {
		t.Errorf("slow sink dropped %d, want at least 49", d)
	}
	if !strings.Contains(lg.String(), "queue full") {
		t.Errorf("drops not logged: %s", lg.String())
	}
	// The fast sink is not held back by the slow one: all it queued arrives.
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return int(fastHits.Load())+rec.get(rec.dropped, "fast") == n, nil
	}); err != nil || int(fastHits.Load()) < sinks.QueueSize {
		t.Errorf("fast sink got %d of %d (%d dropped)", fastHits.Load(), n, rec.get(rec.dropped, "fast"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := set.Close(ctx); err == nil {
		t.Errorf("Close with a stuck sink should report the timeout")
	}
}

func TestFailingSinkDropsAfterLimitWithoutSecrets(t *testing.T) {
	fastBackoff(t, 3)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(503)
	}))
	defer srv.Close()
	// A second sink whose URL carries the secret and cannot be reached.
	dead := "http://127.0.0.1:1/bot-tok-s3cret/send"
	rec, lg := newCounts(), &logs{}
	set, err := New([]sinks.Config{hook("h", srv.URL), hook("dead", dead)}, sinks.Options{Recorder: rec, Logf: lg.logf})
	if err != nil {
		t.Fatal(err)
	}
	set.Dispatch(&engine.Finding{Title: "t"}, nil)
	set.Dispatch(&engine.Finding{Title: "t2"}, []string{"h", "missing"})
	if err := set.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 6 || rec.get(rec.dropped, "h") != 2 || rec.get(rec.sent, "h") != 0 {
		t.Errorf("hits=%d dropped=%d sent=%d, want 6 attempts (3 each) and 2 drops", hits.Load(), rec.get(rec.dropped, "h"), rec.get(rec.sent, "h"))
	}
	out := lg.String()
	if !strings.Contains(out, "dropped after 3 attempts") || !strings.Contains(out, `unknown sinks ["missing"]`) {
		t.Errorf("logs lack the drop count or the unknown sink:\n%s", out)
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("a secret reached the logs:\n%s", out)
	}
}

func TestNewErrorsAndUnsupported(t *testing.T) {
	set, err := New([]sinks.Config{
		{Type: "zulip_sink", Params: map[string]any{"name": "z"}},
		{Type: "file_sink", Params: map[string]any{"name": "f", "file_name": t.TempDir() + "/f.jsonl"}},
	}, sinks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close(context.Background())
	if u := set.Unsupported(); len(u) != 1 || u[0] != "z (zulip_sink)" {
		t.Errorf("Unsupported = %v", u)
	}
	if err := set.CheckPlaybookSinks([]string{"z", "f"}); err != nil {
		t.Errorf("configured sinks refused: %v", err)
	}
	for _, c := range []struct {
		cfgs []sinks.Config
		want string
	}{
		{[]sinks.Config{hook("a", "http://x"), hook("a", "http://y")}, `two sinks are named "a"`},
		{[]sinks.Config{{Type: "webhook_sink", Params: map[string]any{"name": "w"}}}, `sinksConfig[0] (webhook_sink): sink w: missing required parameter "url"`},
		{[]sinks.Config{{Type: "file_sink", Params: map[string]any{"file_name": "x"}}}, "no name"},
	} {
		_, err := New(c.cfgs, sinks.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}
}
