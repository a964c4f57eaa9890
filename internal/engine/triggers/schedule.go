package triggers

import "fmt"

// compileSchedule is replaced by on_schedule.
func compileSchedule(params map[string]any) (Trigger, error) {
	return nil, fmt.Errorf("trigger on_schedule: the local watch does not support it yet")
}
