package playbooks

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/storage/driver"
	helmtime "helm.sh/helm/v3/pkg/time"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/kube"
)

// Upgrade renders the release's own stored chart with values and applies it, then
// records the new revision in Helm's Secret storage (the previous one superseded), so
// `helm history` and later `helm upgrade` see it. It uses Helm's engine and storage
// but not its action package, whose dependencies would double this binary's start-up
// memory. Chart hooks are not run: they are kept out of what is applied and recorded
// with the revision, as Helm records them (so a later helm uninstall runs its delete
// hooks); UpgradeHooks names the upgrade hooks that were skipped.
func Upgrade(ctx context.Context, kf *kube.Factory, rel *Release, values map[string]any) (*release.Release, error) {
	cs, err := kf.Clientset()
	if err != nil {
		return nil, err
	}
	dyn, err := kf.Dynamic()
	if err != nil {
		return nil, err
	}
	sv, err := cs.Discovery().ServerVersion()
	if err != nil {
		return nil, kf.Explain(err, "get", "version", "")
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: sv.GitVersion, Major: sv.Major, Minor: sv.Minor}
	old := rel.Raw
	rv, err := chartutil.ToRenderValues(old.Chart, values, chartutil.ReleaseOptions{
		Name: old.Name, Namespace: old.Namespace, Revision: old.Version + 1, IsUpgrade: true}, caps)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	files, err := engine.Render(old.Chart, rv)
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", old.Chart.Name(), err)
	}
	manifest, hooks, objs, err := collect(files)
	if err != nil {
		return nil, err
	}

	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))
	next := &release.Release{
		Name: old.Name, Namespace: old.Namespace, Version: old.Version + 1, Chart: old.Chart,
		Config: values, Manifest: manifest, Hooks: hooks,
		Info: &release.Info{FirstDeployed: old.Info.FirstDeployed, LastDeployed: helmtime.Now(), Status: release.StatusPendingUpgrade, Description: "Upgrade by robusta playbooks configure"},
	}
	store := driver.NewSecrets(cs.CoreV1().Secrets(old.Namespace))
	key := fmt.Sprintf("sh.helm.release.v1.%s.v%d", next.Name, next.Version)
	if err := store.Create(key, next); err != nil {
		return nil, fmt.Errorf("record revision %d: %w", next.Version, err)
	}

	applyErr := apply(ctx, dyn, mapper, old.Namespace, objs)
	if applyErr == nil {
		applyErr = prune(ctx, dyn, mapper, old.Namespace, old.Manifest, objs)
	}
	if applyErr != nil {
		// As Helm does: the new revision is failed, the old one stays deployed.
		next.Info.Status, next.Info.Description = release.StatusFailed, "Upgrade failed: "+applyErr.Error()
		_ = store.Update(key, next)
		return nil, applyErr
	}
	old.Info.Status, old.Info.Description = release.StatusSuperseded, "Superseded"
	if err := store.Update(fmt.Sprintf("sh.helm.release.v1.%s.v%d", old.Name, old.Version), old); err != nil {
		return nil, err
	}
	next.Info.Status, next.Info.Description = release.StatusDeployed, "Upgrade complete"
	if err := store.Update(key, next); err != nil {
		return nil, err
	}
	return next, nil
}

// collect sorts rendered templates as Helm does (releaseutil): hooks apart, the rest
// in Helm's install order, one manifest as Helm stores it, and the objects to apply.
func collect(files map[string]string) (string, []*release.Hook, []*unstructured.Unstructured, error) {
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return "", nil, nil, fmt.Errorf("sort rendered templates: %w", err)
	}
	var manifest strings.Builder
	var objs []*unstructured.Unstructured
	for _, m := range manifests {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(m.Content), &obj); err != nil {
			return "", nil, nil, fmt.Errorf("%s: %w", m.Name, err)
		}
		if len(obj) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: obj})
		fmt.Fprintf(&manifest, "---\n# Source: %s\n%s\n", m.Name, strings.TrimSpace(m.Content))
	}
	return manifest.String(), hooks, objs, nil
}

// UpgradeHooks names the hooks of a rendered release that Helm would run on upgrade
// and Upgrade does not.
func UpgradeHooks(rel *release.Release) []string {
	var out []string
	for _, h := range rel.Hooks {
		for _, e := range h.Events {
			if e == release.HookPreUpgrade || e == release.HookPostUpgrade {
				out = append(out, strings.ToLower(h.Kind)+"/"+h.Name)
				break
			}
		}
	}
	return out
}

// resourceFor maps an object to its dynamic resource client, namespaced as needed.
func resourceFor(dyn dynamic.Interface, mapper meta.RESTMapper, namespace string, o *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := o.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
	}
	if m.Scope.Name() == meta.RESTScopeNameRoot {
		return dyn.Resource(m.Resource), nil
	}
	if o.GetNamespace() == "" {
		o.SetNamespace(namespace)
	}
	return dyn.Resource(m.Resource).Namespace(o.GetNamespace()), nil
}

func apply(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, namespace string, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		ri, err := resourceFor(dyn, mapper, namespace, o)
		if err != nil {
			return err
		}
		data, err := o.MarshalJSON()
		if err != nil {
			return err
		}
		force := true
		if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "helm", Force: &force}); err != nil {
			return fmt.Errorf("apply %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// prune deletes what the old manifest had and the new one does not.
func prune(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, namespace, oldManifest string, objs []*unstructured.Unstructured) error {
	keep := map[string]bool{}
	for _, o := range objs {
		keep[o.GetKind()+"/"+o.GetName()] = true
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(oldManifest)), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		if len(m) == 0 {
			continue
		}
		o := &unstructured.Unstructured{Object: m}
		if keep[o.GetKind()+"/"+o.GetName()] {
			continue
		}
		ri, err := resourceFor(dyn, mapper, namespace, o)
		if err != nil {
			continue
		}
		if err := ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}
