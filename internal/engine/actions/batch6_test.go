package actions

import (
	"sort"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/engine"
)

// robustaParamsNotTaken are params of Robusta's class-A actions that the engine does
// not take yet (a user's playbook passing one gets an error locally, while the runner
// would use it). These are params, not actions: every class-A action is registered.
// Each entry must still be missing, so the list only shrinks.
var robustaParamsNotTaken = map[string][]string{
	// empty: every param of every class-A action is taken
}

// classACount is the number of class-A actions ROBUSTA-CATALOGUE §3.1 counts (72 listed
// plus logs_enricher).
const classACount = 73

// Every class-A action of the catalogue (Kubernetes API only) runs locally: it is
// registered, on Robusta's event class, mutating when Robusta's is, and takes every
// one of Robusta's params with Robusta's required flag, default and enum. There is no
// list of class-A actions left out; the only allowances are the documented
// differences of TestEngineMatchesCatalogue, each of which must still hold.
func TestClassAActionsRunLocally(t *testing.T) {
	n := 0
	for _, c := range catalogue.Actions() {
		if c.Class != catalogue.ClassKubeAPI {
			continue
		}
		n++
		if !c.Local || c.Reason != "" {
			t.Errorf("%s: class A, but the catalogue says it runs only in the runner (%q): implement it and set local: true in hack/catalogue/notes.yaml", c.Name, c.Reason)
		}
		e, ok := engine.Lookup(c.Name)
		if !ok {
			t.Errorf("%s: class A, but the engine does not register it", c.Name)
			continue
		}
		if e.Event != c.Event && knownEventDifferences[c.Name] == "" {
			t.Errorf("%s: the engine runs it on a %s, Robusta on a %s", c.Name, e.Event, c.Event)
		}
		if e.Mutating != c.Mutating {
			t.Errorf("%s: the engine says mutating %v, the catalogue %v", c.Name, e.Mutating, c.Mutating)
		}
		engineParams := map[string]engine.ParamDoc{}
		if e.NewParams != nil {
			for _, p := range engine.Params(e.NewParams()) {
				engineParams[p.Name] = p
			}
		}
		for _, rp := range c.ParamsOf() {
			key := c.Name + "." + rp.Name
			p, ok := engineParams[rp.Name]
			gap := contains(robustaParamsNotTaken[c.Name], rp.Name)
			switch {
			case !ok && !gap:
				t.Errorf("%s: Robusta's %s takes %s (%s), the engine does not", c.Name, c.Params, rp.Name, rp.Python)
			case ok && gap:
				t.Errorf("%s: listed in robustaParamsNotTaken, but the engine takes it: drop the entry", key)
			}
			if !ok {
				continue
			}
			if !sameDefault(p, rp) {
				t.Errorf("%s: engine default %q, Robusta's %q", key, p.Default, rp.Default)
			}
			if req := rp.Required && rp.Default == ""; p.Required != req && knownRequiredDifferences[key] == "" {
				t.Errorf("%s: engine required %v, Robusta's %v", key, p.Required, req)
			}
			if rp.Enum != nil && strings.Join(sorted(p.Enum), "|") != strings.Join(sorted(rp.Enum), "|") {
				t.Errorf("%s: engine enum %v, Robusta's %v", key, p.Enum, rp.Enum)
			}
		}
		for name := range engineParams {
			if found := hasParam(c.ParamsOf(), name); !found && engineOnlyParams[c.Name+"."+name] == "" {
				t.Errorf("%s: the engine takes %s, which Robusta's %s does not have", c.Name, name, c.Params)
			}
		}
	}
	for name, params := range robustaParamsNotTaken {
		c, ok := catalogue.LookupAction(name)
		if !ok || c.Class != catalogue.ClassKubeAPI {
			t.Errorf("robustaParamsNotTaken lists %s, which is not a class-A action", name)
			continue
		}
		for _, p := range params {
			if !hasParam(c.ParamsOf(), p) {
				t.Errorf("robustaParamsNotTaken lists %s.%s, which Robusta's %s does not have", name, p, c.Params)
			}
		}
	}
	if n != classACount {
		t.Errorf("the catalogue has %d class-A actions, ROBUSTA-CATALOGUE counts %d", n, classACount)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func hasParam(ps []catalogue.Param, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

// bitmath's parsing and the runner's memory_increment arithmetic and format.
func TestBitmath(t *testing.T) {
	for _, tc := range []struct {
		in, unit string
		bytes    float64
		bad      bool
	}{
		{"500MiB", "MiB", 500 << 20, false},
		{"500Mi", "MiB", 500 << 20, false},
		{"1GiB", "GiB", 1 << 30, false},
		{"1G", "GB", 1e9, false},
		{"2K", "kB", 2000, false},
		{"2k", "kB", 2000, false},
		{"1048576", "Byte", 1 << 20, false},
		{"1.5Gi", "GiB", 1.5 * (1 << 30), false},
		{"lots", "", 0, true},
		{"MiB", "", 0, true},
		{"5Xi", "", 0, true},
		{"5B", "", 0, true},
	} {
		v, err := parseBitmath(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("%s: err %v", tc.in, err)
			continue
		}
		if !tc.bad && (v.unit != tc.unit || v.bytes() != tc.bytes) {
			t.Errorf("%s: %v %s (%v bytes), want %s %v", tc.in, v.value, v.unit, v.bytes(), tc.unit, tc.bytes)
		}
	}
	mb := func(s string) bitmathValue {
		v, err := parseBitmath(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct{ by, req, lim, max, wantReq, wantLim string }{
		{"500MiB", "100Mi", "200Mi", "2GiB", "600Mi", "600Mi"},
		{"500MiB", "100Mi", "1Gi", "2GiB", "600Mi", "1Gi"},
		{"500MiB", "1800Mi", "1800Mi", "2GiB", "2Gi", "2Gi"}, // capped: min() gives max_resource, in its unit
		{"1GiB", "512Mi", "512Mi", "4GiB", "2Gi", "2Gi"},     // 1.5GiB written with .0f: Python rounds half to even
		{"500MB", "1G", "1G", "10GB", "1500M", "1500M"},      // in increase_by's unit
	} {
		req := bitmathMin(mb(tc.by).add(mb(tc.req)), mb(tc.max))
		lim := bitmathMax(req, mb(tc.lim))
		if req.format() != tc.wantReq || lim.format() != tc.wantLim {
			t.Errorf("%+v: request %s limit %s", tc, req.format(), lim.format())
		}
	}
}

// The runner's parse_mem, in whole MiB, 0 for what it cannot read.
func TestParseMemMiB(t *testing.T) {
	for in, want := range map[string]int64{
		"128Mi": 128, "1Gi": 1024, "1G": 953, "8028160Ki": 7840, "1k": 0, "2048k": 2, "268435456": 256,
		"1.5Gi": 0, "": 0, "junk": 0, "500000000m": 0,
	} {
		if got := parseMemMiB(in); got != want {
			t.Errorf("%q: %d, want %d", in, got, want)
		}
	}
}
