package runner

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
	_ "github.com/robusta-dev/robusta-go/internal/engine/actions" // the actions the playbooks run
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/engine/triggers"
)

// memSink keeps what it is sent.
type memSink struct {
	name string
	mu   sync.Mutex
	got  []*engine.Finding
}

func (m *memSink) Name() string { return m.name }
func (m *memSink) Type() string { return "mem" }
func (m *memSink) Send(_ context.Context, f *engine.Finding) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, f)
	return false, nil
}

func (m *memSink) titles() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, f := range m.got {
		out = append(out, f.Title)
	}
	return out
}

func crashingPod(name string) *triggers.Incoming {
	o := &unstructured.Unstructured{Object: map[string]any{"kind": "Pod", "metadata": map[string]any{"name": name, "namespace": "prod"},
		"status": map[string]any{"containerStatuses": []any{map[string]any{"name": "c", "restartCount": int64(5),
			"state": map[string]any{"waiting": map[string]any{"reason": "CrashLoopBackOff"}}}}}}}
	return &triggers.Incoming{Event: engine.ChangeEvent("Pod", "update", o, o)}
}

func load(t *testing.T, y string) *Config {
	t.Helper()
	cfg, err := Load(context.Background(), []File{{Name: "values.yaml", Data: []byte(y)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The runner's semantics on one worker: rate_limit per pod and playbook, stop, and
// a failing action's error block.
func TestRunnerSemantics(t *testing.T) {
	cfg := load(t, `customPlaybooks:
- triggers: [{on_pod_crash_loop: {rate_limit: 3600}}]
  actions: [{create_finding: {title: "crash $name", aggregation_key: c}}]
  stop: true
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "not stopped", aggregation_key: x}}]
- triggers: [{on_pod_update: {name_prefix: web}}]
  actions: [{create_finding: {title: "broken $name", aggregation_key: b}}, {logs_enricher: {tail: -5}}]
`)
	sink := &memSink{name: "mem"}
	r := &Runner{Workers: 1, Always: nil}
	r.Always = append(r.Always, sink)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		r.Submit(crashingPod("api-1"))
	}
	r.Submit(crashingPod("api-2"))
	stop, c := context.WithTimeout(context.Background(), 5*time.Second)
	defer c()
	r.Stop(stop)
	got := fmt.Sprint(sink.titles())
	// api-1 three times within the window: the crash playbook fires once and stops the
	// next; the two rate-limited times it does not fire, so it stops nothing. api-2 has
	// its own window. The web- playbook matches no pod here.
	if got != "[crash api-1 not stopped not stopped crash api-2]" {
		t.Fatalf("%s", got)
	}
}

// A playbook that does not stop lets the next run; an action error becomes a block.
// Both findings are the event's, sent after the last playbook, newest first: the
// runner's add_finding puts a new finding at the head of each sink's list.
func TestRunnerErrorsBecomeBlocks(t *testing.T) {
	cfg := load(t, `customPlaybooks:
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "first", aggregation_key: a}}]
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "second", aggregation_key: b}}, {logs_enricher: {}}]
`)
	sink := &memSink{name: "mem"}
	r := &Runner{Workers: 1, Always: nil}
	r.Always = append(r.Always, sink)
	if err := r.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	r.Submit(crashingPod("api-1"))
	stop, c := context.WithTimeout(context.Background(), 5*time.Second)
	defer c()
	r.Stop(stop)
	if got := fmt.Sprint(sink.titles()); got != "[second first]" {
		t.Fatalf("%s", got)
	}
	last := sink.got[0]
	e := last.Enrichments[len(last.Enrichments)-1]
	if e.Title != "Error" || len(e.Blocks) != 1 {
		t.Fatalf("no error block for logs_enricher without a cluster: %+v", last.Enrichments)
	}
}

// BenchmarkMatch measures trigger matching alone: 200 playbooks of the usual kinds
// (update triggers with prefixes, label selectors, scopes and change filters) against
// a stream of pod and deployment updates, on one goroutine.
func BenchmarkMatch(b *testing.B) {
	var doc string
	for i := 0; i < 200; i++ {
		switch i % 4 {
		case 0:
			doc += fmt.Sprintf("- triggers: [{on_pod_update: {name_prefix: app-%d}}]\n  actions: [{echo: {message: x}}]\n", i)
		case 1:
			doc += fmt.Sprintf("- triggers: [{on_deployment_update: {labels_selector: 'app=svc-%d'}}]\n  actions: [{echo: {message: x}}]\n", i)
		case 2:
			doc += fmt.Sprintf("- triggers: [{on_pod_crash_loop: {scope: {include: [{namespace: 'team-%d-.*'}]}}}]\n  actions: [{echo: {message: x}}]\n", i)
		case 3:
			doc += fmt.Sprintf("- triggers: [{on_deployment_update: {namespace_prefix: ns-%d, change_filters: {include: [image]}}}]\n  actions: [{echo: {message: x}}]\n", i)
		}
	}
	cfg, err := Load(context.Background(), []File{{Name: "v.yaml", Data: []byte("customPlaybooks:\n" + doc)}}, Options{})
	if err != nil || len(cfg.Playbooks) != 200 {
		b.Fatal(err, len(cfg.Playbooks))
	}
	events := make([]*triggers.Incoming, 0, 64)
	for i := 0; i < 64; i++ {
		meta := map[string]any{"name": fmt.Sprintf("app-%d-x", i), "namespace": fmt.Sprintf("ns-%d", i*3), "labels": map[string]any{"app": fmt.Sprintf("svc-%d", i)}}
		if i%2 == 0 {
			events = append(events, crashingPod(fmt.Sprintf("app-%d", i)))
			continue
		}
		spec := map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "a:1"}}}}}
		old := &unstructured.Unstructured{Object: map[string]any{"kind": "Deployment", "metadata": meta, "spec": spec}}
		spec2 := map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "a:2"}}}}}
		obj := &unstructured.Unstructured{Object: map[string]any{"kind": "Deployment", "metadata": meta, "spec": spec2}}
		events = append(events, &triggers.Incoming{Event: engine.ChangeEvent("Deployment", "update", old, obj)})
	}
	b.ResetTimer()
	matched := 0
	for i := 0; i < b.N; i++ {
		// A fresh Incoming per event, as the sources make them: the diff cache starts empty.
		in := &triggers.Incoming{Event: events[i%len(events)].Event}
		for _, pb := range cfg.Playbooks {
			for _, t := range pb.Triggers {
				if t.Matches(in) {
					matched++
				}
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if matched == 0 {
		b.Fatal("nothing matched")
	}
}

func podInPhase(name, phase string) *triggers.Incoming {
	o := &unstructured.Unstructured{Object: map[string]any{"kind": "Pod", "metadata": map[string]any{"name": name, "namespace": "prod"},
		"status": map[string]any{"phase": phase}}}
	return &triggers.Incoming{Event: engine.ChangeEvent("Pod", "update", o, o)}
}

func firingAlert(name, severity string) *triggers.Incoming {
	a := &engine.Alert{Status: "firing", Labels: map[string]string{"alertname": name, "severity": severity}}
	return &triggers.Incoming{Event: &engine.Event{Class: engine.AlertEvent, Alert: a}}
}

// A silencer ends the event as the runner's stop_processing does: the rest of its
// playbook and every later playbook are skipped, so no finding is sent; an event the
// silencer lets through reaches the later playbooks. A finding made before the
// silencer in the same playbook is still sent, as the runner sends it.
func TestRunnerSilencers(t *testing.T) {
	cfg := load(t, `customPlaybooks:
- triggers: [{on_pod_update: {}}]
  actions: [{pod_status_silencer: {exclude: [Pending]}}]
- triggers: [{on_pod_update: {}}]
  actions: [{pod_status_silencer: {include: [Running, Pending]}}, {create_finding: {title: "included $name", aggregation_key: x}}]
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "pod $name", aggregation_key: p}}]
- triggers: [{on_prometheus_alert: {}}]
  actions: [{create_finding: {title: "before $name", aggregation_key: b}}, {name_silencer: {names: [Watchdog]}}, {create_finding: {title: "after", aggregation_key: a}}]
- triggers: [{on_prometheus_alert: {}}]
  actions: [{severity_silencer: {severity: info}}]
- triggers: [{on_prometheus_alert: {}}]
  actions: [{customise_finding: {title: "nothing to customise"}}]
- triggers: [{on_prometheus_alert: {}}]
  actions: [{create_finding: {title: "alert", aggregation_key: al}}, {customise_finding: {title: "alert customised", severity: LOW}}]
`)
	sink := &memSink{name: "mem"}
	r := &Runner{Workers: 1, Always: []sinks.Sink{sink}}
	if err := r.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	r.Submit(podInPhase("pending", "Pending"))   // excluded by the first playbook
	r.Submit(podInPhase("failed", "Failed"))     // not included by the second
	r.Submit(podInPhase("running", "Running"))   // through both
	r.Submit(firingAlert("Watchdog", "none"))    // silenced after its first finding
	r.Submit(firingAlert("HighCPU", "info"))     // silenced by severity
	r.Submit(firingAlert("DiskFull", "warning")) // through
	stop, c := context.WithTimeout(context.Background(), 5*time.Second)
	defer c()
	r.Stop(stop)
	got := fmt.Sprint(sink.titles())
	// Each event's findings newest first. Watchdog: its finding made before
	// name_silencer; HighCPU: the first alert playbook's two findings, then
	// severity_silencer; DiskFull through all: the lone customise_finding changes the
	// findings the earlier playbook made, and the last customise_finding changes all
	// three, as the runner's override_finding_attributes does.
	want := "[pod running included running before Unresolved after before Unresolved alert customised alert customised alert customised]"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if st := r.Stats(); st.Queued != 6 || st.Done != 6 || st.Dropped != 0 || st.Findings != 8 || st.Waiting != 0 {
		t.Errorf("stats %+v", st)
	}
	if sev := sink.got[len(sink.got)-1].Severity; sev != engine.Low {
		t.Errorf("customise_finding severity: got %s", sev)
	}
}

// The config Secret's active_playbooks.yaml loads as values, and a values file merged
// after it wins: its sinks replace the Secret's, its globalConfig keys override.
func TestLoadActiveConfig(t *testing.T) {
	active := `playbook_repos: {}
sinks_config:
- file_sink: {name: cluster-file, file_name: /tmp/never-written}
global_config: {cluster_name: prod, other: kept}
alert_relabel:
- {source: exported_pod, target: pod, operation: replace}
light_actions: []
active_playbooks:
- name: rendered
  triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "from the Secret", aggregation_key: s}}]
`
	files := []File{{Name: "active_playbooks.yaml", Data: []byte(active)}}
	cfg, err := Load(context.Background(), files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Playbooks) != 1 || cfg.Playbooks[0].Name != "rendered" || len(cfg.Sinks) != 1 || cfg.Sinks[0].Name != "cluster-file" ||
		cfg.Global["cluster_name"] != "prod" || len(cfg.Relabels) != 1 || cfg.Relabels[0].Source != "exported_pod" {
		t.Fatalf("%+v", cfg)
	}
	local := `globalConfig: {cluster_name: laptop}
sinksConfig:
- file_sink: {name: mine, file_name: /tmp/never-written-either}
`
	cfg, err = Load(context.Background(), append(files, File{Name: "local.yaml", Data: []byte(local)}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Playbooks) != 1 || len(cfg.Sinks) != 1 || cfg.Sinks[0].Name != "mine" || cfg.Global["cluster_name"] != "laptop" || cfg.Global["other"] != "kept" {
		t.Fatalf("merged: %+v", cfg)
	}
}

// globalConfig keys reach every action that declares them (the runner's
// merge_global_params), under the action's own params; keys an action does not take
// are left out, as the runner's params classes ignore them.
func TestGlobalConfigMergesIntoActionParams(t *testing.T) {
	y := `globalConfig:
  prometheus_url: http://prom.example:9090
  cluster_name: c1
  some_other_key: 1
customPlaybooks:
- triggers: [{on_pod_create: {}}]
  actions:
  - prometheus_enricher: {promql_query: up, duration: {duration_minutes: 5}}
  - prometheus_enricher: {promql_query: up, duration: {duration_minutes: 5}, prometheus_url: "http://own:9090"}
  - create_finding: {title: t}
`
	cfg, err := Load(context.Background(), []File{{Name: "values.yaml", Data: []byte(y)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	steps := cfg.Playbooks[0].Steps
	if got := steps[0].Params["prometheus_url"]; got != "http://prom.example:9090" {
		t.Errorf("global prometheus_url not merged: %v", steps[0].Params)
	}
	if got := steps[1].Params["prometheus_url"]; got != "http://own:9090" {
		t.Errorf("the action's own prometheus_url lost: %v", steps[1].Params)
	}
	if _, ok := steps[0].Params["some_other_key"]; ok {
		t.Errorf("a key the action does not take was merged: %v", steps[0].Params)
	}
	if len(steps[2].Params) != 1 { // only its title
		t.Errorf("create_finding got global keys: %v", steps[2].Params)
	}
	for i, s := range steps {
		if err := engine.Decode(s.Params, s.Action.NewParams()); err != nil {
			t.Errorf("step %d params do not decode: %v", i, err)
		}
	}
}

// The findings' owner workload: guessed from the top-level workloads seen in earlier
// events (the Deployment api's creation), as the runner's discovery playbook records
// them; none before it was seen.
func TestRunnerFindingWorkload(t *testing.T) {
	cfg := load(t, `customPlaybooks:
- triggers: [{on_pod_update: {}}]
  actions: [{create_finding: {title: "$name", aggregation_key: a}}]
`)
	sink := &memSink{name: "mem"}
	r := &Runner{Workers: 1, Always: []sinks.Sink{sink}}
	if err := r.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	dep := &unstructured.Unstructured{Object: map[string]any{"kind": "Deployment", "metadata": map[string]any{"name": "api", "namespace": "prod"}}}
	// The pods are the ReplicaSet's: a pod without an owner is its own workload.
	owned := func(name string) *triggers.Incoming {
		in := crashingPod(name)
		in.Event.Obj.SetOwnerReferences([]metav1.OwnerReference{{Kind: "ReplicaSet", Name: "api-7d9f"}})
		return in
	}
	r.Submit(owned("api-7d9f-1"))
	r.Submit(&triggers.Incoming{Event: engine.ChangeEvent("Deployment", "create", nil, dep)})
	r.Submit(owned("api-7d9f-2"))
	r.Submit(crashingPod("lone"))
	stop, c := context.WithTimeout(context.Background(), 5*time.Second)
	defer c()
	r.Stop(stop)
	var got []string
	for _, f := range sink.got {
		w := "none"
		if f.Workload != nil {
			w = f.Workload.Kind + "/" + f.Workload.Namespace + "/" + f.Workload.Name
		}
		got = append(got, f.Title+"="+w)
	}
	if fmt.Sprint(got) != "[api-7d9f-1=none api-7d9f-2=Deployment/prod/api lone=Pod/prod/lone]" {
		t.Fatalf("%v", got)
	}
}
