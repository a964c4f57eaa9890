package triggers

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// HelmEvent is the event class of Helm release events.
const HelmEvent = "HelmReleasesEvent"

// The runner's status sets of the three Helm triggers.
var (
	helmUnhealthy = []string{"pending-install", "pending-upgrade", "pending-rollback", "uninstalling"}
	helmFailed    = []string{"failed", "unknown"}
	helmDeployed  = []string{"deployed"}
)

// processStart stands for the runner's server start: deploy and fail events of
// releases deployed before it do not fire (they happened before the watch began).
var processStart = time.Now()

// helmNow is the clock of the duration check (a variable for tests).
var helmNow = time.Now

type helmTrigger struct {
	key       string
	statuses  []string
	names     []string
	namespace string
	duration  time.Duration
	rateLimit time.Duration
}

func compileHelm(key string, params map[string]any) (Trigger, error) {
	t := &helmTrigger{key: key}
	switch key {
	case "on_helm_release_unhealthy":
		var p struct {
			RateLimit int      `param:"rate_limit" required:"true"`
			Names     []string `param:"names"`
			Namespace string   `param:"namespace"`
			Duration  int      `param:"duration" default:"900"`
		}
		if err := engine.Decode(params, &p); err != nil {
			return nil, fmt.Errorf("trigger %s: %w", key, err)
		}
		t.statuses, t.names, t.namespace = helmUnhealthy, p.Names, p.Namespace
		t.duration, t.rateLimit = seconds(p.Duration), seconds(p.RateLimit)
	case "on_helm_release_fail", "on_helm_release_deploy":
		// The runner's default rate limit is sys.maxsize: once per deployment.
		var p struct {
			RateLimit int      `param:"rate_limit" default:"-1"`
			Names     []string `param:"names"`
			Namespace string   `param:"namespace"`
		}
		if err := engine.Decode(params, &p); err != nil {
			return nil, fmt.Errorf("trigger %s: %w", key, err)
		}
		t.statuses, t.names, t.namespace = helmFailed, p.Names, p.Namespace
		if key == "on_helm_release_deploy" {
			t.statuses = helmDeployed
		}
		t.rateLimit = seconds(p.RateLimit)
		if p.RateLimit < 0 {
			t.rateLimit = math.MaxInt64
		}
	default:
		return nil, fmt.Errorf("trigger %s: not a Helm trigger: allowed are on_helm_release_deploy, on_helm_release_fail, on_helm_release_unhealthy", key)
	}
	return t, nil
}

// seconds converts without overflowing: a huge rate_limit means "once".
func seconds(n int) time.Duration {
	if n > math.MaxInt64/int(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(n) * time.Second
}

func (t *helmTrigger) Key() string { return t.key }

func (t *helmTrigger) Matches(in *Incoming) bool {
	if in == nil || in.Helm == nil {
		return false
	}
	h := in.Helm
	if !contains(t.statuses, h.Status) {
		return false
	}
	if len(t.names) > 0 && !contains(t.names, h.Name) {
		return false
	}
	if t.namespace != "" && h.Namespace != t.namespace {
		return false
	}
	if t.duration > 0 && helmNow().Sub(h.LastDeployed) < t.duration {
		return false
	}
	// Unhealthy releases fire whenever they are seen (rate limited); the others only
	// when deployed after the start.
	if !contains(helmUnhealthy, h.Status) && processStart.After(h.LastDeployed) {
		return false
	}
	return true
}

// RateLimit is the runner's: an unhealthy release per release, the others per
// deployment (so a deploy or failure fires once with the default limit). The runner
// scopes the key to the playbook.
func (t *helmTrigger) RateLimit(in *Incoming) (string, time.Duration, bool) {
	if in == nil || in.Helm == nil {
		return "", 0, false
	}
	h := in.Helm
	key := h.Namespace + ":" + h.Name
	if !contains(helmUnhealthy, h.Status) {
		key += "-" + h.LastDeployed.UTC().Format(time.RFC3339Nano)
	}
	return key, t.rateLimit, true
}

// DefaultHelmInterval is the runner's discovery period (DISCOVERY_PERIOD_SEC).
const DefaultHelmInterval = 90 * time.Second

// HelmSource polls Helm's release Secrets (label owner=helm) and emits the newest
// revision of every release on every poll, as the runner's discovery loop does; the
// triggers' rate limits turn that into one event per deployment.
type HelmSource struct {
	Client kubernetes.Interface
	// Namespace limits the poll; empty polls all namespaces.
	Namespace string
	Interval  time.Duration
	Logf      func(format string, args ...any)
}

func (s *HelmSource) Name() string { return "helm-releases" }

// Run polls until ctx ends. A failed poll is logged and retried at the next one
// (the API server may be restarting).
func (s *HelmSource) Run(ctx context.Context, emit func(*Incoming) bool) error {
	every := s.Interval
	if every <= 0 {
		every = DefaultHelmInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ins, err := PollHelmReleases(ctx, s.Client, s.Namespace)
		if err != nil && ctx.Err() == nil && s.Logf != nil {
			s.Logf("helm releases: %v", err)
		}
		for _, in := range ins {
			if !emit(in) && s.Logf != nil {
				s.Logf("helm releases: event of %s/%s dropped: the queue is full", in.Helm.Namespace, in.Helm.Name)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// helmListPage bounds one list call; the runner pages the same way.
const helmListPage = 100

// PollHelmReleases lists the release Secrets once and returns one incoming event per
// release: its newest revision, decoded by the Helm SDK's Secret driver, with the
// event the actions get (the revision's Secret, as in `local run`).
func PollHelmReleases(ctx context.Context, cs kubernetes.Interface, namespace string) ([]*Incoming, error) {
	newest := map[string]*corev1.Secret{}
	var order []string
	opts := metav1.ListOptions{LabelSelector: "owner=helm", Limit: helmListPage}
	for {
		list, err := cs.CoreV1().Secrets(namespace).List(ctx, opts)
		if err != nil {
			where := "all namespaces"
			if namespace != "" {
				where = "namespace " + namespace
			}
			return nil, fmt.Errorf("listing Helm release Secrets in %s: %w", where, err)
		}
		for i := range list.Items {
			sec := &list.Items[i]
			if sec.Type != "helm.sh/release.v1" {
				continue
			}
			id := sec.Namespace + "/" + sec.Labels["name"]
			old, seen := newest[id]
			if !seen {
				order = append(order, id)
			}
			if !seen || revision(sec) > revision(old) {
				newest[id] = sec
			}
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	now := time.Now()
	var out []*Incoming
	var bad []string
	for _, id := range order {
		sec := newest[id]
		rel, err := driver.NewSecrets(&oneSecret{sec: sec}).Get(sec.Name)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s/%s: %v", sec.Namespace, sec.Name, err))
			continue
		}
		in, err := helmIncoming(sec, rel, now)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		out = append(out, in)
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("undecodable Helm release Secrets: %s", strings.Join(bad, "; "))
	}
	return out, nil
}

func revision(sec *corev1.Secret) int {
	var v int
	fmt.Sscan(sec.Labels["version"], &v)
	return v
}

func helmIncoming(sec *corev1.Secret, rel *release.Release, now time.Time) (*Incoming, error) {
	h := &HelmRelease{Name: rel.Name, Namespace: rel.Namespace, Version: rel.Version}
	if h.Namespace == "" {
		h.Namespace = sec.Namespace
	}
	if rel.Info != nil {
		h.Status = rel.Info.Status.String()
		h.LastDeployed = rel.Info.LastDeployed.Time
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		h.Chart, h.AppVersion = rel.Chart.Metadata.Name, rel.Chart.Metadata.AppVersion
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(sec)
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", sec.Namespace, sec.Name, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion("v1")
	u.SetKind("Secret")
	return &Incoming{Helm: h, Event: &engine.Event{Class: HelmEvent, Kind: "Secret", Obj: u}, Received: now}, nil
}

// oneSecret hands one already listed Secret to the Helm driver, so the release is
// decoded by the SDK without fetching the Secret again. The driver's Get calls only
// Get; any other method would hit the nil embedded interface.
type oneSecret struct {
	typedcorev1.SecretInterface
	sec *corev1.Secret
}

func (o *oneSecret) Get(_ context.Context, name string, _ metav1.GetOptions) (*corev1.Secret, error) {
	if name != o.sec.Name {
		return nil, fmt.Errorf("secret %s: not the listed one", name)
	}
	return o.sec, nil
}
