package triggers

import "fmt"

// compileAlert is replaced by on_prometheus_alert matching.
func compileAlert(params map[string]any) (Trigger, error) {
	return nil, fmt.Errorf("trigger on_prometheus_alert: the local watch does not support it yet")
}
