package playbooks

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

func testChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(filepath.Join("..", "..", "testdata", "charts", "robusta"))
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// storedChart is the chart as Helm's release storage gives it back: JSON without the
// subcharts (chart.Chart keeps them in an unexported field).
func storedChart(t *testing.T, ch *chart.Chart) *chart.Chart {
	t.Helper()
	b, err := json.Marshal(ch)
	if err != nil {
		t.Fatal(err)
	}
	var out chart.Chart
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func testMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	for _, k := range []struct {
		gvk   schema.GroupVersionKind
		scope meta.RESTScope
	}{
		{schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Version: "v1", Kind: "Service"}, meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaim"}, meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Group: "monitoring.test.robusta.dev", Version: "v1", Kind: "AlertRule"}, meta.RESTScopeNamespace},
		// Same kind as the core one, another group: only the group tells them apart.
		{schema.GroupVersionKind{Group: "example.test.robusta.dev", Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, meta.RESTScopeRoot},
	} {
		m.Add(k.gvk, k.scope)
	}
	return m
}

var renderOpts = chartutil.ReleaseOptions{Name: "robusta", Namespace: "robusta", Revision: 2, IsUpgrade: true}

// testCaps are the capabilities of a cluster that serves the test chart's CRD.
func testCaps() *chartutil.Capabilities {
	c := chartutil.DefaultCapabilities.Copy()
	c.APIVersions = append(c.APIVersions, "monitoring.test.robusta.dev/v1", "monitoring.test.robusta.dev/v1/AlertRule")
	return c
}

// The test chart has what real charts have: NOTES.txt, _helpers.tpl, a subchart with
// its own values, a hook. Rendering gives notes apart, no partials, hooks apart, and
// the subchart rendered with its own values merged over its defaults.
func TestRenderChartLikeHelm(t *testing.T) {
	ch := testChart(t)
	vals := map[string]any{"testHooks": true, "sinksConfig": []any{map[string]any{"robusta_sink": map[string]any{"name": "ui", "token": "t"}}}}
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		t.Fatal(err)
	}
	r, err := renderChart(ch, vals, renderOpts, testCaps(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.notes, "Thank you for installing") || !strings.Contains(r.notes, "Visit the web UI") {
		t.Errorf("notes: %q", r.notes)
	}
	names := map[string]string{}
	for _, m := range r.manifests {
		names[m.Name] += m.Content + "\n"
		if strings.HasSuffix(m.Name, "NOTES.txt") || strings.Contains(m.Name, "/_") {
			t.Errorf("%s is among the manifests", m.Name)
		}
	}
	for name := range r.files {
		if strings.HasSuffix(name, "NOTES.txt") {
			t.Errorf("%s is among the files", name)
		}
	}
	holmes := names["robusta/charts/holmes/templates/holmes.yaml"]
	// 2048Mi from the parent's holmes: values, 100m from the subchart's own defaults.
	if !strings.Contains(holmes, `memory-request: "2048Mi"`) || !strings.Contains(holmes, `cpu-request: "100m"`) || !strings.Contains(holmes, "ROBUSTA_AI") {
		t.Errorf("holmes rendered without its values scope:\n%s", holmes)
	}
	if len(r.hooks) != 1 || r.hooks[0].Name != "robusta-upgrade-hook" {
		t.Errorf("hooks: %+v", r.hooks)
	}
	if _, ok := names["robusta/templates/alert-rules.yaml"]; !ok {
		t.Errorf("the custom resource was not rendered: %v", names)
	}
}

// An upgrade renders the stored chart, which has lost its subcharts: their objects (and
// hooks) are carried over from the deployed manifest, neither pruned nor re-applied.
func TestPlanCarriesSubchartObjects(t *testing.T) {
	full := testChart(t)
	vals := map[string]any{}
	if err := chartutil.ProcessDependenciesWithMerge(full, vals); err != nil {
		t.Fatal(err)
	}
	installed, err := renderChart(full, vals, renderOpts, testCaps(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var manifest strings.Builder
	for _, m := range installed.manifests {
		manifest.WriteString("---\n# Source: " + m.Name + "\n" + m.Content + "\n")
	}
	subHook := &release.Hook{Name: "holmes-hook", Kind: "ConfigMap", Path: "robusta/charts/holmes/templates/hook.yaml", Events: []release.HookEvent{release.HookPreUpgrade}}
	current := &release.Release{Name: "robusta", Namespace: "robusta", Version: 1, Chart: storedChart(t, full), Manifest: manifest.String(), Hooks: []*release.Hook{subHook}}
	if len(current.Chart.Dependencies()) != 0 {
		t.Fatal("the stored chart should have lost its subcharts")
	}

	r, err := renderChart(current.Chart, map[string]any{"customPlaybooks": []any{map[string]any{"name": "new-one"}}}, renderOpts, testCaps(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := makePlan(current, r, testMapper())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.prune) != 0 {
		t.Errorf("would delete %v", p.prune)
	}
	for _, a := range p.apply {
		if strings.Contains(a.key.Name, "holmes") {
			t.Errorf("re-applies the subchart's %s", a.key)
		}
	}
	for _, want := range []string{"# Source: robusta/charts/holmes/templates/holmes.yaml\napiVersion: v1\nkind: ConfigMap", "name: robusta-holmes\n", "new-one", "kind: AlertRule"} {
		if !strings.Contains(p.manifest, want) {
			t.Errorf("the new manifest lacks %q:\n%s", want, p.manifest)
		}
	}
	if strings.Count(p.manifest, "name: robusta-holmes-config") != 1 {
		t.Errorf("the holmes ConfigMap is not in the manifest once:\n%s", p.manifest)
	}
	if len(p.hooks) != 1 || p.hooks[0] != subHook {
		t.Errorf("hooks: %+v", p.hooks)
	}
	if len(p.created) != 0 {
		t.Errorf("created: %v", p.created)
	}
}

// Objects are matched by group, kind, namespace and name: a name shared across
// namespaces, kinds or groups does not keep the other one alive.
func TestPlanPrunesByGroupKindNamespaceName(t *testing.T) {
	old := `---
# Source: robusta/templates/a.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: shared
---
# Source: robusta/templates/a.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: shared
  namespace: other
---
# Source: robusta/templates/b.yaml
apiVersion: example.test.robusta.dev/v1
kind: ConfigMap
metadata:
  name: shared
---
# Source: robusta/templates/c.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: shared
  namespace: ignored-for-cluster-scope
---
# Source: robusta/templates/d.yaml
apiVersion: v1
kind: Secret
metadata:
  name: shared
`
	current := &release.Release{Name: "robusta", Namespace: "robusta", Version: 3, Chart: &chart.Chart{Metadata: &chart.Metadata{Name: "robusta"}}, Manifest: old}
	r := &rendered{files: map[string]string{"robusta/templates/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: robusta\n",
		"robusta/templates/c.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: shared\n",
		"robusta/templates/e.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: shared\n"}}
	var err error
	_, r.manifests, err = sortFiles(r.files)
	if err != nil {
		t.Fatal(err)
	}
	p, err := makePlan(current, r, testMapper())
	if err != nil {
		t.Fatal(err)
	}
	var pruned, created []string
	for _, t := range p.prune {
		pruned = append(pruned, t.key.String())
	}
	for _, t := range p.created {
		created = append(created, t.key.String())
	}
	want := "ConfigMap shared in other|ConfigMap.example.test.robusta.dev shared in robusta|Secret shared in robusta"
	if got := strings.Join(pruned, "|"); got != want {
		t.Errorf("pruned\n got %s\nwant %s", got, want)
	}
	if got := strings.Join(created, "|"); got != "Service shared in robusta" {
		t.Errorf("created %s", got)
	}
}

func TestPlanRefusesWhatItCannotRead(t *testing.T) {
	r := &rendered{files: map[string]string{}}
	for _, tc := range []struct{ name, manifest, want string }{
		{"not YAML", "---\n# Source: robusta/templates/x.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n",
			"the manifest of deployed revision 1 of release robusta: document 1 (robusta/templates/x.yaml) cannot be decoded"},
		{"not an object", "---\n# Source: robusta/templates/y.yaml\njust: data\n",
			"document 1 (robusta/templates/y.yaml) cannot be decoded: not a Kubernetes object"},
		{"unknown kind", "---\n# Source: robusta/templates/z.yaml\napiVersion: gone.example.com/v1\nkind: Gone\nmetadata: {name: g}\n",
			"deployed revision 1: Gone g (from robusta/templates/z.yaml): the cluster does not serve this kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			current := &release.Release{Name: "robusta", Namespace: "robusta", Version: 1, Chart: &chart.Chart{Metadata: &chart.Metadata{Name: "robusta"}}, Manifest: tc.manifest}
			_, err := makePlan(current, r, testMapper())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

// A new object of the chart that already exists is taken over only when it belongs to
// this release, as Helm's existingResourceConflict decides.
func TestCheckOwnership(t *testing.T) {
	cm := func(name string, labels, annos map[string]string) *unstructured.Unstructured {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("v1")
		o.SetKind("ConfigMap")
		o.SetName(name)
		o.SetNamespace("robusta")
		o.SetLabels(labels)
		o.SetAnnotations(annos)
		return o
	}
	owned := map[string]string{releaseNameAnno: "robusta", releaseNamespaceAnno: "robusta"}
	helm := map[string]string{managedByLabel: managedByHelm}
	dyn := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme(),
		cm("mine", helm, owned),
		cm("foreign", nil, nil),
		cm("other-release", helm, map[string]string{releaseNameAnno: "other", releaseNamespaceAnno: "robusta"}))
	mapping := &meta.RESTMapping{Resource: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Scope: meta.RESTScopeNamespace}
	tgt := func(name string) target {
		return target{key: objKey{Kind: "ConfigMap", Namespace: "robusta", Name: name}, mapping: mapping, obj: cm(name, nil, nil)}
	}
	for _, tc := range []struct {
		name string
		want string
	}{
		{"absent", ""},
		{"mine", ""},
		{"foreign", "ConfigMap foreign in robusta exists and does not belong to release robusta in robusta"},
		{"other-release", "ConfigMap other-release in robusta exists and does not belong"},
	} {
		err := checkOwnership(context.Background(), dyn, "robusta", "robusta", []target{tgt(tc.name)})
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}
