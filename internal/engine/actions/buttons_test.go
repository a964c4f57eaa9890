package actions

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Every button is shown as a command that does what clicking it in the runner does:
// --apply always (the runner has no dry run), for the action that changes the cluster
// as for those that start pods; a button whose action is runner-only says so.
func TestButtonCommands(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orders-1", Namespace: "shop"}}
	for _, c := range []struct {
		name, got, want string
	}{
		{"mutating (scale_hpa_callback)",
			button("Update HPA max replicas to: 6", "scale_hpa_callback", "--kind", "hpa", "--name", "web", "-n", "prod", "max_replicas=6").Text,
			"robusta local run scale_hpa_callback --kind hpa --name web -n prod max_replicas=6 --apply"},
		{"starts a pod (pod_jmap_pid)",
			callbackCommand("pod_jmap_pid", pod, &javaParams{processParams: processParams{Pid: 7, Interactive: true}}),
			"robusta local run pod_jmap_pid --pod shop/orders-1 pid=7 --apply"},
		{"starts a pod (java_process_inspector)",
			callbackCommand("java_process_inspector", pod, &javaParams{processParams: processParams{ProcessSubstring: "my app", Interactive: true}}),
			"robusta local run java_process_inspector --pod shop/orders-1 'process_substring=my app' --apply"},
		{"runner only", button("Fix the Configuration", "daemonset_fix_config").Text,
			"daemonset_fix_config (runner only: no local command)"},
	} {
		if c.got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, c.got, c.want)
		}
	}
}
