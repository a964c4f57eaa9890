package actions

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

func init() {
	engine.Register(&engine.Action{Name: "pod_issue_investigator", Event: "PodEvent",
		Doc: "Explain in plain words what is wrong with the pod: scheduling, waiting reasons, last terminations, restarts, warning events", Do: investigatePod})
	engine.Register(&engine.Action{Name: "report_crash_loop", Event: "PodEvent",
		Doc:       "Report the pod's crash-looping containers with their restarts, last exit and previous logs",
		NewParams: func() any { return &reportCrashLoopParams{} }, Do: reportCrashLoop})
	engine.Register(&engine.Action{Name: "image_pull_backoff_reporter", Event: "PodEvent",
		Doc:       "Report the images the pod cannot pull and why (missing image, denied access, unreachable registry)",
		NewParams: func() any { return &pullBackoffParams{} }, Do: imagePullBackoff})
}

func allStatuses(p *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
}

var pullReasons = map[string]bool{"ImagePullBackOff": true, "ErrImagePull": true, "InvalidImageName": true, "ErrImageNeverPull": true}

// describeContainer says in plain words what is wrong with one container, or "" when
// nothing is.
func describeContainer(c corev1.ContainerStatus, limits corev1.ResourceList) []string {
	var out []string
	if w := c.State.Waiting; w != nil {
		switch {
		case w.Reason == "CrashLoopBackOff":
			out = append(out, fmt.Sprintf("Container %s is crash looping: it has restarted %s and Kubernetes is waiting before starting it again.", c.Name, times(c.RestartCount)))
		case pullReasons[w.Reason]:
			out = append(out, fmt.Sprintf("Container %s cannot start because image %s cannot be pulled (%s).", c.Name, c.Image, w.Reason))
		case w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing":
			msg := fmt.Sprintf("Container %s cannot start: %s", c.Name, w.Reason)
			if w.Message != "" {
				msg += ": " + w.Message
			}
			out = append(out, msg+".")
		}
	}
	if t := c.LastTerminationState.Terminated; t != nil {
		out = append(out, "Its last run "+termination(t, limits))
	} else if t := c.State.Terminated; t != nil && t.ExitCode != 0 {
		out = append(out, fmt.Sprintf("Container %s %s", c.Name, termination(t, limits)))
	}
	if c.State.Running != nil && !c.Ready {
		out = append(out, fmt.Sprintf("Container %s is running but not ready: its readiness probe is failing.", c.Name))
	}
	return out
}

func termination(t *corev1.ContainerStateTerminated, limits corev1.ResourceList) string {
	s := fmt.Sprintf("exited with code %d", t.ExitCode)
	switch t.Reason {
	case "OOMKilled":
		s = "was killed for using more memory than it may (OOMKilled)"
		if m, ok := limits[corev1.ResourceMemory]; ok {
			s += ", limit " + m.String()
		}
	case "", "Error", "Completed":
	default:
		s += " (" + t.Reason + ")"
	}
	if !t.FinishedAt.IsZero() {
		s += " at " + t.FinishedAt.UTC().Format(time.DateTime)
	}
	if t.Message != "" {
		s += ": " + strings.TrimSpace(t.Message)
	}
	return s + "."
}

func times(n int32) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func limitsOf(p *corev1.Pod, name string) corev1.ResourceList {
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if c.Name == name {
			return c.Resources.Limits
		}
	}
	return nil
}

func containerFields(c corev1.ContainerStatus) [][]string {
	state := "unknown"
	switch {
	case c.State.Waiting != nil:
		state = "waiting: " + c.State.Waiting.Reason
	case c.State.Running != nil:
		state = "running since " + c.State.Running.StartedAt.UTC().Format(time.DateTime)
	case c.State.Terminated != nil:
		state = fmt.Sprintf("terminated: %s (exit code %d)", c.State.Terminated.Reason, c.State.Terminated.ExitCode)
	}
	rows := [][]string{{"container", c.Name}, {"image", c.Image}, {"state", state}, {"ready", fmt.Sprint(c.Ready)}, {"restarts", fmt.Sprint(c.RestartCount)}}
	if t := c.LastTerminationState.Terminated; t != nil {
		rows = append(rows, []string{"last exit", fmt.Sprintf("%s, exit code %d, at %s", t.Reason, t.ExitCode, t.FinishedAt.UTC().Format(time.DateTime))})
	}
	return rows
}

func investigatePod(ctx context.Context, r *engine.Run, _ any) error {
	pod := r.Event.Pod()
	var findings []string
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			findings = append(findings, fmt.Sprintf("The pod cannot be scheduled (%s): %s", c.Reason, c.Message))
		}
	}
	if pod.Status.Phase == corev1.PodFailed {
		msg := "The pod has failed"
		if pod.Status.Reason != "" {
			msg += " (" + pod.Status.Reason + ")"
		}
		if pod.Status.Message != "" {
			msg += ": " + pod.Status.Message
		}
		findings = append(findings, msg+".")
	}
	var fields []engine.Block
	for _, c := range allStatuses(pod) {
		says := describeContainer(c, limitsOf(pod, c.Name))
		findings = append(findings, says...)
		if len(says) > 0 {
			fields = append(fields, engine.KubernetesFields(containerFields(c)))
		}
	}
	if pod.Status.Phase == corev1.PodPending && len(findings) == 0 {
		findings = append(findings, "The pod is pending: its containers have not started yet.")
	}
	evs, err := listEvents(ctx, r, "Pod", pod.Namespace, pod.Name, []string{"Warning"})
	if err != nil {
		return err
	}
	if len(findings) == 0 {
		r.Finding.Title = fmt.Sprintf("No issue found in pod %s", pod.Name)
		r.Finding.AddEnrichment("Investigation", engine.Markdown(fmt.Sprintf("Pod %s is %s and all its containers are ready.", pod.Name, pod.Status.Phase)))
		if len(evs) > 0 {
			r.Finding.AddEnrichment("Warning events", eventsBlock(evs, 8, "this pod"))
		}
		return nil
	}
	r.Finding.Title = fmt.Sprintf("Pod %s has a problem: %s", pod.Name, firstSentence(findings[0]))
	r.Finding.Severity = engine.High
	r.Finding.AggregationKey = "PodIssue"
	blocks := append([]engine.Block{engine.List(findings...)}, fields...)
	r.Finding.AddEnrichment("Investigation", blocks...)
	r.Finding.AddEnrichment("Warning events", eventsBlock(evs, 8, "this pod"))
	return nil
}

func firstSentence(s string) string {
	if i := strings.IndexAny(s, ":."); i > 0 {
		return s[:i]
	}
	return s
}

// reportCrashLoopParams is Robusta's ReportCrashLoopParams: redaction of the logs.
type reportCrashLoopParams struct {
	RegexReplacerPatterns []namedRegexPattern `param:"regex_replacer_patterns" doc:"redaction rules ({name, regex}) applied to the logs in order"`
	RegexReplacementStyle string              `param:"regex_replacement_style" default:"SAME_LENGTH_ASTERISKS" enum:"SAME_LENGTH_ASTERISKS|NAMED" doc:"what a redacted match becomes: as many * as it has characters, or [NAME]"`
}

func reportCrashLoop(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*reportCrashLoopParams)
	proc, err := newLogProcessor("", params.RegexReplacerPatterns, params.RegexReplacementStyle)
	if err != nil {
		return &engine.ParamsError{Action: "report_crash_loop", Err: err}
	}
	// The runner's send_crash_report: the finding, the crash tables, then per crashed
	// container the log of its previous run.
	pod := r.Event.Pod()
	f := r.Finding
	f.Title = fmt.Sprintf("Crashing pod %s in namespace %s", pod.Name, pod.Namespace)
	// The runner's source is kubernetes_api_server, but it makes a finding of its own; here the
	// event's finding is reused and keeps its source (an alert's stays prometheus).
	f.Severity, f.AggregationKey = engine.High, "CrashLoopBackoff"
	f.SetFingerprint()
	crashInfo(f, pod)
	crashed := crashedStatuses(pod)
	if len(crashed) == 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("report_crash_loop: no container of pod %s is waiting after a restart, so the finding has only its title (as in the runner)", pod.Name))
	}
	for _, c := range crashed {
		b, err := podLogBlock(ctx, r, "report_crash_loop", pod, logFetch{container: c.Name, previous: true, proc: proc})
		if err != nil {
			// The runner logs the failure and goes on without this log.
			r.Notes = append(r.Notes, fmt.Sprintf("report_crash_loop: no log of container %s: %v", c.Name, err))
			continue
		}
		f.AddEnrichment(logsTitle, b)
	}
	return nil
}

// crashingPodFinding is the crash-loop finding: per crashing container its status,
// how its last run ended and the logs of that run.
// proc (nil for none) redacts the logs.
func crashingPodFinding(ctx context.Context, r *engine.Run, pod *corev1.Pod, crashing []corev1.ContainerStatus, proc *logProcessor) {
	r.Finding.Title = fmt.Sprintf("Crashing pod %s in namespace %s", pod.Name, pod.Namespace)
	r.Finding.Severity = engine.High
	r.Finding.AggregationKey = "CrashLoopBackoff"
	for _, c := range crashing {
		blocks := []engine.Block{engine.KubernetesFields(containerFields(c))}
		if t := c.LastTerminationState.Terminated; t != nil {
			blocks = append(blocks, engine.Markdown("Its last run "+termination(t, limitsOf(pod, c.Name))))
		}
		out := &capWriter{max: MaxLogBytes}
		err := r.KF.StreamLogs(ctx, pod.Namespace, pod.Name, kube.LogOptions{Container: c.Name, Previous: true, Tail: 1000}, out)
		if err != nil {
			blocks = append(blocks, engine.Markdown(fmt.Sprintf("Logs of the previous run unavailable: %v", err)))
		} else {
			data := out.Bytes()
			if proc != nil && proc.active() {
				data = []byte(proc.apply(string(data)))
			}
			blocks = append(blocks, engine.File(fmt.Sprintf("%s.%s.previous.log", pod.Name, c.Name), data))
		}
		r.Finding.AddEnrichment("Container "+c.Name, blocks...)
	}
}

// pullCause reads the kubelet's "Failed to pull image" message.
func pullCause(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "pull access denied"):
		// Docker Hub says this both for a missing repository and for a private one.
		return "the repository does not exist or needs credentials: check the image name and the pod's imagePullSecrets"
	case strings.Contains(m, "not found") || strings.Contains(m, "manifest unknown") || strings.Contains(m, "does not exist"):
		return "the image or its tag does not exist"
	case strings.Contains(m, "unauthorized") || strings.Contains(m, "authentication required") || strings.Contains(m, "denied") || strings.Contains(m, "forbidden"):
		return "the registry refused access: check the image name and the pod's imagePullSecrets"
	case strings.Contains(m, "no such host") || strings.Contains(m, "timeout") || strings.Contains(m, "connection refused") || strings.Contains(m, "network is unreachable"):
		return "the registry could not be reached from the node"
	case strings.Contains(m, "invalid reference format") || strings.Contains(m, "invalidimagename"):
		return "the image name is not valid"
	}
	return ""
}

// pullBackoffParams is the runner's RateLimitParams. The runner's action takes
// rate_limit but no longer reads it (Robusta dropped the action's own limiter; the
// on_image_pull_backoff trigger's rate_limit is what limits it), so neither does this.
type pullBackoffParams struct {
	RateLimit int64 `param:"rate_limit" default:"3600" doc:"taken for the runner's configs; unused by this action, as in the runner (use the trigger's rate_limit)"`
}

func imagePullBackoff(ctx context.Context, r *engine.Run, p any) error {
	if rl := p.(*pullBackoffParams).RateLimit; rl != 3600 {
		r.Notes = append(r.Notes, fmt.Sprintf("image_pull_backoff_reporter: rate_limit %d is not applied: the runner's action ignores it too; set rate_limit on the on_image_pull_backoff trigger", rl))
	}
	pod := r.Event.Pod()
	var failing []corev1.ContainerStatus
	for _, c := range allStatuses(pod) {
		if w := c.State.Waiting; w != nil && pullReasons[w.Reason] {
			failing = append(failing, c)
		}
	}
	if len(failing) == 0 {
		r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("Pod %s has no image pull problem.", pod.Name)))
		return nil
	}
	evs, err := listEvents(ctx, r, "Pod", pod.Namespace, pod.Name, []string{"Warning"})
	if err != nil {
		return err
	}
	r.Finding.Title = fmt.Sprintf("Failed to pull at least one image in pod %s in namespace %s", pod.Name, pod.Namespace)
	r.Finding.Severity = engine.High
	r.Finding.AggregationKey = "ImagePullBackoff"
	var rows [][]string
	for _, c := range failing {
		cause, detail := "", c.State.Waiting.Message
		for _, e := range evs {
			if e.Reason == "Failed" && strings.Contains(e.Message, c.Image) {
				detail = e.Message
				break
			}
		}
		if cause = pullCause(detail); cause == "" {
			cause = "unknown (see the message)"
		}
		rows = append(rows, []string{c.Name, c.Image, c.State.Waiting.Reason, cause, detail})
	}
	r.Finding.AddEnrichment("Image pull problems", engine.Table("images", []string{"container", "image", "reason", "cause", "message"}, rows))
	return nil
}
