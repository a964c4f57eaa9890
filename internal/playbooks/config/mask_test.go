package config

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func everySecret(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/every-secret.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// noSecret fails when out shows any secret of testdata/every-secret.yaml.
func noSecret(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range []string{"S3CR3T", "987654"} {
		if strings.Contains(out, s) {
			t.Fatalf("%s shows a secret (%s):\n%s", what, s, out)
		}
	}
	if !strings.Contains(out, "{{ env.SLACK_API_KEY }}") {
		t.Fatalf("%s hides a value from the environment, which is not a secret:\n%s", what, out)
	}
}

func TestMaskEverySecret(t *testing.T) {
	data := everySecret(t)
	// As a values file, and as the active_playbooks.yaml the chart renders from it.
	values, err := Parse("values.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	activeData, err := ToActive(values)
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string][]byte{"values": data, "active": activeData} {
		f, err := Parse(name, src)
		if err != nil {
			t.Fatal(err)
		}
		MaskSecrets(f.Doc)
		out, _ := yaml.Marshal(f.Doc)
		noSecret(t, name, string(out))
		for _, keep := range []string{"xoxb-…(masked)", "https://acme.webhook.office.com/…(masked)", "mailtos://smtp.example.com/…(masked)",
			"cluster_name: test-cluster", `url: "https://mm.example.com"`, "username: bot@acme.com", "chat_id: 42", "sasl_mechanism: …(masked)"} {
			if !strings.Contains(string(out), keep) {
				t.Errorf("%s: no %q in\n%s", name, keep, out)
			}
		}
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	masked, _ := yaml.Marshal(MaskValues(m))
	noSecret(t, "MaskValues", string(masked))
	if orig, _ := yaml.Marshal(m); !strings.Contains(string(orig), "S3CR3T") {
		t.Fatal("MaskValues changed its input")
	}
}

func TestMaskString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"xoxb-123456789012-abcdef", "xoxb-…(masked)"},
		{"hunter2hunter2hunter2", "…(masked)"}, // no vendor prefix: nothing shown
		{"ab-1", "…(masked)"},                  // short: nothing shown
		{"https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/…(masked)"},
		{"mailtos://user:p/ss@smtp.example.com", "mailtos://…(masked)"}, // misparsed: scheme only
		{"{{ env.SLACK_KEY }}", "{{ env.SLACK_KEY }}"},
		{"", ""},
	}
	for _, tc := range cases {
		if got := MaskString(tc.in); got != tc.want {
			t.Errorf("MaskString(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskedDiffShowsChangedSecretsMasked(t *testing.T) {
	parse := func(s string) *yaml.Node {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(s), &n); err != nil {
			t.Fatal(err)
		}
		return &n
	}
	before := parse("sinks_config:\n- slack_sink: {name: s, api_key: xoxb-S3CR3T-old-000000}\n- robusta_sink: {name: r, token: S3CR3T-same}\nactive_playbooks: []\n")
	after := parse("sinks_config:\n- slack_sink: {name: s, api_key: xoxb-S3CR3T-new-111111}\n- robusta_sink: {name: r, token: S3CR3T-same}\nactive_playbooks: []\n")
	d, err := MaskedDiff(before, after)
	if err != nil {
		t.Fatal(err)
	}
	want := `--- current
+++ new
@@ -1,7 +1,7 @@
 sinks_config:
     - slack_sink:
         name: s
-        api_key: xoxb-…(masked 1)
+        api_key: xoxb-…(masked 3)
     - robusta_sink:
         name: r
         token: …(masked 2)
`
	if d != want {
		t.Fatalf("got:\n%s\nwant:\n%s", d, want)
	}
	if out, _ := yaml.Marshal(after); !strings.Contains(string(out), "S3CR3T-new") {
		t.Fatal("MaskedDiff changed its input")
	}
	if d, _ := MaskedDiff(before, before); d != "" {
		t.Fatalf("equal configs: %q", d)
	}
	// Helm values go through the same masking.
	d, _ = MaskedDiff(map[string]any{"sinksConfig": []any{map[string]any{"slack_sink": map[string]any{"api_key": "xoxb-S3CR3T-a"}}}},
		map[string]any{"sinksConfig": []any{map[string]any{"slack_sink": map[string]any{"api_key": "xoxb-S3CR3T-b"}}}})
	if strings.Contains(d, "S3CR3T") || !strings.Contains(d, "masked 2") {
		t.Fatal(d)
	}
}

func TestValidationMessagesMaskSecrets(t *testing.T) {
	// prometheus_auth is a secret string in Robusta; a list there is the wrong type and
	// the message quotes no value.
	f, _ := Parse("v.yaml", []byte("customPlaybooks:\n- triggers: [{on_pod_update: {}}]\n  actions: [{prometheus_enricher: {promql_query: up, duration: {duration_minutes: 5}, prometheus_auth: [Bearer S3CR3T]}}]\n"))
	got := findingLines(Validate(f))
	if strings.Contains(got, "S3CR3T") || !strings.Contains(got, "prometheus_auth") {
		t.Fatal(got)
	}
	// A secret of the wrong type in a sink is not quoted either.
	f, _ = Parse("v.yaml", []byte("sinksConfig:\n- slack_sink: {name: s, slack_channel: c, api_key: {k: S3CR3T}}\n- telegram_sink: {name: t, bot_token: S3CR3T-tok, chat_id: not-a-number}\n"))
	got = findingLines(Validate(f))
	if strings.Contains(got, "S3CR3T") || !strings.Contains(got, "api_key") {
		t.Fatal(got)
	}
	secret := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "S3CR3T"}
	for _, path := range []string{"sinksConfig[0].slack_sink.api_key", "customPlaybooks[0].actions[0].x.prometheus_auth", "sinksConfig[1].telegram_sink.bot_token"} {
		if strings.Contains(shown(secret, path)+quoted(secret, path), "S3CR3T") {
			t.Errorf("%s quoted", path)
		}
	}
	if !strings.Contains(shown(secret, "customPlaybooks[0].actions[0].x.title"), "S3CR3T") {
		t.Error("a plain value is quoted")
	}
}

func TestLineDiffHunks(t *testing.T) {
	lines := func(s string) []string { return splitLines(strings.Join(strings.Split(s, ""), "\n") + "\n") }
	cases := []struct{ a, b, want string }{
		// Changes 7 lines apart: two hunks with 3 lines of context each.
		{"abcdefghijklmn", "aXcdefghijkYmn", "@@ -1,5 +1,5 @@\n a\n-b\n+X\n c\n d\n e\n@@ -9,6 +9,6 @@\n i\n j\n k\n-l\n+Y\n m\n n\n"},
		// Close changes share one hunk.
		{"abcdefgh", "aXcdeYgh", "@@ -1,8 +1,8 @@\n a\n-b\n+X\n c\n d\n e\n-f\n+Y\n g\n h\n"},
		// Added at the end, removed at the start.
		{"abc", "bcd", "@@ -1,3 +1,3 @@\n-a\n b\n c\n+d\n"},
	}
	for _, tc := range cases {
		if got := lineDiff(lines(tc.a), lines(tc.b)); got != tc.want {
			t.Errorf("%s -> %s:\n%s\nwant:\n%s", tc.a, tc.b, got, tc.want)
		}
	}
}
