// Package helmvalues builds the Helm values file (generated_values.yaml) for the
// Robusta chart: the keys the chart reads, in a stable order, defaults left out, and,
// when updating, everything the file already held that we do not model kept as is.
package helmvalues

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"
)

// Sink names, as the Python CLI and the docs use them.
const (
	SlackSinkName   = "main_slack_sink"
	TeamsSinkName   = "main_ms_teams_sink"
	UISinkName      = "robusta_ui_sink"
	DiscordSinkName = "main_discord_sink"
	WebhookSinkName = "main_webhook_sink"
)

// Answers are what the wizard asks (or the flags give). Empty strings mean "not
// configured"; nil booleans were not answered, and Build leaves what the file held.
type Answers struct {
	ClusterName               string
	IsSmallCluster            *bool
	SlackAPIKey               string
	SlackChannel              string
	MSTeamsWebhook            string
	RobustaAPIKey             string
	DiscordWebhook            string
	GenericWebhook            string
	EnablePrometheusStack     *bool
	PlaybooksPersistentVolume *bool
	EnableCrashReport         *bool

	// RunnerEnv are runner environment variables (name, value) pointing the runner at
	// a custom backend profile; set under runner.additional_env_vars.
	RunnerEnv [][2]string
}

// Bool returns a pointer to b.
func Bool(b bool) *bool { return &b }

func isTrue(b *bool) bool { return b != nil && *b }

// UIToken is the decoded Robusta UI token (base64 of a JSON object).
type UIToken struct {
	AccountID string `json:"account_id"`
	Raw       map[string]any
}

// ParseUIToken decodes a Robusta UI token.
func ParseUIToken(token string) (*UIToken, error) {
	token = strings.TrimSpace(token)
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err = enc.DecodeString(token); err == nil {
			break
		}
	}
	if err != nil {
		return nil, errors.New("the Robusta UI token is not base64: copy it again from the Robusta UI (Settings > API keys)")
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, errors.New("the Robusta UI token does not hold a JSON object: copy it again from the Robusta UI")
	}
	id, _ := raw["account_id"].(string)
	if strings.TrimSpace(id) == "" {
		return nil, errors.New("the Robusta UI token has no account_id: copy it again from the Robusta UI")
	}
	return &UIToken{AccountID: id, Raw: raw}, nil
}

// CheckHTTPSURL accepts an https URL with a host.
func CheckHTTPSURL(what, s string) error {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || (u.Scheme != "https") {
		return fmt.Errorf("%s must be an https:// URL, got %q", what, s)
	}
	return nil
}

// CheckHTTPURL accepts an http or https URL with a host.
func CheckHTTPURL(what, s string) error {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%s must be an http:// or https:// URL, got %q", what, s)
	}
	return nil
}

// CleanSlackChannel drops a leading '#' and spaces.
func CleanSlackChannel(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "#") }

var invalidName = regexp.MustCompile(`[^a-z0-9-]+`)

// CleanClusterName makes a kube context's cluster name a valid Robusta cluster name:
// lower case letters, digits and dashes (gke_proj_zone_name becomes gke-proj-zone-name).
func CleanClusterName(s string) string {
	s = invalidName.ReplaceAllString(strings.ToLower(s), "-")
	s = strings.Trim(s, "-")
	if len(s) > 63 {
		s = strings.Trim(s[:63], "-")
	}
	return s
}

var smallClusterHints = []string{"kind", "minikube", "k3d", "docker-desktop", "rancher-desktop", "colima", "microk8s"}

// GuessSmallCluster says whether a context or cluster name looks like a local cluster.
func GuessSmallCluster(names ...string) bool {
	for _, n := range names {
		n = strings.ToLower(n)
		for _, h := range smallClusterHints {
			if n == h || strings.HasPrefix(n, h+"-") || strings.HasPrefix(n, h+"_") || strings.Contains(n, h) {
				return true
			}
		}
	}
	return false
}

// Validate checks the answers; each error names the flag that sets the value.
func (a *Answers) Validate() error {
	if a.ClusterName != "" && CleanClusterName(a.ClusterName) != a.ClusterName {
		return fmt.Errorf("--cluster-name %q: use lower-case letters, digits and dashes (for example %q)", a.ClusterName, CleanClusterName(a.ClusterName))
	}
	if a.SlackAPIKey != "" && a.SlackChannel == "" {
		return errors.New("a Slack API key without a channel: pass --slack-channel")
	}
	if a.SlackChannel != "" && a.SlackAPIKey == "" {
		return errors.New("a Slack channel without an API key: pass --slack-api-key")
	}
	if a.MSTeamsWebhook != "" {
		if err := CheckHTTPSURL("--msteams-webhook", a.MSTeamsWebhook); err != nil {
			return err
		}
	}
	if a.DiscordWebhook != "" {
		if err := CheckHTTPSURL("--discord-webhook", a.DiscordWebhook); err != nil {
			return err
		}
	}
	if a.GenericWebhook != "" {
		if err := CheckHTTPURL("--webhook-url", a.GenericWebhook); err != nil {
			return err
		}
	}
	if a.RobustaAPIKey != "" {
		if _, err := ParseUIToken(a.RobustaAPIKey); err != nil {
			return fmt.Errorf("--robusta-api-key: %w", err)
		}
	}
	return nil
}

// RandomUUID returns a random version 4 UUID (crypto/rand, through google/uuid).
func RandomUUID() (string, error) {
	u, err := uuid.NewRandom()
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Build returns the values document for a. existing, when not nil, is the parsed file
// being updated: its keys are kept (signing key and account id included) and the
// answers replace only what they cover.
func Build(existing *yaml.Node, a Answers, uuid func() (string, error)) (*yaml.Node, error) {
	doc := existing
	if doc == nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		doc = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("the existing values file is not a YAML mapping")
	}
	// Before any change: a key Build edits must have the type the chart reads, or the
	// edit would silently replace (and lose) what the user wrote there.
	if err := CheckTypes(root); err != nil {
		return nil, err
	}
	m := mapping{root}

	if a.ClusterName != "" {
		m.set("clusterName", str(a.ClusterName))
	}
	m.setOrDelete("isSmallCluster", a.IsSmallCluster)

	gc := m.child("globalConfig")
	if gc.get("signing_key") == "" {
		key, err := uuid()
		if err != nil {
			return nil, err
		}
		gc.set("signing_key", str(key))
	}
	accountID := gc.get("account_id")
	if a.RobustaAPIKey != "" {
		tok, err := ParseUIToken(a.RobustaAPIKey)
		if err != nil {
			return nil, err
		}
		accountID = tok.AccountID
	}
	if accountID == "" {
		id, err := uuid()
		if err != nil {
			return nil, err
		}
		accountID = id
	}
	gc.set("account_id", str(accountID))

	// Sinks: ours are replaced by name, others kept; the UI sink goes first (the
	// Robusta UI expects it there).
	sinks := m.seq("sinksConfig")
	put := func(kind, name string, fields ...[2]string) {
		entry := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		params := mapping{&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}}
		params.set("name", str(name))
		for _, f := range fields {
			params.set(f[0], str(f[1]))
		}
		mapping{entry}.set(kind, params.n)
		replaceSink(sinks, name, entry, kind == "robusta_sink")
	}
	if a.RobustaAPIKey != "" {
		put("robusta_sink", UISinkName, [2]string{"token", a.RobustaAPIKey})
	}
	if a.SlackAPIKey != "" {
		put("slack_sink", SlackSinkName, [2]string{"slack_channel", a.SlackChannel}, [2]string{"api_key", a.SlackAPIKey})
	}
	if a.MSTeamsWebhook != "" {
		put("ms_teams_sink", TeamsSinkName, [2]string{"webhook_url", a.MSTeamsWebhook})
	}
	if a.DiscordWebhook != "" {
		put("discord_sink", DiscordSinkName, [2]string{"url", a.DiscordWebhook})
	}
	if a.GenericWebhook != "" {
		put("webhook_sink", WebhookSinkName, [2]string{"url", a.GenericWebhook})
	}
	if len(sinks.Content) == 0 {
		m.delete("sinksConfig")
	}

	m.setOrDelete("enablePrometheusStack", a.EnablePrometheusStack)
	if a.RobustaAPIKey != "" {
		m.set("enablePlatformPlaybooks", boolNode(true))
		m.set("enabledManagedConfiguration", boolNode(true))
	}
	m.setOrDelete("playbooksPersistentVolume", a.PlaybooksPersistentVolume)

	if a.RobustaAPIKey != "" {
		// As the Python CLI does with a UI token: HolmesGPT on, using Robusta's AI.
		m.set("enableHolmesGPT", boolNode(true))
		setEnvVars(m.child("holmes").seq("additional_env_vars"), [][2]string{{"ROBUSTA_AI", "true"}})
	}

	runner := m.child("runner")
	runner.setOrDelete("sendAdditionalTelemetry", a.EnableCrashReport)
	if len(a.RunnerEnv) > 0 {
		setEnvVars(runner.seq("additional_env_vars"), a.RunnerEnv)
	}
	if len(runner.n.Content) == 0 {
		m.delete("runner")
	}
	if isTrue(a.IsSmallCluster) {
		// As the Python CLI did: keep the bundled Prometheus small on a small cluster.
		kps := m.child("kube-prometheus-stack").child("prometheus").child("prometheusSpec").child("resources")
		kps.child("requests").set("memory", str("300Mi"))
		kps.child("limits").set("memory", str("300Mi"))
	}
	return doc, nil
}

// TypeError is a key of an existing values file whose value has not the type the
// chart expects (globalConfig: "a string", sinksConfig: 5).
type TypeError struct {
	Key  string // dotted path, as in the values file
	Want string // "a mapping", "a list", "a single value"
	Got  string
	Line int
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("line %d: %s is %s, but the Robusta chart expects %s: fix or remove it", e.Line, e.Key, e.Got, e.Want)
}

// typedKeys are the keys Build reads or edits, with the kind of value each must hold.
var typedKeys = []struct {
	path []string
	kind yaml.Kind
}{
	{[]string{"clusterName"}, yaml.ScalarNode},
	{[]string{"isSmallCluster"}, yaml.ScalarNode},
	{[]string{"globalConfig"}, yaml.MappingNode},
	{[]string{"globalConfig", "signing_key"}, yaml.ScalarNode},
	{[]string{"globalConfig", "account_id"}, yaml.ScalarNode},
	{[]string{"sinksConfig"}, yaml.SequenceNode},
	{[]string{"enablePrometheusStack"}, yaml.ScalarNode},
	{[]string{"enablePlatformPlaybooks"}, yaml.ScalarNode},
	{[]string{"enabledManagedConfiguration"}, yaml.ScalarNode},
	{[]string{"playbooksPersistentVolume"}, yaml.ScalarNode},
	{[]string{"runner"}, yaml.MappingNode},
	{[]string{"runner", "sendAdditionalTelemetry"}, yaml.ScalarNode},
	{[]string{"runner", "additional_env_vars"}, yaml.SequenceNode},
	{[]string{"enableHolmesGPT"}, yaml.ScalarNode},
	{[]string{"holmes"}, yaml.MappingNode},
	{[]string{"holmes", "additional_env_vars"}, yaml.SequenceNode},
	{[]string{"kube-prometheus-stack"}, yaml.MappingNode},
	{[]string{"kube-prometheus-stack", "prometheus"}, yaml.MappingNode},
	{[]string{"kube-prometheus-stack", "prometheus", "prometheusSpec"}, yaml.MappingNode},
	{[]string{"kube-prometheus-stack", "prometheus", "prometheusSpec", "resources"}, yaml.MappingNode},
	{[]string{"kube-prometheus-stack", "prometheus", "prometheusSpec", "resources", "requests"}, yaml.MappingNode},
	{[]string{"kube-prometheus-stack", "prometheus", "prometheusSpec", "resources", "limits"}, yaml.MappingNode},
}

// CheckTypes returns a *TypeError for the first key of root that Build edits and whose
// value has the wrong type. A null value counts as absent.
func CheckTypes(root *yaml.Node) error {
	for _, k := range typedKeys {
		n := root
		for _, key := range k.path {
			if n == nil || n.Kind != yaml.MappingNode {
				n = nil
				break
			}
			n = mapping{n}.value(key)
		}
		if n == nil || isNull(n) || n.Kind == k.kind {
			continue
		}
		return &TypeError{Key: strings.Join(k.path, "."), Want: kindName(k.kind, ""), Got: kindName(n.Kind, n.Tag), Line: n.Line}
	}
	return nil
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(k yaml.Kind, tag string) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "a YAML alias (write the value out in full)"
	}
	switch tag {
	case "!!str":
		return "a string"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	}
	return "a single value"
}

func replaceSink(sinks *yaml.Node, name string, entry *yaml.Node, first bool) {
	for i, s := range sinks.Content {
		if s.Kind != yaml.MappingNode || len(s.Content) < 2 {
			continue
		}
		if (mapping{s.Content[1]}).get("name") == name {
			sinks.Content[i] = entry
			return
		}
	}
	if first {
		sinks.Content = append([]*yaml.Node{entry}, sinks.Content...)
		return
	}
	sinks.Content = append(sinks.Content, entry)
}

// setEnvVars sets each (name, value) in a list of {name, value} entries: an entry of
// the same name is replaced, others are kept, new ones appended.
func setEnvVars(list *yaml.Node, vars [][2]string) {
	for _, v := range vars {
		entry := mapping{&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}}
		entry.set("name", str(v[0]))
		entry.set("value", str(v[1]))
		replaced := false
		for i, e := range list.Content {
			if e.Kind == yaml.MappingNode && (mapping{e}).get("name") == v[0] {
				list.Content[i] = entry.n
				replaced = true
				break
			}
		}
		if !replaced {
			list.Content = append(list.Content, entry.n)
		}
	}
}

// Marshal renders the document with two-space indentation.
func Marshal(doc *yaml.Node) ([]byte, error) {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// Parse reads an existing values file: one YAML document holding a mapping.
func Parse(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	// Writing back only the first document would lose the others (empty ones aside).
	for {
		var more yaml.Node
		err := dec.Decode(&more)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(more.Content) > 0 && !isNull(more.Content[0]) {
			return nil, fmt.Errorf("line %d: a second YAML document: a values file holds one", more.Line)
		}
	}
	if doc.Kind == 0 {
		return nil, nil // empty file
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping of Helm values")
	}
	return &doc, nil
}

// mapping edits a YAML mapping node in place, keeping key order.
type mapping struct{ n *yaml.Node }

func (m mapping) index(key string) int {
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		if m.n.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// value is the value node of key, nil when absent.
func (m mapping) value(key string) *yaml.Node {
	if i := m.index(key); i >= 0 {
		return m.n.Content[i+1]
	}
	return nil
}

func (m mapping) get(key string) string {
	if i := m.index(key); i >= 0 && m.n.Content[i+1].Kind == yaml.ScalarNode {
		return m.n.Content[i+1].Value
	}
	return ""
}

func (m mapping) set(key string, v *yaml.Node) {
	if i := m.index(key); i >= 0 {
		m.n.Content[i+1] = v
		return
	}
	m.n.Content = append(m.n.Content, str(key), v)
}

func (m mapping) delete(key string) {
	if i := m.index(key); i >= 0 {
		m.n.Content = append(m.n.Content[:i], m.n.Content[i+2:]...)
	}
}

// setOrDelete writes key: true when on, removes it when off (the chart's default is
// off, and defaults are left out), and leaves it alone when unanswered.
func (m mapping) setOrDelete(key string, on *bool) {
	switch {
	case on == nil:
	case *on:
		m.set(key, boolNode(true))
	default:
		m.delete(key)
	}
}

func (m mapping) child(key string) mapping {
	if i := m.index(key); i >= 0 && m.n.Content[i+1].Kind == yaml.MappingNode {
		return mapping{m.n.Content[i+1]}
	}
	c := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.set(key, c)
	return mapping{c}
}

func (m mapping) seq(key string) *yaml.Node {
	if i := m.index(key); i >= 0 && m.n.Content[i+1].Kind == yaml.SequenceNode {
		return m.n.Content[i+1]
	}
	s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	m.set(key, s)
	return s
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(b)}
}

// Mask shows only the last four characters of a secret.
func Mask(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", 8) + s[len(s)-4:]
}
