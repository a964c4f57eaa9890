package monitoring

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// URLs are the addresses given on the command line (--prometheus-url, ...): each skips
// discovery for its service.
type URLs struct {
	Prometheus, Alertmanager, Grafana string
}

func (u URLs) of(s Service) string {
	switch s {
	case Prometheus:
		return u.Prometheus
	case Alertmanager:
		return u.Alertmanager
	case Grafana:
		return u.Grafana
	}
	return ""
}

// Endpoint is a reachable base URL of a service.
type Endpoint struct {
	// Base is what requests are sent to: the given URL, or http://127.0.0.1:PORT of a
	// port-forward (with the given URL's path, if any).
	Base *url.URL
	// Via says how it was reached, for messages: "namespace/service (found by
	// selector app=...)" or the URL.
	Via string
}

// Connector opens at most one port-forward per service and address for a run, reused
// by every action of a chain; Close stops them.
type Connector struct {
	KF   *kube.Factory
	URLs URLs

	mu        sync.Mutex
	endpoints map[string]*Endpoint
	forwards  []*kube.PortForward
}

// NewConnector returns a connector for the cluster of kf.
func NewConnector(kf *kube.Factory, urls URLs) *Connector {
	return &Connector{KF: kf, URLs: urls}
}

// Close stops the connector's port-forwards.
func (c *Connector) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, pf := range c.forwards {
		pf.Close()
	}
	c.forwards, c.endpoints = nil, nil
}

// Endpoint returns where to reach s: the param URL (an action's prometheus_url, as
// the runner merges globalConfig under the params) when set, else the command line's
// URL, else discovery. An in-cluster URL (NAME.NS.svc) is reached through a
// port-forward to that Service, as it resolves only inside the cluster.
func (c *Connector) Endpoint(ctx context.Context, s Service, paramURL string) (*Endpoint, error) {
	raw := paramURL
	if raw == "" {
		raw = c.URLs.of(s)
	}
	key := string(s) + "|" + raw
	c.mu.Lock()
	defer c.mu.Unlock()
	if ep := c.endpoints[key]; ep != nil {
		return ep, nil
	}
	ep, err := c.resolve(ctx, s, raw)
	if err != nil {
		return nil, err
	}
	if c.endpoints == nil {
		c.endpoints = map[string]*Endpoint{}
	}
	c.endpoints[key] = ep
	return ep, nil
}

func (c *Connector) resolve(ctx context.Context, s Service, raw string) (*Endpoint, error) {
	if raw != "" {
		u, err := ParseURL(raw)
		if err != nil {
			return nil, cli.UsageErrorf("%s url %q: %v", s, raw, err)
		}
		name, ns, port, ok := clusterService(u)
		if !ok {
			return &Endpoint{Base: u, Via: u.String()}, nil
		}
		if c.KF == nil {
			return nil, fmt.Errorf("%s url %s is an in-cluster address and there is no cluster to forward to", s, u)
		}
		cs, err := c.KF.Clientset()
		if err != nil {
			return nil, err
		}
		svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, cli.WithHint(fmt.Errorf("%s url %s names service %s/%s, which does not exist", s, u, ns, name),
				fmt.Sprintf("pass a reachable address with --%s-url URL", s))
		}
		if err != nil {
			return nil, c.KF.Explain(err, "get", "services", ns)
		}
		sp, err := servicePort(svc, port)
		if err != nil {
			return nil, fmt.Errorf("%s url %s: %w", s, u, err)
		}
		return c.forward(ctx, svc, sp, u.Path, fmt.Sprintf("%s/%s (from %s)", ns, name, u))
	}
	if c.KF == nil {
		return nil, notFound(s)
	}
	cs, err := c.KF.Clientset()
	if err != nil {
		return nil, err
	}
	t, err := discover(ctx, cs, s)
	if err != nil {
		return nil, c.KF.Explain(errors.Unwrap(err), "list", "services", "")
	}
	if t == nil {
		return nil, notFound(s)
	}
	svc, err := cs.CoreV1().Services(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return nil, c.KF.Explain(err, "get", "services", t.Namespace)
	}
	return c.forward(ctx, svc, t.Port, "", fmt.Sprintf("%s/%s (found by selector %s)", t.Namespace, t.Name, t.Selector))
}

func (c *Connector) forward(ctx context.Context, svc *corev1.Service, sp corev1.ServicePort, path, via string) (*Endpoint, error) {
	cs, err := c.KF.Clientset()
	if err != nil {
		return nil, err
	}
	pod, port, err := podFor(ctx, cs, svc, sp)
	if err != nil {
		return nil, err
	}
	pf, err := c.KF.OpenPortForward(ctx, svc.Namespace, pod, port)
	if err != nil {
		return nil, err
	}
	c.forwards = append(c.forwards, pf)
	return &Endpoint{Base: &url.URL{Scheme: "http", Host: pf.Addr(), Path: strings.TrimSuffix(path, "/")}, Via: via}, nil
}

func servicePort(svc *corev1.Service, port int) (corev1.ServicePort, error) {
	for _, p := range svc.Spec.Ports {
		if int(p.Port) == port {
			return p, nil
		}
	}
	if len(svc.Spec.Ports) == 1 && port == 80 {
		return svc.Spec.Ports[0], nil // no port in the URL: the Service's only one
	}
	return corev1.ServicePort{}, fmt.Errorf("service %s/%s has no port %d", svc.Namespace, svc.Name, port)
}

// ParseURL reads a service URL as the runner does: a missing scheme means http, a
// trailing slash is dropped.
func ParseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.Unwrap(err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("no host in it")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// NotFoundError says no Service of a kind was found.
type NotFoundError struct {
	Service   Service
	Selectors []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no %s found: no Service in any namespace matches the runner's selectors (%s)",
		e.Service, strings.Join(e.Selectors, "; "))
}

func notFound(s Service) error {
	param := map[Service]string{Prometheus: "prometheus_url", Alertmanager: "alertmanager_url", Grafana: "grafana_url"}[s]
	return cli.WithHint(&NotFoundError{Service: s, Selectors: selectors(s)},
		fmt.Sprintf("pass its address with --%s-url URL (or %s=URL), for example --%s-url http://NAME.NAMESPACE.svc:PORT", s, param, s))
}

type connectorKey struct{}

// WithConnector returns ctx carrying c, for the actions of a run.
func WithConnector(ctx context.Context, c *Connector) context.Context {
	return context.WithValue(ctx, connectorKey{}, c)
}

// FromContext returns the run's connector, or nil.
func FromContext(ctx context.Context) *Connector {
	c, _ := ctx.Value(connectorKey{}).(*Connector)
	return c
}
