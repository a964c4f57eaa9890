package triggers

import "fmt"

// compileHelm is replaced by on_helm_release_* matching.
func compileHelm(key string, params map[string]any) (Trigger, error) {
	return nil, fmt.Errorf("trigger %s: the local watch does not support it yet", key)
}
