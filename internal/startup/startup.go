// Package startup keeps the garbage collector out of robusta's start-up. Only the main
// package imports it, and main calls Done first thing.
//
// Every package linked into robusta initialises at start, whatever the command. The
// libraries that `playbooks configure` and the cluster commands need (Helm's chartutil,
// whose JSON-schema library compiles its meta-schemas at init, and client-go's scheme)
// allocate about 4.5 MB doing so, most of it garbage. The runtime's first heap goal is
// 4 MB, so a collection used to run during initialisation, or right after it, scanning
// the binary's large data segments for about 1 MB of survivors: measured, a tenth of
// `robusta version`'s CPU time (docs/PERFORMANCE.md).
//
// So the collector is off during initialisation, and main starts with a first goal
// four times the usual one (16 MB of heap at the default GOGC=100): short commands end
// before any cycle. After the first cycle the process's own setting is back, so long
// commands collect exactly as before from then on; they only start collecting later.
//
// Go initialises packages in import-path order as soon as their imports are done, so
// this package, which imports only the standard library, runs before those libraries
// (github.com/santhosh-tekuri, helm.sh, k8s.io and sigs.k8s.io sort after
// github.com/robusta-dev); test/e2e checks the order in the built binary.
package startup

import (
	"runtime"
	"runtime/debug"
)

// gcPercent is the setting the process started with (GOGC, 100 by default), saved as
// the collector is turned off. A package-level initialiser, not an init function, so
// it runs as early as this package can.
var gcPercent = debug.SetGCPercent(-1)

// firstGoalFactor scales the setting until the first cycle: the runtime derives the
// first heap goal from it (4 MB at 100).
const firstGoalFactor = 4

// Done turns the collector on with a first goal firstGoalFactor times the usual, and
// gives it back the process's setting once that first cycle has run. Call it once,
// first thing in main. With GOGC=off the collector stays off, as asked.
func Done() {
	if gcPercent < 0 {
		return
	}
	debug.SetGCPercent(gcPercent * firstGoalFactor)
	// The sentinel is unreachable from the start: its cleanup runs after the first
	// cycle. Large and with a pointer, so it is not batched into a tiny allocation
	// block, whose cleanup might never run.
	sentinel := &struct {
		_ *byte
		_ [48]byte
	}{}
	runtime.AddCleanup(sentinel, func(p int) { debug.SetGCPercent(p) }, gcPercent)
}
