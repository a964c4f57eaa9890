package sinks

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// The runner's ChannelTransformer: a sink's channel_override names the channel per
// finding from the cluster name and the finding subject's labels and annotations,
// falling back to the sink's channel when a label or annotation it names is missing.
const (
	clusterPref     = "cluster_name"
	labelsPref      = "labels."
	annotationsPref = "annotations."
	missingValue    = "<missing>"
)

// channelPatterns are compiled on first use rather than at package load.
var channelPatterns = sync.OnceValue(func() (p struct {
	cluster, label, annotation, brackets, composite, onlyValue, template *regexp.Regexp
	annComposite, annOnlyValue, url                                      *regexp.Regexp
}) {
	p.cluster = regexp.MustCompile(`\$?\{?cluster_name\}?`)
	p.label = regexp.MustCompile(`\$?labels\.[\w.]+`)
	p.annotation = regexp.MustCompile(`\$?annotations\.[\w.]+`)
	p.brackets = regexp.MustCompile(`\$\{[^}]+\}`)
	// As the runner's patterns: the dots after labels and annotations match any
	// character, and the composite form only has to start the string.
	p.composite = regexp.MustCompile(`^.*\$(\{?labels.[^$]+|\{?annotations.[^$]+|\{?cluster_name)`)
	p.onlyValue = regexp.MustCompile(`^(labels.[^$]+|annotations.[^$]+|cluster_name)$`)
	// Python's string.Template placeholders: $$, $name, ${name}.
	p.template = regexp.MustCompile(`(?i)\$(\$|[_a-z][_a-z0-9]*|\{[_a-z][_a-z0-9]*\})`)
	p.annComposite = regexp.MustCompile(`^.*\$(\{?annotations.[^$]+)`)
	p.annOnlyValue = regexp.MustCompile(`^(annotations.[^$]+)$`)
	// The runner's URL check for an evaluated webhook_override: http(s), a host name,
	// localhost or an IP address, an optional port and path.
	p.url = regexp.MustCompile(`(?i)^(https?)://` +
		`(?:(?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+(?:[A-Z]{2,6}\.?|[A-Z0-9-]{2,}\.?)|` +
		`localhost|` +
		`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|` +
		`\[?[A-F0-9]*:[A-F0-9:]+\]?)` +
		`(?::\d+)?` +
		`(?:/?|[/?]\S+)$`)
	return p
})

// ValidateChannelOverride checks a channel_override at config load as the runner
// does: a bare "cluster_name", "labels.KEY" or "annotations.KEY" becomes its $ form;
// anything else must hold at least one $cluster_name, $labels.KEY or
// $annotations.KEY (braces allowed).
func ValidateChannelOverride(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	p := channelPatterns()
	if p.onlyValue.MatchString(v) {
		return "$" + v, nil
	}
	if !p.composite.MatchString(v) {
		return "", fmt.Errorf("channel_override %q names no value to take the channel from; use cluster_name, labels.KEY or annotations.KEY, or a text holding $cluster_name, $labels.KEY or $annotations.KEY (e.g. alerts-$labels.team)", v)
	}
	return v, nil
}

// ChannelFor is the runner's ChannelTransformer.template: the channel for a finding
// with these labels and annotations, def when override is empty or names a label or
// annotation the finding does not have.
func ChannelFor(override, def, cluster string, labels, annotations map[string]string) string {
	if override == "" {
		return def
	}
	p := channelPatterns()
	ch := override
	if strings.Contains(ch, clusterPref) {
		ch = p.cluster.ReplaceAllLiteralString(ch, cluster)
	}
	if strings.Contains(ch, labelsPref) {
		norm := normalizeKeys(labels)
		ch = replaceTokens(p.brackets, labelsPref, ch, norm)
		ch = replaceTokens(p.label, labelsPref, ch, norm)
	}
	if strings.Contains(ch, annotationsPref) {
		norm := normalizeKeys(annotations)
		ch = replaceTokens(p.brackets, annotationsPref, ch, norm)
		ch = replaceTokens(p.annotation, annotationsPref, ch, norm)
	}
	if strings.Contains(ch, missingValue) {
		return def
	}
	return ch
}

// normalizeKey makes a label key a template name: "app.kubernetes.io/name" is
// app_kubernetes_io_name on both sides of the lookup.
func normalizeKey(s string) string {
	return strings.NewReplacer("/", "_", ".", "_", "-", "_").Replace(s)
}

func normalizeKeys(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[normalizeKey(k)] = v
	}
	return out
}

// lookup is the runner's defaultdict: a key it lacks reads as the missing marker.
func lookup(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return missingValue
}

// replaceTokens replaces each token the pattern finds that carries prefix by its
// value, every occurrence of the token at once, as the runner's replace_token.
func replaceTokens(pat *regexp.Regexp, prefix, ch string, values map[string]string) string {
	for _, tok := range pat.FindAllString(ch, -1) {
		clean := strings.NewReplacer("{", "", "}", "").Replace(tok)
		if !strings.Contains(clean, prefix) {
			continue
		}
		v := normalizeKey(strings.ReplaceAll(clean, prefix, ""))
		var repl string
		if strings.Contains(v, "$") {
			repl = safeSubstitute(v, values)
		} else {
			repl = lookup(values, v)
		}
		if repl != "" {
			ch = strings.ReplaceAll(ch, tok, repl)
		}
	}
	return ch
}

// safeSubstitute is Python's Template.safe_substitute over a defaultdict: $$ is a
// dollar, $name and ${name} the value (or the missing marker), anything else stays.
func safeSubstitute(s string, values map[string]string) string {
	return channelPatterns().template.ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m[1:], "{}")
		if name == "$" {
			return "$"
		}
		return lookup(values, name)
	})
}

// ValidateWebhookOverride checks an ms_teams_sink webhook_override as the runner's
// MsTeamsWebhookUrlTransformer: only annotations can name the URL (label values
// cannot hold one); a bare "annotations.KEY" becomes its $ form.
func ValidateWebhookOverride(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	p := channelPatterns()
	if p.annOnlyValue.MatchString(v) {
		return "$" + v, nil
	}
	if !p.annComposite.MatchString(v) {
		return "", fmt.Errorf("webhook_override %q names no annotation to take the webhook URL from; use annotations.KEY or a text holding $annotations.KEY", v)
	}
	return v, nil
}

// WebhookFor is the runner's MsTeamsWebhookUrlTransformer.template: override with
// the finding's annotations filled in; def when override is empty or names a missing
// annotation. A result that is not a URL is read as the name of an environment
// variable holding one; def when that is unset too.
func WebhookFor(override, def string, annotations map[string]string, getenv func(string) string) string {
	if override == "" {
		return def
	}
	u := override
	if strings.Contains(u, annotationsPref) {
		p := channelPatterns()
		norm := normalizeKeys(annotations)
		u = replaceTokens(p.brackets, annotationsPref, u, norm)
		u = replaceTokens(p.annotation, annotationsPref, u, norm)
	}
	if strings.Contains(u, missingValue) {
		return def
	}
	if channelPatterns().url.MatchString(u) {
		return u
	}
	if v := getenv(u); v != "" {
		return v
	}
	return def
}
