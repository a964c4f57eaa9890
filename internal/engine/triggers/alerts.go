package triggers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// alertTrigger is on_prometheus_alert. Every filter left empty matches anything, as in
// the runner: alert_name and status compare exactly, the *_prefix ones are prefixes
// of the pod, namespace and instance labels (an alert without the label does not
// match a prefix), scope matches regexes on labels and annotations.
type alertTrigger struct {
	p     alertParams
	scope *scope
}

type alertParams struct {
	AlertName          string   `param:"alert_name"`
	Status             string   `param:"status" default:"firing"`
	PodNamePrefix      string   `param:"pod_name_prefix"`
	NamespacePrefix    string   `param:"namespace_prefix"`
	InstanceNamePrefix string   `param:"instance_name_prefix"`
	K8sProviders       []string `param:"k8s_providers"`
}

// ClusterProvider is the provider the runner would detect (GKE, EKS, AKS, KIND, ...),
// which k8s_providers is compared with. The local watch does not detect it: left
// empty, k8s_providers filters nothing, as in the runner when detection finds none.
var ClusterProvider = func() string { return "" }

func compileAlert(params map[string]any) (Trigger, error) {
	rest := map[string]any{}
	var sc *scope
	for k, v := range params {
		if k == "scope" {
			s, err := compileScope(v, []string{"labels", "annotations"})
			if err != nil {
				return nil, fmt.Errorf("trigger on_prometheus_alert: scope: %w", err)
			}
			sc = s
			continue
		}
		rest[k] = v
	}
	t := &alertTrigger{scope: sc}
	if err := engine.Decode(rest, &t.p); err != nil {
		return nil, fmt.Errorf("trigger on_prometheus_alert: %w", err)
	}
	return t, nil
}

func (t *alertTrigger) Key() string { return "on_prometheus_alert" }

func (t *alertTrigger) Matches(in *Incoming) bool {
	if in == nil || in.Event == nil || in.Event.Alert == nil {
		return false
	}
	a := in.Event.Alert
	if t.p.AlertName != "" && t.p.AlertName != a.Labels["alertname"] {
		return false
	}
	if t.p.Status != "all" && t.p.Status != a.Status {
		return false
	}
	if !prefixMatch(t.p.PodNamePrefix, a.Labels, "pod") ||
		!prefixMatch(t.p.NamespacePrefix, a.Labels, "namespace") ||
		!prefixMatch(t.p.InstanceNamePrefix, a.Labels, "instance") {
		return false
	}
	if p := ClusterProvider(); p != "" && len(t.p.K8sProviders) > 0 {
		found := false
		for _, want := range t.p.K8sProviders {
			if strings.EqualFold(want, p) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if t.scope != nil {
		return t.scope.matches(alertAttrs{a})
	}
	return true
}

// prefixMatch is the runner's prefix filter: no prefix matches anything, a prefix
// needs the label to exist and start with it.
func prefixMatch(prefix string, labels map[string]string, name string) bool {
	if prefix == "" {
		return true
	}
	v, ok := labels[name]
	return ok && strings.HasPrefix(v, prefix)
}

// scope is Robusta's include/exclude filter: a list of matcher maps per side; a map
// matches when each of its attributes matches one of its expressions; exclude wins
// over include; with include given, nothing outside it matches.
type scope struct {
	include, exclude []scopeEntry
}

// scopeEntry is one matcher map: per attribute, expressions any of which may match.
type scopeEntry []scopeAttr

type scopeAttr struct {
	name  string
	exprs []labelExpr
}

// labelExpr is one "name=regex,name2!=regex" expression: all its parts must match.
type labelExpr []labelPart

type labelPart struct {
	name   string
	re     *regexp.Regexp
	negate bool
	// literals, when set, are the values the regex matches when it is a plain word or
	// an alternation of plain words: a set lookup instead of running the regex.
	literals map[string]bool
}

func (p *labelPart) match(v string) bool {
	if p.literals != nil {
		return p.literals[v]
	}
	return p.re.MatchString(v)
}

// literalSet returns the words of a regex that is only words joined by |.
func literalSet(re string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.Split(re, "|") {
		if w == "" || regexp.QuoteMeta(w) != w {
			return nil
		}
		set[w] = true
	}
	return set
}

func compileScope(v any, attrs []string) (*scope, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("must be a mapping with include and/or exclude")
	}
	s := &scope{}
	for k, side := range m {
		var dst *[]scopeEntry
		switch k {
		case "include":
			dst = &s.include
		case "exclude":
			dst = &s.exclude
		default:
			return nil, fmt.Errorf("unknown key %q: allowed are include, exclude", k)
		}
		if side == nil {
			continue
		}
		list, ok := side.([]any)
		if !ok || len(list) == 0 {
			return nil, fmt.Errorf("%s must be a non-empty list of matchers", k)
		}
		for i, item := range list {
			e, err := compileScopeEntry(item, attrs)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", k, i, err)
			}
			*dst = append(*dst, e)
		}
	}
	if s.include == nil && s.exclude == nil {
		return nil, errors.New("needs include and/or exclude")
	}
	return s, nil
}

func compileScopeEntry(item any, attrs []string) (scopeEntry, error) {
	m, ok := item.(map[string]any)
	if !ok {
		return nil, errors.New("a matcher must be a mapping of attribute to expressions")
	}
	var e scopeEntry
	for attr, v := range m {
		known := false
		for _, a := range attrs {
			known = known || a == attr
		}
		if !known {
			// The runner accepts the key and then never matches it; refusing it says
			// so at load time instead.
			return nil, fmt.Errorf("unknown attribute %q: allowed are %s", attr, strings.Join(attrs, ", "))
		}
		var exprs []string
		switch x := v.(type) {
		case string:
			exprs = []string{x}
		case []any:
			for _, s := range x {
				str, ok := s.(string)
				if !ok {
					return nil, fmt.Errorf("%s: expressions must be strings", attr)
				}
				exprs = append(exprs, str)
			}
		default:
			return nil, fmt.Errorf("%s: want a string or a list of strings", attr)
		}
		sa := scopeAttr{name: attr}
		for _, ex := range exprs {
			le, err := compileLabelExpr(ex)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", attr, err)
			}
			sa.exprs = append(sa.exprs, le)
		}
		e = append(e, sa)
	}
	return e, nil
}

func compileLabelExpr(s string) (labelExpr, error) {
	var out labelExpr
	for _, part := range strings.Split(s, ",") {
		name, re, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q: each part must be name=regex or name!=regex", part)
		}
		name = strings.TrimSpace(name)
		lp := labelPart{}
		if strings.HasSuffix(name, "!") {
			lp.negate = true
			name = strings.TrimSpace(strings.TrimSuffix(name, "!"))
		}
		lp.name = name
		// Python's re.fullmatch: the whole value must match.
		rx, err := regexp.Compile(`^(?:` + strings.TrimSpace(re) + `)$`)
		if err != nil {
			return nil, fmt.Errorf("%q: bad regex: %v", part, err)
		}
		lp.re = rx
		lp.literals = literalSet(strings.TrimSpace(re))
		out = append(out, lp)
	}
	return out, nil
}

// scopeData gives a scope the values of one attribute (labels, annotations).
type scopeData interface {
	attr(name string) map[string]string
}

// alertAttrs is an alert's scope data, without building a map per match.
type alertAttrs struct{ a *engine.Alert }

func (d alertAttrs) attr(name string) map[string]string {
	if name == "annotations" {
		return d.a.Annotations
	}
	return d.a.Labels
}

func (s *scope) matches(data scopeData) bool {
	if len(s.exclude) > 0 && anyEntry(s.exclude, data) {
		return false
	}
	if len(s.include) > 0 {
		return anyEntry(s.include, data)
	}
	return true
}

func anyEntry(entries []scopeEntry, data scopeData) bool {
	for _, e := range entries {
		if e.matches(data) {
			return true
		}
	}
	return false
}

func (e scopeEntry) matches(data scopeData) bool {
	for _, sa := range e {
		values := data.attr(sa.name)
		ok := false
		for _, ex := range sa.exprs {
			if ex.matches(values) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (le labelExpr) matches(values map[string]string) bool {
	for i := range le {
		p := &le[i]
		v, ok := values[p.name]
		if !ok {
			// A missing label fails both name=re and name!=re, as in the runner.
			return false
		}
		if p.match(strings.TrimSpace(v)) == p.negate {
			return false
		}
	}
	return true
}

// Relabel is one entry of the runner's alertRelabel config (alert_relabel in the
// runner's values): copy label Source to Target; operation replace also drops Source.
type Relabel struct {
	Source    string `json:"source" yaml:"source"`
	Target    string `json:"target" yaml:"target"`
	Operation string `json:"operation,omitempty" yaml:"operation,omitempty"` // add (default) or replace
}

// ValidateRelabels checks a relabel config before use.
func ValidateRelabels(rs []Relabel) error {
	for i, r := range rs {
		if r.Source == "" || r.Target == "" {
			return fmt.Errorf("alert relabel %d: source and target are required", i)
		}
		switch r.Operation {
		case "", "add", "replace":
		default:
			return fmt.Errorf("alert relabel %d: operation %q: allowed are add, replace", i, r.Operation)
		}
	}
	return nil
}

// ApplyRelabels relabels a in place, in config order, as the runner does before
// matching: only a label that is present and not empty is copied.
func ApplyRelabels(a *engine.Alert, rs []Relabel) {
	for _, r := range rs {
		v := a.Labels[r.Source]
		if v == "" {
			continue
		}
		a.Labels[r.Target] = v
		if r.Operation == "replace" {
			delete(a.Labels, r.Source)
		}
	}
}

// MaxWebhookBytes bounds an Alertmanager webhook body. Alertmanager sends at most
// max_alerts per group (no limit by default); a few thousand alerts fit easily.
const MaxWebhookBytes = 8 << 20

// WebhookAlert is one alert of a webhook as received, with the fields the runner's
// duplicate check uses besides those of engine.Alert.
type WebhookAlert struct {
	engine.Alert
	EndsAt string
}

// DedupKey identifies one state of one alert: fingerprint, status, start and end. The
// runner drops an alert whose key it processed recently (Alertmanager resends a group
// on every repeat_interval).
func (w *WebhookAlert) DedupKey() string {
	return strings.Join([]string{w.Fingerprint, w.Status, w.StartsAt, w.EndsAt}, "\x00")
}

type webhookBody struct {
	Alerts []struct {
		Status       string         `json:"status"`
		Labels       map[string]any `json:"labels"`
		Annotations  map[string]any `json:"annotations"`
		StartsAt     string         `json:"startsAt"`
		EndsAt       string         `json:"endsAt"`
		GeneratorURL string         `json:"generatorURL"`
		Fingerprint  string         `json:"fingerprint"`
	} `json:"alerts"`
}

// ParseWebhook reads an Alertmanager webhook payload (version 4) of at most
// MaxWebhookBytes. Label and annotation values that are not strings are kept as
// their JSON text, since the runner accepts any value.
func ParseWebhook(r io.Reader) ([]*WebhookAlert, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxWebhookBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the webhook: %w", err)
	}
	if len(data) > MaxWebhookBytes {
		return nil, fmt.Errorf("the webhook body is larger than %d bytes: lower max_alerts in Alertmanager's webhook config", MaxWebhookBytes)
	}
	var body webhookBody
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("the webhook body is not an Alertmanager payload: %v", err)
	}
	if body.Alerts == nil {
		return nil, errors.New(`the webhook body has no "alerts" list: send Alertmanager's webhook payload`)
	}
	out := make([]*WebhookAlert, 0, len(body.Alerts))
	for i, a := range body.Alerts {
		if a.Status == "" {
			return nil, fmt.Errorf("alert %d has no status", i)
		}
		if a.Labels["alertname"] == nil {
			return nil, fmt.Errorf("alert %d has no alertname label", i)
		}
		out = append(out, &WebhookAlert{
			Alert: engine.Alert{
				Status:       a.Status,
				Labels:       stringMap(a.Labels),
				Annotations:  stringMap(a.Annotations),
				StartsAt:     a.StartsAt,
				Fingerprint:  a.Fingerprint,
				GeneratorURL: a.GeneratorURL,
			},
			EndsAt: a.EndsAt,
		})
	}
	return out, nil
}

func stringMap(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, val := range m {
		switch v := val.(type) {
		case string:
			out[k] = v
		case nil:
			out[k] = ""
		default:
			b, _ := json.Marshal(v)
			out[k] = string(b)
		}
	}
	return out
}
