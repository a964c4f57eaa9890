package startup

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// The test binary links this package too, so the collector is off when the test
// starts; Done raises the first goal, and the first cycle restores the setting saved
// at start.
func TestDoneRestoresTheStartSettingAfterTheFirstCycle(t *testing.T) {
	if ran {
		t.Skip("start-up happens once per process (-count > 1)")
	}
	ran = true
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Fatalf("during start-up the collector runs at %d%%, want off (-1)", got)
	}
	if gcPercent == -1 {
		t.Skip("the process was started with GOGC=off: nothing to restore")
	}
	Done()
	if got := current(); got != gcPercent*firstGoalFactor {
		t.Fatalf("until the first cycle the collector runs at %d%%, want %d%%", got, gcPercent*firstGoalFactor)
	}
	runtime.GC()
	// Cleanups run on their own goroutine after the cycle: wait for it (a bound
	// against hanging, not a measurement).
	deadline := time.Now().Add(10 * time.Second)
	for current() != gcPercent {
		if time.Now().After(deadline) {
			t.Fatalf("after the first cycle the collector runs at %d%%, want the start setting %d%%", current(), gcPercent)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

var ran bool

// current reads the collector's setting without changing it (a read through
// SetGCPercent could undo the cleanup's write in between).
func current() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}
