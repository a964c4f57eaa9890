package e2e

import (
	"strings"
	"testing"
)

// The collector is off while the libraries initialise (internal/startup): the
// package that turns it off must initialise before the costly ones, and a short
// command ends without a collection. Order and count, never time.
func TestVersionStartupKeepsGCOutOfInit(t *testing.T) {
	r := run(t, []string{"GODEBUG=inittrace=1"}, "version")
	if r.code != 0 {
		t.Fatal(r)
	}
	pos := map[string]int{}
	for i, l := range strings.Split(r.stderr, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "init" {
			pos[f[1]] = i + 1
		}
	}
	const startup = "github.com/robusta-dev/robusta-go/internal/startup"
	if pos[startup] == 0 {
		t.Fatalf("no init line for %s: is it still imported by main?\n%s", startup, r.stderr)
	}
	for _, heavy := range []string{"github.com/santhosh-tekuri/jsonschema/v6", "k8s.io/client-go/kubernetes/scheme"} {
		if pos[heavy] == 0 {
			t.Logf("%s is no longer linked", heavy)
			continue
		}
		if pos[heavy] < pos[startup] {
			t.Errorf("%s initialises (line %d) before %s (line %d): the collector is still on for it", heavy, pos[heavy], startup, pos[startup])
		}
	}

	// The catalogue is static data: linked or not, it must run no init work (a map
	// literal or a lookup built at package level would show here).
	for p := range pos {
		if strings.HasPrefix(p, "github.com/robusta-dev/robusta-go/internal/catalogue") {
			t.Errorf("%s runs init work at start-up; build its lookups lazily", p)
		}
	}

	r = run(t, []string{"GODEBUG=gctrace=1"}, "version")
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "gc ") {
			t.Errorf("robusta version ran a garbage collection: %s", l)
		}
	}
}
