package runner

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/pyfmt"
)

// The runner's playbook id (PlaybookDefinition.__playbook_hash in
// src/robusta/model/playbook_definition.py) is the md5 hex digest of
//
//	".".join(trigger.json() for each trigger)
//	+ ".".join(func_hash + PlaybookAction.json() for each action)
//	+ str(sinks) + str(stop)
//
// taken after the load has rewritten the playbook: globalConfig merged into each
// action's params (global keys first), {{ env.X }} references replaced, the default
// sinks filled in when the playbook names none, and config_ab_testing's repeat set.
// Helm's toYaml has sorted every mapping by then, so the params' key order is sorted
// order. The id is therefore a function of the parsed definition: comments, layout,
// flow or block style and key order do not change it.
//
// func_hash is the sha256 of the action function's CPython argspec and bytecode, which
// exists only inside the runner's image (it changes with its Python version); funcHash
// stands in for it with the action's name, so our id follows the runner's rule but is
// not byte-identical to a runner's.
var funcHash = func(action string) string { return action }

// idInput is what the id hashes, built by Load.
type idInput struct {
	triggers []idTrigger
	actions  []idAction
	sinks    []string
	stop     bool
}

type idTrigger struct {
	key    string
	params map[string]any
	// repeat, when set, is the pre-deploy rewrite of fixed_delay_repeat.repeat.
	repeat *int
}

type idAction struct {
	name string
	// params is nil for "name:" with no value (null in the runner's json).
	params    map[string]any
	hasParams bool // the action has a params model, so globalConfig is merged in
}

// playbookID is the runner's id of a playbook; global is its global_config.
func playbookID(in idInput, global *orderedMap) string {
	var b strings.Builder
	for i, t := range in.triggers {
		if i > 0 {
			b.WriteByte('.')
		}
		pyJSON(&b, triggerValue(t))
	}
	for i, a := range in.actions {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(funcHash(a.name))
		var params any
		if a.params != nil {
			own := sortedMap(a.params)
			if a.hasParams && global != nil {
				params = global.merged(own)
			} else {
				params = own
			}
		} else if a.hasParams && global != nil {
			// The runner would fail merging into None; the validator refuses it first.
			params = global
		}
		pyJSON(&b, &orderedMap{keys: []string{"action_name", "action_params"},
			vals: map[string]any{"action_name": a.name, "action_params": params}})
	}
	b.WriteString(pyListRepr(in.sinks))
	if in.stop {
		b.WriteString("True")
	} else {
		b.WriteString("False")
	}
	sum := md5.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// legacyID is the id this watch used before it followed the runner's rule: an md5 of
// the definition's JSON as written. Schedule states saved under it are moved to the
// new id on the first run.
func legacyID(m map[string]any) string {
	b, _ := json.Marshal([]any{m["triggers"], m["actions"], m["sinks"], m["stop"]})
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// orderedMap is a JSON object with its keys in the runner's dict order.
type orderedMap struct {
	keys []string
	vals map[string]any
}

func sortedMap(m map[string]any) *orderedMap {
	om := &orderedMap{vals: make(map[string]any, len(m))}
	for k, v := range m {
		om.keys = append(om.keys, k)
		om.vals[k] = v
	}
	sort.Strings(om.keys)
	return om
}

// merged is merge_global_params: a copy of the global config updated with the
// action's own params; a key in both keeps the global's place and takes the own value.
func (g *orderedMap) merged(own *orderedMap) *orderedMap {
	out := &orderedMap{keys: append([]string(nil), g.keys...), vals: make(map[string]any, len(g.keys)+len(own.keys))}
	for k, v := range g.vals {
		out.vals[k] = v
	}
	for _, k := range own.keys {
		if _, ok := out.vals[k]; !ok {
			out.keys = append(out.keys, k)
		}
		out.vals[k] = own.vals[k]
	}
	return out
}

// idGlobal is the runner's global_config in its order: the chart writes cluster_name
// (from clusterName) and cluster_zone first, then globalConfig through toYaml, sorted.
func idGlobal(merged map[string]any, global map[string]any) *orderedMap {
	g := &orderedMap{vals: map[string]any{}}
	add := func(k string, v any) {
		if _, ok := g.vals[k]; !ok {
			g.keys = append(g.keys, k)
		}
		g.vals[k] = v
	}
	if v, ok := global["cluster_name"]; ok {
		add("cluster_name", v)
	} else if v, ok := merged["clusterName"]; ok {
		add("cluster_name", v)
	}
	if v, ok := global["cluster_zone"]; ok {
		add("cluster_zone", v)
	} else if v, ok := merged["clusterZone"]; ok && v != "" {
		add("cluster_zone", v)
	}
	keys := make([]string, 0, len(global))
	for k := range global {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(k, global[k])
	}
	return g
}

// pyEnvRef is the runner's get_env_replacement pattern for action params: a string
// holding such a reference is replaced as a whole by the variable's value.
var pyEnvRef = regexp.MustCompile(`{{[ ]*env\.(.*)[ ]*}}`)

// triggerValue is the trigger as the runner's pydantic model serialises it: the
// model's fields in order, defaults filled in, values coerced to the field types.
func triggerValue(t idTrigger) any {
	if t.key == "on_schedule" {
		return scheduleValue(t)
	}
	def, ok := catalogue.LookupTrigger(t.key)
	if !ok {
		return sortedMap(t.params)
	}
	return modelValue(def.Params, t.params)
}

// scheduleValue: on_schedule is a Union of three trigger models, tried in order, each
// with its one field.
func scheduleValue(t idTrigger) any {
	for _, f := range []struct{ field, model string }{
		{"fixed_delay_repeat", "FixedDelayRepeat"},
		{"dynamic_delay_repeat", "DynamicDelayRepeat"},
		{"cron_schedule_repeat", "CronScheduleRepeat"},
	} {
		raw, ok := t.params[f.field].(map[string]any)
		if !ok {
			continue
		}
		v := modelValue(f.model, raw)
		if om, ok := v.(*orderedMap); ok && t.repeat != nil && f.field == "fixed_delay_repeat" {
			om.vals["repeat"] = *t.repeat
		}
		return &orderedMap{keys: []string{f.field}, vals: map[string]any{f.field: v}}
	}
	return sortedMap(t.params)
}

func modelValue(model string, given map[string]any) any {
	m, ok := catalogue.LookupModel(model)
	if !ok {
		return sortedMap(given)
	}
	om := &orderedMap{vals: map[string]any{}}
	for _, p := range m.Params {
		om.keys = append(om.keys, p.Name)
		if v, ok := given[p.Name]; ok {
			om.vals[p.Name] = coerce(p.Type, v)
		} else {
			om.vals[p.Name] = pyDefault(p.Default)
		}
	}
	if m.ExtraAllowed {
		var extra []string
		for k := range given {
			if _, ok := om.vals[k]; !ok {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		for _, k := range extra {
			om.keys = append(om.keys, k)
			om.vals[k] = given[k]
		}
	}
	return om
}

// coerce converts a YAML value to what pydantic v1 keeps for the field type, for the
// common cases (a number for a str field, a numeric string for an int field).
func coerce(t catalogue.Type, v any) any {
	if v == nil {
		return nil
	}
	switch t.Kind {
	case catalogue.String:
		switch x := v.(type) {
		case float64:
			return pyFloatOrInt(x)
		case bool:
			if x {
				return "True"
			}
			return "False"
		}
	case catalogue.Int:
		switch x := v.(type) {
		case float64:
			return int64(x)
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return n
			}
		case bool:
			if x {
				return int64(1)
			}
			return int64(0)
		}
	case catalogue.Float:
		if x, ok := v.(float64); ok {
			return pyFloat(x)
		}
	case catalogue.List:
		if l, ok := v.([]any); ok && t.Elem != nil {
			out := make([]any, len(l))
			for i, item := range l {
				out[i] = coerce(*t.Elem, item)
			}
			return out
		}
	case catalogue.Map:
		if m, ok := v.(map[string]any); ok {
			om := sortedMap(m)
			if t.Elem != nil {
				for k, item := range om.vals {
					om.vals[k] = coerce(*t.Elem, item)
				}
			}
			return om
		}
	case catalogue.Object:
		if m, ok := v.(map[string]any); ok {
			return modelValue(t.Model, m)
		}
	case catalogue.Union:
		// pydantic v1 takes the first alternative the value fits.
		for _, o := range t.Options {
			if fits(o, v) {
				return coerce(o, v)
			}
		}
	}
	return v
}

func fits(t catalogue.Type, v any) bool {
	switch v.(type) {
	case string:
		return t.Kind == catalogue.String || t.Kind == catalogue.Any
	case []any:
		return t.Kind == catalogue.List || t.Kind == catalogue.Any
	case map[string]any:
		return t.Kind == catalogue.Map || t.Kind == catalogue.Object || t.Kind == catalogue.Any
	}
	return true
}

// pyDefault reads a default written as a Python literal.
func pyDefault(lit string) any {
	switch lit {
	case "", "None":
		return nil
	case "True":
		return true
	case "False":
		return false
	case "[]", "()":
		return []any{}
	case "{}":
		return map[string]any{}
	case "sys.maxsize":
		return int64(math.MaxInt64)
	}
	if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(lit, 64); err == nil {
		return pyFloat(f)
	}
	if len(lit) >= 2 && (lit[0] == '\'' || lit[0] == '"') && lit[len(lit)-1] == lit[0] {
		return lit[1 : len(lit)-1]
	}
	// A named constant (DEFAULT_CHANGE_FILTERS): stable, if not the runner's text.
	return lit
}

// pyFloat is a float that pyJSON writes as Python's repr does.
type pyFloat float64

// pyFloatOrInt is str() of a YAML number: YAML gives no int/float distinction here, so
// an integral value is taken as an int.
func pyFloatOrInt(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e18 {
		return strconv.FormatInt(int64(f), 10)
	}
	return pyfmt.FloatRepr(f)
}

// pyJSON writes v as Python's json.dumps does with its defaults: ", " and ": "
// separators, non-ASCII escaped, keys in the map's order.
func pyJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case pyFloat:
		b.WriteString(pyfmt.JSONFloat(float64(x)))
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			b.WriteString(pyfmt.JSONFloat(x))
		} else {
			b.WriteString(pyFloatOrInt(x))
		}
	case string:
		pyfmt.WriteJSONString(b, x)
	case []any:
		b.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyJSON(b, item)
		}
		b.WriteByte(']')
	case map[string]any:
		pyJSON(b, sortedMap(x))
	case *orderedMap:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			pyfmt.WriteJSONString(b, k)
			b.WriteString(": ")
			pyJSON(b, x.vals[k])
		}
		b.WriteByte('}')
	default:
		raw, _ := json.Marshal(x)
		b.Write(raw)
	}
}

// pyListRepr is Python's str() of a list of strings (or None).
func pyListRepr(l []string) string {
	if l == nil {
		return "None"
	}
	parts := make([]string, len(l))
	for i, s := range l {
		parts[i] = pyfmt.StrRepr(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
