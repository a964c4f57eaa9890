package actions

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// The silencers end the processing of an event as the runner's stop_processing does:
// no later action of the playbook and no later playbook runs for it. They only make
// sense in a playbook loop (robusta local watch); a one-off run just stops its chain.
func init() {
	engine.Register(&engine.Action{Name: "pod_status_silencer", Event: "PodEvent",
		Doc:       "Stop processing the event by the pod's phase: unless it is in include, or when it is in exclude",
		NewParams: func() any { return &statusSilencerParams{} }, Do: podStatusSilencer})
	engine.Register(&engine.Action{Name: "name_silencer", Event: engine.AlertEvent,
		Doc:       "Stop processing alerts whose name is in names",
		NewParams: func() any { return &nameSilencerParams{} }, Do: nameSilencer})
	engine.Register(&engine.Action{Name: "severity_silencer", Event: engine.AlertEvent,
		Doc:       "Stop processing alerts whose severity label equals severity",
		NewParams: func() any { return &severitySilencerParams{} }, Do: severitySilencer})
	engine.Register(&engine.Action{Name: "silence_alert", Event: engine.AlertEvent,
		Doc:       "Stop processing every alert that reaches it",
		NewParams: func() any { return &silenceAlertParams{} }, Do: silenceAlert})
	engine.Register(&engine.Action{Name: "node_restart_silencer", Event: engine.AlertEvent,
		Doc:       "Stop processing a pod alert while its node became Ready less than post_restart_silence seconds ago",
		NewParams: func() any { return &nodeRestartParams{} }, Do: nodeRestartSilencer})
	engine.Register(&engine.Action{Name: "customise_finding", Event: "ExecutionBaseEvent",
		Doc:       "Override the title, description, severity or aggregation key of the finding earlier actions made, and add labels by rules",
		NewParams: func() any { return &findingOverrides{} }, Do: customiseFinding})
}

// stopProcessing ends the event's processing, saying why in the run's notes.
func stopProcessing(r *engine.Run, why string) {
	r.Stop, r.StopProcessing = true, true
	r.Notes = append(r.Notes, "silenced: "+why)
}

type statusSilencerParams struct {
	Include []string `param:"include" doc:"pod phases that go on; any other phase is silenced"`
	Exclude []string `param:"exclude" doc:"pod phases that are silenced"`
}

func podStatusSilencer(_ context.Context, r *engine.Run, p any) error {
	params := p.(*statusSilencerParams)
	pod := r.Event.Pod()
	if pod == nil {
		// The runner logs and goes on when the event has no pod.
		r.Notes = append(r.Notes, "pod_status_silencer: the event has no pod, nothing silenced")
		return nil
	}
	phase := string(pod.Status.Phase)
	if len(params.Include) > 0 && !containsExact(params.Include, phase) {
		stopProcessing(r, fmt.Sprintf("pod phase %s is not in include", phase))
		return nil
	}
	if len(params.Exclude) > 0 && containsExact(params.Exclude, phase) {
		stopProcessing(r, fmt.Sprintf("pod phase %s is in exclude", phase))
	}
	return nil
}

type nameSilencerParams struct {
	Names []string `param:"names" required:"true" doc:"alert names to silence"`
}

func nameSilencer(_ context.Context, r *engine.Run, p any) error {
	if name := r.Event.Alert.Name(); containsExact(p.(*nameSilencerParams).Names, name) {
		stopProcessing(r, "alert "+name+" is in names")
	}
	return nil
}

type severitySilencerParams struct {
	Severity string `param:"severity" default:"none" doc:"the severity label value to silence (exact match)"`
}

func severitySilencer(_ context.Context, r *engine.Run, p any) error {
	// An alert without a severity label is never silenced: the runner compares None.
	sev, ok := r.Event.Alert.Labels["severity"]
	if ok && sev == p.(*severitySilencerParams).Severity {
		stopProcessing(r, "alert severity is "+sev)
	}
	return nil
}

type silenceAlertParams struct {
	LogSilence bool `param:"log_silence" doc:"say so in the log"`
}

func silenceAlert(_ context.Context, r *engine.Run, p any) error {
	r.Stop, r.StopProcessing = true, true
	if p.(*silenceAlertParams).LogSilence {
		r.Notes = append(r.Notes, "silenced: alert "+r.Event.Alert.Name())
	}
	return nil
}

type nodeRestartParams struct {
	PostRestartSilence int `param:"post_restart_silence" default:"300" doc:"seconds after the node became Ready during which its pods' alerts are silenced"`
}

func nodeRestartSilencer(ctx context.Context, r *engine.Run, p any) error {
	pod := r.Event.Pod()
	if pod == nil {
		return nil // the runner silences pod alerts only
	}
	if pod.Spec.NodeName == "" {
		return nil
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	node, err := cs.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		// The runner logs a missing node and goes on.
		r.Notes = append(r.Notes, fmt.Sprintf("node_restart_silencer: node %s of pod %s: %v", pod.Spec.NodeName, pod.Name, err))
		return nil
	}
	if since := nodeStarted(node); time.Now().Before(since.Add(time.Duration(p.(*nodeRestartParams).PostRestartSilence) * time.Second)) {
		stopProcessing(r, fmt.Sprintf("node %s became ready at %s", node.Name, since.UTC().Format(time.RFC3339)))
	}
	return nil
}

// nodeStarted is when the node last turned Ready, or its creation when it never did.
func nodeStarted(n *corev1.Node) time.Time {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if !c.LastTransitionTime.IsZero() {
				return c.LastTransitionTime.Time
			}
			break
		}
	}
	return n.CreationTimestamp.Time
}

type findingLabelRule struct {
	SourceFields []string `param:"source_fields" required:"true" doc:"subject fields joined: namespace, name, node, kind, labels.KEY, annotations.KEY"`
	Regex        string   `param:"regex" required:"true" doc:"must match the whole joined value"`
	TargetLabel  string   `param:"target_label" required:"true" doc:"the label to set"`
	Replacement  string   `param:"replacement" required:"true" doc:"the value; $1, $2... are the regex's groups"`
	Separator    string   `param:"separator" default:";" doc:"joins the source fields"`
}

type findingOverrides struct {
	Title             string             `param:"title" doc:"new title; $name, $namespace, $kind, $node, $labels.KEY, $annotations.KEY are replaced"`
	Description       string             `param:"description" doc:"new description, templated like the title"`
	Severity          string             `param:"severity" enum:"DEBUG|INFO|LOW|HIGH" doc:"new severity"`
	AggregationKey    string             `param:"aggregation_key" doc:"new aggregation key, templated like the title"`
	FindingLabelRules []findingLabelRule `param:"finding_label_rules" doc:"rules that add labels to the finding from its subject"`
}

// findingMade tells whether earlier actions made a finding: the runner overrides only
// findings that exist, and an override alone does not make one.
func findingMade(f *engine.Finding) bool {
	return len(f.Enrichments) > 0 || len(f.Links) > 0 || f.Fingerprint != ""
}

func customiseFinding(_ context.Context, r *engine.Run, p any) error {
	params := p.(*findingOverrides)
	subj := eventSubject(r.Event)
	vars := withDefault(subj.templateVars(), "<missing>")
	f := r.Finding
	if findingMade(f) {
		if params.Title != "" {
			f.Title = pySubstitute(params.Title, true, vars)
		}
		if params.Description != "" {
			f.Description = pySubstitute(params.Description, true, vars)
		}
		if params.Severity != "" {
			f.Severity = engine.Severity(params.Severity)
		}
		if params.AggregationKey != "" {
			f.AggregationKey = pySubstitute(params.AggregationKey, true, vars)
			f.SetFingerprint()
		}
	}
	if len(params.FindingLabelRules) == 0 {
		return nil
	}
	src := subj.labelSources()
	var rows [][]string
	set := map[string]int{}
	for _, rule := range params.FindingLabelRules {
		re, err := regexp.Compile(`^(?:` + rule.Regex + `)$`)
		if err != nil {
			// The runner warns and skips a rule whose regex does not compile.
			r.Notes = append(r.Notes, fmt.Sprintf("customise_finding: finding_label_rules regex %q for %s does not compile, skipped: %v", rule.Regex, rule.TargetLabel, err))
			continue
		}
		parts := make([]string, len(rule.SourceFields))
		for i, s := range rule.SourceFields {
			parts[i] = src[s]
		}
		m := re.FindStringSubmatch(strings.Join(parts, rule.Separator))
		if m == nil {
			continue
		}
		value := rule.Replacement
		for i, g := range m[1:] {
			value = strings.ReplaceAll(value, fmt.Sprintf("$%d", i+1), g)
		}
		// A later rule for the same label wins, keeping the label's first place.
		if i, ok := set[rule.TargetLabel]; ok {
			rows[i][1] = value
			continue
		}
		set[rule.TargetLabel] = len(rows)
		rows = append(rows, []string{rule.TargetLabel, value})
	}
	if len(rows) == 0 {
		return nil
	}
	if f.Subject.Labels == nil {
		f.Subject.Labels = map[string]string{}
	} else {
		// The subject's labels may be shared with the event's object.
		labels := make(map[string]string, len(f.Subject.Labels)+len(rows))
		for k, v := range f.Subject.Labels {
			labels[k] = v
		}
		f.Subject.Labels = labels
	}
	for _, row := range rows {
		f.Subject.Labels[row[0]] = row[1]
	}
	f.AddEnrichment("labels", engine.Table("labels", []string{"label", "value"}, rows))
	return nil
}

// subject is the runner's FindingSubject of an event.
type subject struct {
	kind                  string // FindingSubjectType's value; "" for none
	name, namespace, node string
	labels, annotations   map[string]string
}

func eventSubject(e *engine.Event) subject {
	s := subject{name: "Unresolved"}
	if e.Alert != nil {
		s.namespace = e.Alert.Labels["namespace"]
	}
	if e.Obj == nil {
		return s
	}
	if _, ok := subjectTypes[strings.ToLower(e.Kind)]; ok {
		s.kind = strings.ToLower(e.Kind)
	}
	s.name, s.labels, s.annotations = e.Obj.GetName(), e.Obj.GetLabels(), e.Obj.GetAnnotations()
	if ns := e.Obj.GetNamespace(); ns != "" || e.Alert == nil {
		s.namespace = ns
	}
	if e.Kind == "Node" {
		s.node = s.name
	} else {
		s.node, _, _ = unstructured.NestedString(e.Obj.Object, "spec", "nodeName")
	}
	return s
}

// templateVars are format_event_templated_string's names (a missing kind prints as
// Python's None).
func (s subject) templateVars() map[string]string {
	kind := s.kind
	if kind == "" {
		kind = "None"
	}
	return subjectVars(kind, s.name, s.namespace, s.node, s.labels, s.annotations)
}

// labelSources are the fields finding_label_rules read.
func (s subject) labelSources() map[string]string {
	src := map[string]string{"namespace": s.namespace, "name": s.name, "node": s.node, "kind": s.kind}
	for k, v := range s.labels {
		src["labels."+k] = v
	}
	for k, v := range s.annotations {
		src["annotations."+k] = v
	}
	return src
}
