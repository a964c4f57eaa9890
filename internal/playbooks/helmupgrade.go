package playbooks

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
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
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// What Helm puts on every object of a release (pkg/action/validate.go), so that a later
// helm upgrade still owns what this one created.
const (
	managedByLabel       = "app.kubernetes.io/managed-by"
	managedByHelm        = "Helm"
	releaseNameAnno      = "meta.helm.sh/release-name"
	releaseNamespaceAnno = "meta.helm.sh/release-namespace"
	resourcePolicyAnno   = "helm.sh/resource-policy"
	resourcePolicyKeep   = "keep"
	notesFileSuffix      = "NOTES.txt"
	upgradeFieldManager  = "helm"
	upgradeDescription   = "Upgrade by robusta playbooks configure"
	upgradeDoneDesc      = "Upgrade complete"
	releaseSecretKeyFmt  = "sh.helm.release.v1.%s.v%d"
	subchartDirSeparator = "/charts/"
	recoverHint          = "fix the cause and run the command again, or return to revision %d with: helm rollback %s %d -n %s"
)

// Upgrade renders the release's own stored chart with values and applies it the way
// helm upgrade does (pkg/action/upgrade.go), recording the new revision in Helm's Secret
// storage so `helm history`, `helm rollback` and later `helm upgrade` see it. It uses
// Helm's engine, releaseutil and storage but not its action package, whose
// dependencies would double this binary's start-up memory.
//
// Where it follows Helm: NOTES.txt is the release's notes, not a manifest; partials
// (_*.tpl) render nothing; CRDs in crds/ are left alone on upgrade; the revision is
// recorded pending-upgrade, then deployed (the previous one superseded) or failed (the
// previous one stays deployed); objects are keyed by group, kind, namespace and name;
// objects the new revision drops are deleted unless annotated helm.sh/resource-policy:
// keep; a new object that exists but belongs to no release or another one is refused.
//
// Where it differs: chart hooks are not run; they are recorded with the revision as
// Helm records them (so helm uninstall still runs its delete hooks), and UpgradeHooks
// names the ones skipped. Helm stores a release's chart without its subcharts, so
// subchart objects cannot be rendered again: they are carried over from the deployed
// revision unchanged (the values configure replaces are the parent chart's own).
func Upgrade(ctx context.Context, kf *kube.Factory, rel *Release, values map[string]any) (*release.Release, error) {
	cs, err := kf.Clientset()
	if err != nil {
		return nil, err
	}
	dyn, err := kf.Dynamic()
	if err != nil {
		return nil, err
	}
	restCfg, err := kf.RESTConfig()
	if err != nil {
		return nil, err
	}
	current := rel.Raw
	store := driver.NewSecrets(cs.CoreV1().Secrets(current.Namespace))

	// Helm numbers the new revision after the last one, failed or not, and refuses while
	// an operation is pending (someone else's upgrade, or one that was interrupted).
	last, err := lastRevision(store, current.Name)
	if err != nil {
		return nil, kf.Explain(err, "list", "secrets", current.Namespace)
	}
	if last.Info != nil && last.Info.Status.IsPending() {
		return nil, cli.WithHint(
			fmt.Errorf("release %s: revision %d is %s: another helm operation is in progress, or one was interrupted", current.Name, last.Version, last.Info.Status),
			fmt.Sprintf("wait for it to finish; if nothing is running, return to revision %d with: helm rollback %s %d -n %s", current.Version, current.Name, current.Version, current.Namespace))
	}

	caps, err := serverCapabilities(cs.Discovery())
	if err != nil {
		return nil, kf.Explain(err, "get", "version", "")
	}
	if kv := current.Chart.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("chart %s requires kubeVersion %s, which is incompatible with Kubernetes %s", current.Chart.Name(), kv, caps.KubeVersion.String())
	}
	opts := chartutil.ReleaseOptions{Name: current.Name, Namespace: current.Namespace, Revision: last.Version + 1, IsUpgrade: true}
	r, err := renderChart(current.Chart, values, opts, caps, restCfg)
	if err != nil {
		return nil, err
	}

	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))
	p, err := makePlan(current, r, mapper)
	if err != nil {
		return nil, err
	}
	if err := checkOwnership(ctx, dyn, current.Name, current.Namespace, p.created); err != nil {
		return nil, err
	}

	next := &release.Release{
		Name: current.Name, Namespace: current.Namespace, Version: last.Version + 1, Chart: current.Chart,
		Config: values, Manifest: p.manifest, Hooks: p.hooks, Labels: customLabels(last.Labels),
		Info: &release.Info{FirstDeployed: current.Info.FirstDeployed, LastDeployed: helmtime.Now(),
			Status: release.StatusPendingUpgrade, Description: upgradeDescription, Notes: r.notes},
	}
	key := fmt.Sprintf(releaseSecretKeyFmt, next.Name, next.Version)
	// Create fails when the revision exists: a concurrent upgrade got there first.
	if err := store.Create(key, next); err != nil {
		if errors.Is(err, driver.ErrReleaseExists) {
			return nil, cli.WithHint(fmt.Errorf("release %s: revision %d was recorded meanwhile by another upgrade: nothing was changed", next.Name, next.Version),
				"run again once it has finished")
		}
		return nil, fmt.Errorf("record revision %d: %w", next.Version, err)
	}

	applied, err := apply(ctx, dyn, p.apply, current.Name, current.Namespace)
	if err == nil {
		err = prune(ctx, dyn, p.prune)
	}
	if err != nil {
		return nil, failRevision(store, key, next, current, applied, err)
	}
	// As Helm: the previous deployed revision is superseded, the new one deployed.
	current.Info.Status, current.Info.Description = release.StatusSuperseded, "Superseded"
	if err := store.Update(fmt.Sprintf(releaseSecretKeyFmt, current.Name, current.Version), current); err != nil {
		return nil, fmt.Errorf("the objects of revision %d are applied, but marking revision %d superseded failed: %w", next.Version, current.Version, err)
	}
	next.Info.Status, next.Info.Description = release.StatusDeployed, upgradeDoneDesc
	if err := store.Update(key, next); err != nil {
		return nil, fmt.Errorf("the objects of revision %d are applied, but recording it deployed failed: %w", next.Version, err)
	}
	return next, nil
}

// failRevision marks the new revision failed, as Helm's failRelease does; the previous
// deployed revision stays deployed. The error says what was already changed and how
// to recover.
func failRevision(store *driver.Secrets, key string, next, current *release.Release, applied []string, cause error) error {
	next.Info.Status = release.StatusFailed
	next.Info.Description = fmt.Sprintf("Upgrade %q failed: %s", next.Name, cause)
	hint := fmt.Sprintf(recoverHint, current.Version, current.Name, current.Version, current.Namespace)
	if uerr := store.Update(key, next); uerr != nil {
		return cli.WithHint(fmt.Errorf("%w; recording revision %d failed did not work either (%v), so it stays %s", cause, next.Version, uerr, release.StatusPendingUpgrade), hint)
	}
	what := "nothing was changed yet"
	if len(applied) > 0 {
		what = "already applied: " + strings.Join(applied, ", ")
	}
	return cli.WithHint(fmt.Errorf("%w (revision %d is marked failed, revision %d stays deployed; %s)", cause, next.Version, current.Version, what), hint)
}

// customLabels keeps the labels a user gave the release (helm --labels), without the
// ones Helm's storage sets itself.
func customLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		out[k] = v
	}
	for _, k := range driver.GetSystemLabels() {
		delete(out, k)
	}
	return out
}

// lastRevision is the highest revision of the release, whatever its status.
func lastRevision(store *driver.Secrets, name string) (*release.Release, error) {
	rels, err := store.Query(map[string]string{"name": name, "owner": "helm"})
	if err != nil {
		return nil, fmt.Errorf("read the revisions of release %s: %w", name, err)
	}
	last := rels[0]
	for _, r := range rels[1:] {
		if r.Version > last.Version {
			last = r
		}
	}
	return last, nil
}

// serverCapabilities is what templates see as .Capabilities, read from the cluster as
// Helm's getCapabilities does: charts test .Capabilities.APIVersions.Has to render an
// object only where its API is served (the Robusta chart's ServiceMonitor), so the
// default list would drop, and then delete, such objects.
func serverCapabilities(dc discovery.DiscoveryInterface) (*chartutil.Capabilities, error) {
	sv, err := dc.ServerVersion()
	if err != nil {
		return nil, err
	}
	// An API service that is registered but down fails its group only; the rest is
	// complete (Helm warns and goes on too).
	groups, resources, err := dc.ServerGroupsAndResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, err
	}
	versions := chartutil.DefaultVersionSet
	if len(groups) > 0 || len(resources) > 0 {
		seen := map[string]bool{}
		versions = nil
		add := func(v string) {
			if !seen[v] {
				seen[v] = true
				versions = append(versions, v)
			}
		}
		for _, g := range groups {
			for _, gv := range g.Versions {
				add(gv.GroupVersion)
			}
		}
		for _, r := range resources {
			for _, res := range r.APIResources {
				add(r.GroupVersion + "/" + res.Kind)
			}
		}
	}
	return &chartutil.Capabilities{
		APIVersions: versions,
		KubeVersion: chartutil.KubeVersion{Version: sv.GitVersion, Major: sv.Major, Minor: sv.Minor},
		HelmVersion: chartutil.DefaultCapabilities.HelmVersion,
	}, nil
}

// rendered is what Helm's renderResources gives for an upgrade (no CRDs).
type rendered struct {
	notes     string
	hooks     []*release.Hook
	manifests []releaseutil.Manifest
	files     map[string]string // rendered file name to content, NOTES.txt removed
}

// renderChart renders the chart as Helm's action package does for an upgrade: values
// checked against the chart's schema, the lookup function talking to the cluster when
// restCfg is given, NOTES.txt taken apart as the release notes (only the top chart's),
// and the rest sorted into hooks and manifests in Helm's install order.
func renderChart(ch *chart.Chart, values map[string]any, opts chartutil.ReleaseOptions, caps *chartutil.Capabilities, restCfg *rest.Config) (*rendered, error) {
	rv, err := chartutil.ToRenderValues(ch, values, opts, caps)
	if err != nil {
		return nil, fmt.Errorf("values of chart %s: %w", ch.Name(), err)
	}
	var files map[string]string
	if restCfg != nil {
		files, err = engine.New(restCfg).Render(ch, rv)
	} else {
		files, err = engine.Render(ch, rv)
	}
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", ch.Name(), err)
	}
	var notes string
	for name, content := range files {
		if strings.HasSuffix(name, notesFileSuffix) {
			if name == ch.Name()+"/templates/"+notesFileSuffix {
				notes = content
			}
			delete(files, name)
		}
	}
	hooks, manifests, err := sortFiles(files)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", ch.Name(), err)
	}
	return &rendered{notes: notes, hooks: hooks, manifests: manifests, files: files}, nil
}

// sortFiles splits rendered files into hooks and manifests in Helm's install order.
func sortFiles(files map[string]string) ([]*release.Hook, []releaseutil.Manifest, error) {
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, nil, fmt.Errorf("sort rendered templates: %w", err)
	}
	return hooks, manifests, nil
}

// objKey identifies an object as Helm's kube client matches them (isMatchingInfo):
// by group, kind, namespace and name; the version does not matter.
type objKey struct{ Group, Kind, Namespace, Name string }

// String reads "Deployment.apps robusta-runner in robusta".
func (k objKey) String() string {
	s := k.Kind
	if k.Group != "" {
		s += "." + k.Group
	}
	s += " " + k.Name
	if k.Namespace != "" {
		s += " in " + k.Namespace
	}
	return s
}

// target is one object of a manifest, mapped to its API resource.
type target struct {
	key     objKey
	mapping *meta.RESTMapping
	obj     *unstructured.Unstructured
	source  string
}

// plan is what an upgrade records and does.
type plan struct {
	manifest string
	hooks    []*release.Hook
	apply    []target // the rendered objects, in Helm's install order
	created  []target // those the deployed revision does not have
	prune    []target // the deployed revision's objects that the new one drops
}

// makePlan combines the rendered chart with the deployed revision: the new manifest
// and hooks as Helm would store them, what to apply and what to delete. A deployed
// manifest it cannot decode, or an object whose kind the cluster does not serve, is an
// error before anything changes: guessing would delete the wrong objects or none.
func makePlan(current *release.Release, r *rendered, mapper meta.RESTMapper) (*plan, error) {
	chartName := current.Chart.Name()
	oldDocs, err := parseManifest(current.Manifest)
	if err != nil {
		return nil, cli.WithHint(fmt.Errorf("the manifest of deployed revision %d of release %s: %w: nothing was changed", current.Version, current.Name, err),
			fmt.Sprintf("see it with: helm get manifest %s --revision %d -n %s", current.Name, current.Version, current.Namespace))
	}
	carried := carriedSubcharts(chartName, oldDocs, r.files)

	// Subchart objects carried over go into the manifest in Helm's order with the rest.
	files := map[string]string{}
	for name, content := range r.files {
		files[name] = content
	}
	for _, d := range oldDocs {
		if carried[subchartOf(chartName, d.source)] {
			if prev, ok := files[d.source]; ok {
				files[d.source] = prev + "\n---\n" + d.content
			} else {
				files[d.source] = d.content
			}
		}
	}
	_, manifests, err := sortFiles(files)
	if err != nil {
		return nil, err
	}
	p := &plan{hooks: r.hooks}
	var b strings.Builder
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	p.manifest = b.String()
	for _, h := range current.Hooks {
		if carried[subchartOf(chartName, h.Path)] {
			p.hooks = append(p.hooks, h)
		}
	}

	newKeys := map[objKey]bool{}
	for _, m := range r.manifests {
		obj, err := decodeObject(m.Content)
		if err != nil {
			return nil, fmt.Errorf("rendered template %s: %w", m.Name, err)
		}
		if obj == nil {
			continue
		}
		t, err := mapTarget(mapper, current.Namespace, obj, m.Name)
		if err != nil {
			return nil, err
		}
		if newKeys[t.key] {
			return nil, fmt.Errorf("rendered template %s: %s is rendered twice", m.Name, t.key)
		}
		newKeys[t.key] = true
		p.apply = append(p.apply, t)
	}
	oldKeys := map[objKey]bool{}
	for _, d := range oldDocs {
		if carried[subchartOf(chartName, d.source)] {
			continue
		}
		t, err := mapTarget(mapper, current.Namespace, d.obj, d.source)
		if err != nil {
			return nil, cli.WithHint(fmt.Errorf("deployed revision %d: %w", current.Version, err),
				"if the API was removed from Kubernetes, the helm-mapkubeapis plugin rewrites it in the stored release; then run again")
		}
		oldKeys[t.key] = true
		if !newKeys[t.key] {
			p.prune = append(p.prune, t)
		}
	}
	for _, t := range p.apply {
		if !oldKeys[t.key] {
			p.created = append(p.created, t)
		}
	}
	return p, nil
}

// subchartOf names the subchart a template path belongs to ("robusta/charts/holmes/
// templates/x.yaml" → "holmes"), or "" for the chart's own templates.
func subchartOf(chartName, source string) string {
	tail, ok := strings.CutPrefix(source, chartName+subchartDirSeparator)
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(tail, "/")
	return name
}

// carriedSubcharts names the subcharts that appear in the deployed manifest but were
// not rendered now (Helm's stored chart lacks its subcharts): their objects are kept
// as they are.
func carriedSubcharts(chartName string, old []manifestDoc, renderedFiles map[string]string) map[string]bool {
	renderedSubs := map[string]bool{}
	for name := range renderedFiles {
		renderedSubs[subchartOf(chartName, name)] = true
	}
	out := map[string]bool{}
	for _, d := range old {
		if s := subchartOf(chartName, d.source); s != "" && !renderedSubs[s] {
			out[s] = true
		}
	}
	return out
}

// manifestDoc is one object of a stored release manifest.
type manifestDoc struct {
	source  string // the template it came from (its "# Source:" comment)
	content string // the document without the "# Source:" comment
	obj     *unstructured.Unstructured
}

var sourceComment = regexp.MustCompile(`(?m)^# Source: (.+)\n?`)

// parseManifest splits a stored manifest as Helm does (releaseutil.SplitManifests)
// and decodes each document; a document that does not decode is an error.
func parseManifest(manifest string) ([]manifestDoc, error) {
	split := releaseutil.SplitManifests(manifest)
	names := make([]string, 0, len(split))
	for k := range split {
		names = append(names, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(names))
	var docs []manifestDoc
	for i, name := range names {
		content := split[name]
		d := manifestDoc{content: content}
		if m := sourceComment.FindStringSubmatchIndex(content); m != nil {
			d.source = strings.TrimSpace(content[m[2]:m[3]])
			d.content = content[:m[0]] + content[m[1]:]
		}
		obj, err := decodeObject(d.content)
		if err != nil {
			where := d.source
			if where == "" {
				where = "no # Source comment"
			}
			return nil, fmt.Errorf("document %d (%s) cannot be decoded: %w", i+1, where, err)
		}
		if obj == nil {
			continue
		}
		d.content = strings.TrimSpace(d.content)
		d.obj = obj
		docs = append(docs, d)
	}
	return docs, nil
}

// decodeObject decodes one YAML document; nil for an empty one (only comments). A
// document that is not a Kubernetes object (no apiVersion, kind or name) is an error.
func decodeObject(doc string) (*unstructured.Unstructured, error) {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	o := &unstructured.Unstructured{Object: m}
	if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
		return nil, errors.New("not a Kubernetes object: apiVersion, kind and metadata.name are required")
	}
	return o, nil
}

// mapTarget maps an object to its API resource and key; a namespaced object without a
// namespace is in the release's, as Helm places it.
func mapTarget(mapper meta.RESTMapper, namespace string, o *unstructured.Unstructured, source string) (target, error) {
	gvk := o.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return target{}, fmt.Errorf("%s %s (from %s): the cluster does not serve this kind: %w", o.GetKind(), o.GetName(), source, err)
	}
	ns := ""
	if m.Scope.Name() != meta.RESTScopeNameRoot {
		if o.GetNamespace() == "" {
			o.SetNamespace(namespace)
		}
		ns = o.GetNamespace()
	}
	return target{key: objKey{Group: gvk.Group, Kind: gvk.Kind, Namespace: ns, Name: o.GetName()}, mapping: m, obj: o, source: source}, nil
}

func (t target) resource(dyn dynamic.Interface) dynamic.ResourceInterface {
	if t.key.Namespace == "" {
		return dyn.Resource(t.mapping.Resource)
	}
	return dyn.Resource(t.mapping.Resource).Namespace(t.key.Namespace)
}

// checkOwnership refuses, as Helm's existingResourceConflict does, to take over an
// object that exists but belongs to no release or to another one.
func checkOwnership(ctx context.Context, dyn dynamic.Interface, name, namespace string, created []target) error {
	for _, t := range created {
		live, err := t.resource(dyn).Get(ctx, t.key.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("get %s: %w", t.key, err)
		}
		if live.GetLabels()[managedByLabel] != managedByHelm || live.GetAnnotations()[releaseNameAnno] != name || live.GetAnnotations()[releaseNamespaceAnno] != namespace {
			return cli.WithHint(fmt.Errorf("%s exists and does not belong to release %s in %s: nothing was changed", t.key, name, namespace),
				"delete it, or label it "+managedByLabel+"="+managedByHelm+" and annotate it "+releaseNameAnno+"="+name+" "+releaseNamespaceAnno+"="+namespace)
		}
	}
	return nil
}

// apply applies each object server-side, with the metadata Helm puts on a release's
// objects, in order; it returns what it applied before an error.
func apply(ctx context.Context, dyn dynamic.Interface, targets []target, name, namespace string) ([]string, error) {
	var done []string
	for _, t := range targets {
		o := t.obj.DeepCopy()
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[managedByLabel] = managedByHelm
		o.SetLabels(labels)
		annos := o.GetAnnotations()
		if annos == nil {
			annos = map[string]string{}
		}
		annos[releaseNameAnno], annos[releaseNamespaceAnno] = name, namespace
		o.SetAnnotations(annos)
		data, err := o.MarshalJSON()
		if err != nil {
			return done, fmt.Errorf("encode %s: %w", t.key, err)
		}
		force := true
		if _, err := t.resource(dyn).Patch(ctx, t.key.Name, types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: upgradeFieldManager, Force: &force}); err != nil {
			return done, fmt.Errorf("apply %s: %w", t.key, err)
		}
		done = append(done, t.key.String())
	}
	return done, nil
}

// prune deletes the objects the new revision dropped, as Helm does: one already gone is
// fine, one annotated helm.sh/resource-policy: keep is kept.
func prune(ctx context.Context, dyn dynamic.Interface, targets []target) error {
	for _, t := range targets {
		ri := t.resource(dyn)
		live, err := ri.Get(ctx, t.key.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("get %s to delete it: %w", t.key, err)
		}
		if live.GetAnnotations()[resourcePolicyAnno] == resourcePolicyKeep {
			continue
		}
		bg := metav1.DeletePropagationBackground
		if err := ri.Delete(ctx, t.key.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s: %w", t.key, err)
		}
	}
	return nil
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
