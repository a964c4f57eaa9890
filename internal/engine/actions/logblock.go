package actions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// The runner's titles and texts for log enrichments (start_log_enrichment,
// send_crash_report and get_crash_report_enrichments).
const (
	logsTitle      = "Logs"
	crashInfoTitle = "Container Crash information"
	crashInfoTable = "*Crash Info*"
	prevContTable  = "*Previous Container*"
)

// crashedStatuses are the runner's crashed containers: waiting after at least one
// restart, containers before init containers as the runner lists them.
func crashedStatuses(pod *corev1.Pod) []corev1.ContainerStatus {
	var out []corev1.ContainerStatus
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, c := range list {
			if c.State.Waiting != nil && c.RestartCount >= 1 {
				out = append(out, c)
			}
		}
	}
	return out
}

// pyStr is a value as the runner's tables print it: Python's str, so an unset
// reason is "None".
func pyStr(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

// crashInfo adds the runner's crash enrichments: per crashed container, a table of
// its state and one of how its previous run ended.
func crashInfo(f *engine.Finding, pod *corev1.Pod) {
	for _, c := range crashedStatuses(pod) {
		rows := [][]string{{"Container", c.Name}, {"Restarts", strconv.Itoa(int(c.RestartCount))}}
		if t := c.State.Terminated; t != nil {
			rows = append(rows, []string{"Status", "TERMINATED"}, []string{"Reason", pyStr(t.Reason)})
		}
		if w := c.State.Waiting; w != nil {
			rows = append(rows, []string{"Status", "WAITING"}, []string{"Reason", pyStr(w.Reason)})
		}
		var prev [][]string
		if t := c.LastTerminationState.Terminated; t != nil {
			prev = append(prev, []string{"Status", "TERMINATED"}, []string{"Reason", pyStr(t.Reason)})
			if !t.StartedAt.IsZero() {
				prev = append(prev, []string{"Started at", apiTime(t.StartedAt)})
			}
			if !t.FinishedAt.IsZero() {
				prev = append(prev, []string{"Finished at", apiTime(t.FinishedAt)})
			}
		}
		f.AddEnrichment(crashInfoTitle,
			engine.Table(crashInfoTable, []string{"label", "value"}, rows),
			engine.Table(prevContTable, []string{"label", "value"}, prev))
	}
}

// apiTime is a time as the API server writes it (the runner prints the string it got).
func apiTime(t metav1.Time) string { return t.UTC().Format(time.RFC3339) }

// logFetch says which log to fetch and how to process it.
type logFetch struct {
	container string
	previous  bool
	tail      int64 // <= 0: all
	proc      *logProcessor
}

// podLogBlock is the runner's log block: the log, filtered and redacted, as the file
// "<pod>.log"; an empty one (nothing logged, nothing left after filter_regex, or the
// API refused: no such container, no previous run) is an empty file whose remarks
// name the container. An API refusal is also said in the run's notes. Logs larger
// than MaxLogBytes keep their end (the runner has no cap); the notes say so.
func podLogBlock(ctx context.Context, r *engine.Run, action string, pod *corev1.Pod, lf logFetch) (engine.Block, error) {
	name := pod.Name + ".log"
	empty := engine.EmptyFile(name, "Logs unavailable for container: "+lf.container)
	tail := lf.tail
	if tail <= 0 {
		tail = -1
	}
	out := &capWriter{max: MaxLogBytes}
	var w io.Writer = out
	proc := lf.proc
	if proc != nil && proc.active() {
		w = proc.writer(out)
	}
	err := r.KF.StreamLogs(ctx, pod.Namespace, pod.Name, kube.LogOptions{Container: lf.container, Previous: lf.previous, Tail: tail}, w)
	if err != nil {
		var status apierrors.APIStatus
		if !errors.As(err, &status) {
			return engine.Block{}, err
		}
		// The runner's get_pod_logs swallows API errors: the log is then empty.
		r.Notes = append(r.Notes, fmt.Sprintf("%s: no log of container %s: %v", action, lf.container, err))
		return empty, nil
	}
	data := out.Bytes()
	if proc != nil && proc.active() {
		data = []byte(proc.finish(data))
	}
	if len(data) == 0 {
		return empty, nil
	}
	b := engine.File(name, data)
	if d := out.DroppedBytes(); d > 0 {
		b.Truncated = int(d)
		r.Notes = append(r.Notes, fmt.Sprintf("%s: the log of container %s was cut to its last %s: %d earlier lines (%s) left out; set tail to choose how many lines to keep",
			action, lf.container, cli.HumanBytes(MaxLogBytes), out.DroppedLines(), cli.HumanBytes(d)))
	}
	return b, nil
}
