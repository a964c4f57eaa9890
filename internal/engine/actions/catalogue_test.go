package actions

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/engine"
)

// engineOnlyParams are params the local engine takes that Robusta's action does not
// have (action.param), each with why. Anything else the engine takes must be Robusta's,
// and each entry here must still be a difference.
var engineOnlyParams = map[string]string{
	"logs_enricher.tail":                              "caps the log fetched to this machine; Robusta's LogEnricherParams has no tail (the runner ignores it)",
	"job_pod_enricher.tail":                           "the same cap for the job pod's log",
	"show_stackoverflow_search.stackexchange_api_url": "the runner always asks the public Stack Exchange API; locally a mirror, proxy or test server can stand in",
}

// knownEventDifferences are engine actions on a narrower event class than Robusta's,
// with why; each must still be a difference.
var knownEventDifferences = map[string]string{
	"pod_issue_investigator": "the engine investigates one pod; Robusta's takes any resource and looks for its troubled pods",
	"rollout_restart":        "the engine restarts Deployments only; Robusta's also StatefulSets, DaemonSets, Argo Rollouts and others",
}

// knownRequiredDifferences are params Robusta requires and the engine does not.
var knownRequiredDifferences = map[string]string{
	"create_finding.aggregation_key": "Robusta's FindingFields requires it; the engine leaves it empty, as its documented local command lines do",
}

// The engine implements exactly the actions the catalogue marks local, each on
// Robusta's event class, and takes Robusta's params with Robusta's defaults: what
// `local actions`, the validator and `local run` say about an action agree. This test
// compares two independently written sources (the engine's registrations and the
// catalogue generated from Robusta's code plus hand-written notes), so it fails when
// either drifts.
func TestEngineMatchesCatalogue(t *testing.T) {
	var local []string
	for _, a := range catalogue.Actions() {
		if a.Local {
			local = append(local, a.Name)
		}
	}
	sort.Strings(local)
	if len(local) == 0 {
		t.Fatal("the catalogue marks no action local")
	}
	if got := engine.Names(); strings.Join(got, " ") != strings.Join(local, " ") {
		t.Errorf("the engine registers:\n  %s\nthe catalogue marks local:\n  %s\nonly in the engine: %v\nonly in the catalogue: %v",
			strings.Join(got, " "), strings.Join(local, " "), minus(got, local), minus(local, got))
	}
	for _, name := range engine.Names() {
		e, _ := engine.Lookup(name)
		c, ok := catalogue.LookupAction(name)
		if !ok {
			t.Errorf("%s: the engine registers it, the catalogue does not know it", name)
			continue
		}
		switch {
		case e.Event != c.Event && knownEventDifferences[name] == "":
			t.Errorf("%s: the engine runs it on a %s, Robusta on a %s", name, e.Event, c.Event)
		case e.Event == c.Event && knownEventDifferences[name] != "":
			t.Errorf("%s: listed in knownEventDifferences, but both run it on a %s: drop the entry", name, e.Event)
		}
		if e.NewParams == nil {
			continue
		}
		robusta := map[string]catalogue.Param{}
		for _, p := range c.ParamsOf() {
			robusta[p.Name] = p
		}
		for _, p := range engine.Params(e.NewParams()) {
			key := name + "." + p.Name
			rp, ok := robusta[p.Name]
			switch {
			case !ok && engineOnlyParams[key] == "":
				t.Errorf("%s: the engine takes %s, which Robusta's %s does not have (Robusta's: %s)", name, p.Name, c.Params, paramNames(c.ParamsOf()))
			case ok && engineOnlyParams[key] != "":
				t.Errorf("%s: listed in engineOnlyParams, but Robusta's %s has it: drop the entry", key, c.Params)
			}
			if !ok {
				continue
			}
			if !sameDefault(p, rp) {
				t.Errorf("%s.%s: engine default %q (%s), Robusta's %q (%s)", name, p.Name, p.Default, p.Type, rp.Default, rp.Python)
			}
			robustaRequired := rp.Required && rp.Default == ""
			switch {
			case p.Required != robustaRequired && knownRequiredDifferences[key] == "":
				t.Errorf("%s: engine required %v, Robusta's %v", key, p.Required, robustaRequired)
			case p.Required == robustaRequired && knownRequiredDifferences[key] != "":
				t.Errorf("%s: listed in knownRequiredDifferences, but both say required %v: drop the entry", key, p.Required)
			}
		}
	}
}

// The comparison must be able to fail: a param of another name, another default or
// another event is caught.
func TestSameDefault(t *testing.T) {
	for _, tc := range []struct {
		engine, typ, python string
		same                bool
	}{
		{"", "string", "None", true},
		{"", "string", "''", true},
		{"", "bool", "False", true},
		{"true", "bool", "True", true},
		{"", "bool", "True", false},
		{"8", "int", "8", true},
		{"", "int", "8", false},
		{"", "int", "None", true},
		{"HIGH", "string", "'HIGH'", true},
		{"LOW", "string", "'HIGH'", false},
		{"Warning,Normal", "list of string", "['Warning', 'Normal']", true},
		{"", "list of string", "[]", true},
		{"", "list of string", "['Warning', 'Normal']", false},
		{"Memory", "string", "ResourceChartResourceType.Memory.name", true},
		{"CPU", "string", "ResourceChartResourceType.Memory.name", false},
	} {
		got := sameDefault(engine.ParamDoc{Default: tc.engine, Type: tc.typ}, catalogue.Param{Default: tc.python})
		if got != tc.same {
			t.Errorf("%q (%s) vs %q: %v, want %v", tc.engine, tc.typ, tc.python, got, tc.same)
		}
	}
}

// sameDefault compares an engine param's default (a tag; empty means Go's zero value)
// with Robusta's Python literal.
func sameDefault(e engine.ParamDoc, r catalogue.Param) bool {
	return normEngine(e) == normPython(r.Default)
}

// normEngine spells the engine's effective default as normPython spells Python's.
func normEngine(e engine.ParamDoc) string {
	switch {
	case strings.HasPrefix(e.Type, "list"):
		if e.Default == "" {
			return ""
		}
		return strings.Join(strings.Split(e.Default, ","), ",")
	case e.Type == "bool":
		if e.Default == "true" {
			return "true"
		}
		return ""
	case e.Type == "int":
		if e.Default == "" || e.Default == "0" {
			return ""
		}
		return e.Default
	}
	return e.Default
}

// normPython maps "no value" literals (None, False, 0, ”, []) to "", strings to their
// text and lists to their items joined by commas.
func normPython(lit string) string {
	lit = strings.TrimSpace(lit)
	switch lit {
	case "", "None", "False", "0", "''", `""`, "[]", "{}":
		return ""
	case "True":
		return "true"
	case "INSTALLATION_NAMESPACE":
		// The runner's env default (env_vars.py), with the chart's usual namespace.
		return "robusta"
	case "RUNNER_SERVICE_ACCOUNT":
		// The runner's env default (env_vars.py), with the chart's usual release name.
		return "robusta-runner-service-account"
	case "KRR_STRATEGY":
		return "simple" // env_vars-style default in krr.py
	}
	// An enum member's name (ResourceChartResourceType.Memory.name) is that name.
	if parts := strings.Split(lit, "."); len(parts) == 3 && parts[2] == "name" {
		return parts[1]
	}
	if strings.HasPrefix(lit, "[") && strings.HasSuffix(lit, "]") {
		var items []string
		for _, it := range strings.Split(strings.Trim(lit, "[]"), ",") {
			items = append(items, normPython(it))
		}
		return strings.Join(items, ",")
	}
	if len(lit) >= 2 && lit[0] == '\'' && lit[len(lit)-1] == '\'' && !strings.ContainsAny(lit[1:len(lit)-1], `'\`) {
		return lit[1 : len(lit)-1] // a single-quoted string holding double quotes
	}
	if s, err := strconv.Unquote(strings.ReplaceAll(lit, "'", `"`)); err == nil {
		return s
	}
	return lit
}

// Every listed difference names an engine action and param that exist.
func TestKnownDifferencesExist(t *testing.T) {
	for _, list := range []map[string]string{engineOnlyParams, knownRequiredDifferences} {
		for key := range list {
			name, param, _ := strings.Cut(key, ".")
			e, ok := engine.Lookup(name)
			found := false
			if ok && e.NewParams != nil {
				for _, p := range engine.Params(e.NewParams()) {
					found = found || p.Name == param
				}
			}
			if !found {
				t.Errorf("%s: listed, but the engine has no such action param", key)
			}
		}
	}
	for name := range knownEventDifferences {
		if _, ok := engine.Lookup(name); !ok {
			t.Errorf("%s: listed, but the engine has no such action", name)
		}
	}
}

func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

func paramNames(ps []catalogue.Param) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}
