// Package doctor checks, one line per check, whether the pieces robusta and the
// Robusta runner depend on are in place: cluster access, rights, the runner, its
// config, storage, Helm release, sinks and monitoring. Each check is green, yellow or
// red and says how to fix what it found.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

// Status of one check.
type Status string

const (
	Green   Status = "green"
	Yellow  Status = "yellow"
	Red     Status = "red"
	Skipped Status = "skipped" // a check it depends on did not pass
)

// Result is one line of the report.
type Result struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Status  Status   `json:"status"`
	Message string   `json:"message"`
	Fix     string   `json:"fix,omitempty"`
	Details []string `json:"details,omitempty"`
	// Millis is how long the check took.
	Millis int64 `json:"durationMs"`
}

// Summary counts results by status.
type Summary struct {
	Green   int `json:"green"`
	Yellow  int `json:"yellow"`
	Red     int `json:"red"`
	Skipped int `json:"skipped"`
}

// Report is the whole outcome.
type Report struct {
	Context   string   `json:"context,omitempty"`
	Server    string   `json:"server,omitempty"`
	Namespace string   `json:"namespace,omitempty"`
	Runner    string   `json:"runner,omitempty"`
	Checks    []Result `json:"checks"`
	Summary   Summary  `json:"summary"`
}

// Options of a run.
type Options struct {
	KF *kube.Factory
	// Find says where the runner is (--runner-pod, -n).
	Find kube.FindOptions
	// StoragePath is the runner's playbook storage folder.
	StoragePath string
	// Timeout bounds each check.
	Timeout time.Duration
	// CLIVersion is this binary's version.
	CLIVersion string
	// Known adds the actions of the user's own playbook repositories to the config
	// validation (--actions-from), as playbooks validate does.
	Known *config.Known
}

// Check IDs, in report order.
const (
	CheckKubeconfig   = "kubeconfig"
	CheckAPI          = "api"
	CheckRBAC         = "rbac"
	CheckRunner       = "runner"
	CheckHealth       = "runner-health"
	CheckVersions     = "versions"
	CheckConfig       = "config"
	CheckPVC          = "storage-pvc"
	CheckRepos        = "playbook-repos"
	CheckRelease      = "helm-release"
	CheckSinks        = "sinks"
	CheckPrometheus   = "prometheus"
	CheckAlertmanager = "alertmanager"
)

var order = []struct{ id, name string }{
	{CheckKubeconfig, "kubeconfig"},
	{CheckAPI, "API server"},
	{CheckRBAC, "RBAC"},
	{CheckRunner, "runner"},
	{CheckHealth, "runner health"},
	{CheckVersions, "versions"},
	{CheckConfig, "config Secret"},
	{CheckPVC, "storage PVC"},
	{CheckRepos, "playbookRepos"},
	{CheckRelease, "Helm release"},
	{CheckSinks, "sinks"},
	{CheckPrometheus, "Prometheus"},
	{CheckAlertmanager, "Alertmanager"},
}

// state is what earlier checks learned, read by later ones. Each phase of checks
// runs on a copy (phase), and checks record what they learned in the original through
// commit: a check cut off by its timeout may still finish later, and must not write
// into what the next phase is reading.
type state struct {
	mu     sync.Mutex
	parent *state

	opts      Options
	cs        kubernetes.Interface
	namespace string
	pod       *corev1.Pod      // the runner pod, when found (ready or not)
	podReady  bool             // the runner is ready
	release   *release.Release // newest revision of the runner's release
	deployed  *release.Release // newest deployed revision
	cfg       *config.File
	cfgValues map[string]any // the config Secret decoded: playbook_repos, sinks_config, ...
}

// Run performs every check and returns the report. It never fails as a whole: a
// check that cannot run says why in its own line.
func Run(ctx context.Context, opts Options) *Report {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	st := &state{opts: opts}
	ph := st.phase()
	results := map[string]Result{}
	var mu sync.Mutex
	put := func(r Result) {
		mu.Lock()
		results[r.ID] = r
		mu.Unlock()
	}
	rep := &Report{}

	// Access first: without it every other check would only repeat the same failure.
	put(ph.timed(ctx, CheckKubeconfig, ph.checkKubeconfig))
	ph = st.phase()
	rep.Context, rep.Server = opts.KF.ContextName(), opts.KF.ServerURL()
	if results[CheckKubeconfig].Status == Green {
		put(ph.timed(ctx, CheckAPI, ph.checkAPI))
	}
	if results[CheckAPI].Status == Green {
		// The runner decides the namespace the later checks look in.
		put(ph.timed(ctx, CheckRunner, ph.checkRunner))
		ph = st.phase()
		rep.Namespace = ph.namespace
		if ph.pod != nil {
			rep.Runner = ph.pod.Namespace + "/" + ph.pod.Name
		}
		parallel(put,
			ph.run(ctx, CheckRBAC, ph.checkRBAC),
			ph.run(ctx, CheckHealth, ph.checkHealth),
			ph.run(ctx, CheckRelease, ph.checkRelease),
			ph.run(ctx, CheckConfig, ph.checkConfig),
		)
		ph = st.phase()
		parallel(put,
			ph.run(ctx, CheckVersions, ph.checkVersions),
			ph.run(ctx, CheckPVC, ph.checkPVC),
			ph.run(ctx, CheckRepos, ph.checkRepos),
			ph.run(ctx, CheckSinks, ph.checkSinks),
			ph.run(ctx, CheckPrometheus, ph.checkMonitoring(CheckPrometheus)),
			ph.run(ctx, CheckAlertmanager, ph.checkMonitoring(CheckAlertmanager)),
		)
	}

	for _, o := range order {
		r, ok := results[o.id]
		if !ok {
			r = Result{ID: o.id, Status: Skipped, Message: skippedBecause(results)}
		}
		r.Name = o.name
		rep.Checks = append(rep.Checks, r)
		switch r.Status {
		case Green:
			rep.Summary.Green++
		case Yellow:
			rep.Summary.Yellow++
		case Red:
			rep.Summary.Red++
		default:
			rep.Summary.Skipped++
		}
	}
	return rep
}

func skippedBecause(results map[string]Result) string {
	if results[CheckKubeconfig].Status != Green {
		return "not checked: no usable kubeconfig"
	}
	return "not checked: the API server is not reachable"
}

// phase returns a copy of what has been learned so far, for the next checks to read.
func (st *state) phase() *state {
	st.mu.Lock()
	defer st.mu.Unlock()
	return &state{parent: st, opts: st.opts, cs: st.cs, namespace: st.namespace, pod: st.pod, podReady: st.podReady,
		release: st.release, deployed: st.deployed, cfg: st.cfg, cfgValues: st.cfgValues}
}

// commit records what a check learned in the original state.
func (st *state) commit(fn func(s *state)) {
	target := st
	if st.parent != nil {
		target = st.parent
	}
	target.mu.Lock()
	defer target.mu.Unlock()
	fn(target)
}

// run binds a check for parallel.
func (st *state) run(ctx context.Context, id string, fn func(context.Context) Result) func() Result {
	return func() Result { return st.timed(ctx, id, fn) }
}

// parallel runs independent checks at once, each with its own timeout.
func parallel(put func(Result), checks ...func() Result) {
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Add(1)
		go func(c func() Result) {
			defer wg.Done()
			put(c())
		}(c)
	}
	wg.Wait()
}

// timed runs fn under the per-check timeout; a check still running at the deadline
// is reported red as timed out (its goroutine ends with its context).
func (st *state) timed(ctx context.Context, id string, fn func(context.Context) Result) Result {
	ctx, cancel := context.WithTimeout(ctx, st.opts.Timeout)
	defer cancel()
	start := time.Now()
	done := make(chan Result, 1)
	go func() { done <- fn(ctx) }()
	var r Result
	select {
	case r = <-done:
	case <-ctx.Done():
		r = Result{Status: Red, Message: fmt.Sprintf("did not finish within %s", st.opts.Timeout),
			Fix: "check the cluster's responsiveness, or give the checks more time with --timeout"}
		if errors.Is(ctx.Err(), context.Canceled) {
			r.Message = "interrupted"
		}
	}
	r.ID = id
	r.Millis = time.Since(start).Milliseconds()
	return r
}

// Failed reports whether any check is red.
func (r *Report) Failed() bool { return r.Summary.Red > 0 }

func green(msg string, a ...any) Result {
	return Result{Status: Green, Message: fmt.Sprintf(msg, a...)}
}
func skipped(msg string, a ...any) Result {
	return Result{Status: Skipped, Message: fmt.Sprintf(msg, a...)}
}
func yellow(fix, msg string, a ...any) Result {
	return Result{Status: Yellow, Message: fmt.Sprintf(msg, a...), Fix: fix}
}
func red(fix, msg string, a ...any) Result {
	return Result{Status: Red, Message: fmt.Sprintf(msg, a...), Fix: fix}
}
