package local

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/metrics"
	"github.com/robusta-dev/robusta-go/internal/engine/runner"
	"github.com/robusta-dev/robusta-go/internal/engine/serve"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/all"
	"github.com/robusta-dev/robusta-go/internal/engine/triggers"
	"github.com/robusta-dev/robusta-go/internal/fileio"
	"github.com/robusta-dev/robusta-go/internal/fswatch"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/localapi"
	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

// WatchOptions are the inputs of `local watch`.
type WatchOptions struct {
	IO   *cli.IOStreams
	Kube func() *kube.Factory

	Files []string
	// FromCluster loads the runner's active config from its Secret first (the files
	// merge over it); Find says where to look for the runner.
	FromCluster bool
	Find        kube.FindOptions
	// secretNS is the runner's namespace, found once at start.
	secretNS       string
	WithBuiltin    bool
	ReplayExisting bool
	Queue, Workers int
	ActionTimeout  time.Duration
	Quiet          bool
	Apply          bool
	ScheduleFloor  time.Duration
	// SinkURLs replace sinks' service URLs by sink name (--sink-url NAME=URL).
	SinkURLs map[string]string
	// StatePath keeps the schedules' run counts across restarts.
	StatePath string
	// API is the runner API served by the watch (--listen); nil when off.
	API *ServeOptions
	// Ready, when set, is called once the watches have listed (tests).
	Ready func()
	// MemProfile, when set, receives a heap profile at exit and on SIGUSR1 (hidden
	// flags, for measuring the watch's memory); MemProfileRate sets
	// runtime.MemProfileRate when above 0.
	MemProfile     string
	MemProfileRate int
}

// NewCmdWatch builds `local watch`; runF replaces the run function in tests.
func NewCmdWatch(f *cmdutil.Factory, runF func(context.Context, *WatchOptions) error) *cobra.Command {
	opts := &WatchOptions{IO: f.IOStreams, Kube: f.Kube}
	api := &ServeOptions{IO: f.IOStreams, Kube: f.Kube, Getenv: os.Getenv}
	var rf cmdutil.RunnerFlags
	cmd := &cobra.Command{
		Use:   "watch {-f VALUES.yaml [-f MORE.yaml] | --from-cluster [-f MORE.yaml]}",
		Short: "Run a values file's playbooks on this machine against the cluster's live changes",
		Long: `Run the playbooks of a Robusta values file from this machine: the cluster's
changes are watched with the current kubeconfig, matched against each playbook's
triggers as the runner matches them, and the actions of every playbook that fires run;
as in the runner, the findings an event's playbooks make are printed here and, once its
last playbook has run, sent to the sinks of sinksConfig that this engine has (file, webhook, slack, ms_teams, discord, telegram, pagerduty,
opsgenie, google_chat and mail sinks; the others are named at start and skipped).

Several -f files merge as Helm merges values (later files win). The files are
validated first: errors stop the watch, warnings are shown. What the runner refuses
at load refuses the whole config here too: an action that is not one of Robusta's
(unless playbookRepos may provide it), config_ab_testing params it cannot build.
Playbooks whose triggers or actions the local engine lacks are named and skipped;
other actions' bad params fail each run of that action, as in the runner. A scheduled
playbook's run count is kept under the runner's playbook id, which layout, comments
and key order do not change. Objects that exist at start
are not reported as created unless --replay-existing. The files are reloaded when they
change and on SIGHUP; a file that does not validate leaves the running config as it
is. Mutating actions run as a server-side dry run unless --apply.

With --from-cluster the runner's active configuration is read from its Secret
(robusta-playbooks-config-secret, in the namespace of the runner found as 'robusta
playbooks list' finds it: -n NS or --runner-pod NS/POD); -f files merge over it, so
their keys win (a file's customPlaybooks replaces the Secret's whole playbook list,
as Helm replaces lists). A reload reads the Secret again. Ctrl-C finishes the
events in hand and exits.

With --listen the watch serves the runner's HTTP API with the same token and
checks as 'local serve': point Alertmanager's webhook (or curl) at POST /api/alerts
to run the on_prometheus_alert playbooks; an alert runs on the object its labels name.`,
		Example: `  robusta local watch -f generated_values.yaml
  robusta local watch -f values.yaml -f my-playbooks.yaml --replay-existing
  robusta local watch --from-cluster -f laptop-sinks.yaml`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if api.Listen != "" {
				if err := api.Complete(); err != nil {
					return err
				}
				opts.API = api
			}
			if len(opts.Files) == 0 && !opts.FromCluster {
				return cli.UsageErrorf("give the values file to run with -f FILE, or --from-cluster to run the runner's active config")
			}
			opts.Find = f.FindOptions(rf)
			if opts.Queue < 1 || opts.Workers < 1 {
				return cli.UsageErrorf("--queue and --workers must be at least 1")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			if opts.MemProfile != "" {
				return withMemProfile(opts, func() error { return RunWatch(cmd.Context(), opts) })
			}
			return RunWatch(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&opts.Files, "values", "f", nil, "values file with customPlaybooks and sinksConfig (repeatable; later files win)")
	fl.BoolVar(&opts.FromCluster, "from-cluster", false, "start from the runner's active config (its Secret); -f files merge over it")
	cmdutil.AddRunnerFlags(cmd, &rf)
	fl.BoolVar(&opts.WithBuiltin, "with-builtin", false, "also run builtinPlaybooks and priorityBuiltinPlaybooks found in the files")
	fl.BoolVar(&opts.ReplayExisting, "replay-existing", false, "report the objects that exist at start as created")
	fl.IntVar(&opts.Queue, "queue", 1000, "events waiting to be processed before new ones are dropped")
	fl.IntVar(&opts.Workers, "workers", 4, "events processed in parallel")
	fl.DurationVar(&opts.ActionTimeout, "action-timeout", time.Minute, "longest time one action may run")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "do not print findings here (sinks still get them)")
	fl.BoolVar(&opts.Apply, "apply", false, "let mutating actions change the cluster (default: server-side dry run)")
	fl.StringToStringVar(&opts.SinkURLs, "sink-url", nil, "send a sink's findings to this URL instead of its service's (NAME=URL, repeatable): for tests and self-hosted services")
	fl.DurationVar(&opts.ScheduleFloor, "schedule-floor", 120*time.Second, "shortest wait between runs of a scheduled playbook, as the runner's 120 s (0 while developing)")
	fl.StringVar(&opts.StatePath, "schedule-state", "", "file keeping scheduled playbooks' run counts (default: robusta/watch-schedules.json in your config folder)")
	fl.StringVar(&api.Listen, "listen", "", "serve the runner's HTTP API here, e.g. 127.0.0.1:5000: Alertmanager webhooks (POST /api/alerts), /api/trigger, /api/playbooks/reload")
	fl.BoolVar(&api.NoAuth, "no-auth", false, "with --listen: accept requests without the token")
	fl.BoolVar(&api.ListenAny, "listen-any", false, "with --listen: allow an address other machines can reach (the token is then required)")
	fl.StringVar(&opts.MemProfile, "memprofile", "", "write a heap profile (pprof) to this file at exit and on SIGUSR1")
	fl.IntVar(&opts.MemProfileRate, "memprofile-rate", 0, "with --memprofile: sample one allocation per this many bytes (runtime.MemProfileRate; 0 keeps Go's 512 KiB)")
	_ = fl.MarkHidden("memprofile")
	_ = fl.MarkHidden("memprofile-rate")
	return cmd
}

func (o *WatchOptions) load(ctx context.Context) (*runner.Config, error) {
	var files []runner.File
	if o.FromCluster {
		f, err := o.clusterConfig(ctx)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	for _, p := range o.Files {
		b, err := fileio.ReadFile(p, fileio.MaxInput)
		if err != nil {
			return nil, cli.UsageErrorf("-f: %v", err)
		}
		files = append(files, runner.File{Name: p, Data: b})
	}
	return runner.Load(ctx, files, runner.Options{WithBuiltin: o.WithBuiltin})
}

// clusterConfig reads the runner's active config from its Secret; the runner's
// namespace is looked up once, so a reload reads the same Secret again.
func (o *WatchOptions) clusterConfig(ctx context.Context) (runner.File, error) {
	kf := o.Kube()
	if o.secretNS == "" {
		pods, search, err := kf.ListRunners(ctx, o.Find)
		if err != nil {
			return runner.File{}, err
		}
		if len(pods) == 0 {
			return runner.File{}, cli.WithHint(&kube.NoRunnerError{Where: search.Where}, "pass -n NS (the runner's namespace) or --runner-pod NS/POD")
		}
		for _, p := range pods[1:] {
			if p.Namespace != pods[0].Namespace {
				return runner.File{}, cli.WithHint(&kube.SeveralRunnersError{Pods: pods}, "pick one install with -n NS")
			}
		}
		o.secretNS = pods[0].Namespace
	}
	cs, err := kf.Clientset()
	if err != nil {
		return runner.File{}, kf.Explain(err, "", "", "")
	}
	name := "secret " + o.secretNS + "/" + pbconfig.SecretName
	s, err := cs.CoreV1().Secrets(o.secretNS).Get(ctx, pbconfig.SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return runner.File{}, cli.WithHint(fmt.Errorf("--from-cluster: no %s", name), "the runner's chart creates it; check the namespace with -n NS")
	}
	if err != nil {
		return runner.File{}, kf.Explain(err, "get", "secrets", o.secretNS)
	}
	data, ok := s.Data[pbconfig.SecretKey]
	if !ok {
		return runner.File{}, fmt.Errorf("--from-cluster: %s has no key %s", name, pbconfig.SecretKey)
	}
	return runner.File{Name: name, Data: data}, nil
}

// RunWatch watches until ctx ends.
func RunWatch(ctx context.Context, o *WatchOptions) error {
	var logMu sync.Mutex
	status := newStatusLine(o.IO, o.Quiet)
	defer status.Stop()
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		status.around(func() {
			fmt.Fprintf(o.IO.ErrOut, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
		})
	}
	cfg, err := o.load(ctx)
	if err != nil {
		return err
	}
	if err := checkSinkURLs(o.SinkURLs, cfg); err != nil {
		return err
	}
	kf := o.Kube()
	if _, err := kf.RESTConfig(); err != nil {
		return kf.Explain(err, "", "", "")
	}
	report(o, cfg, logf)
	if len(cfg.Playbooks) == 0 {
		return cli.WithHint(errors.New("no playbook of the files can run locally"), "see the skipped playbooks above; robusta local actions --local-only lists what runs here")
	}
	statePath := o.StatePath
	if statePath == "" {
		if dir, err := os.UserConfigDir(); err == nil {
			statePath = filepath.Join(dir, "robusta", "watch-schedules.json")
		}
	}
	rec := metrics.New()
	r := &runner.Runner{KF: kf, Find: o.Find, Rec: rec, Apply: o.Apply, ActionTimeout: o.ActionTimeout, Workers: o.Workers, QueueSize: o.Queue,
		NewSink: sinkFactory(o.SinkURLs, cfg, logf), Logf: logf, Schedule: &runner.Scheduler{StatePath: statePath, Floor: o.ScheduleFloor}}
	if !o.Quiet {
		r.Always = append(r.Always, &terminalSink{io: o.IO, status: status})
	}
	// Workers and sinks outlive ctx: after Ctrl-C they finish what is in hand.
	work, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	if err := r.Start(work, cfg); err != nil {
		return err
	}
	status.start(r.Stats)
	apiReload := make(chan chan error)
	if o.API != nil {
		dyn, err := kf.Dynamic()
		if err != nil {
			return kf.Explain(err, "", "", "")
		}
		api := &serve.Watch{Backend: &watchBackend{r: r, kf: kf, apply: o.Apply, reload: apiReload, limiter: engine.NewRateLimiter()},
			Dyn: dyn, Metrics: rec, Log: status.Writer(o.IO.ErrOut),
			// The running config's alertRelabel, so a reload changes it too.
			RelabelsFrom: func() []triggers.Relabel { return r.Config().Relabels }}
		go func() {
			if err := o.API.serve(ctx, func(g localapi.Guard) http.Handler { api.Guard = g; return api.Handler() }, "local watch"); err != nil {
				logf("%s the API is not served: %v", o.IO.StderrStyles().WarningIcon(), err)
			}
		}()
	}
	// Helm releases are polled (as the runner's platform loop does) once a loaded
	// config has an on_helm_release_* trigger; the poll lives as long as the watch.
	var helmOnce sync.Once
	startHelm := func(cfg *runner.Config) {
		if !hasHelmTrigger(cfg) {
			return
		}
		helmOnce.Do(func() {
			cs, err := kf.Clientset()
			if err != nil {
				logf("%s Helm releases are not watched: %v", o.IO.StderrStyles().WarningIcon(), err)
				return
			}
			src := &triggers.HelmSource{Client: cs, Logf: logf}
			go func() {
				if err := src.Run(ctx, r.Submit); err != nil && ctx.Err() == nil {
					logf("%s Helm releases are no longer watched: %v", o.IO.StderrStyles().WarningIcon(), err)
				}
			}()
		})
	}
	startHelm(cfg)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	changed := watchFiles(ctx, o.Files, logf)

	for {
		srcCtx, stopSrc := context.WithCancel(ctx)
		kinds := kindsOf(r.Config())
		src := &triggers.KubeSource{KF: kf, Kinds: kinds, ReplayExisting: o.ReplayExisting, Synced: func() {
			logf("watching %v; %d playbook(s) loaded; Ctrl-C stops", kindsOf(r.Config()), len(r.Config().Playbooks))
			if o.Ready != nil {
				o.Ready()
			}
		}}
		srcDone := make(chan error, 1)
		go func() { srcDone <- src.Run(srcCtx, r.Submit) }()
		// restart: a reload needs other kinds watched. A reload that watches the same
		// kinds keeps the watches running, so no change is missed while they restart.
		for restart := false; !restart; {
			select {
			case <-ctx.Done():
				stopSrc()
				<-srcDone
				logf("stopping: finishing the events in hand")
				drain, cancel := context.WithTimeout(context.Background(), 4*time.Second)
				r.Stop(drain)
				cancel()
				return nil
			case err := <-srcDone:
				stopSrc()
				return err
			case <-hup:
			case <-changed:
			case done := <-apiReload:
				err := o.reload(ctx, r, logf)
				done <- err
				restart = err == nil && o.afterReload(kinds, r, logf)
				startHelm(r.Config())
				continue
			}
			restart = o.reload(ctx, r, logf) == nil && o.afterReload(kinds, r, logf)
			startHelm(r.Config())
		}
		// The new config watches other kinds: the watches start again (objects that
		// exist are listed as seen, not reported).
		stopSrc()
		<-srcDone
	}
}

// reload loads the files again and installs them; a config that fails keeps the
// running one, and says why.
func (o *WatchOptions) reload(ctx context.Context, r *runner.Runner, logf func(string, ...any)) error {
	st := o.IO.StderrStyles()
	next, err := o.load(ctx)
	if err == nil && len(next.Playbooks) == 0 {
		err = errors.New("no playbook of the files can run locally")
	}
	if err == nil {
		report(o, next, logf)
		// The sinks are built again with the new globalConfig (cluster_name).
		r.NewSink = sinkFactory(o.SinkURLs, next, logf)
		err = r.Install(next)
	}
	if err != nil {
		logf("%s reload refused, the running config stays: %v", st.WarningIcon(), err)
		return err
	}
	logf("reloaded: %d playbook(s)", len(next.Playbooks))
	return nil
}

// watchBackend is what the watch's API drives: the runner's queue, the reload of the
// main loop, and actions run by hand as the runner's /api/trigger runs them.
type watchBackend struct {
	r       *runner.Runner
	kf      *kube.Factory
	apply   bool
	reload  chan chan error
	limiter *engine.RateLimiter
}

func (b *watchBackend) Submit(in *triggers.Incoming) bool { return b.r.Submit(in) }

// Reload asks the main loop, which owns the sources, to reload, and waits for it.
func (b *watchBackend) Reload(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case b.reload <- done:
		return <-done
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *watchBackend) Trigger(ctx context.Context, action string, params map[string]any, _ bool) ([]*engine.Finding, error) {
	f, _, err := serve.RunAction(ctx, b.kf, b.apply, b.limiter, action, params)
	if err != nil {
		return nil, err
	}
	return []*engine.Finding{f}, nil
}

func hasHelmTrigger(cfg *runner.Config) bool {
	for _, pb := range cfg.Playbooks {
		for _, t := range pb.Triggers {
			if strings.HasPrefix(t.Key(), "on_helm_release_") {
				return true
			}
		}
	}
	return false
}

// afterReload tells whether the watches must restart for the reloaded config (it
// watches other kinds), and says so when they go on as they are.
func (o *WatchOptions) afterReload(running []string, r *runner.Runner, logf func(string, ...any)) bool {
	next := kindsOf(r.Config())
	if strings.Join(running, ",") != strings.Join(next, ",") {
		return true
	}
	logf("watching %v; %d playbook(s) loaded; the running watches go on", next, len(r.Config().Playbooks))
	return false
}

func kindsOf(cfg *runner.Config) []string {
	var ts []triggers.Trigger
	for _, pb := range cfg.Playbooks {
		ts = append(ts, pb.Triggers...)
	}
	return triggers.KindsOf(ts)
}

// report prints the validator's warnings and what is skipped.
func report(o *WatchOptions, cfg *runner.Config, logf func(string, ...any)) {
	st := o.IO.StderrStyles()
	for _, f := range cfg.Findings {
		if f.Severity == "warning" {
			logf("%s %s:%d: %s", st.WarningIcon(), f.File, f.Line, f.Message)
		}
	}
	for _, s := range cfg.Skipped {
		logf("%s skipped: %s", st.WarningIcon(), s)
	}
}

// sinkFactory builds the sinks this engine has.
func sinkFactory(urls map[string]string, cfg *runner.Config, logf func(string, ...any)) runner.SinkFactory {
	cluster, _ := cfg.Global["cluster_name"].(string)
	opts := sinks.Options{BaseURLs: urls, ClusterName: cluster, Logf: logf}
	return func(sc sinks.Config) (sinks.Sink, string, error) { return newSink(sc, opts) }
}

// checkSinkURLs refuses a --sink-url whose name no sink has: a typo would send the
// findings to the real service instead of the stand-in.
func checkSinkURLs(urls map[string]string, cfg *runner.Config) error {
	var names []string
	have := map[string]bool{}
	for _, sc := range cfg.Sinks {
		have[sc.Name] = true
		names = append(names, sc.Name)
	}
	for n := range urls {
		if !have[n] {
			if len(names) == 0 {
				return cli.UsageErrorf("--sink-url %s: sinksConfig has no sinks; add the sink to the values file", n)
			}
			return cli.UsageErrorf("--sink-url %s: sinksConfig has no sink of that name; its sinks are %s", n, strings.Join(names, ", "))
		}
	}
	return nil
}

func newSink(cfg sinks.Config, opts sinks.Options) (sinks.Sink, string, error) {
	return all.New(cfg, opts)
}

// watchFiles says when one of the files changed, debounced: editors write in
// several steps (and some replace the file), so the folders are watched.
func watchFiles(ctx context.Context, files []string, logf func(string, ...any)) <-chan struct{} {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		logf("files are not watched for changes (%v); send SIGHUP to reload", err)
		return make(chan struct{})
	}
	want := map[string]bool{}
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		want[abs] = true
		_ = w.Add(filepath.Dir(abs))
	}
	return fswatch.Debounce(ctx, w, 300*time.Millisecond, func(ev fsnotify.Event) bool {
		return want[ev.Name] && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0
	}, nil)
}

// terminalSink prints findings as `local run` does.
type terminalSink struct {
	io     *cli.IOStreams
	status *statusLine
	mu     sync.Mutex
}

func (t *terminalSink) Name() string { return "terminal" }
func (t *terminalSink) Type() string { return "stdout" }
func (t *terminalSink) Send(_ context.Context, f *engine.Finding) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := 0
	if t.io.IsStdoutTTY() {
		w = t.io.TerminalWidth()
	}
	var err error
	// The finding goes between the status line's redraws (both may be one terminal).
	t.status.around(func() { err = engine.RenderText(t.io.Out, t.io.Styles(), f, engine.RenderOptions{Width: w}) })
	return false, err
}

// withMemProfile runs run with heap profiling for --memprofile: the profile is written
// after a GC at exit (what stays live) and whenever SIGUSR1 arrives (to catch a peak).
// The rate is set first, so the allocations made while loading are sampled too.
func withMemProfile(o *WatchOptions, run func() error) error {
	if o.MemProfileRate > 0 {
		runtime.MemProfileRate = o.MemProfileRate
	}
	// Fail before watching when the file cannot be written, not after hours.
	if err := writeMemProfile(o.MemProfile); err != nil {
		return cli.UsageErrorf("--memprofile: %v", err)
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-usr1:
				if err := writeMemProfile(o.MemProfile); err != nil {
					fmt.Fprintf(o.IO.ErrOut, "--memprofile: %v\n", err)
				}
			case <-done:
				return
			}
		}
	}()
	err := run()
	signal.Stop(usr1)
	close(done)
	wg.Wait()
	if perr := writeMemProfile(o.MemProfile); perr != nil && err == nil {
		err = fmt.Errorf("--memprofile: %w", perr)
	}
	return err
}

// writeMemProfile writes the heap profile after a GC, so in-use figures count only
// live objects; the file is private (0600): a profile shows the program's data shapes.
func writeMemProfile(path string) error {
	runtime.GC()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
