package actions

import (
	"context"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/pyfmt"
)

func init() {
	engine.Register(&engine.Action{Name: "template_enricher", Event: "KubernetesResourceEvent",
		Doc:       "Add a Markdown paragraph templated with Python string.Template rules from the subject (and an alert's labels)",
		NewParams: func() any { return &templateParams{} }, Do: templateEnricher})
	engine.Register(&engine.Action{Name: "button_enricher", Event: "KubernetesResourceEvent",
		Doc:       "Add a link button whose text and URL are templated from the subject (and an alert's labels)",
		NewParams: func() any { return &buttonParams{} }, Do: buttonEnricher})
}

// pySubstitute is Python's string.Template(tmpl).safe_substitute(vars) where vars is a
// defaultdict: "$$" is a dollar; "$id" and "${id}" are replaced by lookup(id); a "$"
// that starts no valid placeholder stays as written. An identifier is an ASCII letter
// or underscore, then letters, digits and underscores (either case: Template matches
// case-insensitively). With dotted, the rules of Robusta's ExtendedTemplate apply: "."
// may follow the first character, and inside braces "-" and "/" too, so
// ${labels.app.kubernetes.io/name} is one name. lookup says false to keep the
// placeholder as written (a plain dict's KeyError).
func pySubstitute(tmpl string, dotted bool, lookup func(string) (string, bool)) string {
	isStart := func(c byte) bool { return c == '_' || (c|0x20) >= 'a' && (c|0x20) <= 'z' }
	isID := func(c byte) bool { return isStart(c) || c >= '0' && c <= '9' || dotted && c == '.' }
	isBraced := func(c byte) bool { return isID(c) || dotted && (c == '-' || c == '/') }
	var b strings.Builder
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		rest := tmpl[i+1:]
		switch {
		case strings.HasPrefix(rest, "$"):
			b.WriteByte('$')
			i += 2
			continue
		case rest != "" && isStart(rest[0]):
			n := 1
			for n < len(rest) && isID(rest[n]) {
				n++
			}
			if v, ok := lookup(rest[:n]); ok {
				b.WriteString(v)
			} else {
				b.WriteString(tmpl[i : i+1+n])
			}
			i += 1 + n
			continue
		case len(rest) > 1 && rest[0] == '{' && isStart(rest[1]):
			n := 2
			for n < len(rest) && isBraced(rest[n]) {
				n++
			}
			if n < len(rest) && rest[n] == '}' {
				if v, ok := lookup(rest[1:n]); ok {
					b.WriteString(v)
				} else {
					b.WriteString(tmpl[i : i+2+n])
				}
				i += 2 + n
				continue
			}
		}
		// Not a placeholder: safe_substitute keeps the "$".
		b.WriteByte('$')
		i++
	}
	return b.String()
}

// withDefault is a defaultdict lookup: a missing name gives def.
func withDefault(vars map[string]string, def string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if v, ok := vars[name]; ok {
			return v, true
		}
		return def, true
	}
}

// subjectTypes are the kinds Robusta's FindingSubjectType names; other kinds have no
// subject type (its value is None).
var subjectTypes = map[string]string{
	"deployment": "DEPLOYMENT", "node": "NODE", "pod": "POD", "job": "JOB", "daemonset": "DAEMONSET",
	"statefulset": "STATEFULSET", "horizontalpodautoscaler": "HPA", "helmreleases": "HELM_RELEASES",
}

// templateVars are the names template_enricher and button_enricher fill, with the
// values Python's str() gives them in the runner: vars() of the event's FindingSubject
// (name, subject_type, namespace, node, container, labels, annotations; None becomes
// "None", dicts their repr) plus kind; for an alert, its labels and annotations first,
// which the subject's attributes then override.
func templateVars(e *engine.Event) map[string]string {
	vars := map[string]string{}
	kind := strings.ToLower(e.Kind)
	name, namespace, node, container := "Unresolved", "", "", ""
	var labels, annotations []kv
	if a := e.Alert; a != nil {
		for k, v := range a.Labels {
			vars[k] = v
		}
		for k, v := range a.Annotations {
			vars[k] = v
		}
		namespace, container = a.Labels["namespace"], a.Labels["container"]
		if e.Obj != nil {
			name = e.Obj.GetName()
			switch kind {
			case "node":
				node = name
			case "horizontalpodautoscaler":
				// the runner keeps the alert's namespace label for HPAs and nodes
			default:
				namespace = e.Obj.GetNamespace()
			}
			if kind == "pod" {
				node, _, _ = unstructured.NestedString(e.Obj.Object, "spec", "nodeName")
			}
			labels, annotations = sortedKV(e.Obj.GetLabels()), sortedKV(e.Obj.GetAnnotations())
		} else {
			kind = ""
		}
		labels = mergeKV(labels, a.Labels)
		annotations = mergeKV(annotations, a.Annotations)
	} else if e.Obj != nil {
		name, namespace = e.Obj.GetName(), e.Obj.GetNamespace()
		if kind == "node" {
			node = name
		} else {
			node, _, _ = unstructured.NestedString(e.Obj.Object, "spec", "nodeName")
		}
		labels, annotations = sortedKV(e.Obj.GetLabels()), sortedKV(e.Obj.GetAnnotations())
	}
	member := subjectTypes[kind]
	if member == "" {
		member = "NONE"
		kind = ""
	}
	vars["name"] = name
	vars["subject_type"] = "FindingSubjectType.TYPE_" + member
	vars["namespace"] = pyStrOrNone(namespace)
	vars["node"] = pyStrOrNone(node)
	vars["container"] = pyStrOrNone(container)
	vars["labels"] = pyDictRepr(labels)
	vars["annotations"] = pyDictRepr(annotations)
	vars["kind"] = pyStrOrNone(kind)
	return vars
}

type kv struct{ k, v string }

func sortedKV(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].k < out[j].k })
	return out
}

// mergeKV is Python's {**base, **add}: base's keys keep their place with add's values,
// add's new keys follow (sorted: the alert's JSON order is not kept).
func mergeKV(base []kv, add map[string]string) []kv {
	out := append([]kv{}, base...)
	seen := map[string]bool{}
	for i := range out {
		seen[out[i].k] = true
		if v, ok := add[out[i].k]; ok {
			out[i].v = v
		}
	}
	for _, p := range sortedKV(add) {
		if !seen[p.k] {
			out = append(out, p)
		}
	}
	return out
}

// pyStrOrNone is str() of an Optional[str] that is None when empty.
func pyStrOrNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

// pyDictRepr is repr() of a dict of strings.
func pyDictRepr(items []kv) string {
	parts := make([]string, len(items))
	for i, p := range items {
		parts[i] = pyfmt.StrRepr(p.k) + ": " + pyfmt.StrRepr(p.v)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

type templateParams struct {
	Template string `param:"template" doc:"Markdown with $name, ${kind}, ${namespace}, ${node} and, on alerts, the alert's labels; unknown names become <missing>"`
}

// templateEnricher fills the template with plain string.Template rules (not the
// dotted ones of create_finding): ${labels.app} is not a placeholder here and stays as
// written, as in the runner.
func templateEnricher(_ context.Context, r *engine.Run, p any) error {
	params := p.(*templateParams)
	text := pySubstitute(params.Template, false, withDefault(templateVars(r.Event), "<missing>"))
	r.Finding.AddEnrichment("", engine.Markdown(text))
	return nil
}

type buttonParams struct {
	ButtonText string `param:"button_text" required:"true" doc:"the button's text, templated like template_enricher's (unknown names become empty)"`
	ButtonURL  string `param:"button_url" required:"true" doc:"the URL, templated the same way; no button when it comes out blank"`
}

func buttonEnricher(_ context.Context, r *engine.Run, p any) error {
	params := p.(*buttonParams)
	vars := withDefault(templateVars(r.Event), "")
	text := pySubstitute(params.ButtonText, false, vars)
	url := pySubstitute(params.ButtonURL, false, vars)
	if strings.TrimSpace(url) == "" {
		r.Notes = append(r.Notes, "button_enricher: the URL came out blank, so no button was added (as in the runner)")
		return nil
	}
	r.Finding.AddLink(engine.Link{URL: url, Name: text})
	return nil
}
