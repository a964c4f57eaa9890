// Package kube builds Kubernetes clients from the global flags the way kubectl does and
// holds the cluster operations the CLI needs: runner discovery, port-forward, exec, copy.
package kube

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options are the global flags that shape the clients.
type Options struct {
	Kubeconfig     string
	Context        string
	Namespace      string
	RequestTimeout time.Duration
	// UserAgent names this binary in API server logs and audit.
	UserAgent string
}

// Factory builds clients once per command, lazily: commands that never talk to the
// cluster never read the kubeconfig.
type Factory struct {
	opts Options

	once      sync.Once
	loadErr   error
	raw       clientcmdapi.Config
	cc        clientcmd.ClientConfig
	rest      *rest.Config
	clientset kubernetes.Interface
	dyn       dynamic.Interface
}

// NewFactory returns a factory for opts.
func NewFactory(opts Options) *Factory { return &Factory{opts: opts} }

// ErrNoKubeconfig means no kubeconfig was found anywhere kubectl would look.
var ErrNoKubeconfig = errors.New("no kubeconfig found")

func (f *Factory) load() error {
	f.once.Do(func() {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = f.opts.Kubeconfig
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
				f.loadErr = ErrNoKubeconfig
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
		if f.opts.UserAgent != "" {
			cfg.UserAgent = f.opts.UserAgent
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
