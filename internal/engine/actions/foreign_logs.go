package actions

import (
	"context"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "foreign_logs_enricher", Event: "ExecutionBaseEvent",
		Doc:       "Attach the logs of the pods the first matching label selector finds, in any namespace",
		NewParams: func() any { return &foreignLogParams{} }, Do: foreignLogs})
	engine.Register(&engine.Action{Name: "alert_foreign_logs_enricher", Event: engine.AlertEvent,
		Doc:       "foreign_logs_enricher for alerts: the label selectors may use ${labels.X} of the alert's subject",
		NewParams: func() any { return &foreignLogParams{} }, Do: alertForeignLogs})
}

// foreignLogParams is Robusta's ForeignLogParams (LogEnricherParams plus two).
type foreignLogParams struct {
	logEnricherParams
	LabelSelectors []string `param:"label_selectors" required:"true" doc:"label selectors tried in order; the first that finds pods (in any namespace) is used"`
	TitleOverride  string   `param:"title_override" doc:"the enrichment's title, templated from each pod ($name, ${labels.app}, ...)"`
}

// subjectVars are the names the runner's format_event_templated_string fills from a
// finding subject; anything else becomes <missing>.
func subjectVars(kind, name, namespace, node string, labels, annotations map[string]string) map[string]string {
	orMissing := func(s string) string {
		if s == "" {
			return "<missing>"
		}
		return s
	}
	vars := map[string]string{"name": name, "kind": kind, "namespace": orMissing(namespace), "node": orMissing(node)}
	for k, v := range labels {
		vars["labels."+k] = v
	}
	for k, v := range annotations {
		vars["annotations."+k] = v
	}
	return vars
}

func alertForeignLogs(ctx context.Context, r *engine.Run, p any) error {
	params := *p.(*foreignLogParams)
	e := r.Event
	kind := "None"
	name, namespace, node := "Unresolved", e.Alert.Labels["namespace"], ""
	var labels, annotations map[string]string
	if e.Obj != nil {
		if _, ok := subjectTypes[strings.ToLower(e.Kind)]; ok {
			kind = strings.ToLower(e.Kind) // FindingSubjectType's values are the lower-case kinds
		}
		name, labels, annotations = e.Obj.GetName(), e.Obj.GetLabels(), e.Obj.GetAnnotations()
		if e.Kind != "Node" && e.Kind != "HorizontalPodAutoscaler" {
			namespace = e.Obj.GetNamespace()
		}
		if e.Kind == "Node" {
			node = name
		} else {
			node, _, _ = unstructured.NestedString(e.Obj.Object, "spec", "nodeName")
		}
	}
	vars := subjectVars(kind, name, namespace, node, labels, annotations)
	sels := make([]string, len(params.LabelSelectors))
	for i, s := range params.LabelSelectors {
		sels[i] = pySubstitute(s, true, withDefault(vars, "<missing>"))
	}
	params.LabelSelectors = sels
	return foreignLogs(ctx, r, &params)
}

func foreignLogs(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*foreignLogParams)
	// Bad patterns are the user's to fix before any pod is listed.
	if _, err := newLogProcessor(params.FilterRegex, params.RegexReplacerPatterns, params.RegexReplacementStyle); err != nil {
		return &engine.ParamsError{Action: "foreign_logs_enricher", Err: err}
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	for _, sel := range params.LabelSelectors {
		list, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return r.KF.Explain(err, "list", "pods", "")
		}
		if len(list.Items) == 0 {
			continue
		}
		for i := range list.Items {
			pod := &list.Items[i]
			// Each pod's logs as logs_enricher gives them, into this finding; the
			// container may come from the triggering alert's labels, as in the runner.
			title := ""
			if params.TitleOverride != "" {
				vars := subjectVars("pod", pod.Name, pod.Namespace, pod.Spec.NodeName, pod.Labels, pod.Annotations)
				title = pySubstitute(params.TitleOverride, true, withDefault(vars, "<missing>"))
			}
			if err := startLogEnrichment(ctx, r, "foreign_logs_enricher", pod, &logsParams{logEnricherParams: params.logEnricherParams}, title); err != nil {
				return err
			}
		}
		return nil
	}
	// The runner only logs this, whatever warn_on_missing_label says: that flag is about
	// an alert without a pod label, and the pods here come from the selectors.
	why := "no pod matches any of the label selectors " + strings.Join(params.LabelSelectors, " | ")
	if params.WarnOnMissingLabel {
		why += " (warn_on_missing_label adds a line only for an alert without a pod label)"
	}
	noteSkip(r, "foreign_logs_enricher", why)
	return nil
}
