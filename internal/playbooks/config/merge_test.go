package config

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const activeNow = `playbook_repos: {}
sinks_config:
- robusta_sink: {name: robusta_ui_sink, token: tok}
global_config:
  cluster_name: prod
  signing_key: sk
light_actions: [related_pods]
active_playbooks:
- name: prio
  triggers: [{on_pod_update: {}}]
  actions: [{pod_events_enricher: {}}]
- name: old-custom
  triggers: [{on_pod_update: {}}]
  actions: [{logs_enricher: {}}]
- name: builtin
  triggers: [{on_pod_crash_loop: {}}]
  actions: [{report_crash_loop: {}}]
- name: old-named
  triggers: [{on_job_failure: {}}]
  actions: [{job_info_enricher: {}}]
`

func playbookNames(t *testing.T, doc *yaml.Node) []string {
	t.Helper()
	var v struct {
		Active []struct{ Name string } `yaml:"active_playbooks"`
	}
	if err := doc.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range v.Active {
		out = append(out, p.Name)
	}
	return out
}

func entry(t *testing.T, f *File, name string) *yaml.Node {
	for _, pb := range f.Playbooks(true) {
		if pb.Name == name {
			return pb.Node
		}
	}
	t.Fatalf("no playbook %s", name)
	return nil
}

func TestMergeKeepsWhatTheFileDoesNotHold(t *testing.T) {
	cur, err := Parse(SecretKey, []byte(activeNow))
	if err != nil {
		t.Fatal(err)
	}
	helm := func() Provenance {
		var p Provenance
		p.add(&p.Priority, Fingerprint(entry(t, cur, "prio")))
		p.add(&p.Custom, Fingerprint(entry(t, cur, "old-custom")))
		p.add(&p.Named, Fingerprint(entry(t, cur, "old-named")))
		return p
	}
	cases := []struct {
		name, file string
		prov       Provenance
		want       string // playbook names after the merge
		sinks      string // a string the sinks must hold
		warn       bool
	}{
		{name: "custom only", file: "customPlaybooks:\n- name: new\n  triggers: [{on_pod_update: {}}]\n  actions: [{pod_ps: {}}]\n",
			prov: helm(), want: "prio,new,builtin,old-named", sinks: "robusta_ui_sink"},
		{name: "sinks only", file: "sinksConfig:\n- slack_sink: {name: s, slack_channel: c, api_key: k}\n",
			prov: helm(), want: "prio,old-custom,builtin,old-named", sinks: "slack_sink"},
		{name: "named only, in key order as the chart renders them", file: "namedCustomPlaybooks:\n  z1:\n    name: new-named-z\n    triggers: [{on_pod_update: {}}]\n    actions: [{pod_ps: {}}]\n  a1:\n    name: new-named-a\n    triggers: [{on_pod_update: {}}]\n    actions: [{pod_ps: {}}]\n",
			prov: helm(), want: "prio,old-custom,builtin,new-named-a,new-named-z", sinks: "robusta_ui_sink"},
		{name: "no custom before: after the priority ones", file: "customPlaybooks:\n- name: new\n  triggers: [{on_pod_update: {}}]\n  actions: [{pod_ps: {}}]\n",
			prov: Provenance{Priority: helm().Priority}, want: "prio,new,old-custom,builtin,old-named", sinks: "robusta_ui_sink"},
		{name: "nothing known: kept, yours first", file: "customPlaybooks: []\n",
			want: "prio,old-custom,builtin,old-named", sinks: "robusta_ui_sink", warn: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("f.yaml", []byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Merge(cur, f, tc.prov)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(playbookNames(t, m.Doc), ","); got != tc.want {
				t.Fatalf("playbooks %s, want %s", got, tc.want)
			}
			out, _ := yaml.Marshal(m.Doc)
			for _, keep := range []string{"cluster_name: prod", "signing_key: sk", "light_actions: [related_pods]", tc.sinks} {
				if !strings.Contains(string(out), keep) {
					t.Fatalf("lost %q:\n%s", keep, out)
				}
			}
			if (len(m.Warnings) > 0) != tc.warn {
				t.Fatalf("warnings %v", m.Warnings)
			}
			// What was merged is recorded, so the next run knows it.
			var next Provenance
			next.AddRecorded(m.Annotations)
			if strings.Contains(tc.file, "customPlaybooks:\n- name: new") && !next.Custom[Fingerprint(entry(t, f, "new"))] {
				t.Fatalf("not recorded: %v", m.Annotations)
			}
		})
	}
	if out, _ := yaml.Marshal(cur.Doc); string(out) == "" || !strings.Contains(string(out), "old-custom") {
		t.Fatal("Merge changed the current config")
	}
	// The file's other keys are named as not applied; none of the four is nothing to do.
	f, _ := Parse("f.yaml", []byte("globalConfig: {cluster_name: x}\n"))
	m, _ := Merge(cur, f, helm())
	if len(m.Changed) != 0 || strings.Join(m.Ignored, ",") != "globalConfig" {
		t.Fatalf("%+v", m)
	}
}
