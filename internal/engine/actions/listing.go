package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

func init() {
	engine.Register(&engine.Action{Name: "fetch_resource_yaml", Event: "ExecutionBaseEvent",
		Doc:       "Attach the YAML of the object named by kind, name and namespace, as kubectl get -o yaml shows it",
		NewParams: func() any { return &resourceParams{} }, Do: fetchResourceYAML})
	engine.Register(&engine.Action{Name: "list_pods", Event: "ExecutionBaseEvent",
		Doc:       "List the pods whose name contains name (any case), in one namespace or all, up to limit",
		NewParams: func() any { return &listPodsParams{} }, Do: listPods})
	engine.Register(&engine.Action{Name: "list_resource_names", Event: "ExecutionBaseEvent",
		Doc:       "List the names of the objects of a kind, in one namespace or all",
		NewParams: func() any { return &namedResourcesParams{} }, Do: listResourceNames})
	engine.Register(&engine.Action{Name: "fetch_crds", Event: "ExecutionBaseEvent",
		Doc: "Attach, as JSON, every CustomResourceDefinition's group/version, kind, plural, scope, age and printer columns", Do: fetchCRDs})
	engine.Register(&engine.Action{Name: "fetch_cr_instances", Event: "ExecutionBaseEvent",
		Doc:       "Attach, as JSON, the name, namespace and chosen fields of every object of a (custom) kind",
		NewParams: func() any { return &crInstancesParams{} }, Do: fetchCRInstances})
}

// pageSize bounds each list request; the actions page with continue tokens.
const pageSize = 500

// listAll pages through a resource with the dynamic client, calling each for every
// item until it returns false.
func listAll(ctx context.Context, r *engine.Run, gvr schema.GroupVersionResource, namespace string, each func(*unstructured.Unstructured) bool) error {
	dyn, err := r.KF.Dynamic()
	if err != nil {
		return err
	}
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		list, err := dyn.Resource(gvr).Namespace(namespace).List(ctx, opts)
		if err != nil {
			return r.KF.Explain(err, "list", gvr.Resource, namespace)
		}
		for i := range list.Items {
			if !each(&list.Items[i]) {
				return nil
			}
		}
		if opts.Continue = list.GetContinue(); opts.Continue == "" {
			return nil
		}
	}
}

func fetchResourceYAML(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*resourceParams)
	r.Finding.Title = fmt.Sprintf("YAML for %s/%s", params.Kind, params.Name)
	r.Finding.AggregationKey = "fetch_resource_yaml"
	res, ns, err := resolveTarget(r, "fetch_resource_yaml", params)
	if err != nil {
		return err
	}
	dyn, err := r.KF.Dynamic()
	if err != nil {
		return err
	}
	obj, err := dyn.Resource(res.GVR).Namespace(ns).Get(ctx, params.Name, metav1.GetOptions{})
	if err != nil {
		return r.KF.Explain(err, "get", res.GVR.Resource, ns)
	}
	// kubectl get -o yaml leaves managedFields out.
	obj.SetManagedFields(nil)
	b, err := yaml.Marshal(obj.Object)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", res.Kind, params.Name, err)
	}
	name := fmt.Sprintf("%s_%s.yaml", params.Kind, params.Name)
	if params.Namespace != "" {
		name = params.Namespace + "_" + name
	}
	r.Finding.AddEnrichment("", engine.File(name, b))
	return nil
}

// listPodsParams is Robusta's ListPodsParams.
type listPodsParams struct {
	Name      string `param:"name" required:"true" doc:"keep pods whose name contains this (any case)"`
	Namespace string `param:"namespace" doc:"only this namespace (default: all)"`
	Limit     int64  `param:"limit" default:"50" doc:"most pods to list"`
}

var listPodsHeaders = []string{"name", "namespace", "node", "status", "status_reason", "restarts",
	"cpu_request", "cpu_limit", "memory_request", "memory_limit", "addresses", "created"}

func listPods(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*listPodsParams)
	want := strings.ToLower(params.Name)
	var rows [][]string
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	err := listAll(ctx, r, gvr, params.Namespace, func(u *unstructured.Unstructured) bool {
		if int64(len(rows)) >= params.Limit {
			return false
		}
		if !strings.Contains(strings.ToLower(u.GetName()), want) {
			return true
		}
		var pod corev1.Pod
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pod); err == nil {
			rows = append(rows, listPodsRow(&pod))
		}
		return true
	})
	if err != nil {
		return err
	}
	r.Finding.AddEnrichment("", engine.Table("pods", listPodsHeaders, rows))
	return nil
}

// listPodsRow is the runner's per-pod record (name, place, state, summed container
// requests and limits) as a table row.
func listPodsRow(p *corev1.Pod) []string {
	req, lim := corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range p.Spec.Containers {
		addTo(req, c.Resources.Requests)
		addTo(lim, c.Resources.Limits)
	}
	var restarts int32
	for _, c := range p.Status.ContainerStatuses {
		restarts += c.RestartCount
	}
	var ips []string
	for _, ip := range p.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	q := func(l corev1.ResourceList, n corev1.ResourceName) string {
		v, ok := l[n]
		if !ok {
			return ""
		}
		return v.String()
	}
	return []string{p.Name, p.Namespace, p.Spec.NodeName, string(p.Status.Phase), p.Status.Reason, fmt.Sprint(restarts),
		q(req, corev1.ResourceCPU), q(lim, corev1.ResourceCPU), q(req, corev1.ResourceMemory), q(lim, corev1.ResourceMemory),
		strings.Join(ips, ","), p.CreationTimestamp.UTC().Format("2006-01-02 15:04:05")}
}

// namedResourcesParams is Robusta's NamedResourcesParams.
type namedResourcesParams struct {
	Kind      string `param:"kind" required:"true" doc:"the kind to list (deployment, node, a custom resource's kind, ...)"`
	Namespace string `param:"namespace" doc:"only this namespace (default: all)"`
}

func listResourceNames(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*namedResourcesParams)
	res, err := resolveKindParam(r, "list_resource_names", params.Kind)
	if err != nil {
		return err
	}
	if !res.Namespaced && params.Namespace != "" {
		return &engine.ParamsError{Action: "list_resource_names", Err: fmt.Errorf("%s is not namespaced: drop the namespace parameter", res.Kind)}
	}
	names := []string{}
	err = listAll(ctx, r, res.GVR, params.Namespace, func(u *unstructured.Unstructured) bool {
		names = append(names, u.GetName())
		return true
	})
	if err != nil {
		return err
	}
	r.Finding.AddEnrichment("", engine.List(names...))
	return nil
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// crdInfo is one CRD as the runner reports it, fields in its order.
type crdInfo struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Plural     string       `json:"plural"`
	Scope      string       `json:"scope"`
	CreatedAt  string       `json:"createdAt"`
	Columns    []printerCol `json:"additionalPrinterColumns"`
}

type printerCol struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	JSONPath string `json:"jsonPath"`
}

func fetchCRDs(ctx context.Context, r *engine.Run, _ any) error {
	r.Finding.Title = "Custom Resource Definitions"
	r.Finding.AggregationKey = "fetch_crds"
	out := []crdInfo{}
	err := listAll(ctx, r, crdGVR, "", func(u *unstructured.Unstructured) bool {
		out = append(out, describeCRD(u))
		return true
	})
	if err != nil {
		return err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	b, err := indentJSON(out)
	if err != nil {
		return err
	}
	r.Finding.AddEnrichment("", engine.JSON(b))
	return nil
}

// describeCRD reads the storage version (else the first) of a CRD, as the runner does.
func describeCRD(u *unstructured.Unstructured) crdInfo {
	group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
	plural, _, _ := unstructured.NestedString(u.Object, "spec", "names", "plural")
	scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
	versions, _, _ := unstructured.NestedSlice(u.Object, "spec", "versions")
	var chosen map[string]any
	for _, v := range versions {
		if m, ok := v.(map[string]any); ok && m["storage"] == true {
			chosen = m
			break
		}
	}
	if chosen == nil && len(versions) > 0 {
		chosen, _ = versions[0].(map[string]any)
	}
	info := crdInfo{Kind: kind, Plural: plural, Scope: scope, Columns: []printerCol{}, APIVersion: group + "/"}
	if ts := u.GetCreationTimestamp(); !ts.IsZero() {
		info.CreatedAt = ts.UTC().Format("2006-01-02T15:04:05Z")
	}
	if chosen != nil {
		info.APIVersion += str(chosen["name"])
		cols, _, _ := unstructured.NestedSlice(chosen, "additionalPrinterColumns")
		for _, c := range cols {
			m, _ := c.(map[string]any)
			info.Columns = append(info.Columns, printerCol{Name: str(m["name"]), Type: str(m["type"]), JSONPath: str(m["jsonPath"])})
		}
	}
	return info
}

// crInstancesParams is Robusta's CRInstancesParams.
type crInstancesParams struct {
	Kind      string   `param:"kind" required:"true" doc:"the kind whose objects to list"`
	Namespace string   `param:"namespace" doc:"only this namespace (default: all)"`
	Fields    []string `param:"fields" doc:"dotted paths to report per object; an array element may be picked with [?(@.key == 'value')]"`
}

func fetchCRInstances(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*crInstancesParams)
	r.Finding.Title = "Instances of " + params.Kind
	r.Finding.AggregationKey = "fetch_cr_instances"
	res, err := resolveKindParam(r, "fetch_cr_instances", params.Kind)
	if err != nil {
		return err
	}
	ns := params.Namespace
	if !res.Namespaced {
		ns = ""
	}
	var items []orderedObject
	err = listAll(ctx, r, res.GVR, ns, func(u *unstructured.Unstructured) bool {
		o := orderedObject{{"name", u.GetName()}, {"namespace", u.GetNamespace()}}
		for _, f := range params.Fields {
			o = append(o, keyValue{f, pickField(u.Object, f)})
		}
		items = append(items, o)
		return true
	})
	if err != nil {
		return err
	}
	if items == nil {
		items = []orderedObject{}
	}
	b, err := indentJSON(items)
	if err != nil {
		return err
	}
	r.Finding.AddEnrichment("", engine.JSON(b))
	return nil
}

// arrayFilter is the one JSONPath form the runner understands beyond dotted paths:
// PATH.ARRAY[?(@.KEY == 'VALUE')] with an optional .FIELD after it.
var arrayFilter = regexp.MustCompile(`^((?:.*?\.)?)([^.\[]+)\[\?\(@\.(\w+)\s*==\s*['"]([^'"]+)['"]\)\](?:\.(.+))?$`)

// pickField is the value at a dotted path (a leading dot allowed), or nil where the
// path leads nowhere.
func pickField(obj map[string]any, field string) any {
	path := strings.TrimLeft(field, ".")
	m := arrayFilter.FindStringSubmatch(path)
	if m == nil {
		return walk(obj, strings.Split(path, "."))
	}
	var parent any = obj
	if prefix := strings.TrimRight(m[1], "."); prefix != "" {
		parent = walk(obj, strings.Split(prefix, "."))
	}
	pm, ok := parent.(map[string]any)
	if !ok {
		return nil
	}
	arr, _ := pm[m[2]].([]any)
	for _, it := range arr {
		im, ok := it.(map[string]any)
		if !ok || im[m[3]] != m[4] {
			continue
		}
		if m[5] == "" {
			return im
		}
		// Only one key follows the filter, as in the runner: "a.b" is looked up whole.
		return im[m[5]]
	}
	return nil
}

func walk(v any, parts []string) any {
	for _, p := range parts {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// keyValue and orderedObject keep the keys of a JSON object in the runner's order.
type keyValue struct {
	Key   string
	Value any
}

type orderedObject []keyValue

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(kv.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(kv.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// indentJSON is v as the runner's json.dumps(indent=2) lays it out.
func indentJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// resolveTarget resolves a resource param's kind and its namespace as kubectl does:
// the given one, else the kubeconfig's (in the runner, its own); none when the kind
// is cluster-scoped.
func resolveTarget(r *engine.Run, action string, params *resourceParams) (*kube.Resource, string, error) {
	res, err := resolveKindParam(r, action, params.Kind)
	if err != nil {
		return nil, "", err
	}
	ns := ""
	if res.Namespaced {
		if ns = params.Namespace; ns == "" {
			ns = r.KF.Namespace()
		}
	}
	return res, ns, nil
}
