// Command events measures the local engine's event actions over many Events and the
// start-up of `local run` (issue 14). It starts a sandbox cluster, creates -events
// events.k8s.io/v1 Events (parallel creates, -per-object events about each of
// -events/-per-object objects, a Warning among them for one object in -warned), then
// runs, interleaved, whole processes through rsswrap (wall time and peak RSS from the
// child's rusage):
//
//   - `robusta local run event_history` (sweeps every Event of the cluster),
//   - `robusta local run warning_events_report` on one Warning Event (the runner runs it
//     once per event; it reads that event only),
//   - `kubectl get events.events.k8s.io -A -o json`, the peer that lists the same events,
//   - an in-process paged list of the same events with a new client (the API's own cost);
//
// and for start-up: `robusta version`, `robusta local run get_resource_yaml --pod NS/NAME`
// (a read-only pod action, finding printed) and two API round trips of a client that
// has just started (a new connection, two GETs of the pod). It prints a Markdown report
// for docs/PERFORMANCE.md.
//
//	go run ./hack/bench/events -n 5
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/robusta-dev/robusta-go/hack/bench/benchutil"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

const namespace = "bench-events"

func main() {
	n := flag.Int("n", 5, "timed runs of each command")
	events := flag.Int("events", 20000, "events to create")
	perObject := flag.Int("per-object", 10, "events about each object")
	warned := flag.Int("warned", 10, "one object in this many has a Warning event")
	workers := flag.Int("workers", 16, "parallel creates")
	flag.Parse()
	benchutil.Main(func() error { return run(*n, *events, *perObject, *warned, *workers) })
}

type subject struct {
	name  string
	bin   string
	args  []string
	check func(out []byte) error
	wall  []time.Duration
	rss   []int64
}

func run(n, events, perObject, warned, workers int) error {
	ctx := context.Background()
	env, err := benchutil.Start(ctx, "robusta-bench-events-")
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster
	if err := c.EnsureNamespace(ctx, namespace); err != nil {
		return err
	}
	if err := c.EnsureNode(ctx, sandbox.FakeNodeName); err != nil {
		return err
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: namespace},
		Spec: corev1.PodSpec{NodeName: sandbox.FakeNodeName, Containers: []corev1.Container{{Name: "app", Image: "web:1"}}}}
	if _, err := c.Client.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create pod: %w", err)
	}

	start := time.Now()
	firstWarning, err := createEvents(ctx, c.Config, events, perObject, warned, workers)
	if err != nil {
		return err
	}
	created := time.Since(start)
	fmt.Fprintf(os.Stderr, "created %d events in %s\n", events, benchutil.Secs(created))

	home := filepath.Join(env.Tmp, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		return err
	}
	penv := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_CACHE_HOME=" + home, "PATH=" + os.Getenv("PATH"), "KUBECONFIG=" + c.KubeconfigPath}
	objects := events / perObject
	warnedObjects := (objects + warned - 1) / warned
	groups := `warning_event_groups:=[{"matchers": ["BackOff"], "aggregation_key": "CrashLoop", "description": "$kind $name keeps crashing"}]`
	kubectl, _ := exec.LookPath("kubectl")
	sweeps := []*subject{
		{name: "`local run event_history`", bin: env.Bin, args: []string{"local", "run", "event_history"},
			check: wants(fmt.Sprintf("Event history: %d objects with Warning events", warnedObjects))},
		{name: "`local run warning_events_report` (one Warning event)", bin: env.Bin,
			args:  []string{"local", "run", "warning_events_report", "--kind", "event", "--name", firstWarning, "-n", namespace, "--operation", "create", groups},
			check: wants("keeps crashing")},
	}
	if kubectl != "" {
		sweeps = append(sweeps, &subject{name: "`kubectl get events.events.k8s.io -A -o json` (peer)", bin: kubectl,
			args: []string{"get", "events.events.k8s.io", "-A", "-o", "json"}, check: wants(`"kind": "List"`)})
	}
	startup := []*subject{
		{name: "`robusta version`", bin: env.Bin, args: []string{"version"}, check: wants("robusta")},
		{name: "`local run get_resource_yaml --pod` (finding as text)", bin: env.Bin,
			args: []string{"local", "run", "get_resource_yaml", "--pod", namespace + "/web"}, check: wants("web.yaml")},
	}
	var lists, trips []time.Duration
	floor := benchutil.Floor()
	for i := 0; i < n; i++ {
		for _, s := range append(append([]*subject{}, sweeps...), startup...) {
			d, rss, out, err := benchutil.Timed(penv, s.bin, s.args...)
			if err != nil {
				return err
			}
			if err := s.check(out); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			s.wall, s.rss = append(s.wall, d), append(s.rss, rss)
		}
		d, count, err := listAll(ctx, c.Config)
		if err != nil {
			return err
		}
		if count < events {
			return fmt.Errorf("the list found %d events, want at least %d", count, events)
		}
		lists = append(lists, d)
		if d, err = twoRoundTrips(ctx, c.Config); err != nil {
			return err
		}
		trips = append(trips, d)
	}

	fmt.Printf("Measured %s on %s/%s, %d CPUs, load %s: %d events.k8s.io/v1 Events (%d objects, %d events each, %d with a Warning) created in %s by %d parallel clients; median of %d interleaved runs. Peak RSS is getrusage of each command (floor %.1f MiB).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), benchutil.LoadAvg(),
		events, objects, perObject, warnedObjects, benchutil.Secs(created), workers, n, float64(floor)/1024)
	fmt.Println("| command | median | min | max | peak RSS |")
	fmt.Println("|---|---|---|---|---|")
	for _, s := range append(append([]*subject{}, sweeps...), startup...) {
		row(s.name, s.wall, s.rss)
	}
	row("paged list of the same events in process (new client, protobuf, 2,000 a page)", lists, nil)
	row("two API round trips (new client and connection, two GETs of the pod)", trips, nil)
	hist, version, local := benchutil.Median(sweeps[0].wall), benchutil.Median(startup[0].wall), benchutil.Median(startup[1].wall)
	fmt.Println()
	fmt.Printf("- event_history: %s, %.2fx the in-process list", benchutil.Secs(hist), float64(hist)/float64(benchutil.Median(lists)))
	if kubectl != "" {
		fmt.Printf(", %.2fx kubectl's", float64(hist)/float64(benchutil.Median(sweeps[2].wall)))
	}
	fmt.Println(" (target under 2 s and 150 MB).")
	base := version + benchutil.Median(trips)
	fmt.Printf("- `local run` start-up to finding: %s, %.2fx `robusta version` plus two round trips (%s; target under 3x).\n",
		benchutil.MS(local), float64(local)/float64(base), benchutil.MS(base))
	return nil
}

func row(name string, wall []time.Duration, rss []int64) {
	lo, hi := benchutil.Range(wall)
	peak := ""
	if len(rss) > 0 {
		var p int64
		for _, r := range rss {
			p = max(p, r)
		}
		peak = fmt.Sprintf("%.1f MiB", float64(p)/1024)
	}
	fmt.Printf("| %s | %s | %s | %s | %s |\n", name, benchutil.MS(benchutil.Median(wall)), benchutil.MS(lo), benchutil.MS(hi), peak)
}

func wants(s string) func([]byte) error {
	return func(out []byte) error {
		if !strings.Contains(string(out), s) {
			head := out
			if len(head) > 2000 {
				head = head[:2000]
			}
			return fmt.Errorf("output lacks %q:\n%s", s, head)
		}
		return nil
	}
}

// newClient is a clientset on a connection of its own: client-go shares transports
// between equal configs, but not between configs with their own dialer.
func newClient(cfg *rest.Config) (*kubernetes.Clientset, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Dial = (&net.Dialer{Timeout: 30 * time.Second}).DialContext
	return kubernetes.NewForConfig(cfg)
}

// fastClient is a new clientset without client-go's default rate limit.
func fastClient(cfg *rest.Config, protobuf bool) (*kubernetes.Clientset, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Dial = (&net.Dialer{Timeout: 30 * time.Second}).DialContext
	cfg.QPS, cfg.Burst = 5000, 10000
	if protobuf {
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
	}
	return kubernetes.NewForConfig(cfg)
}

// createEvents creates events about objects pod-00000, pod-00001, ...: perObject each,
// Normal ones, and for one object in warned a BackOff Warning too. It returns the name
// of the first Warning event.
func createEvents(ctx context.Context, cfg *rest.Config, total, perObject, warned, workers int) (string, error) {
	cs, err := fastClient(cfg, true)
	if err != nil {
		return "", err
	}
	now := time.Now()
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	reasons := []string{"Scheduled", "Pulling", "Pulled", "Created", "Started"}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				obj, k := i/perObject, i%perObject
				typ, reason, note := "Normal", reasons[k%len(reasons)], fmt.Sprintf("step %d of pod-%05d", k, obj)
				if obj%warned == 0 && k == perObject-1 {
					typ, reason, note = "Warning", "BackOff", fmt.Sprintf("Back-off restarting failed container app in pod pod-%05d", obj)
				}
				ev := &eventsv1.Event{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%05d.%02d", obj, k), Namespace: namespace},
					EventTime:  metav1.NewMicroTime(now.Add(time.Duration(i) * time.Millisecond)),
					Regarding:  corev1.ObjectReference{Kind: "Pod", Namespace: namespace, Name: fmt.Sprintf("pod-%05d", obj), APIVersion: "v1"},
					Reason:     reason, Note: note, Type: typ, Action: "Bench",
					ReportingController: "robusta.dev/bench", ReportingInstance: "bench-1",
				}
				if _, err := cs.EventsV1().Events(namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("create event %s: %w", ev.Name, err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return fmt.Sprintf("pod-%05d.%02d", 0, perObject-1), firstErr
}

// listAll pages through every events.k8s.io/v1 Event with a new client, as event_history
// does, and counts them.
func listAll(ctx context.Context, cfg *rest.Config) (time.Duration, int, error) {
	start := time.Now()
	cs, err := fastClient(cfg, true)
	if err != nil {
		return 0, 0, err
	}
	count := 0
	opts := metav1.ListOptions{Limit: 2000}
	for {
		list, err := cs.EventsV1().Events("").List(ctx, opts)
		if err != nil {
			return 0, 0, err
		}
		count += len(list.Items)
		if opts.Continue = list.Continue; opts.Continue == "" {
			return time.Since(start), count, nil
		}
	}
}

// twoRoundTrips is what a client that has just started pays for two requests: a new
// transport (so a new TLS connection) and two GETs of the pod.
func twoRoundTrips(ctx context.Context, cfg *rest.Config) (time.Duration, error) {
	start := time.Now()
	cs, err := newClient(cfg)
	if err != nil {
		return 0, err
	}
	for i := 0; i < 2; i++ {
		if _, err := cs.CoreV1().Pods(namespace).Get(ctx, "web", metav1.GetOptions{}); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
