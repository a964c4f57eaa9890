// Package kube builds Kubernetes clients from the global flags the way kubectl does and
// holds the cluster operations the CLI needs: runner discovery, port-forward, exec, copy.
package kube

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/robusta-dev/robusta-go/internal/fileio"
)

// Options are the global flags that shape the clients.
type Options struct {
	// Kubeconfig is --kubeconfig: the one file to load, which must exist.
	Kubeconfig string
	// Paths are the files merged when Kubeconfig is empty, first one winning ($KUBECONFIG's
	// entries, or ~/.kube/config): see DefaultKubeconfigPaths. The caller computes them at
	// run time (client-go's defaults are fixed when the process starts, from the real
	// home), so tests can point them anywhere. Missing files are skipped.
	Paths          []string
	Context        string
	Namespace      string
	RequestTimeout time.Duration
	// UserAgent names this binary in API server logs and audit.
	UserAgent string
	// RequestLog, when set (-v), receives one line per API request: method, path,
	// status, duration.
	RequestLog io.Writer
}

// Factory builds clients once per command, lazily: commands that never talk to the
// cluster never read the kubeconfig.
type Factory struct {
	opts Options

	once    sync.Once
	loadErr error
	raw     clientcmdapi.Config
	cc      clientcmd.ClientConfig
	rest    *rest.Config

	// mu guards the clients, filled on first use: local serve asks for them from
	// concurrent requests.
	mu        sync.Mutex
	clientset kubernetes.Interface
	dyn       dynamic.Interface
}

// NewFactory returns a factory for opts.
func NewFactory(opts Options) *Factory { return &Factory{opts: opts} }

// ErrNoKubeconfig means no kubeconfig was found anywhere kubectl would look.
var ErrNoKubeconfig = errors.New("no kubeconfig found")

// NoKubeconfigError is ErrNoKubeconfig naming the paths that were tried.
type NoKubeconfigError struct{ Tried []string }

func (e *NoKubeconfigError) Error() string {
	if len(e.Tried) == 0 {
		return "no kubeconfig found (KUBECONFIG is empty and no home directory is known)"
	}
	return "no kubeconfig found (looked in " + strings.Join(e.Tried, ", ") + ")"
}

func (e *NoKubeconfigError) Is(target error) bool { return target == ErrNoKubeconfig }

// DefaultKubeconfigPaths is where kubectl looks when --kubeconfig is not given: the
// entries of $KUBECONFIG, else $HOME/.kube/config. getenv is os.Getenv outside tests.
func DefaultKubeconfigPaths(getenv func(string) string) []string {
	if kc := getenv("KUBECONFIG"); kc != "" {
		var paths []string
		seen := map[string]bool{}
		for _, p := range filepath.SplitList(kc) {
			if p != "" && !seen[p] {
				seen[p] = true
				paths = append(paths, p)
			}
		}
		return paths
	}
	home := getenv("HOME")
	if home == "" {
		home = getenv("USERPROFILE") // Windows
	}
	if home == "" {
		return nil
	}
	return []string{filepath.Join(home, ".kube", "config")}
}

// checkKubeconfigs opens every file clientcmd will read through fileio first, so a
// device, a FIFO or a huge file is refused with a clear error instead of hanging or
// filling memory. A missing file in Paths is fine (kubectl skips it too).
func (f *Factory) checkKubeconfigs() error {
	check := func(p string, mustExist bool) error {
		fh, _, err := fileio.Open(p, fileio.MaxKubeconfig)
		if err != nil {
			if !mustExist && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("load kubeconfig: %w", err)
		}
		return fh.Close()
	}
	if f.opts.Kubeconfig != "" {
		return check(f.opts.Kubeconfig, true)
	}
	for _, p := range f.opts.Paths {
		if err := check(p, false); err != nil {
			return err
		}
	}
	return nil
}

func (f *Factory) load() error {
	f.once.Do(func() {
		if err := f.checkKubeconfigs(); err != nil {
			f.loadErr = err
			return
		}
		// Explicit rules, never clientcmd.NewDefaultClientConfigLoadingRules: its
		// default path and migration rules come from the home directory at start-up.
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: f.opts.Kubeconfig, Precedence: f.opts.Paths,
			DefaultClientConfig: &clientcmd.DefaultClientConfig}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: f.opts.Context}
		f.cc = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)

		raw, err := f.cc.RawConfig()
		if err != nil {
			f.loadErr = fmt.Errorf("load kubeconfig: %w", err)
			return
		}
		f.raw = raw
		cfg, err := f.cc.ClientConfig()
		if err != nil {
			if clientcmd.IsEmptyConfig(err) {
				f.loadErr = &NoKubeconfigError{Tried: f.opts.Paths}
				return
			}
			f.loadErr = fmt.Errorf("load kubeconfig: %w", err)
			return
		}
		timeout := f.opts.RequestTimeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		// Timeout bounds each whole request; the dialer bounds connecting, so a
		// black-holed address fails as fast as a refused one.
		cfg.Timeout = timeout
		dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
		cfg.Dial = dialer.DialContext
		// client-go's default of 5 requests a second (burst 10) throttles the paged
		// sweeps of event_history and list_pods to seconds; an interactive CLI makes
		// short bursts, so allow what kubectl allows its discovery client.
		if cfg.QPS == 0 {
			cfg.QPS, cfg.Burst = 50, 100
		}
		if f.opts.UserAgent != "" {
			cfg.UserAgent = f.opts.UserAgent
		}
		if f.opts.RequestLog != nil {
			cfg.Wrap(wrapRequestLog(f.opts.RequestLog))
		}
		f.rest = cfg
	})
	return f.loadErr
}

// RESTConfig returns the REST config of the selected context.
func (f *Factory) RESTConfig() (*rest.Config, error) {
	if err := f.load(); err != nil {
		return nil, err
	}
	return rest.CopyConfig(f.rest), nil
}

// StreamingRESTConfig is RESTConfig without the whole-request timeout, for requests
// that stream for as long as the user wants (logs -f, port-forward, exec).
func (f *Factory) StreamingRESTConfig() (*rest.Config, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 0
	return cfg, nil
}

// Clientset returns the typed clientset.
func (f *Factory) Clientset() (kubernetes.Interface, error) {
	if err := f.load(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clientset == nil {
		cs, err := kubernetes.NewForConfig(f.rest)
		if err != nil {
			return nil, fmt.Errorf("create client: %w", err)
		}
		f.clientset = cs
	}
	return f.clientset, nil
}

// Dynamic returns the dynamic client.
func (f *Factory) Dynamic() (dynamic.Interface, error) {
	if err := f.load(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dyn == nil {
		d, err := dynamic.NewForConfig(f.rest)
		if err != nil {
			return nil, fmt.Errorf("create dynamic client: %w", err)
		}
		f.dyn = d
	}
	return f.dyn, nil
}

// ContextName is the kubeconfig context in use.
func (f *Factory) ContextName() string {
	if f.opts.Context != "" {
		return f.opts.Context
	}
	_ = f.load()
	return f.raw.CurrentContext
}

// ServerURL is the API server address of the selected context, "" if unknown.
func (f *Factory) ServerURL() string {
	if err := f.load(); err != nil {
		return ""
	}
	return f.rest.Host
}

// ExplicitNamespace is the namespace given by flag, environment or config file.
func (f *Factory) ExplicitNamespace() string { return f.opts.Namespace }

// KubeconfigNamespace is the namespace of the selected kubeconfig context ("default"
// when the context sets none).
func (f *Factory) KubeconfigNamespace() string {
	if err := f.load(); err != nil {
		return "default"
	}
	ns, _, err := f.cc.Namespace()
	if err != nil || ns == "" {
		return "default"
	}
	return ns
}

// Namespace is the explicit namespace if given, else the kubeconfig's.
func (f *Factory) Namespace() string {
	if f.opts.Namespace != "" {
		return f.opts.Namespace
	}
	return f.KubeconfigNamespace()
}

// RequestTimeout is the per-request timeout in force.
func (f *Factory) RequestTimeout() time.Duration {
	if f.opts.RequestTimeout <= 0 {
		return 10 * time.Second
	}
	return f.opts.RequestTimeout
}
