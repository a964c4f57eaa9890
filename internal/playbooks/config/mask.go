package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Every path that prints configuration (list, show-config, configure's diffs and dry
// runs, edit-config's diff, validation messages) masks it through this file; only
// --show-secrets prints it whole.

// secretKeys are the keys whose values are secrets wherever they appear: the secret
// fields of Robusta's sink params (src/robusta/core/sinks/*/*_params.py), of its global
// config and action params (prometheus_auth, alertmanager_auth, grafana_api_key, merged
// from globalConfig into actions) and of playbookRepos (key: an SSH private key).
var secretKeys = map[string]bool{
	"api_key":               true, // slack, datadog, opsgenie, pagerduty, jira, robusta (legacy)
	"token":                 true, // robusta (UI token), mattermost, rocketchat, pushover, incidentio
	"bot_token":             true, // telegram, yamessenger
	"bot_access_token":      true, // webex
	"bot_api_key":           true, // zulip
	"auth_token":            true, // plivo
	"webhook_url":           true, // ms_teams, google_chat
	"webhook_override":      true, // ms_teams: another webhook URL
	"authorization":         true, // webhook sink's Authorization header
	"password":              true, // servicenow, msteams_graph, robusta (legacy)
	"client_secret":         true, // msteams_graph
	"aws_access_key_id":     true, // mail via SES
	"aws_secret_access_key": true, // mail via SES
	"signing_key":           true, // globalConfig
	"account_id":            true, // globalConfig: with the signing key, it names the UI account
	"prometheus_auth":       true, // globalConfig / action params: Authorization header
	"alertmanager_auth":     true,
	"grafana_api_key":       true,
	"key":                   true, // playbookRepos: SSH private key
}

// sinkSecretKeys are keys that are secrets only in one sink type: there the URL or the
// user field is the credential (a Discord or VictorOps webhook URL holds its token).
var sinkSecretKeys = map[string]map[string]bool{
	"discord_sink":    {"url": true},
	"victorops_sink":  {"url": true},
	"webhook_sink":    {"url": true},
	"mail_sink":       {"mailto": true}, // apprise URL, password inside
	"pushover_sink":   {"user": true},   // the user key
	"rocketchat_sink": {"user_id": true},
	"kafka_sink":      {"auth": true}, // SASL settings: every value under it
}

// secretKeyShape catches secret-named keys not in the lists (custom actions' params,
// sinks added after these lists): *_token, *_password, *_secret, *_api_key, *_auth.
var secretKeyShape = regexp.MustCompile(`(?i)(^|_)(token|password|passwd|secret|api_?key|auth|credentials?)$`)

// mapsOfSecrets are mappings whose every value is a secret: HTTP headers of playbook
// repositories carry Authorization.
var mapsOfSecrets = map[string]bool{"http_headers": true}

// envTemplate is a value the runner takes from its environment ({{ env.SLACK_KEY }}):
// the name is not the secret.
var envTemplate = regexp.MustCompile(`^\s*\{\{\s*env\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}\s*$`)

// vendorPrefix is the non-secret type prefix of a token (xoxb-, ghp_, glpat-).
var vendorPrefix = regexp.MustCompile(`^[A-Za-z]{2,6}[-_]`)

// IsSecretKey reports whether values under key are secrets (in a sink of type sinkType,
// "" when not in a sink).
func IsSecretKey(sinkType, key string) bool {
	k := strings.ToLower(key)
	return secretKeys[k] || sinkSecretKeys[sinkType][k] || mapsOfSecrets[k] || secretKeyShape.MatchString(k)
}

// Masker masks secret values. The zero value is ready. A Masker that numbers (Number)
// gives each distinct secret its own number, so a diff masked by one Masker on both
// sides still shows that a secret changed (1 became 2) without showing it.
type Masker struct {
	Number bool
	ids    map[string]int
}

// MaskSecrets masks, in place, every secret in a configuration tree (a values file or
// an active_playbooks.yaml).
func MaskSecrets(n *yaml.Node) { (&Masker{}).Node(n) }

// MaskValues returns a masked deep copy of Helm values (for the Helm path of
// configure: its --dry-run diff and messages).
func MaskValues(v map[string]any) map[string]any { return (&Masker{}).Values(v) }

// MaskString masks one value as a secret.
func MaskString(s string) string { return (&Masker{}).String(s) }

// Node masks a YAML tree in place.
func (m *Masker) Node(n *yaml.Node) { m.walk(n, "", false) }

// Values returns a masked deep copy of a decoded map (Helm values).
func (m *Masker) Values(v map[string]any) map[string]any {
	if v == nil {
		return nil
	}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		// Values that do not encode are not printed at all rather than unmasked.
		return map[string]any{"error": "values could not be masked: " + err.Error()}
	}
	m.Node(&n)
	out := map[string]any{}
	if err := n.Decode(&out); err != nil {
		return map[string]any{"error": "values could not be masked: " + err.Error()}
	}
	return out
}

// walk masks under n. sinkType is the sink whose params n is in; secret says that n is
// entirely under a secret key.
func (m *Masker) walk(n *yaml.Node, sinkType string, secret bool) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			m.walk(c, sinkType, secret)
		}
	case yaml.AliasNode:
		m.walk(n.Alias, sinkType, secret)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			inner := sinkType
			if strings.HasSuffix(k.Value, "_sink") && v.Kind == yaml.MappingNode {
				inner = k.Value
			}
			m.walk(v, inner, secret || IsSecretKey(sinkType, k.Value))
		}
	case yaml.ScalarNode:
		if n.Tag == "!!null" || n.Tag == "!!bool" || n.Value == "" {
			return
		}
		if secret || hasURLCredentials(n.Value) {
			if masked := m.String(n.Value); masked != n.Value {
				n.Value, n.Tag, n.Style = masked, "!!str", 0
			}
		}
	}
}

// hasURLCredentials finds user:password@ in a URL (a git repository, a Prometheus URL).
func hasURLCredentials(s string) bool {
	i := strings.Index(s, "://")
	if i <= 0 {
		return false
	}
	rest := s[i+3:]
	at := strings.LastIndex(rest, "@")
	return at > 0 && strings.Contains(rest[:at], ":")
}

// String masks one secret value: at most a non-secret prefix (a URL's scheme and host,
// a token's vendor prefix such as xoxb-) is kept, never the rest. Values the runner
// reads from its environment ({{ env.X }}) are kept whole.
func (m *Masker) String(s string) string {
	if s == "" || envTemplate.MatchString(s) {
		return s
	}
	prefix := ""
	if i := strings.Index(s, "://"); i > 0 {
		prefix = s[:i+3]
		// The host only when the URL parses cleanly; a password holding '/' or '?'
		// misparses, and then nothing after the scheme is shown.
		if u, err := url.Parse(s); err == nil && u.Hostname() != "" && !strings.ContainsAny(u.Hostname(), ":@") {
			prefix += u.Hostname() + "/"
		}
	} else if len(s) >= 16 {
		prefix = vendorPrefix.FindString(s)
	}
	label := "(masked)"
	if m.Number {
		if m.ids == nil {
			m.ids = map[string]int{}
		}
		id, ok := m.ids[s]
		if !ok {
			id = len(m.ids) + 1
			m.ids[s] = id
		}
		label = fmt.Sprintf("(masked %d)", id)
	}
	return prefix + "…" + label
}
