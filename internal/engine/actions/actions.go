// Package actions holds the built-in actions of the local engine. Importing it
// registers them.
package actions

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// MaxLogBytes caps what a logs block holds; the finding says when it was cut.
const MaxLogBytes = 1 << 20

func init() {
	engine.Register(&engine.Action{Name: "create_finding", Event: "ExecutionBaseEvent",
		Doc:       "Create a finding with a title; $name, $namespace, $kind, $node and $labels.KEY are filled from the object",
		NewParams: func() any { return &createFindingParams{} }, Do: createFinding})
	engine.Register(&engine.Action{Name: "logs_enricher", Event: "PodEvent",
		Doc:       "Attach the pod's container logs as a file",
		NewParams: func() any { return &logsParams{} }, Do: logsEnricher, AnyAlert: true})
	engine.Register(&engine.Action{Name: "delete_pod", Event: "PodEvent", Mutating: true,
		Doc: "Delete the pod (server-side dry run unless --apply)", Do: deletePod})
}

type createFindingParams struct {
	Title          string `param:"title" required:"true" doc:"finding title; $name, $namespace, $kind, $node, $labels.KEY, $annotations.KEY are replaced (${...} too), other $names become <missing>"`
	AggregationKey string `param:"aggregation_key" doc:"groups findings of the same kind"`
	Severity       string `param:"severity" default:"HIGH" enum:"HIGH|MEDIUM|LOW|INFO|DEBUG" doc:"finding severity"`
	Description    string `param:"description" doc:"longer text; templated like the title"`
}

func createFinding(_ context.Context, r *engine.Run, p any) error {
	params := p.(*createFindingParams)
	// The runner's format_event_templated_string: string.Template with dotted names
	// over the event's subject (kind as FindingSubjectType's value, labels.X,
	// annotations.X); any other name is "<missing>".
	vars := withDefault(subjectTemplateVars(r.Event), "<missing>")
	r.Finding.Title = pySubstitute(params.Title, true, vars)
	r.Finding.Description = pySubstitute(params.Description, true, vars)
	r.Finding.AggregationKey = params.AggregationKey
	r.Finding.Severity = engine.Severity(params.Severity)
	r.Finding.SetFingerprint()
	return nil
}

type logsParams struct {
	logEnricherParams
	Tail int64 `param:"tail" doc:"last N lines (default: all, capped at 1 MiB)"`
}

// logsEnricher is the runner's start_log_enrichment for the event's pod.
func logsEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*logsParams)
	// Bad patterns are the user's to fix, with or without a pod.
	if _, err := newLogProcessor(params.FilterRegex, params.RegexReplacerPatterns, params.RegexReplacementStyle); err != nil {
		return &engine.ParamsError{Action: "logs_enricher", Err: err}
	}
	pod := r.Event.Pod()
	if pod == nil {
		// Only an alert gets here (the action takes any alert, as the runner's does):
		// one whose labels name no pod, or a pod that is gone.
		if params.WarnOnMissingLabel {
			r.Finding.AddEnrichment("", engine.Markdown("Cannot fetch logs because the pod is unknown. The alert has no `pod` label"))
			return nil
		}
		r.Notes = append(r.Notes, "logs_enricher: the alert names no pod, so it added nothing (as the runner does; set warn_on_missing_label to add a line saying so)")
		return nil
	}
	return startLogEnrichment(ctx, r, "logs_enricher", pod, params, "")
}

// startLogEnrichment is the runner's start_log_enrichment: the crash tables of the
// pod's crashed containers, then the log of one container under "Logs" (or the
// title given).
func startLogEnrichment(ctx context.Context, r *engine.Run, action string, pod *corev1.Pod, params *logsParams, title string) error {
	proc, err := newLogProcessor(params.FilterRegex, params.RegexReplacerPatterns, params.RegexReplacementStyle)
	if err != nil {
		return &engine.ParamsError{Action: action, Err: err}
	}
	container := logContainer(r.Event, pod, params.Container)
	crashInfo(r.Finding, pod)
	// The runner retries nothing here: its loop runs once (range(tries - 1)), then
	// sleeps two seconds when the log is empty, which changes nothing it reports.
	b, err := podLogBlock(ctx, r, action, pod, logFetch{container: container, previous: params.Previous, tail: params.Tail, proc: proc})
	if err != nil {
		return err
	}
	if title == "" {
		title = logsTitle
	}
	r.Finding.AddEnrichment(title, b)
	return nil
}

// logContainer is the container whose log the runner fetches: container_name, else
// the alert's container label when the pod has a container of that name, else the
// pod's first container.
func logContainer(e *engine.Event, pod *corev1.Pod, name string) string {
	if name != "" {
		return name
	}
	if e.Alert != nil {
		if c := e.Alert.Labels["container"]; c != "" {
			for _, s := range allStatuses(pod) {
				if s.Name == c {
					return c
				}
			}
		}
	}
	if len(pod.Spec.Containers) > 0 {
		return pod.Spec.Containers[0].Name
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func deletePod(ctx context.Context, r *engine.Run, _ any) error {
	pod := r.Event.Pod()
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	dryRun, what := mutation(r, "delete_pod", "Deleted", "delete")
	if err := cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{DryRun: dryRun}); err != nil {
		return r.KF.Explain(err, "delete", "pods", pod.Namespace)
	}
	r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("%s pod %s/%s", what, pod.Namespace, pod.Name)))
	return nil
}

// mutation decides how a mutating action runs: for real with --apply, else as a
// server-side dry run, which it notes for the user. It returns the DryRun option and
// the verb for the finding ("Deleted" or "Dry run: would delete").
func mutation(r *engine.Run, action, done, verb string) ([]string, string) {
	if r.Apply {
		return nil, done
	}
	r.Notes = append(r.Notes, fmt.Sprintf("%s ran as a server-side dry run: nothing changed (pass --apply to %s)", action, verb))
	return []string{metav1.DryRunAll}, "Dry run: would " + verb
}
