// Package config models the playbooks configuration (Helm values or the rendered
// active_playbooks.yaml) and validates it against Robusta's vocabulary (package
// internal/catalogue), reporting file:line:col and YAML paths.
package config

import (
	"github.com/robusta-dev/robusta-go/internal/catalogue"
)

// Known is the vocabulary a validation uses beyond the catalogue: actions read from the
// user's own playbook repositories (--actions-from) and their params models. Entries
// here win over the catalogue's, as a later playbook package overrides an earlier one in
// the runner.
type Known struct {
	Actions map[string]*catalogue.Action
	Models  map[string]*catalogue.Model
	// Sources says where each custom action was read, for messages.
	Sources map[string]string
}

func (k *Known) action(name string) (*catalogue.Action, bool) {
	if k != nil {
		if a, ok := k.Actions[name]; ok {
			return a, true
		}
	}
	return catalogue.LookupAction(name)
}

func (k *Known) model(name string) (*catalogue.Model, bool) {
	if name == "" {
		return nil, false
	}
	if k != nil {
		if m, ok := k.Models[name]; ok {
			return m, true
		}
	}
	return catalogue.LookupModel(name)
}

// actionNames lists every action name known, for did-you-mean.
func (k *Known) actionNames() []string {
	all := catalogue.Actions()
	out := make([]string, 0, len(all))
	for i := range all {
		out = append(out, all[i].Name)
	}
	if k != nil {
		for n := range k.Actions {
			out = append(out, n)
		}
	}
	return out
}

func triggerKeys() []string {
	all := catalogue.Triggers()
	out := make([]string, 0, len(all))
	for i := range all {
		out = append(out, all[i].Key)
	}
	return out
}

func sinkKeyNames() []string {
	all := catalogue.Sinks()
	out := make([]string, 0, len(all))
	for i := range all {
		out = append(out, all[i].Key)
	}
	return out
}
