// Package triggers turns a playbook's trigger (a key of Robusta's Trigger model and its
// params) into a matcher, and holds the sources that feed the local watch: Kubernetes
// informers, Alertmanager webhooks, Helm release Secrets and the scheduler. The runner
// (internal/engine/runner) owns the queue and the playbooks; this package only answers
// "does this incoming event fire this trigger".
package triggers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// Incoming is one event from a source, before matching.
type Incoming struct {
	// Event is what the actions receive: a Kubernetes change (Class, Kind, Obj, Old,
	// Operation), an alert (Alert, and the object it resolved to) or an execution event.
	Event *engine.Event
	// Helm is set for events of the Helm release poller.
	Helm *HelmRelease
	// ScheduleID is set for scheduled events: the id of the playbook whose on_schedule
	// trigger is due. Scheduled events run only that playbook.
	ScheduleID string
	// Received is when the source saw the event.
	Received time.Time

	// pending builds Event in the worker for a change handed over unconverted (see
	// KubeSource); pendingName names it until then.
	pending     func() *engine.Event
	pendingName string

	// diffs caches every difference between Old and Obj for the change filters of
	// the playbooks (one worker handles an Incoming at a time).
	diffs  []diffEntry
	diffed bool
}

// Resolve builds Event where the source left it to the worker; false when there is
// no event (an object that could not be converted). Call it before matching.
func (in *Incoming) Resolve() bool {
	if in.Event == nil && in.pending != nil {
		in.Event = in.pending()
		in.pending = nil
	}
	return in.Event != nil
}

// Name says what the event is about, for log lines, without building it.
func (in *Incoming) Name() string {
	if in.Event == nil && in.pendingName != "" {
		return in.pendingName
	}
	if e := in.Event; e != nil && e.Obj != nil {
		return fmt.Sprintf("%s %s %s/%s", e.Kind, e.Operation, e.Obj.GetNamespace(), e.Obj.GetName())
	}
	return "an"
}

// HelmRelease is the state of one Helm release as the poller saw it.
type HelmRelease struct {
	Name       string
	Namespace  string
	Version    int
	Status     string // Helm's status: deployed, failed, pending-install, ...
	Chart      string // chart name
	AppVersion string
	// LastDeployed is when this revision was deployed (Helm's info.last_deployed).
	LastDeployed time.Time
}

// Trigger is one compiled trigger of a playbook.
type Trigger interface {
	// Key is the trigger's key in the config (on_pod_update, on_prometheus_alert, ...).
	Key() string
	// Matches reports whether in fires the trigger. It is called from many goroutines
	// and must not change the trigger; rate limits are applied by the caller through
	// RateLimited.
	Matches(in *Incoming) bool
}

// RateLimited is a trigger with the runner's rate_limit param: after a match, the
// runner asks the shared limiter with this key and period before running actions.
type RateLimited interface {
	Trigger
	RateLimit(in *Incoming) (key string, period time.Duration, ok bool)
}

// Compile builds the matcher for one trigger of a playbook. Unknown keys and bad params
// are errors naming the key; the validator has already refused what the runner
// refuses, so an error here is a gap in this package, not in the user's config.
func Compile(ctx context.Context, key string, params map[string]any) (Trigger, error) {
	switch {
	case key == "on_prometheus_alert":
		return compileAlert(params)
	case strings.HasPrefix(key, "on_helm_release_"):
		return compileHelm(key, params)
	case key == "on_schedule":
		return compileSchedule(params)
	case strings.HasPrefix(key, "on_"):
		return compileKube(key, params)
	default:
		return nil, fmt.Errorf("trigger %s: not a trigger key", key)
	}
}

// Source feeds incoming events to the runner until ctx ends. emit returns false when
// the runner's queue is full and the event was dropped (and counted).
type Source interface {
	Name() string
	Run(ctx context.Context, emit func(*Incoming) bool) error
}
