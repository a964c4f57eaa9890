package triggers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// ChartKinds are the kinds the Robusta chart's kubewatch watches by default: what the
// any-resource triggers see in the runner, and so here.
var ChartKinds = []string{"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Service", "Pod", "Job", "Node",
	"HorizontalPodAutoscaler", "ClusterRole", "ClusterRoleBinding", "ServiceAccount", "PersistentVolume",
	"Namespace", "ConfigMap", "Event", "Ingress"}

// KindsOf lists the kinds the given triggers need watched, sorted.
func KindsOf(ts []Trigger) []string {
	set := map[string]bool{}
	for _, t := range ts {
		kt, ok := t.(*kubeTrigger)
		if !ok {
			continue
		}
		switch {
		case kt.kind != "Any":
			set[kt.kind] = true
		case len(kt.resources) > 0:
			for _, k := range ChartKinds {
				if contains(kt.resources, strings.ToLower(k)) {
					set[k] = true
				}
			}
		default:
			for _, k := range ChartKinds {
				set[k] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// KubeSource watches kinds with shared informers (one per kind, full objects) and
// emits their changes. Objects that exist at start are seen, not emitted, unless
// ReplayExisting; a relist after a broken watch emits no update for an object whose
// resourceVersion did not change.
type KubeSource struct {
	KF             *kube.Factory
	Kinds          []string
	ReplayExisting bool
	// Synced, when set, is called once every informer has listed.
	Synced func()
	// Lag, when set, gets how long after an object's last change its event was seen.
	Lag func(kind string, d time.Duration)
}

func (s *KubeSource) Name() string { return "kubernetes" }

// resourceName is how a trigger kind is asked of discovery: events are the
// events.k8s.io ones, as kubewatch sends them.
func resourceName(kind string) string {
	if kind == "Event" {
		return "events.events.k8s.io"
	}
	return kind
}

func (s *KubeSource) Run(ctx context.Context, emit func(*Incoming) bool) error {
	if len(s.Kinds) == 0 {
		if s.Synced != nil {
			s.Synced()
		}
		<-ctx.Done()
		return nil
	}
	// Informers of kinds client-go knows read protobuf into typed objects, as a
	// client-go informer does; others (custom resources) go through the dynamic client.
	var dynFactory dynamicinformer.DynamicSharedInformerFactory
	var typed []cache.SharedIndexInformer
	var synced []cache.InformerSynced
	for _, kind := range s.Kinds {
		res, err := s.KF.ResolveKind(resourceName(kind))
		if err != nil {
			return fmt.Errorf("watch %s: %w", kind, err)
		}
		inf, err := s.typedInformer(res)
		if err != nil {
			return fmt.Errorf("watch %s: %w", kind, err)
		}
		if inf != nil {
			typed = append(typed, inf)
		} else {
			if dynFactory == nil {
				dyn, err := s.KF.Dynamic()
				if err != nil {
					return err
				}
				dynFactory = dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0)
			}
			inf = dynFactory.ForResource(res.GVR).Informer()
			if err := inf.SetTransform(compact); err != nil {
				return fmt.Errorf("watch %s: %w", kind, err)
			}
		}
		if _, err := inf.AddEventHandler(s.handler(res.Kind, emit)); err != nil {
			return fmt.Errorf("watch %s: %w", kind, err)
		}
		synced = append(synced, inf.HasSynced)
	}
	infCtx, stopInformers := context.WithCancel(ctx)
	var running sync.WaitGroup
	shutdown := func() {
		stopInformers()
		if dynFactory != nil {
			dynFactory.Shutdown()
		}
		running.Wait()
	}
	for _, inf := range typed {
		running.Add(1)
		go func() { defer running.Done(); inf.RunWithContext(infCtx) }()
	}
	if dynFactory != nil {
		dynFactory.Start(infCtx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		shutdown()
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("the watches of %s did not list", strings.Join(s.Kinds, ", "))
	}
	if s.Synced != nil {
		s.Synced()
	}
	<-ctx.Done()
	shutdown()
	return nil
}

// typedInformer is an informer of a kind client-go's scheme knows, reading protobuf
// into typed objects: a dynamic informer would decode each object from JSON into
// unstructured maps first (several times the allocations), only for compact to turn
// it into the typed object anyway. It returns nil for other kinds.
func (s *KubeSource) typedInformer(res *kube.Resource) (cache.SharedIndexInformer, error) {
	gv := res.GVR.GroupVersion()
	gvk := gv.WithKind(res.Kind)
	example, err := scheme.Scheme.New(gvk)
	if err != nil {
		return nil, nil
	}
	cfg, err := s.KF.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, err
	}
	lw := cache.NewFilteredListWatchFromClient(rc, res.GVR.Resource, metav1.NamespaceAll, func(*metav1.ListOptions) {})
	inf := cache.NewSharedIndexInformer(lw, example, 0, cache.Indexers{})
	if err := inf.SetTransform(compactTyped(gvk)); err != nil {
		return nil, err
	}
	return inf, nil
}

// compactTyped is the typed informers' transform: no managedFields (as compact), and
// the kind set again, since a decoded typed object comes without apiVersion and kind
// and the event's unstructured copy needs them.
func compactTyped(gvk schema.GroupVersionKind) cache.TransformFunc {
	return func(obj any) (any, error) {
		o, ok := obj.(runtime.Object)
		if !ok {
			return obj, nil // a DeletedFinalStateUnknown keeps what it holds
		}
		if m, err := meta.Accessor(o); err == nil {
			m.SetManagedFields(nil)
		}
		o.GetObjectKind().SetGroupVersionKind(gvk)
		return o, nil
	}
}

func (s *KubeSource) handler(kind string, emit func(*Incoming) bool) cache.ResourceEventHandler {
	// The event's unstructured copies are made by the worker (Incoming.Resolve), so an
	// event waiting in the queue holds only pointers to the store's objects, which the
	// informer replaces on change and never mutates.
	send := func(op string, old, obj any) {
		if s.Lag != nil {
			s.Lag(kind, lagOf(op, obj))
		}
		emit(&Incoming{pending: func() *engine.Event {
			n, ok := toUnstructured(obj)
			if !ok {
				return nil
			}
			var o *unstructured.Unstructured
			if old != nil {
				if o, ok = toUnstructured(old); !ok {
					return nil
				}
			}
			return engine.ChangeEvent(kind, op, o, n)
		}, pendingName: describeObject(kind, op, obj), Received: time.Now()})
	}
	return cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			if initial && !s.ReplayExisting {
				return
			}
			send("create", nil, obj)
		},
		UpdateFunc: func(oldObj, newObj any) {
			if resourceVersion(oldObj) == resourceVersion(newObj) {
				return // a relist or resync, not a change
			}
			send("update", oldObj, newObj)
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			send("delete", nil, obj)
		},
	}
}

// describeObject names a pending event for log lines (a dropped event), without
// converting its object.
func describeObject(kind, op string, obj any) string {
	if m, err := meta.Accessor(obj); err == nil {
		return fmt.Sprintf("%s %s %s/%s", kind, op, m.GetNamespace(), m.GetName())
	}
	return kind + " " + op
}

// compact is the informers' transform, which keeps their stores small: the runner
// drops managedFields when it loads an object, and so does this store; and an object
// of a kind client-go knows is kept typed (a Pod as a corev1.Pod takes a fraction of
// its unstructured maps), turned back into a fresh unstructured copy for each event.
func compact(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	u.SetManagedFields(nil)
	typed, err := scheme.Scheme.New(u.GroupVersionKind())
	if err != nil {
		return u, nil // a kind client-go does not know (a CRD) stays unstructured
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, typed); err != nil {
		return u, nil
	}
	return typed, nil
}

// toUnstructured is the event's copy of a stored object.
func toUnstructured(obj any) (*unstructured.Unstructured, bool) {
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		return o, true
	case runtime.Object:
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, false
		}
		return &unstructured.Unstructured{Object: m}, true
	}
	return nil, false
}

func resourceVersion(obj any) string {
	if o, ok := obj.(interface{ GetResourceVersion() string }); ok {
		return o.GetResourceVersion()
	}
	return ""
}

// lagOf estimates how late an event is seen: from the object's creation for a
// create, its deletion timestamp for a delete; zero when unknown (updates carry no
// time of change).
func lagOf(op string, obj any) time.Duration {
	m, err := meta.Accessor(obj)
	if err != nil {
		return 0
	}
	var t time.Time
	switch op {
	case "create":
		t = m.GetCreationTimestamp().Time
	case "delete":
		if d := m.GetDeletionTimestamp(); d != nil {
			t = d.Time
		}
	}
	if t.IsZero() {
		return 0
	}
	return time.Since(t)
}
