package actionargs

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
)

// CompleteArgs is the shell completion of `ACTION key=value ...` for cobra: the first
// argument completes to the catalogue's action names (and extra, the local engine's),
// each with its summary; later ones to `key=` for the action's params and event params
// not given yet, and after `key=` to the values of an enum or bool param.
func CompleteArgs(args []string, toComplete string, extra ...string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return completeActions(toComplete, extra), cobra.ShellCompDirectiveNoFileComp
	}
	a, ok := catalogue.LookupAction(args[0])
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return CompleteParams(a, a.ParamsOf(), args, toComplete)
}

// CompleteParams completes the key=value arguments after an action's name (args[0])
// from params: `key=` for the event params and params not given yet, and the values of
// an enum or bool param after `key=`. `local run` passes the local engine's params.
func CompleteParams(a *catalogue.Action, params []catalogue.Param, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if key, _, found := strings.Cut(toComplete, "="); found {
		return completeValues(params, strings.TrimSuffix(key, ":"), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	given := map[string]bool{}
	for _, arg := range args[1:] {
		if k, _, ok := strings.Cut(arg, "="); ok {
			given[strings.TrimSuffix(k, ":")] = true
		}
	}
	var out []string
	add := func(name, desc string) {
		if given[name] || !strings.HasPrefix(name, toComplete) {
			return
		}
		given[name] = true
		out = append(out, name+"=\t"+desc)
	}
	for _, k := range a.ManualParams {
		add(k, "the "+strings.ToLower(strings.TrimSuffix(a.Event, "Event"))+" it runs on (required)")
	}
	for _, k := range a.ManualOptional {
		if k != "named_sinks" { // the runner fills it from --sinks
			add(k, "event parameter")
		}
	}
	for _, p := range params {
		desc := typeName(&p)
		if p.Required {
			desc += ", required"
		}
		if p.Summary != "" {
			desc += ": " + oneLine(p.Summary)
		}
		add(p.Name, desc)
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

func completeActions(toComplete string, extra []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range catalogue.Actions() {
		if strings.HasPrefix(a.Name, toComplete) {
			seen[a.Name] = true
			out = append(out, a.Name+"\t"+oneLine(a.Summary))
		}
	}
	for _, n := range extra {
		if !seen[n] && strings.HasPrefix(n, toComplete) {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// completeValues offers key=VALUE for enum and bool params.
func completeValues(params []catalogue.Param, key, toComplete string) []string {
	prefix := toComplete[:strings.IndexByte(toComplete, '=')+1]
	for _, p := range params {
		if p.Name != key {
			continue
		}
		values := p.Enum
		if len(values) == 0 && p.Type.Kind == catalogue.Bool {
			values = []string{"true", "false"}
		}
		var out []string
		for _, v := range values {
			if strings.HasPrefix(prefix+v, toComplete) {
				out = append(out, prefix+v)
			}
		}
		return out
	}
	return nil
}

// oneLine is the first line of s, for a completion description.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
