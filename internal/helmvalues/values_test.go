package helmvalues

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yamlv3 "gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files")

func fixedUUIDs() func() (string, error) {
	n := 0
	return func() (string, error) {
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n), nil
	}
}

var uiToken = base64.StdEncoding.EncodeToString([]byte(`{"account_id":"acc-123","session_token":"tok"}`))

func TestBuildGolden(t *testing.T) {
	cases := []struct {
		name     string
		existing string
		a        Answers
	}{
		{"minimal", "", Answers{ClusterName: "dev", IsSmallCluster: Bool(false), PlaybooksPersistentVolume: Bool(true), EnablePrometheusStack: Bool(false), EnableCrashReport: Bool(false)}},
		{"all_sinks_small", "", Answers{ClusterName: "kind-local", IsSmallCluster: Bool(true), SlackAPIKey: "xoxb-1-2-3", SlackChannel: "alerts",
			MSTeamsWebhook: "https://example.webhook.office.com/x", RobustaAPIKey: uiToken, DiscordWebhook: "https://discord.com/api/webhooks/1/a",
			GenericWebhook: "http://hooks.internal/robusta", EnablePrometheusStack: Bool(true), PlaybooksPersistentVolume: Bool(true), EnableCrashReport: Bool(true)}},
		{"teams_only_no_pv", "", Answers{ClusterName: "prod", IsSmallCluster: Bool(false), MSTeamsWebhook: "https://example.webhook.office.com/y",
			PlaybooksPersistentVolume: Bool(false), EnablePrometheusStack: Bool(false), EnableCrashReport: Bool(false)}},
		{"update_keeps_unknown", "# my values\nclusterName: old\nglobalConfig:\n  signing_key: keep-me\n  account_id: acc-old\n  custom_global: 1\nsinksConfig:\n- slack_sink:\n    name: main_slack_sink\n    slack_channel: old\n    api_key: xoxb-old\n- datadog_sink:\n    name: dd\n    api_key: ddkey\ncustomPlaybooks:\n- triggers:\n  - on_pod_update: {}\n  actions:\n  - my_action: {}\nenablePrometheusStack: true\n",
			Answers{SlackAPIKey: "xoxb-new", SlackChannel: "new-channel"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var existing = mustParse(t, tc.existing)
			doc, err := Build(existing, tc.a, fixedUUIDs())
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".golden.yaml")
			if *update {
				_ = os.WriteFile(golden, got, 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/helmvalues -update)", err)
			}
			if string(got) != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
			// Parses back as values.
			var m map[string]any
			if err := yaml.Unmarshal(got, &m); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func mustParse(t *testing.T, s string) *yamlv3.Node {
	t.Helper()
	if s == "" {
		return nil
	}
	n, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestValidate(t *testing.T) {
	cases := []struct {
		a    Answers
		want string
	}{
		{Answers{ClusterName: "Bad_Name"}, `use lower-case letters, digits and dashes (for example "bad-name")`},
		{Answers{ClusterName: "c", SlackAPIKey: "x"}, "--slack-channel"},
		{Answers{ClusterName: "c", SlackChannel: "x"}, "--slack-api-key"},
		{Answers{ClusterName: "c", MSTeamsWebhook: "http://insecure"}, "--msteams-webhook must be an https:// URL"},
		{Answers{ClusterName: "c", DiscordWebhook: "discord.com/x"}, "--discord-webhook must be an https:// URL"},
		{Answers{ClusterName: "c", GenericWebhook: "ftp://x"}, "--webhook-url must be an http:// or https:// URL"},
		{Answers{ClusterName: "c", RobustaAPIKey: "%%%"}, "not base64"},
		{Answers{ClusterName: "c", RobustaAPIKey: base64.StdEncoding.EncodeToString([]byte("[1]"))}, "does not hold a JSON object"},
		{Answers{ClusterName: "c", RobustaAPIKey: base64.StdEncoding.EncodeToString([]byte(`{"x":1}`))}, "has no account_id"},
	}
	for _, tc := range cases {
		err := tc.a.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.a, err, tc.want)
		}
	}
	ok := Answers{ClusterName: "c", RobustaAPIKey: uiToken, MSTeamsWebhook: "https://x.y/z"}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
}

func TestHelpers(t *testing.T) {
	if CleanClusterName("gke_my-proj_europe-west1_Prod.Cluster") != "gke-my-proj-europe-west1-prod-cluster" {
		t.Error(CleanClusterName("gke_my-proj_europe-west1_Prod.Cluster"))
	}
	for name, want := range map[string]bool{"kind-dev": true, "minikube": true, "k3d-x": true, "docker-desktop": true, "arn:aws:eks:us-east-1:1:cluster/prod": false} {
		if GuessSmallCluster(name) != want {
			t.Errorf("GuessSmallCluster(%q) != %v", name, want)
		}
	}
	if Mask("xoxb-123456") != "********3456" || Mask("abc") != "***" {
		t.Error(Mask("xoxb-123456"))
	}
	id, _ := RandomUUID()
	if len(id) != 36 || id[14] != '4' {
		t.Error(id)
	}
}

// The written values render with the project's test chart, and the playbooks Secret
// carries the sinks.
func TestValuesRenderWithChart(t *testing.T) {
	doc, err := Build(nil, Answers{ClusterName: "render-test", SlackAPIKey: "xoxb-r", SlackChannel: "c", RobustaAPIKey: uiToken, PlaybooksPersistentVolume: Bool(true)}, fixedUUIDs())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := Marshal(doc)
	vals, err := chartutil.ReadValues(data)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := loader.Load(filepath.Join("..", "..", "testdata", "charts", "robusta"))
	if err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "robusta", Namespace: "robusta"}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatal(err)
	}
	secret := out["robusta/templates/playbooks-config.yaml"]
	for _, want := range []string{"name: main_slack_sink", "name: robusta_ui_sink", "cluster_name: 'render-test'", "account_id: acc-123"} {
		if !strings.Contains(secret, want) {
			t.Errorf("rendered Secret lacks %q:\n%s", want, secret)
		}
	}
	if !strings.Contains(out["robusta/templates/pvc.yaml"], "persistent-playbooks-pv-claim") {
		t.Error("playbooksPersistentVolume did not render the PVC")
	}
}

// An existing file whose keys have the wrong type is refused, naming the key, before
// anything is built: replacing them would silently drop what the user wrote.
func TestBuildRefusesWrongTypes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"globalConfig: \"a string\"\n", `line 1: globalConfig is a string, but the Robusta chart expects a mapping`},
		{"clusterName: c\nsinksConfig: 5\n", `line 2: sinksConfig is a number, but the Robusta chart expects a list`},
		{"sinksConfig: {slack_sink: {name: s}}\n", `sinksConfig is a mapping, but the Robusta chart expects a list`},
		{"globalConfig:\n  signing_key: [a, b]\n", `line 2: globalConfig.signing_key is a list, but the Robusta chart expects a single value`},
		{"runner: true\n", `runner is a boolean, but the Robusta chart expects a mapping`},
		{"kube-prometheus-stack:\n  prometheus:\n    prometheusSpec: x\n", `kube-prometheus-stack.prometheus.prometheusSpec is a string`},
		{"base: &b {a: 1}\nglobalConfig: *b\n", `globalConfig is a YAML alias`},
		{"clusterName: {name: x}\n", `clusterName is a mapping, but the Robusta chart expects a single value`},
	} {
		doc, err := Parse([]byte(tc.in))
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		_, err = Build(doc, Answers{ClusterName: "c", IsSmallCluster: Bool(true)}, fixedUUIDs())
		var te *TypeError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.want) || !strings.HasSuffix(err.Error(), "fix or remove it") {
			t.Errorf("%q: got %v, want %s", tc.in, err, tc.want)
		}
	}
	// Nulls are absent values, and the right types pass.
	for _, in := range []string{"globalConfig:\nsinksConfig: ~\nrunner: null\n", "globalConfig: {signing_key: k}\nsinksConfig: []\nrunner: {}\nclusterName: 5\n"} {
		doc, err := Parse([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Build(doc, Answers{ClusterName: "c"}, fixedUUIDs()); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestParseOneDocument(t *testing.T) {
	if _, err := Parse([]byte("a: 1\n---\nb: 2\n")); err == nil || !strings.Contains(err.Error(), "line 2: a second YAML document") {
		t.Errorf("two documents: %v", err)
	}
	for _, in := range []string{"a: 1\n---\n", "---\na: 1\n", "", "# only a comment\n"} {
		if _, err := Parse([]byte(in)); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}
