package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validate needs no cluster: these run the built binary on files only.

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(good, []byte(goodValues), 0o644)
	_ = os.WriteFile(bad, []byte(badValues), 0o644)
	r := run(t, nil, "playbooks", "validate", good)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", good+" valid\n")
	r = run(t, nil, "playbooks", "validate", good, bad)
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", bad+":5:5: error: action resource_babysitter needs a KubernetesAnyChangeEvent, but trigger on_prometheus_alert gives a PrometheusKubernetesAlert")
	mustContain(t, r, "stdout", bad+":6:11: warning: sink \"nowhere\" is not defined in sinksConfig")
	mustContain(t, r, "stderr", "Error: the configuration has errors (see above)")

	// A parse error names its real line, once, without an empty path.
	broken := filepath.Join(dir, "broken.yaml")
	_ = os.WriteFile(broken, []byte("customPlaybooks:\n- name: x\n  triggers:\n  - on_pod_update: {}\n  oops\n"), 0o644)
	r = run(t, nil, "playbooks", "validate", broken)
	if r.code != 1 || strings.Contains(r.stdout, "((") || strings.Contains(r.stdout, ":0:") {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", broken+":5: error: could not find expected ':'\n")

	// Aliases and merge keys are read as Helm reads them: no false errors.
	anchors := filepath.Join(dir, "anchors.yaml")
	_ = os.WriteFile(anchors, []byte(`base: &base
  triggers: [{on_pod_update: {}}]
acts: &acts
- pod_events_enricher: {}
customPlaybooks:
- <<: *base
  name: merged
  actions: *acts
`), 0o644)
	if r = run(t, nil, "playbooks", "validate", anchors); r.code != 0 {
		t.Fatal(r)
	}
}

// -o json: every finding with file, line, column, rule and severity; exit codes by
// severity, --strict failing on warnings, info never failing.
func TestValidateJSONAndStrict(t *testing.T) {
	warnOnly := writeTemp(t, "warn.yaml", "customPlaybooks:\n- triggers:\n  - on_pod_update: {}\n  actions:\n  - logs_enricher: {tial: 10}\n")
	infoOnly := writeTemp(t, "info.yaml", "customPlaybooks:\n- triggers:\n  - on_secret_create: {}\n  actions:\n  - create_finding: {title: t, aggregation_key: k}\n")
	bad := writeTemp(t, "bad.yaml", badValues)

	r := run(t, nil, "playbooks", "validate", bad, warnOnly, "-o", "json")
	var fs []map[string]any
	if r.code != 1 || json.Unmarshal([]byte(r.stdout), &fs) != nil || len(fs) != 3 {
		t.Fatal(r)
	}
	first := fs[0]
	if first["file"] != bad || first["line"] != float64(5) || first["column"] != float64(5) || first["severity"] != "error" || first["rule"] != "event-mismatch" || first["path"] != "customPlaybooks[0].actions[0].resource_babysitter" {
		t.Fatalf("%v", first)
	}
	if last := fs[2]; last["rule"] != "param-unknown" || last["severity"] != "warning" || !strings.Contains(last["message"].(string), `no parameter "tial"`) {
		t.Fatalf("%v", last)
	}

	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		{"warnings pass", []string{warnOnly}, 0, warnOnly + ":5:21: warning: action logs_enricher has no parameter \"tial\": the runner ignores it"},
		{"--strict fails on warnings", []string{warnOnly, "--strict"}, 1, "warning: action logs_enricher"},
		{"info passes", []string{infoOnly}, 0, "valid (1 info)"},
		{"--strict passes info", []string{infoOnly, "--strict"}, 0, "info: on_secret_create fires only when the chart watches Secret objects: set kubewatch.config.resource.secret: true"},
		{"empty file", []string{writeTemp(t, "empty.yaml", "# nothing\n")}, 0, "warning: the file is empty"},
		{"string playbooks", []string{writeTemp(t, "s.yaml", "customPlaybooks: \"hello\"\n")}, 1, ":1:18: error: customPlaybooks must be a list of playbooks"},
		{"second document", []string{writeTemp(t, "d.yaml", "customPlaybooks: []\n---\nsinksConfig: oops\n")}, 1, ":3:14: error: sinksConfig must be a list of sinks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"playbooks", "validate"}, c.args...)...)
			if r.code != c.code {
				t.Fatal(r)
			}
			mustContain(t, r, "stdout", c.stdout)
		})
	}
	// Bad flags and files: one clear line, exit 2.
	r = run(t, nil, "playbooks", "validate", warnOnly, "--actions-from", filepath.Join(t.TempDir(), "nowhere"))
	if r.code != 2 || !strings.Contains(r.stderr, "--actions-from: read actions from") || strings.Contains(r.stderr, "goroutine") {
		t.Fatal(r)
	}
	r = run(t, nil, "playbooks", "validate", warnOnly, "-o", "sarf")
	if r.code != 2 || !strings.Contains(r.stderr, `invalid output format "sarf"`) {
		t.Fatal(r)
	}
}

// -o sarif drops into code scanning: SARIF 2.1.0 with a rule per kind and results at
// file, line and column; the exit code still follows the findings.
func TestValidateSARIF(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "values.yaml"), []byte(badValues), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, dir, "playbooks", "validate", "values.yaml", "-o", "sarif")
	if r.code != 1 {
		t.Fatal(r)
	}
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name    string `json:"name"`
					Version string `json:"version"`
					Rules   []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &log); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-2.1.0") || len(log.Runs) != 1 {
		t.Fatal(r)
	}
	run0 := log.Runs[0]
	if run0.Tool.Driver.Version != "v0.0.0-e2e" || len(run0.Tool.Driver.Rules) != 2 || len(run0.Results) != 2 {
		t.Fatal(r)
	}
	res := run0.Results[0]
	loc := res.Locations[0].PhysicalLocation
	if res.RuleID != "event-mismatch" || res.Level != "error" || loc.ArtifactLocation.URI != "values.yaml" || loc.Region.StartLine != 5 || loc.Region.StartColumn != 5 {
		t.Fatal(r)
	}
	if run0.Results[1].Level != "warning" || run0.Results[1].RuleID != "sink-undefined" {
		t.Fatal(r)
	}
}

// --actions-from makes a local repository's actions known: an unknown-action warning
// becomes a checked action, with its param types.
func TestValidateActionsFrom(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "my_repo")
	pkg := filepath.Join(repo, "my_repo")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(repo, "pyproject.toml"), []byte("[tool.poetry]\nname = \"my_repo\"\n"), 0o644)
	_ = os.WriteFile(filepath.Join(pkg, "acts.py"), []byte(`from robusta.api import ActionParams, PodEvent, action


class GreetParams(ActionParams):
    greeting: str
    times: int = 1


@action
def greet(event: PodEvent, params: GreetParams):
    pass
`), 0o644)
	values := writeTemp(t, "v.yaml", "customPlaybooks:\n- triggers:\n  - on_pod_update: {}\n  actions:\n  - greet: {times: often}\n")
	r := run(t, nil, "playbooks", "validate", values)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", `warning: unknown action "greet"`)
	r = run(t, nil, "playbooks", "validate", values, "--actions-from", repo, "--strict")
	if r.code != 1 || strings.Contains(r.stdout, "unknown action") {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", values+":5:20: warning: action greet parameter times must be a whole number, not the string \"often\"")
	mustContain(t, r, "stdout", values+":5:12: warning: action greet needs parameter greeting")
}
