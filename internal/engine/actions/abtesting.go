package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/retry"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "config_ab_testing", Event: "ScheduledExecutionEvent", Mutating: true,
		Doc: "On scheduled run N, set the fields of configuration set N on an object and mark the change on a Grafana dashboard " +
			"(server-side dry run unless --apply; --recurrence N in local run)",
		NewParams: func() any { return &abTestingParams{} }, Do: configABTesting})
}

// configurationSet is the runner's ConfigurationSet: a name and the fields it sets.
type configurationSet struct {
	Name  string            `param:"config_set_name" required:"true" doc:"the set's name, shown in the Grafana annotation"`
	Items map[string]string `param:"config_items" doc:"field path: value, e.g. spec.template.spec.containers[0].image: nginx:1.27"`
}

// abTestingParams is the runner's ABTestingParams (GrafanaParams and the object).
type abTestingParams struct {
	grafanaConn
	APIVersion        string             `param:"api_version" default:"v1" doc:"the object's API version (the runner reads only v1 kinds; apps/v1 and v1 both work)"`
	Kind              string             `param:"kind" required:"true" doc:"the object's kind, as spelled in its manifest (Deployment, StatefulSet, ...)"`
	Name              string             `param:"name" required:"true" doc:"the object's name"`
	Namespace         string             `param:"namespace" default:"default" doc:"the object's namespace"`
	ConfigurationSets []configurationSet `param:"configuration_sets" required:"true" doc:"the sets, applied one per scheduled run: run 0 the first, run 1 the second, ..."`
}

// FixedDelayRepeat is the runner's pre_deploy_func of ABTestingParams: a playbook
// with fixed_delay_repeat runs once per configuration set, whatever repeat it gives.
func (p *abTestingParams) FixedDelayRepeat() int { return len(p.ConfigurationSets) }

// abTestingTag is the tag of every annotation config_ab_testing adds.
const abTestingTag = "AB Testing"

func configABTesting(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*abTestingParams)
	perr := func(format string, args ...any) error {
		return &engine.ParamsError{Action: "config_ab_testing", Err: fmt.Errorf(format, args...)}
	}
	sets := params.ConfigurationSets
	n := r.Event.Recurrence
	switch {
	case len(sets) == 0:
		return perr("configuration_sets is empty: give at least one set (config_set_name and config_items)")
	case n < 0 || n >= len(sets):
		// The runner fails such a run too (an index error, or its "No matching
		// configuration set" log line) and changes nothing.
		return perr("no configuration set for recurrence %d: there are %d, for recurrences 0 to %d", n, len(sets), len(sets)-1)
	case strings.TrimSpace(params.GrafanaDashboardUID) == "":
		// Checked before the patch: the runner would change the object, then fail.
		return perr("grafana_dashboard_uid is empty: give the dashboard's uid (the part after /d/ in its URL)")
	}
	set := sets[n]
	keys := make([]string, 0, len(set.Items))
	for k := range set.Items {
		keys = append(keys, k)
	}
	// The runner keeps the YAML order of config_items, which decoded params no longer
	// have; sorted paths make the annotation stable.
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := splitAttrPath(k); err != nil {
			return perr("config_items: %v", err)
		}
	}

	gvr, gvk, err := resolveABTarget(r, params.APIVersion, params.Kind)
	if err != nil {
		return err
	}
	dyn, err := r.KF.Dynamic()
	if err != nil {
		return err
	}
	ri := dyn.Resource(gvr).Namespace(params.Namespace)
	dryRun, _ := mutation(r, "config_ab_testing", "", fmt.Sprintf("apply configuration set %q", set.Name))
	var before, after *unstructured.Unstructured
	// The runner reads the object and patches it back whole, its resourceVersion
	// included, so a write in between is a conflict; unlike the runner, a conflict is
	// retried on a fresh read instead of failing the run.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := ri.Get(ctx, params.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		obj := cur.DeepCopy()
		for _, k := range keys {
			if err := setAttrPath(obj.Object, k, set.Items[k]); err != nil {
				return perr("configuration set %q: %v", set.Name, err)
			}
		}
		body, err := json.Marshal(obj.Object)
		if err != nil {
			return err
		}
		// The runner's client sends a dict body as a strategic merge patch.
		out, err := ri.Patch(ctx, params.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{DryRun: dryRun})
		if err != nil {
			return err
		}
		before, after = cur, out
		return nil
	})
	var pe *engine.ParamsError
	switch {
	case errors.As(err, &pe):
		return err
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s %s/%s not found: config_ab_testing changes an existing object (check kind, name and namespace)", gvk.Kind, params.Namespace, params.Name)
	case apierrors.IsBadRequest(err) || apierrors.IsInvalid(err) || apierrors.IsUnsupportedMediaType(err):
		return fmt.Errorf("the API server refused configuration set %q for %s %s/%s: %v (config_items values are sent as strings, as the runner sends them)",
			set.Name, gvk.Kind, params.Namespace, params.Name, err)
	case err != nil:
		return r.KF.Explain(err, "patch", gvr.Resource, params.Namespace)
	}

	f := r.Finding
	f.Title = fmt.Sprintf("Configuration set %s applied to %s %s/%s", set.Name, strings.ToLower(gvk.Kind), params.Namespace, params.Name)
	if dryRun != nil {
		f.Title = fmt.Sprintf("Dry run: configuration set %s would be applied to %s %s/%s", set.Name, strings.ToLower(gvk.Kind), params.Namespace, params.Name)
	}
	f.AggregationKey = "config_ab_testing"
	rows := make([][]string, len(keys))
	for i, k := range keys {
		rows[i] = []string{k, set.Items[k]}
	}
	f.AddEnrichment("Configuration set",
		engine.Markdown(fmt.Sprintf("Run %d of %d (recurrence %d): set *%s*", n+1, len(sets), n, set.Name)),
		engine.Table("config_items", []string{"path", "value"}, rows),
		changesBlock(before.Object, after.Object))
	return params.annotate(ctx, r, "config_ab_testing", abTestingText(set.Name, keys, set.Items), []any{abTestingTag}, "")
}

// abTestingText is the runner's annotation text for a configuration set.
func abTestingText(name string, keys []string, items map[string]string) string {
	var b strings.Builder
	b.WriteString("configuration:<pre>" + name + "</pre><hr class='solid'><pre>")
	for _, k := range keys {
		b.WriteString(k + " : " + items[k] + "<br>")
	}
	b.WriteString("</pre>")
	return b.String()
}

// resolveABTarget finds the resource of kind at api_version as the runner does: it
// looks the kind up (by its exact name) among its models of that version, ignoring
// the group, and it has models of v1 only. Custom resources are not among them.
func resolveABTarget(r *engine.Run, apiVersion, kind string) (schema.GroupVersionResource, schema.GroupVersionKind, error) {
	perr := func(format string, args ...any) error {
		return &engine.ParamsError{Action: "config_ab_testing", Err: fmt.Errorf(format, args...)}
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil || gv.Version == "" {
		return schema.GroupVersionResource{}, schema.GroupVersionKind{}, perr("api_version %q: want v1 or GROUP/v1, e.g. apps/v1", apiVersion)
	}
	if gv.Version != "v1" {
		return schema.GroupVersionResource{}, schema.GroupVersionKind{}, perr("api_version %q: the runner's config_ab_testing knows only v1 kinds (it drops the group and looks the kind up among v1 models), so this object cannot be tested; use its v1 version", apiVersion)
	}
	if strings.TrimSpace(kind) == "" {
		return schema.GroupVersionResource{}, schema.GroupVersionKind{}, perr("kind is empty: give the object's kind, e.g. Deployment")
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return schema.GroupVersionResource{}, schema.GroupVersionKind{}, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))
	// Version only: any group's v1 kind of that name, as the runner's lookup.
	gvks, err := mapper.KindsFor(schema.GroupVersionResource{Version: "v1", Resource: strings.ToLower(kind)})
	if err != nil && !meta.IsNoMatchError(err) {
		return schema.GroupVersionResource{}, schema.GroupVersionKind{}, r.KF.Explain(err, "discover", "API resources", "")
	}
	var gvk *schema.GroupVersionKind
	for i, g := range gvks {
		if g.Kind != kind {
			continue
		}
		// Two groups may name a kind alike (Event): the core one first.
		if gvk == nil || g.Group == "" {
			gvk = &gvks[i]
		}
	}
	if gvk == nil {
		for _, g := range gvks {
			if strings.EqualFold(g.Kind, kind) {
				return schema.GroupVersionResource{}, schema.GroupVersionKind{}, perr("kind %q: the runner looks kinds up by their exact name: use %s", kind, g.Kind)
			}
		}
		return schema.GroupVersionResource{}, schema.GroupVersionKind{}, perr("kind %q: the server has no v1 kind of that name (see kubectl api-resources)", kind)
	}
	if !scheme.Scheme.Recognizes(*gvk) {
		return schema.GroupVersionResource{}, schema.GroupVersionKind{}, perr("kind %s (%s) is a custom resource: the runner's config_ab_testing changes built-in kinds only", gvk.Kind, gvk.GroupVersion())
	}
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return schema.GroupVersionResource{}, schema.GroupVersionKind{}, r.KF.Explain(err, "discover", "API resources", "")
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return schema.GroupVersionResource{}, schema.GroupVersionKind{}, perr("kind %s is cluster-scoped: the runner's config_ab_testing reads and patches namespaced objects only", gvk.Kind)
	}
	return m.Resource, *gvk, nil
}

// attrSep splits an attribute path as the runner's update_item_attr does: at "[",
// "]" followed by any character, "]" and ".".
var attrSep = regexp.MustCompile(`\[|\].|\]|\.`)

// splitAttrPath splits a config_items key into its parts; an empty part (a[0] at the
// end, a..b) is refused, since the runner would set a field named "".
func splitAttrPath(key string) ([]string, error) {
	parts := attrSep.Split(key, -1)
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("%q is not a field path like spec.template.spec.containers[0].image", key)
		}
	}
	return parts, nil
}

// setAttrPath sets the field at key to value, as the runner's update_item_attr: every
// part before the last must exist (only fields the object already has can be
// reached), the last is set on its object (added when missing) or list item.
func setAttrPath(obj map[string]any, key, value string) error {
	parts, err := splitAttrPath(key)
	if err != nil {
		return err
	}
	var cur any = obj
	for i, part := range parts[:len(parts)-1] {
		where := strings.Join(parts[:i+1], ".")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[part]
			if !ok || v == nil {
				return fmt.Errorf("%s: the object has no %s (config_ab_testing changes only fields under ones the object already has)", key, where)
			}
			cur = v
		case []any:
			idx, err := listIndex(part, len(c))
			if err != nil {
				return fmt.Errorf("%s: %s: %v", key, where, err)
			}
			cur = c[idx]
		default:
			return fmt.Errorf("%s: %s is a value (%v), not an object or a list", key, strings.Join(parts[:i], "."), c)
		}
	}
	last := parts[len(parts)-1]
	switch c := cur.(type) {
	case map[string]any:
		c[last] = value
	case []any:
		idx, err := listIndex(last, len(c))
		if err != nil {
			return fmt.Errorf("%s: %v", key, err)
		}
		c[idx] = value
	default:
		return fmt.Errorf("%s: %s is a value (%v), not an object or a list", key, strings.Join(parts[:len(parts)-1], "."), c)
	}
	return nil
}

// listIndex reads a list index as Python does (negative counts from the end).
func listIndex(part string, n int) (int, error) {
	i, err := strconv.Atoi(part)
	if err != nil {
		return 0, fmt.Errorf("%q is not a list index", part)
	}
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return 0, fmt.Errorf("index %s is out of range (the list has %d items)", part, n)
	}
	return i, nil
}
