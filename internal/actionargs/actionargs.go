// Package actionargs checks and completes the command-line form of a Robusta action
// (ACTION key=value ...) against the catalogue, so `robusta playbooks trigger` and
// `robusta local run` find a misspelled action or param, a value of the wrong type or a
// missing name/namespace on this machine, before anything is sent to a cluster.
//
// The rules are the runner's (pydantic v1, ROBUSTA-CATALOGUE §0): a manual trigger's
// action_params feed both the event (name, namespace, kind) and the action's params
// model; strings are coerced where the model wants a number or a bool; a string is
// never a list or a dict; globalConfig is merged under the params, so a required param
// the chart always puts into globalConfig is not missing.
package actionargs

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

// Kind says what a Problem is about.
type Kind int

const (
	UnknownAction Kind = iota
	UnknownParam
	BadValue
	MissingParam      // a required param of the action's model
	MissingEventParam // name, namespace or kind, which the runner builds the event from
	NotManual         // the action's event cannot be built from params
)

// Problem is one mistake in a command line, said in a sentence that names the param.
type Problem struct {
	Kind   Kind
	Action string
	Param  string
	Msg    string
}

func (p *Problem) Error() string { return p.Msg }

// Problems is every mistake found, in a stable order; as an error it reads as one line.
type Problems []*Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Msg
	}
	return strings.Join(msgs, "; ")
}

// Only returns the problems of the given kinds.
func (ps Problems) Only(kinds ...Kind) Problems {
	var out Problems
	for _, p := range ps {
		for _, k := range kinds {
			if p.Kind == k {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// Err is ps as an error, nil when there is none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// inGlobalConfig reports the keys the chart always writes into the runner's global_config
// (helm/robusta/templates/_helpers.tpl: cluster_name, and the defaults of values.yaml's
// globalConfig), which the runner merges under every action's params: a required param
// among them is given even when the command line leaves it out.
func inGlobalConfig(key string) bool {
	switch key {
	case "cluster_name", "check_prometheus_flags", "grafana_url", "grafana_api_key", "grafana_dashboard_uid",
		"prometheus_url", "account_id", "signing_key", "custom_annotations", "custom_severity_map", "prometheus_rule_group_name":
		return true
	}
	return false
}

// FromGlobalConfig reports whether the chart always gives the param through
// globalConfig (so a command line may leave it out).
func FromGlobalConfig(name string) bool { return inGlobalConfig(name) }

// Lookup finds an action of the catalogue. An unknown name is an UnknownAction problem
// with the nearest name among the catalogue's and extra (the local engine's, say).
func Lookup(name string, extra ...string) (*catalogue.Action, error) {
	if a, ok := catalogue.LookupAction(name); ok {
		return a, nil
	}
	return nil, &Problem{Kind: UnknownAction, Action: name, Msg: fmt.Sprintf("unknown action %q%s", name, Suggest(name, append(ActionNames(), extra...)))}
}

// ActionNames lists the catalogue's action names, sorted.
func ActionNames() []string {
	acts := catalogue.Actions()
	out := make([]string, len(acts))
	for i := range acts {
		out[i] = acts[i].Name
	}
	sort.Strings(out)
	return out
}

// Suggest is ` (did you mean "x"?)` for the candidate nearest to name: a typo's
// nearest, else one that contains what was typed (pod_events for pod_events_enricher).
func Suggest(name string, candidates []string) string {
	if n, ok := pbconfig.Closest(name, candidates); ok {
		return fmt.Sprintf(" (did you mean %q?)", n)
	}
	if len(name) >= 4 {
		sorted := append([]string(nil), candidates...)
		sort.Strings(sorted)
		for _, n := range sorted {
			if strings.Contains(n, name) {
				return fmt.Sprintf(" (did you mean %q?)", n)
			}
		}
	}
	return ""
}

// EventParams are the keys a manual run of a takes for its event: the required ones,
// then the optional ones.
func EventParams(a *catalogue.Action) []string {
	return append(append([]string(nil), a.ManualParams...), a.ManualOptional...)
}

// Check checks params as a manual trigger of a would send them: every key is a param of
// the action or of its event (unless the model keeps unknown keys), every value has a
// type the runner coerces to the param's, enums hold, required params and event params
// are there. manual is false when the event comes from elsewhere (local run's --pod),
// so the event params are not required.
func Check(a *catalogue.Action, params map[string]any, manual bool) Problems {
	var out Problems
	if manual && !a.ManualRunnable {
		out = append(out, &Problem{Kind: NotManual, Action: a.Name, Msg: NotManualMessage(a)})
		return out
	}
	model, _ := catalogue.LookupModel(a.Params)
	byName := map[string]*catalogue.Param{}
	var names []string
	if model != nil {
		for i := range model.Params {
			byName[model.Params[i].Name] = &model.Params[i]
			names = append(names, model.Params[i].Name)
		}
	}
	event := map[string]bool{}
	for _, k := range EventParams(a) {
		event[k] = true
		if byName[k] == nil {
			names = append(names, k)
		}
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := byName[k]
		switch {
		case p != nil:
			if msg := checkValue(p.Type, p.Enum, params[k]); msg != "" {
				out = append(out, &Problem{Kind: BadValue, Action: a.Name, Param: k,
					Msg: fmt.Sprintf("parameter %s of %s: %s", k, a.Name, maskIfSecret(p, msg))})
			}
		case event[k]:
			if _, ok := params[k].(string); !ok {
				out = append(out, &Problem{Kind: BadValue, Action: a.Name, Param: k,
					Msg: fmt.Sprintf("parameter %s of %s names the object: give a string (%s=NAME)", k, a.Name, k)})
			}
		case model != nil && model.ExtraAllowed:
		case len(names) == 0:
			out = append(out, &Problem{Kind: UnknownParam, Action: a.Name, Param: k,
				Msg: fmt.Sprintf("action %s takes no parameters, got %s", a.Name, k)})
		default:
			out = append(out, &Problem{Kind: UnknownParam, Action: a.Name, Param: k,
				Msg: fmt.Sprintf("action %s has no parameter %s%s", a.Name, k, Suggest(k, names))})
		}
	}
	if model != nil {
		for i := range model.Params {
			p := &model.Params[i]
			if _, given := params[p.Name]; given || !p.Required || inGlobalConfig(p.Name) {
				continue
			}
			out = append(out, &Problem{Kind: MissingParam, Action: a.Name, Param: p.Name,
				Msg: fmt.Sprintf("action %s needs parameter %s (%s)", a.Name, p.Name, typeName(p))})
		}
	}
	if manual {
		var missing []string
		for _, k := range a.ManualParams {
			if _, given := params[k]; !given {
				missing = append(missing, k+"=")
			}
		}
		if len(missing) > 0 {
			out = append(out, &Problem{Kind: MissingEventParam, Action: a.Name, Param: strings.TrimSuffix(missing[0], "="),
				Msg: fmt.Sprintf("action %s runs on a %s: give %s%s", a.Name, a.Event, strings.Join(missing, " and "), objectFlagHint(a))})
		}
	}
	return out
}

// NotManualMessage says why a cannot be run by a manual trigger, and where it runs.
func NotManualMessage(a *catalogue.Action) string {
	msg := fmt.Sprintf("action %s takes a %s, which the runner cannot build from parameters: it runs only from a playbook", a.Name, a.Event)
	if ts := catalogue.TriggersFor(a.Event); len(ts) > 0 {
		if len(ts) > 4 {
			ts = append(ts[:4:4], "...")
		}
		msg += " with a trigger such as " + strings.Join(ts, ", ")
	}
	return msg
}

// objectFlagHint names the flag that gives the event params at once.
func objectFlagHint(a *catalogue.Action) string {
	flag := map[string]string{"PodEvent": "--pod NAMESPACE/NAME", "DeploymentEvent": "--deployment NAMESPACE/NAME",
		"JobEvent": "--job NAMESPACE/NAME", "NodeEvent": "--node NAME"}[a.Event]
	if flag == "" {
		return ""
	}
	return " (or " + flag + ")"
}

// IsSecret reports whether p's value is a secret: typed SecretStr in Robusta, or named
// like one.
func IsSecret(p *catalogue.Param) bool {
	return strings.Contains(p.Python, "SecretStr") || pbconfig.IsSecretKey("", p.Name)
}

// maskIfSecret replaces msg by one that does not quote the value when the param holds
// a secret: a mistyped token is still a token.
func maskIfSecret(p *catalogue.Param, msg string) string {
	if !IsSecret(p) {
		return msg
	}
	return fmt.Sprintf("want a %s; the value given is not (not shown: it is a secret)", typeName(p))
}

// typeName is the param's type as Robusta writes it, else the catalogue's kind.
func typeName(p *catalogue.Param) string {
	if p.Python != "" {
		return p.Python
	}
	return string(p.Type.Kind)
}

// checkValue returns what is wrong with v for a param of type t, "" when the runner's
// pydantic v1 model would accept it.
func checkValue(t catalogue.Type, enum []string, v any) string {
	if v == nil {
		return "" // JSON null: None, which an Optional takes; the runner says if not
	}
	switch t.Kind {
	case catalogue.String:
		switch x := v.(type) {
		case string:
			return checkEnum(enum, x)
		case json.Number, float64, int, int64:
			return checkEnum(enum, fmt.Sprint(x))
		case bool:
			return checkEnum(enum, map[bool]string{true: "True", false: "False"}[x])
		}
		return "want a string, got " + describe(v)
	case catalogue.Int:
		switch x := v.(type) {
		case string:
			if _, err := strconv.ParseInt(strings.TrimSpace(strings.ReplaceAll(x, "_", "")), 10, 64); err != nil {
				return fmt.Sprintf("want a whole number, got %q", x)
			}
		case json.Number:
			if _, err := x.Float64(); err != nil {
				return fmt.Sprintf("want a whole number, got %s", x)
			}
		case float64:
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return fmt.Sprintf("want a whole number, got %v", x)
			}
		case bool, int, int64:
		default:
			return "want a whole number, got " + describe(v)
		}
		return checkEnum(enum, fmt.Sprint(v))
	case catalogue.Float:
		switch x := v.(type) {
		case string:
			if _, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
				return fmt.Sprintf("want a number, got %q", x)
			}
		case json.Number, float64, int, int64, bool:
		default:
			return "want a number, got " + describe(v)
		}
		return ""
	case catalogue.Bool:
		switch x := v.(type) {
		case bool:
		case string:
			switch strings.ToLower(x) {
			case "0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes":
			default:
				return fmt.Sprintf("want true or false, got %q", x)
			}
		case json.Number:
			if s := x.String(); s != "0" && s != "1" {
				return fmt.Sprintf("want true or false, got %s", s)
			}
		default:
			return "want true or false, got " + describe(v)
		}
		return ""
	case catalogue.List:
		list, ok := v.([]any)
		if !ok {
			return "want a list, got " + describe(v) + listHint(v)
		}
		if t.Elem != nil {
			for i, it := range list {
				if msg := checkValue(*t.Elem, nil, it); msg != "" {
					return fmt.Sprintf("item %d: %s", i, msg)
				}
			}
		}
		return ""
	case catalogue.Map, catalogue.Object:
		m, ok := v.(map[string]any)
		if !ok {
			return "want an object, got " + describe(v) + ` (write key:='{"k": "v"}')`
		}
		if t.Kind == catalogue.Map && t.Elem != nil {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if msg := checkValue(*t.Elem, nil, m[k]); msg != "" {
					return fmt.Sprintf("key %s: %s", k, msg)
				}
			}
		}
		return ""
	case catalogue.DateTime:
		switch v.(type) {
		case string, json.Number, float64, int, int64:
			return ""
		}
		return "want a date and time, got " + describe(v)
	case catalogue.Union:
		var msgs []string
		for _, o := range t.Options {
			msg := checkValue(o, enum, v)
			if msg == "" {
				return ""
			}
			msgs = append(msgs, msg)
		}
		if len(msgs) > 0 {
			return strings.Join(msgs, ", or ")
		}
	}
	return ""
}

func checkEnum(enum []string, s string) string {
	if len(enum) == 0 {
		return ""
	}
	for _, e := range enum {
		if e == s {
			return ""
		}
	}
	return fmt.Sprintf("%q is not one of %s", s, strings.Join(enum, ", "))
}

// listHint says how to give a list on the command line, where key=a,b is one string.
func listHint(v any) string {
	if _, ok := v.(string); ok {
		return ` (write key:='["a", "b"]')`
	}
	return ""
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return "the string " + strconv.Quote(x)
	case bool:
		return fmt.Sprint(x)
	case json.Number, float64, int, int64:
		return "the number " + fmt.Sprint(x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// Hidden stands in for a secret's value in a command line printed for the user.
const Hidden = "SECRET"

// TriggerCommand is the `robusta playbooks trigger` command line that runs action with
// args (key=value or key:=JSON, as typed) in the cluster, each word quoted for a POSIX
// shell. The values of secret params are replaced by Hidden; hidden lists their keys.
func TriggerCommand(action string, args []string, flags ...string) (cmd string, hidden []string) {
	a, _ := catalogue.LookupAction(action)
	var model *catalogue.Model
	if a != nil {
		model, _ = catalogue.LookupModel(a.Params)
	}
	words := []string{"robusta", "playbooks", "trigger", shellescape.Quote(action)}
	for _, arg := range args {
		key, _, _ := strings.Cut(arg, "=")
		key = strings.TrimSuffix(key, ":")
		if secretParam(model, key) {
			hidden = append(hidden, key)
			arg = key + "=" + Hidden
		}
		words = append(words, shellescape.Quote(arg))
	}
	for _, f := range flags {
		words = append(words, shellescape.Quote(f))
	}
	return strings.Join(words, " "), hidden
}

func secretParam(model *catalogue.Model, key string) bool {
	if model != nil {
		for i := range model.Params {
			if model.Params[i].Name == key {
				return IsSecret(&model.Params[i])
			}
		}
	}
	return pbconfig.IsSecretKey("", key)
}
