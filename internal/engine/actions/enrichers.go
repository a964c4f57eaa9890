package actions

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/pyfmt"
)

func init() {
	engine.Register(&engine.Action{Name: "alert_explanation_enricher", Event: engine.AlertEvent,
		Doc:       "Add the given explanation of the alert and a recommended resolution",
		NewParams: func() any { return &explanationParams{} }, Do: alertExplanation})
	engine.Register(&engine.Action{Name: "alert_definition_enricher", Event: engine.AlertEvent,
		Doc: "Add the PromQL expression of the alert, read from its generatorURL", Do: alertDefinition})
	engine.Register(&engine.Action{Name: "echo", Event: "ExecutionBaseEvent",
		Doc:       "Say the message (the runner writes it to its log; no finding content)",
		NewParams: func() any { return &echoParams{} }, Do: echo})
	engine.Register(&engine.Action{Name: "external_video_enricher", Event: "ExecutionBaseEvent",
		Doc:       "Attach a link to a video to the finding",
		NewParams: func() any { return &videoParams{} }, Do: videoLink})
	engine.Register(&engine.Action{Name: "report_image_changes", Event: "KubernetesAnyChangeEvent",
		Doc: "Report the container images that changed between the old and the new object", Do: reportImageChanges})
}

type explanationParams struct {
	Explanation    string `param:"alert_explanation" doc:"when Prometheus fires the alert, in plain words"`
	Recommendation string `param:"recommended_resolution" doc:"what to do about it"`
}

func alertExplanation(_ context.Context, r *engine.Run, p any) error {
	params := p.(*explanationParams)
	var blocks []engine.Block
	if params.Explanation != "" {
		blocks = append(blocks, engine.Markdown("📘 *Alert Explanation:* "+params.Explanation))
	}
	if params.Recommendation != "" {
		blocks = append(blocks, engine.Markdown("🛠 *Robusta's Recommendation:* "+params.Recommendation))
	}
	if len(blocks) > 0 {
		r.Finding.AddEnrichment("", blocks...)
	}
	return nil
}

func alertDefinition(_ context.Context, r *engine.Run, _ any) error {
	r.Finding.AddEnrichment("", engine.Markdown("*Alert definition*\n```\n"+promQuery(r.Event.Alert.GeneratorURL)+"\n```"))
	return nil
}

// promQuery is the g0.expr of a Prometheus generator URL as the runner reads it: HTML
// entities decoded (&#43; is +), the query string parsed, then the value unquoted once
// more. Anything it cannot read gives "".
func promQuery(generatorURL string) string {
	if generatorURL == "" {
		return ""
	}
	u, err := url.Parse(html.UnescapeString(generatorURL))
	if err != nil {
		return ""
	}
	// Python's parse_qs: pairs split at "&", "+" is a space, %XX decoded leniently,
	// pairs without "=" and blank values dropped. (url.ParseQuery drops a pair with a
	// bad escape, which parse_qs keeps.)
	for _, pair := range strings.Split(u.RawQuery, "&") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || pyUnquote(strings.ReplaceAll(k, "+", " ")) != "g0.expr" {
			continue
		}
		if v = pyUnquote(strings.ReplaceAll(v, "+", " ")); v != "" {
			return pyUnquote(v)
		}
	}
	return ""
}

// pyUnquote is Python's urllib.parse.unquote: valid %XX escapes decoded, anything else
// (a lone %, "+") kept, invalid UTF-8 replaced.
func pyUnquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	unhex := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, h<<4|l)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return strings.ToValidUTF8(string(b), string(utf8.RuneError))
}

type echoParams struct {
	Message string `param:"message" required:"true" doc:"what to say"`
}

// echo only logs in the runner; locally the log line is said beside the finding.
func echo(_ context.Context, r *engine.Run, p any) error {
	r.Notes = append(r.Notes, "echo: "+p.(*echoParams).Message)
	return nil
}

type videoParams struct {
	URL  string `param:"url" required:"true" doc:"the video's URL"`
	Name string `param:"name" doc:"the link's text"`
}

func videoLink(_ context.Context, r *engine.Run, p any) error {
	params := p.(*videoParams)
	if params.Name == "" {
		// The runner builds Link(url=..., name=None); Link.name is a str with a
		// default, and pydantic refuses None for it, so the action fails there.
		return &engine.ParamsError{Action: "external_video_enricher",
			Err: fmt.Errorf("name is needed: without it the runner's Link model rejects the link (name=None) and the action fails; give name=TEXT")}
	}
	r.Finding.AddLink(engine.Link{URL: params.URL, Name: params.Name, Type: engine.LinkVideo})
	return nil
}

// images lists image names with their tags as the runner's extract_images does: from
// spec.template.spec.containers and spec.containers, split at the first ":" (no tag
// is "<NONE>"), in container order (a repeated name keeps its first place and takes
// the last tag, as a Python dict does). nil when the object has no containers.
func images(o *unstructured.Unstructured) []kv {
	if o == nil {
		return nil
	}
	var out []kv
	at := map[string]int{}
	for _, path := range [][]string{{"spec", "template", "spec", "containers"}, {"spec", "containers"}} {
		list, _, _ := unstructured.NestedSlice(o.Object, path...)
		for _, c := range list {
			m, _ := c.(map[string]any)
			img, _ := m["image"].(string)
			name, tag, ok := strings.Cut(img, ":")
			if !ok {
				tag = "<NONE>"
			}
			if i, seen := at[name]; seen {
				out[i].v = tag
				continue
			}
			at[name] = len(out)
			out = append(out, kv{name, tag})
		}
	}
	return out
}

func asMap(items []kv) map[string]string {
	if items == nil {
		return nil
	}
	m := make(map[string]string, len(items))
	for _, p := range items {
		m[p.k] = p.v
	}
	return m
}

func reportImageChanges(_ context.Context, r *engine.Run, _ any) error {
	ev := r.Event
	newList, oldList := images(ev.Obj), images(ev.Old)
	newImages, oldImages := asMap(newList), asMap(oldList)
	if sameImages(newImages, oldImages) {
		r.Notes = append(r.Notes, "report_image_changes: no image changed, so the runner reports nothing")
		return nil
	}
	if newImages == nil || oldImages == nil {
		// The runner compares the two dicts' keys and fails on a missing side.
		return fmt.Errorf("the %s event has containers on one side only (old: %d images, new: %d); the runner's action fails on such an event, give an old version with containers (--old FILE)",
			ev.Operation, len(oldImages), len(newImages))
	}
	if len(ev.Obj.GetOwnerReferences()) != 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("report_image_changes: %s %s is owned by another object, and the runner reports only top-level objects", strings.ToLower(ev.Kind), ev.Obj.GetName()))
		return nil
	}
	msg := ""
	var changed []map[string]string
	if !sameKeys(newImages, oldImages) {
		msg = fmt.Sprintf("number or names of images changed: new - %s old - %s", pyDictRepr(newList), pyDictRepr(oldList))
	} else {
		for _, p := range newList {
			if old := oldImages[p.k]; old != p.v {
				msg += fmt.Sprintf("image name: %s new tag: %s old tag %s", p.k, p.v, old)
				changed = append(changed, map[string]string{"property": "image", "old": p.k + ":" + old, "new": p.k + ":" + p.v})
			}
		}
	}
	f := r.Finding
	f.Title = fmt.Sprintf("deployment %s updated in namespace %s", ev.Obj.GetName(), pyStrOrNone(ev.Obj.GetNamespace()))
	f.Source, f.AggregationKey, f.Severity = "kubernetes_api_server", "ReportImageChanges", engine.Info
	f.Type = engine.TypeConfChange
	var props []string
	for _, c := range changed {
		props = append(props, fmt.Sprintf(`{"property": %s, "old": %s, "new": %s}`, pyfmt.JSONString(c["property"]), pyfmt.JSONString(c["old"]), pyfmt.JSONString(c["new"])))
	}
	doc := fmt.Sprintf(`{"deployment": %s, "deployment_namespace": %s, "message": %s, "changed_properties": [%s]}`,
		pyfmt.JSONString(ev.Obj.GetName()), pyJSONOrNull(ev.Obj.GetNamespace()), pyfmt.JSONString(msg), strings.Join(props, ", "))
	f.AddEnrichment("", engine.JSON(doc))
	return nil
}

func sameImages(a, b map[string]string) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sameKeys(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func pyJSONOrNull(s string) string {
	if s == "" {
		return "null"
	}
	return pyfmt.JSONString(s)
}
