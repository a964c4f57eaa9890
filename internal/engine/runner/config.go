// Package runner is the local watch's loop: it loads a values file's playbooks as the
// chart hands them to the runner, matches incoming events against their triggers in
// config order, runs the actions of each playbook that fires on one finding, and hands
// the findings to the sinks.
package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/triggers"
	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

// Playbook is one loaded playbook.
type Playbook struct {
	// Index is its place in the loaded order; Name its name in the values file, if any.
	Index int
	Name  string
	// ID is the runner's playbook id: a digest of its parsed definition (see
	// playbookID), stable across reloads and restarts (rate limits and schedule states
	// are kept per playbook id). LegacyID is the id earlier versions of the watch gave
	// it, under which a schedule state may have been saved.
	ID       string
	LegacyID string
	Triggers []triggers.Trigger
	Steps    []engine.Step
	Sinks    []string
	Stop     bool

	idIn idInput
}

// Config is what a watch runs.
type Config struct {
	Playbooks []*Playbook
	// Sinks are the sinksConfig entries: type key and params.
	Sinks []SinkConfig
	// Skipped says which playbooks are not run here, and why.
	Skipped []string
	// Findings are the validator's warnings and infos about the files.
	Findings []pbconfig.Finding
	// Global is globalConfig.
	Global map[string]any
	// Relabels is alertRelabel, applied to alerts before matching.
	Relabels []triggers.Relabel
}

// SinkConfig is one sinksConfig entry.
type SinkConfig struct {
	Type   string
	Name   string
	Params map[string]any
}

// File is a values file to load.
type File struct {
	Name string
	Data []byte
}

// ConfigError says why a configuration cannot run, with the validator's errors.
type ConfigError struct {
	Findings []pbconfig.Finding
	Err      error
}

func (e *ConfigError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	f := e.Findings[0]
	// The path names the playbook and the action (customPlaybooks[0].actions[1]...).
	msg := fmt.Sprintf("%s:%d:%d: %s%s", f.File, f.Line, f.Column, f.Message, f.PathSuffix())
	if n := len(e.Findings) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more error(s))", n)
	}
	files := map[string]bool{}
	var names []string
	for _, f := range e.Findings {
		// The config Secret (--from-cluster) is not a file validate can be given.
		if strings.HasPrefix(f.File, "secret ") {
			continue
		}
		if !files[f.File] {
			files[f.File] = true
			names = append(names, f.File)
		}
	}
	if len(names) == 0 {
		return msg
	}
	return msg + "; see them all with robusta playbooks validate " + strings.Join(names, " ")
}

// Options of loading.
type Options struct {
	// WithBuiltin loads priorityBuiltinPlaybooks, builtinPlaybooks and (when
	// enablePlatformPlaybooks) platformPlaybooks, as the chart does; off by default.
	WithBuiltin bool
}

// Load merges the files as Helm merges values (later files win, maps merge, lists are
// replaced), validates each file, and compiles the playbooks. Validation errors stop
// the load; playbooks this engine cannot run (a trigger or an action it lacks) are
// skipped and listed.
func Load(ctx context.Context, files []File, opts Options) (*Config, error) {
	merged := map[string]any{}
	cfg := &Config{}
	var errs []pbconfig.Finding
	for _, f := range files {
		pf, err := pbconfig.Parse(f.Name, f.Data)
		if err != nil {
			return nil, &ConfigError{Err: fmt.Errorf("%s: %w", f.Name, err)}
		}
		for _, fd := range pbconfig.Validate(pf) {
			if fd.Severity == pbconfig.SevError {
				errs = append(errs, fd)
			} else {
				cfg.Findings = append(cfg.Findings, fd)
			}
		}
		var m map[string]any
		if err := yaml.Unmarshal(f.Data, &m); err != nil {
			return nil, &ConfigError{Err: fmt.Errorf("%s: %w", f.Name, err)}
		}
		if pf.Format == pbconfig.FormatActive {
			m = activeAsValues(m)
		}
		mergeValues(merged, m)
	}
	if len(errs) > 0 {
		return nil, &ConfigError{Findings: errs}
	}
	cfg.Global, _ = merged["globalConfig"].(map[string]any)
	if raw, ok := merged["alertRelabel"]; ok && raw != nil {
		b, _ := json.Marshal(raw)
		if err := json.Unmarshal(b, &cfg.Relabels); err != nil {
			return nil, &ConfigError{Err: fmt.Errorf("alertRelabel: want a list of {source, target, operation}: %v", err)}
		}
		if err := triggers.ValidateRelabels(cfg.Relabels); err != nil {
			return nil, &ConfigError{Err: err}
		}
	}
	disabled := map[string]bool{}
	for _, n := range asList(merged["disabledPlaybooks"]) {
		if s, ok := n.(string); ok {
			disabled[s] = true
		}
	}
	var defs []any
	add := func(key string) {
		for _, p := range asList(merged[key]) {
			if m, ok := p.(map[string]any); ok {
				if name, _ := m["name"].(string); name != "" && disabled[name] {
					continue
				}
			}
			defs = append(defs, p)
		}
	}
	// The chart's order: priority built-ins, custom, named custom, built-ins, platform.
	if opts.WithBuiltin {
		add("priorityBuiltinPlaybooks")
	}
	add("customPlaybooks")
	if named, ok := merged["namedCustomPlaybooks"].(map[string]any); ok {
		keys := make([]string, 0, len(named))
		for k := range named {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			defs = append(defs, named[k])
		}
	}
	if opts.WithBuiltin {
		add("builtinPlaybooks")
		if on, _ := merged["enablePlatformPlaybooks"].(bool); on {
			add("platformPlaybooks")
		}
	}
	// Actions outside Robusta's catalogue can only come from playbookRepos, which the
	// runner installs and the watch cannot; without any, the runner refuses the name.
	repos, _ := merged["playbookRepos"].(map[string]any)
	for i, d := range defs {
		pb, skip, err := compilePlaybook(ctx, i, d, cfg.Global, len(repos) > 0)
		if err != nil {
			return nil, &ConfigError{Err: err}
		}
		if skip != "" {
			cfg.Skipped = append(cfg.Skipped, skip)
			continue
		}
		pb.Index = len(cfg.Playbooks)
		cfg.Playbooks = append(cfg.Playbooks, pb)
	}
	var defaultSinks []string
	for _, s := range asList(merged["sinksConfig"]) {
		m, ok := s.(map[string]any)
		if !ok || len(m) != 1 {
			continue // the validator has said so
		}
		for typ, raw := range m {
			params, _ := raw.(map[string]any)
			params, _ = envSubst(params).(map[string]any)
			name, _ := params["name"].(string)
			cfg.Sinks = append(cfg.Sinks, SinkConfig{Type: typ, Name: name, Params: params})
			// The runner's default sinks: default is true unless set false; the chart's
			// placeholder robusta_sink is never created.
			if d, set := params["default"].(bool); (!set || d) && !(typ == "robusta_sink" && params["token"] == "<ROBUSTA_ACCOUNT_TOKEN>") {
				defaultSinks = append(defaultSinks, name)
			}
		}
	}
	// The runner fills in the default sinks before it hashes a playbook without any.
	global := idGlobal(merged, cfg.Global)
	for _, pb := range cfg.Playbooks {
		in := pb.idIn
		if len(in.sinks) == 0 {
			in.sinks = append([]string{}, defaultSinks...)
		}
		pb.ID = playbookID(in, global)
	}
	return cfg, nil
}

// activeAsValues reads the runner's active_playbooks.yaml (what the chart renders into
// its config Secret) as values: its playbooks are already the chart's final list
// (built-ins included, disabled ones left out), so they load as customPlaybooks, and
// a values file merged after it replaces that list as Helm would.
func activeAsValues(m map[string]any) map[string]any {
	out := map[string]any{}
	for from, to := range map[string]string{"active_playbooks": "customPlaybooks", "sinks_config": "sinksConfig",
		"global_config": "globalConfig", "alert_relabel": "alertRelabel"} {
		if v, ok := m[from]; ok && v != nil {
			out[to] = v
		}
	}
	return out
}

// envRef is the runner's {{ env.NAME }} reference in config values: sink tokens are
// kept out of values files this way.
var envRef = regexp.MustCompile(`{{\s*env\.(\w+)\s*}}`)

// envSubst replaces env references in every string of v, as the runner does when it
// loads its config.
func envSubst(v any) any {
	switch x := v.(type) {
	case string:
		return envRef.ReplaceAllStringFunc(x, func(m string) string { return os.Getenv(envRef.FindStringSubmatch(m)[1]) })
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = envSubst(item)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = envSubst(item)
		}
		return out
	}
	return v
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// mergeValues merges src into dst as Helm merges values files: maps merge key by
// key, anything else (lists included) is replaced; a null removes the key.
func mergeValues(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]any)
		dm, dok := dst[k].(map[string]any)
		if sok && dok {
			mergeValues(dm, sm)
			continue
		}
		dst[k] = v
	}
}

// compilePlaybook builds one playbook; skip says why it cannot run here.
func compilePlaybook(ctx context.Context, i int, def any, global map[string]any, repos bool) (*Playbook, string, error) {
	m, ok := def.(map[string]any)
	if !ok {
		return nil, "", fmt.Errorf("playbook %d is not a mapping", i+1)
	}
	pb := &Playbook{}
	pb.Name, _ = m["name"].(string)
	label := fmt.Sprintf("playbook %d", i+1)
	if pb.Name != "" {
		label += " (" + pb.Name + ")"
	}
	pb.LegacyID = legacyID(m)
	for _, t := range asList(m["triggers"]) {
		tm, ok := t.(map[string]any)
		if !ok || len(tm) != 1 {
			return nil, "", fmt.Errorf("%s: a trigger must be one key with its params", label)
		}
		for key, raw := range tm {
			params, _ := raw.(map[string]any)
			tr, err := triggers.Compile(ctx, key, params)
			if err != nil {
				return nil, fmt.Sprintf("%s: %v", label, err), nil
			}
			pb.Triggers = append(pb.Triggers, tr)
			pb.idIn.triggers = append(pb.idIn.triggers, idTrigger{key: key, params: params})
		}
	}
	for _, a := range asList(m["actions"]) {
		am, ok := a.(map[string]any)
		if !ok || len(am) != 1 {
			return nil, "", fmt.Errorf("%s: an action must be one name with its params", label)
		}
		for name, raw := range am {
			act, ok := engine.Lookup(name)
			if !ok {
				if _, known := catalogue.LookupAction(name); !known {
					if !repos {
						// The runner's registry has no such action, and it refuses the
						// whole config ("Action ... not found").
						return nil, "", fmt.Errorf("%s: action %s not found: it is not one of Robusta's actions and no playbookRepos could provide it; the runner refuses such a config (check the name with robusta local actions)", label, name)
					}
					return nil, fmt.Sprintf("%s: action %s is not one of Robusta's actions; it may come from playbookRepos, which only the in-cluster runner installs", label, name), nil
				}
				return nil, fmt.Sprintf("%s: action %s runs only in the in-cluster runner (see robusta local actions %s)", label, name, name), nil
			}
			given, _ := raw.(map[string]any)
			given, err := resolveEnvRefs(given)
			if err != nil {
				return nil, "", fmt.Errorf("%s: action %s: %w", label, name, err)
			}
			params := given
			if params == nil {
				params = map[string]any{}
			}
			step := engine.Step{Action: act, Params: withGlobal(global, params, act)}
			repeat, ok, err := checkPreDeploy(step, len(pb.Triggers))
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", label, err)
			}
			if ok {
				// The runner hashes the triggers after the rewrite.
				for i := range pb.idIn.triggers {
					pb.idIn.triggers[i].repeat = &repeat
				}
			}
			pb.Steps = append(pb.Steps, step)
			def, _ := catalogue.LookupAction(name)
			pb.idIn.actions = append(pb.idIn.actions, idAction{name: name, params: given, hasParams: def != nil && def.Params != ""})
		}
	}
	for _, s := range asList(m["sinks"]) {
		if n, ok := s.(string); ok {
			pb.Sinks = append(pb.Sinks, n)
		}
	}
	pb.Stop, _ = m["stop"].(bool)
	pb.idIn.sinks, pb.idIn.stop = pb.Sinks, pb.Stop
	return pb, "", nil
}

// resolveEnvRefs is the runner's replace_env_vars_values on an action's params, done
// when it loads the config: a string directly in a mapping (lists are left alone) that
// holds a {{ env.NAME }} reference becomes, as a whole, that variable's value. An unset
// or empty variable makes the runner refuse the whole config.
func resolveEnvRefs(m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string:
			if sm := pyEnvRef.FindStringSubmatch(x); sm != nil {
				name := strings.TrimSpace(sm[1])
				val := os.Getenv(name)
				if val == "" {
					return nil, fmt.Errorf("param %s reads the environment variable %s, which is not set (the runner refuses the whole config then): export it before starting the watch", k, name)
				}
				v = val
			}
		case map[string]any:
			inner, err := resolveEnvRefs(x)
			if err != nil {
				return nil, err
			}
			v = inner
		}
		out[k] = v
	}
	return out, nil
}

// checkPreDeploy builds the params of an action with a pre-deploy rewrite
// (config_ab_testing) as the runner does while loading, once per trigger: params it
// cannot build make it refuse the whole config, at start and on reload alike. Other
// actions' params are built only when they run, where a failure is that action's error
// and the playbook's later actions still run, so they are not checked here.
// ok says the action has such a rewrite; repeat is the fixed_delay_repeat count it sets.
func checkPreDeploy(step engine.Step, triggers int) (repeat int, ok bool, err error) {
	if step.Action.NewParams == nil || triggers == 0 {
		return 0, false, nil
	}
	params := step.Action.NewParams()
	r, ok := params.(fixedDelayRepeater)
	if !ok {
		return 0, false, nil
	}
	if err := engine.Decode(step.Params, params); err != nil {
		return 0, false, fmt.Errorf("action %s: %w (the runner builds this action's params when it loads the config, and refuses the whole config when they fail)", step.Action.Name, err)
	}
	return r.FixedDelayRepeat(), true, nil
}

// withGlobal is the runner's merge_global_params: an action with params gets every
// globalConfig key under its own params (its own value wins). The runner's params
// classes ignore keys they do not declare, so only the keys the action takes are
// copied (prometheus_url, grafana_api_key, cluster_name, ...).
func withGlobal(global, params map[string]any, act *engine.Action) map[string]any {
	if len(global) == 0 || act.NewParams == nil {
		return params
	}
	var merged map[string]any
	for _, p := range engine.Params(act.NewParams()) {
		v, ok := global[p.Name]
		if _, own := params[p.Name]; !ok || own {
			continue
		}
		if merged == nil {
			merged = make(map[string]any, len(params)+1)
			for k, pv := range params {
				merged[k] = pv
			}
		}
		merged[p.Name] = v
	}
	if merged == nil {
		return params
	}
	return merged
}
