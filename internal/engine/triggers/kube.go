package triggers

import "fmt"

// compileKube is replaced by the Kubernetes triggers (on_<kind>_<operation>,
// on_kubernetes_*, crash loop, OOM, job failure, warning events, ...).
func compileKube(key string, params map[string]any) (Trigger, error) {
	return nil, fmt.Errorf("trigger %s: the local watch does not support Kubernetes triggers yet", key)
}
