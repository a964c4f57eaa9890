package actions

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/kubectl/pkg/describe"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

func init() {
	engine.Register(&engine.Action{Name: "kubectl_describe", Event: "ExecutionBaseEvent",
		Doc:       "Attach kubectl describe's text for the object named by kind, name and namespace (kubectl's own describers, no kubectl binary)",
		NewParams: func() any { return &resourceParams{} }, Do: kubectlDescribe})
}

// describeChunk is the page size kubectl describe asks for (its --chunk-size default).
const describeChunk = 500

// kubectlDescribe is the runner's kubectl_describe, which runs `kubectl describe KIND
// NAME [-n NS]`: the same describers (k8s.io/kubectl/pkg/describe), events shown, and
// kubectl's fallback when NAME is not an object's name: every object of the kind
// whose name starts with NAME.
func kubectlDescribe(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*resourceParams)
	r.Finding.Title = fmt.Sprintf("kubectl describe %s/%s", params.Kind, params.Name)
	r.Finding.AggregationKey = "kubectl_describe"
	res, ns, err := resolveTarget(r, "kubectl_describe", params)
	if err != nil {
		return err
	}
	d, err := describerFor(r, res)
	if err != nil {
		return err
	}
	settings := describe.DescriberSettings{ShowEvents: true, ChunkSize: describeChunk}
	text, err := d.Describe(ns, params.Name, settings)
	switch {
	case apierrors.IsNotFound(err):
		if text, err = describeByPrefix(ctx, r, d, res, ns, params.Name, settings, err); err != nil {
			return err
		}
	case err != nil:
		return r.KF.Explain(err, "describe", res.GVR.Resource, ns)
	}
	name := fmt.Sprintf("%s_%s_describe.txt", params.Kind, params.Name)
	if params.Namespace != "" {
		name = params.Namespace + "_" + name
	}
	r.Finding.AddEnrichment("", engine.File(name, []byte(text)))
	return nil
}

// describerFor is kubectl's choice: the kind's own describer, else the generic one.
func describerFor(r *engine.Run, res *kube.Resource) (describe.ResourceDescriber, error) {
	cfg, err := r.KF.RESTConfig()
	if err != nil {
		return nil, err
	}
	gvk := res.GVR.GroupVersion().WithKind(res.Kind)
	if d, ok := describe.DescriberFor(gvk.GroupKind(), cfg); ok {
		return d, nil
	}
	scope := meta.RESTScopeRoot
	if res.Namespaced {
		scope = meta.RESTScopeNamespace
	}
	if d, ok := describe.GenericDescriberFor(&meta.RESTMapping{Resource: res.GVR, GroupVersionKind: gvk, Scope: scope}, cfg); ok {
		return d, nil
	}
	return nil, fmt.Errorf("kubectl_describe: no describer for %s", gvk)
}

// describeByPrefix is kubectl's DescribeMatchingResources: the objects whose name
// starts with prefix, each description followed by a newline; none is the original
// not-found error. Errors come back explained.
func describeByPrefix(ctx context.Context, r *engine.Run, d describe.ResourceDescriber, res *kube.Resource, ns, prefix string,
	settings describe.DescriberSettings, notFound error) (string, error) {
	var names []string
	err := listAll(ctx, r, res.GVR, ns, func(u *unstructured.Unstructured) bool {
		if strings.HasPrefix(u.GetName(), prefix) {
			names = append(names, u.GetName())
		}
		return true
	})
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", r.KF.Explain(notFound, "describe", res.GVR.Resource, ns)
	}
	var b strings.Builder
	for _, n := range names {
		s, err := d.Describe(ns, n, settings)
		if err != nil {
			return "", r.KF.Explain(err, "describe", res.GVR.Resource, ns)
		}
		b.WriteString(s + "\n")
	}
	return b.String(), nil
}
