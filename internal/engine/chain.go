package engine

import (
	"context"
	"fmt"

	"strings"

	"sigs.k8s.io/yaml"
)

// Step is one action of a playbook with its parameters.
type Step struct {
	Action *Action
	Params map[string]any
}

// ParseSteps reads a playbook's actions in Robusta's format: a list of one-key maps
// (`- logs_enricher: {tail: 10}`), or a playbook object holding such a list under
// `actions`. Every action must be known; its params are checked when it runs.
func ParseSteps(data []byte) ([]Step, error) {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not YAML: %v", err)
	}
	if m, ok := doc.(map[string]any); ok {
		if doc, ok = m["actions"]; !ok {
			return nil, fmt.Errorf("want a list of actions, or a playbook with an actions list")
		}
	}
	list, ok := doc.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("want a non-empty list of actions, like - logs_enricher: {tail: 10}")
	}
	steps := make([]Step, 0, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok || len(m) != 1 {
			return nil, fmt.Errorf("action %d: want one action name with its params, like logs_enricher: {tail: 10}", i+1)
		}
		for name, raw := range m {
			a, ok := Lookup(name)
			if !ok {
				return nil, fmt.Errorf("action %d: unknown action %q", i+1, name)
			}
			params, ok := raw.(map[string]any)
			if raw != nil && !ok {
				return nil, fmt.Errorf("action %d (%s): params must be a map, got %T", i+1, name, raw)
			}
			if params == nil {
				params = map[string]any{}
			}
			steps = append(steps, Step{Action: a, Params: params})
		}
	}
	return steps, nil
}

// RunChain runs the steps in order on one run: they add to the same finding, and an
// action that sets r.Stop ends the chain. The event is checked against every action
// before any runs, so a playbook that cannot run does nothing. It returns how many
// actions ran.
func RunChain(ctx context.Context, r *Run, steps []Step) (int, error) {
	for _, s := range steps {
		if !s.Action.Accepts(r.Event) {
			return 0, s.Action.incompatible(r.Event)
		}
	}
	for i, s := range steps {
		if err := s.Action.Execute(ctx, r, s.Params); err != nil {
			return i, err
		}
		if r.Stop {
			return i + 1, nil
		}
	}
	return len(steps), nil
}

// Names of steps, for messages.
func StepNames(steps []Step) string {
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = s.Action.Name
	}
	return strings.Join(names, ", ")
}
