// Package actions holds the built-in actions of the local engine. Importing it
// registers them.
package actions

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// MaxLogBytes caps what a logs block holds; the finding says when it was cut.
const MaxLogBytes = 1 << 20

func init() {
	engine.Register(&engine.Action{Name: "create_finding", Event: "ExecutionBaseEvent",
		Doc:       "Create a finding with a title; $name, $namespace, $kind, $node and $labels.KEY are filled from the object",
		NewParams: func() any { return &createFindingParams{} }, Do: createFinding})
	engine.Register(&engine.Action{Name: "logs_enricher", Event: "PodEvent",
		Doc:       "Attach the pod's container logs as a file",
		NewParams: func() any { return &logsParams{} }, Do: logsEnricher})
	engine.Register(&engine.Action{Name: "pod_events_enricher", Event: "PodEvent",
		Doc:       "Attach the Kubernetes events of the pod as a table",
		NewParams: func() any { return &eventsParams{} }, Do: podEvents})
	engine.Register(&engine.Action{Name: "delete_pod", Event: "PodEvent", Mutating: true,
		Doc: "Delete the pod (server-side dry run unless --apply)", Do: deletePod})
}

type createFindingParams struct {
	Title          string `param:"title" required:"true" doc:"finding title; $name, $namespace, $kind, $node, $labels.KEY are replaced"`
	AggregationKey string `param:"aggregation_key" doc:"groups findings of the same kind"`
	Severity       string `param:"severity" default:"HIGH" enum:"HIGH|MEDIUM|LOW|INFO|DEBUG" doc:"finding severity"`
	Description    string `param:"description" doc:"longer text; templated like the title"`
}

var labelRef = regexp.MustCompile(`\$labels\.([A-Za-z0-9_./-]+)`)

func template(s string, f *engine.Finding) string {
	s = labelRef.ReplaceAllStringFunc(s, func(m string) string {
		return f.Subject.Labels[labelRef.FindStringSubmatch(m)[1]]
	})
	return strings.NewReplacer("$namespace", f.Subject.Namespace, "$name", f.Subject.Name,
		"$kind", f.Subject.Kind, "$node", f.Subject.Node).Replace(s)
}

func createFinding(_ context.Context, r *engine.Run, p any) error {
	params := p.(*createFindingParams)
	r.Finding.Title = template(params.Title, r.Finding)
	r.Finding.Description = template(params.Description, r.Finding)
	r.Finding.AggregationKey = params.AggregationKey
	r.Finding.Severity = engine.Severity(params.Severity)
	r.Finding.SetFingerprint()
	return nil
}

type logsParams struct {
	Container   string `param:"container_name" doc:"container (default: the first)"`
	Previous    bool   `param:"previous" doc:"logs of the previous container"`
	Tail        int64  `param:"tail" doc:"last N lines (default: all, capped at 1 MiB)"`
	FilterRegex string `param:"filter_regex" doc:"keep only lines matching this regular expression"`
}

// capWriter keeps the last max bytes written and counts what it dropped.
type capWriter struct {
	buf     bytes.Buffer
	max     int
	dropped int
}

func (c *capWriter) Write(p []byte) (int, error) {
	c.buf.Write(p)
	if over := c.buf.Len() - c.max; over > 0 {
		c.dropped += over
		rest := append([]byte(nil), c.buf.Bytes()[over:]...)
		c.buf.Reset()
		c.buf.Write(rest)
	}
	return len(p), nil
}

func logsEnricher(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*logsParams)
	pod := r.Event.Pod()
	container := params.Container
	if container == "" && len(pod.Spec.Containers) > 0 {
		container = pod.Spec.Containers[0].Name
	}
	var re *regexp.Regexp
	if params.FilterRegex != "" {
		var err error
		if re, err = regexp.Compile(params.FilterRegex); err != nil {
			return fmt.Errorf("filter_regex: %v", err)
		}
	}
	tail := params.Tail
	if tail <= 0 {
		tail = -1
	}
	out := &capWriter{max: MaxLogBytes}
	var w interface{ Write([]byte) (int, error) } = out
	if re != nil {
		w = &filterWriter{re: re, next: out}
	}
	if err := r.KF.StreamLogs(ctx, pod.Namespace, pod.Name, kube.LogOptions{Container: container, Previous: params.Previous, Tail: tail}, w); err != nil {
		return err
	}
	blocks := []engine.Block{engine.File(fmt.Sprintf("%s.%s.log", pod.Name, container), out.buf.Bytes())}
	if out.dropped > 0 {
		blocks = append([]engine.Block{engine.Markdown(fmt.Sprintf("Logs cut to the last %d bytes (%d earlier bytes left out).", MaxLogBytes, out.dropped))}, blocks...)
	}
	r.Finding.AddEnrichment("Logs of "+container, blocks...)
	return nil
}

type filterWriter struct {
	re   *regexp.Regexp
	next *capWriter
}

func (f *filterWriter) Write(p []byte) (int, error) {
	// StreamLogs writes whole lines.
	if f.re.Match(p) {
		_, _ = f.next.Write(p)
	}
	return len(p), nil
}

type eventsParams struct {
	MaxEvents     int64    `param:"max_events" default:"8" doc:"most recent events to show"`
	IncludedTypes []string `param:"included_types" doc:"event types to keep (Normal, Warning); default all"`
}

func podEvents(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*eventsParams)
	pod := r.Event.Pod()
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	sel := fields.Set{"involvedObject.kind": "Pod", "involvedObject.name": pod.Name, "involvedObject.namespace": pod.Namespace}.AsSelector().String()
	list, err := cs.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return r.KF.Explain(err, "list", "events", pod.Namespace)
	}
	evs := list.Items
	sort.Slice(evs, func(i, j int) bool { return eventTime(evs[i]).After(eventTime(evs[j]).Time) })
	var rows [][]string
	for _, e := range evs {
		if len(params.IncludedTypes) > 0 && !contains(params.IncludedTypes, e.Type) {
			continue
		}
		if int64(len(rows)) >= params.MaxEvents {
			break
		}
		rows = append(rows, []string{e.Type, e.Reason, eventTime(e).UTC().Format("2006-01-02 15:04:05"), e.Message})
	}
	if len(rows) == 0 {
		r.Finding.AddEnrichment("Pod events", engine.Markdown("No events for this pod."))
		return nil
	}
	r.Finding.AddEnrichment("Pod events", engine.Table("events", []string{"type", "reason", "time", "message"}, rows))
	return nil
}

func eventTime(e corev1.Event) metav1.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp
	case !e.EventTime.IsZero():
		return metav1.Time{Time: e.EventTime.Time}
	}
	return e.CreationTimestamp
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
