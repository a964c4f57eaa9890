package kube

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
)

// Resource is a resolved kind: how to reach it and whether it lives in a namespace.
type Resource struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Namespaced bool
}

// UnknownKindError means the server has no resource of that kind.
type UnknownKindError struct{ Kind string }

func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("the server has no resource kind %q (see kubectl api-resources)", e.Kind)
}

// ResolveKind turns what a user types for a kind (Deployment, deployments, deploy,
// hpa, statefulset.apps) into a resource, asking the API server's discovery as kubectl
// does, so custom resources work too.
func (f *Factory) ResolveKind(kind string) (*Resource, error) {
	cs, err := f.Clientset()
	if err != nil {
		return nil, f.Explain(err, "", "", "")
	}
	mapper := restmapper.NewShortcutExpander(
		restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery())), cs.Discovery(), nil)
	gr := schema.ParseGroupResource(strings.ToLower(kind))
	gvr, err := mapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		if meta.IsNoMatchError(err) {
			return nil, &UnknownKindError{Kind: kind}
		}
		return nil, f.Explain(err, "", "", "")
	}
	gvk, err := mapper.KindFor(gvr)
	if err != nil {
		return nil, f.Explain(err, "", "", "")
	}
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, f.Explain(err, "", "", "")
	}
	return &Resource{GVR: gvr, Kind: gvk.Kind, Namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace}, nil
}
