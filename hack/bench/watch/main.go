// Command watch measures `robusta local watch` end to end on a sandbox cluster: pods
// are created in bursts while the watch (with --listen) and a bare client-go informer
// (./peer) watch them; every create must reach the watch's playbook (counted from its
// /metrics, with no event dropped), and the peak RSS (VmHWM) of both processes,
// measured in the same run, is compared. It prints a Markdown report.
//
//	go run ./hack/bench/watch -pods 5000 -burst 500
//
// The pods are bound to a node that does not exist, so they stay Pending and kwok
// adds no status churn: the events are the creates (and the watch sees nothing else).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/hack/bench/benchutil"
)

// profDir, when set, receives heap profiles (-memprofile).
var profDir string

// installed runs both processes from installed copies (benchutil.Install) rather than
// from the files `go build` wrote.
var installed bool

func main() {
	pods := flag.Int("pods", 5000, "pods to create")
	burst := flag.Int("burst", 500, "pods per burst")
	pause := flag.Duration("pause", time.Second, "pause between bursts")
	creators := flag.Int("creators", 8, "parallel creators within a burst")
	flag.StringVar(&profDir, "memprofile", "", "write heap profiles of both processes here: watch.peak.pprof (after the last burst), watch.pprof and peer.pprof (at exit)")
	flag.BoolVar(&installed, "installed", true, "run both binaries from copies written as an install writes them and dropped from the page cache (false: run the files go build wrote)")
	flag.Parse()
	benchutil.Main(func() error { return run(*pods, *burst, *creators, *pause) })
}

// proc is a child process whose output lines are kept.
type proc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
}

func start(env []string, name string, args ...string) (*proc, error) {
	p := &proc{cmd: exec.Command(name, args...)}
	p.cmd.Env = env
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
	}()
	return p, p.cmd.Start()
}

// find returns the last line matching re (its submatches), waiting up to d.
func (p *proc) find(re *regexp.Regexp, d time.Duration) ([]string, error) {
	deadline := time.Now().Add(d)
	for {
		p.mu.Lock()
		for i := len(p.lines) - 1; i >= 0; i-- {
			if m := re.FindStringSubmatch(p.lines[i]); m != nil {
				p.mu.Unlock()
				return m, nil
			}
		}
		out := strings.Join(p.lines, "\n")
		p.mu.Unlock()
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: no %q in %s:\n%s", filepath.Base(p.cmd.Path), re, d, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *proc) count(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

// rss is a live process's resident set from /proc (KiB): the peak, the current total
// and the current split into anonymous memory (heap, stacks) and file pages (mostly the
// executable's own pages, which grow with the binary, not with the pods watched).
type rss struct{ peak, now, anon, file int64 }

func hwm(pid int) (r rss, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return r, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			r.peak = v
		case "VmRSS:":
			r.now = v
		case "RssAnon:":
			r.anon = v
		case "RssFile:":
			r.file = v
		}
	}
	return r, nil
}

// metric sums the samples of one metric whose labels contain label.
func metric(addr, name, label string) (float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, name) || !strings.Contains(l, label) {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, nil
}

func run(n, burst, creators int, pause time.Duration) error {
	ctx := context.Background()
	load := benchutil.LoadAvg()
	e, err := benchutil.Start(ctx, "robusta-bench-watch-")
	if err != nil {
		return err
	}
	defer e.Close()
	peerBin := filepath.Join(e.Tmp, "peer")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", peerBin, "./hack/bench/watch/peer")
	build.Env = benchutil.ReleaseEnv() // built as robusta is
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the peer: %v\n%s", err, out)
	}
	watchBin := e.Bin
	if installed {
		watchBin, peerBin = filepath.Join(e.Tmp, "robusta.installed"), filepath.Join(e.Tmp, "peer.installed")
		for _, b := range [][2]string{{e.Bin, watchBin}, {filepath.Join(e.Tmp, "peer"), peerBin}} {
			if err := benchutil.Install(b[0], b[1]); err != nil {
				return err
			}
		}
	}
	c := e.Cluster
	ns := "bench-watch"
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		return err
	}
	sink := filepath.Join(e.Tmp, "findings.jsonl")
	values := filepath.Join(e.Tmp, "values.yaml")
	if err := os.WriteFile(values, []byte(`sinksConfig:
- file_sink: {name: out, file_name: `+sink+`}
customPlaybooks:
- triggers: [{on_pod_create: {name_prefix: bench-}}]
  actions: [{create_finding: {title: "created $name", aggregation_key: bench}}]
`), 0o600); err != nil {
		return err
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.Tmp, "XDG_CONFIG_HOME=" + filepath.Join(e.Tmp, "config"), "KUBECONFIG=" + c.KubeconfigPath}
	// The queue holds every event: the bursts must not be dropped on a loaded machine
	// (a drop is counted and reported if it happens anyway).
	wargs := []string{"local", "watch", "-f", values, "--quiet", "--listen", "127.0.0.1:0", "--no-auth",
		"--queue", strconv.Itoa(n + 1000), "--schedule-state", filepath.Join(e.Tmp, "state.json")}
	var pargs []string
	if profDir != "" {
		if err := os.MkdirAll(profDir, 0o700); err != nil {
			return err
		}
		wargs = append(wargs, "--memprofile", filepath.Join(profDir, "watch.pprof"))
		pargs = append(pargs, "-memprofile", filepath.Join(profDir, "peer.pprof"))
	}
	w, err := start(env, watchBin, wargs...)
	if err != nil {
		return err
	}
	defer w.stop()
	peer, err := start(env, peerBin, pargs...)
	if err != nil {
		return err
	}
	defer peer.stop()
	m, err := w.find(regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`), time.Minute)
	if err != nil {
		return err
	}
	addr := m[1]
	if _, err := w.find(regexp.MustCompile(`watching \[`), time.Minute); err != nil {
		return err
	}
	m, err = peer.find(regexp.MustCompile(`^synced (\d+)`), time.Minute)
	if err != nil {
		return err
	}
	peerBase, _ := strconv.Atoi(m[1])

	// Create the pods in bursts of parallel creators.
	var failed atomic.Int64
	began := time.Now()
	for done := 0; done < n; done += burst {
		size := min(burst, n-done)
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for i := 0; i < creators; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					k := int(next.Add(1)) - 1
					if k >= size {
						return
					}
					pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%05d", done+k), Namespace: ns,
						Labels: map[string]string{"app": "bench", "burst": strconv.Itoa(done / burst)}},
						Spec: corev1.PodSpec{NodeName: "no-such-node", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
					if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if done+size < n {
			time.Sleep(pause)
		}
	}
	created := int64(n) - failed.Load()
	createTime := time.Since(began)
	if profDir != "" {
		// The queue is fullest right after the last burst: keep that profile apart
		// from the one written at exit.
		_ = w.cmd.Process.Signal(syscall.SIGUSR1)
		time.Sleep(2 * time.Second)
		if b, err := os.ReadFile(filepath.Join(profDir, "watch.pprof")); err == nil {
			_ = os.WriteFile(filepath.Join(profDir, "watch.peak.pprof"), b, 0o600)
		}
	}

	// Wait until both have seen every create (or give up after a while).
	var matched float64
	peerSeen := 0
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		matched, err = metric(addr, "robusta_local_events_matched_total", `trigger="on_pod_create"`)
		if err != nil {
			return err
		}
		if m, err := peer.find(regexp.MustCompile(`^added (\d+)`), time.Second); err == nil {
			peerSeen, _ = strconv.Atoi(m[1])
			peerSeen -= peerBase
		}
		if int64(matched) >= created && int64(peerSeen) >= created {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	allDone := time.Since(began)
	seen, _ := metric(addr, "robusta_local_events_seen_total", `trigger="on_pod_create"`)
	runs, _ := metric(addr, "robusta_local_actions_run_total", `action="create_finding"`)
	sent, _ := metric(addr, "robusta_local_sink_sent_total", `sink="out"`)
	dropped := w.count("queue full")
	wr, err := hwm(w.cmd.Process.Pid)
	if err != nil {
		return err
	}
	pr, err := hwm(peer.cmd.Process.Pid)
	if err != nil {
		return err
	}
	wPeak, pPeak := wr.peak, pr.peak

	fmt.Printf("Pods: %d created (%d create calls failed) in bursts of %d (%d parallel creators, %s pause) in %s; all seen %s after the first create.\n\n",
		created, failed.Load(), burst, creators, pause, benchutil.Secs(createTime), benchutil.Secs(allDone))
	fmt.Printf("| | robusta local watch | bare client-go informer (peer) | ratio |\n|---|---|---|---|\n")
	fmt.Printf("| creates seen | %d matched on_pod_create (%d checked), %d create_finding runs, %d findings written, %d dropped | %d added | |\n",
		int64(matched), int64(seen), int64(runs), int64(sent), dropped, peerSeen)
	fmt.Printf("| peak RSS (VmHWM) | %.1f MiB | %.1f MiB | %.2fx |\n", float64(wPeak)/1024, float64(pPeak)/1024, float64(wPeak)/float64(pPeak))
	for _, row := range []struct {
		name string
		w, p int64
	}{{"RSS at the end (VmRSS)", wr.now, pr.now}, {"of which anonymous (RssAnon)", wr.anon, pr.anon}, {"of which file pages (RssFile)", wr.file, pr.file}} {
		fmt.Printf("| %s | %.1f MiB | %.1f MiB | %.2fx |\n", row.name, float64(row.w)/1024, float64(row.p)/1024, float64(row.w)/float64(row.p))
	}
	how := "as `go build` wrote them"
	if installed {
		how = "installed: copied with plain writes and dropped from the page cache (-installed)"
	}
	fmt.Printf("\nBinaries run %s. Load average before the run: %s.\n", how, load)
	ok := int64(matched) == created && dropped == 0 && int64(sent) == created && float64(wPeak) <= 1.5*float64(pPeak)
	if !ok {
		fmt.Println("\nTARGET NOT MET (every create matched and written, none dropped, peak RSS at most 1.5x the peer's).")
	} else {
		fmt.Println("\nTarget met: every create matched and written, none dropped, peak RSS at most 1.5x the peer's.")
	}
	return nil
}
