package actions

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "restart_loop_reporter", Event: "PodEvent",
		Doc:       "Deprecated: report a pod whose containers keep restarting (use the on_pod_crash_loop trigger with report_crash_loop)",
		NewParams: func() any { return &restartLoopParams{} }, Do: restartLoopReporter})
	engine.Register(&engine.Action{Name: "count_pod_creations", Event: "DeploymentEvent",
		Doc: "Example action: count the events seen per Deployment name in this process and report the tally", Do: countPodCreations})
	engine.Register(&engine.Action{Name: "cpu_throttling_analysis_enricher", Event: "PodEvent",
		Doc: "Explain why the pod is CPU-throttled (its CPU limit, a metrics-server quirk, or a full node) and what to do", Do: cpuThrottling})
}

type restartLoopParams struct {
	RateLimit     int64  `param:"rate_limit" default:"3600" doc:"seconds: report the same pod at most once per period"`
	RestartReason string `param:"restart_reason" doc:"only containers whose waiting reason contains this text (default: any reason)"`
}

// restartLoopReporter is the runner's older crash-loop report: it picks the containers
// itself (waiting, restarted more than once, reason matching) instead of leaving that
// to the on_pod_crash_loop trigger.
func restartLoopReporter(ctx context.Context, r *engine.Run, params any) error {
	p := params.(*restartLoopParams)
	r.Notes = append(r.Notes, "restart_loop_reporter is deprecated: use the on_pod_crash_loop trigger with the report_crash_loop action")
	pod := r.Event.Pod()
	var crashing []corev1.ContainerStatus
	for _, c := range append(append([]corev1.ContainerStatus{}, pod.Status.ContainerStatuses...), pod.Status.InitContainerStatuses...) {
		w := c.State.Waiting
		// the runner waits for the second restart so that previous logs exist
		if w != nil && c.RestartCount > 1 && (p.RestartReason == "" || strings.Contains(w.Reason, p.RestartReason)) {
			crashing = append(crashing, c)
		}
	}
	if len(crashing) == 0 {
		r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("No container of pod %s is waiting after more than one restart%s.", pod.Name, reasonSuffix(p.RestartReason))))
		return nil
	}
	if !r.Limiter.MarkAndTest("restart_loop_reporter", pod.Name+pod.Namespace, time.Duration(p.RateLimit)*time.Second) {
		r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("Pod %s was reported less than %d seconds ago (rate_limit); not reported again.", pod.Name, p.RateLimit)))
		return nil
	}
	crashingPodFinding(ctx, r, pod, crashing, nil)
	return nil
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return fmt.Sprintf(" with a waiting reason containing %q", reason)
}

// podCreations is the runner's in-memory tally of count_pod_creations: it lives as
// long as the process, so one `local run` counts 1 and `local watch` keeps counting.
var podCreations = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func countPodCreations(_ context.Context, r *engine.Run, _ any) error {
	name := r.Event.Obj.GetName()
	podCreations.Lock()
	podCreations.n[name]++
	names := make([]string, 0, len(podCreations.n))
	for k := range podCreations.n {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s: %d", k, podCreations.n[k])
	}
	podCreations.Unlock()
	r.Finding.Title = "DeploymentChangeCounter: {" + strings.Join(parts, ", ") + "}"
	r.Finding.AggregationKey = "CountPodCreations"
	r.Finding.Type = engine.TypeReport
	r.Finding.Severity = engine.Info
	return nil
}

func hasCPULimit(p *corev1.Pod) bool {
	for _, c := range p.Spec.Containers {
		if _, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
			return true
		}
	}
	return false
}

func hasToleration(p *corev1.Pod, key string) bool {
	for _, t := range p.Spec.Tolerations {
		if t.Key == key {
			return true
		}
	}
	return false
}

// cpuThrottling follows the runner's three cases; GKE's own metrics-server ends the
// chain, since its users cannot change it.
func cpuThrottling(_ context.Context, r *engine.Run, _ any) error {
	pod := r.Event.Pod()
	metricsServer := strings.HasPrefix(pod.Name, "metrics-server-")
	switch {
	case metricsServer && hasToleration(pod, "components.gke.io/gke-managed-components"):
		r.Stop = true
		r.Notes = append(r.Notes, "GKE manages this metrics-server pod and its throttling cannot be fixed by the user: the remaining actions are skipped, as the runner does")
	case metricsServer && hasCPULimit(pod):
		r.Finding.AddEnrichment("",
			engine.Markdown("Explanation: metrics-server is throttled because its default deployment sets a CPU limit that is too low for it "+
				"(https://github.com/kubernetes/autoscaler/issues/4141)."),
			engine.Markdown("Recommendation: raise the CPU limit of the metrics-server deployment; metrics-server does not behave like other pods under a CPU limit."))
	case hasCPULimit(pod):
		r.Finding.AddEnrichment("",
			engine.Markdown("Explanation: the pod is throttled by its CPU limit, which can happen even while its average CPU use stays well under the limit."),
			engine.Markdown("Recommendation: remove the pod's CPU limit (https://home.robusta.dev/blog/stop-using-cpu-limits/)."))
	default:
		r.Finding.AddEnrichment("",
			engine.Markdown("Explanation: the pod has no CPU limit, so it is throttled because it uses more CPU than it requests and its node has none to spare. "+
				"Raise the pod's CPU request: the scheduler then places it on a node with that much CPU free."))
	}
	return nil
}
