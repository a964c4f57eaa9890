package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// logAPI is a small stand-in for the API server's pod log and pod list endpoints:
// logs[container] and prev[container] are served; a container in neither is
// refused with 400, as the API server refuses an unknown container.
type logAPI struct {
	pods map[string]*corev1.Pod // by name, for the pod list
	logs map[string]string
	prev map[string]string
	mu   sync.Mutex
	asks []string // "container previous=bool" per log request
}

func (a *logAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/v1/pods" {
		list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
		for _, p := range a.pods {
			list.Items = append(list.Items, *p)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/log") {
		http.NotFound(w, r)
		return
	}
	c, prev := r.URL.Query().Get("container"), r.URL.Query().Get("previous") == "true"
	a.mu.Lock()
	a.asks = append(a.asks, fmt.Sprintf("%s previous=%v", c, prev))
	a.mu.Unlock()
	src := a.logs
	if prev {
		src = a.prev
	}
	text, ok := src[c]
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure",
			Reason: metav1.StatusReasonBadRequest, Code: 400, Message: fmt.Sprintf("container %s is not valid for pod", c)})
		return
	}
	_, _ = w.Write([]byte(text))
}

// logRun starts the stand-in and returns a Run whose factory talks to it.
func logRun(t *testing.T, api *logAPI, ev *engine.Event) *engine.Run {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: %q}}]\nusers: [{name: u, user: {}}]\n"+
		"contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n", srv.URL)
	if err := os.WriteFile(kc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &engine.Run{Event: ev, Finding: engine.NewFinding(ev, "t"), KF: kube.NewFactory(kube.Options{Kubeconfig: kc})}
}

func podEvent(t *testing.T, pod *corev1.Pod) *engine.Event {
	t.Helper()
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod)
	if err != nil {
		t.Fatal(err)
	}
	return engine.ResourceEvent("Pod", &unstructured.Unstructured{Object: obj})
}

var (
	t0 = metav1.NewTime(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC))
	t1 = metav1.NewTime(time.Date(2026, 11, 28, 10, 5, 0, 0, time.UTC))
)

// testPod is pod web-1 with containers app and side; crashed makes app wait in
// CrashLoopBackOff after 3 restarts, its last run ended by Error.
func testPod(crashed bool) *corev1.Pod {
	p := &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "prod", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: "side"}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			// Waiting without a restart is not a crash for the runner.
			{Name: "side", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}},
		}}}
	if crashed {
		p.Status.ContainerStatuses[0] = corev1.ContainerStatus{Name: "app", RestartCount: 3,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", StartedAt: t0, FinishedAt: t1}}}
	}
	return p
}

// crashTables is the runner's get_crash_report_enrichments for testPod(true).
var crashTables = engine.Enrichment{Title: "Container Crash information", Blocks: []engine.Block{
	engine.Table("*Crash Info*", []string{"label", "value"}, [][]string{{"Container", "app"}, {"Restarts", "3"}, {"Status", "WAITING"}, {"Reason", "CrashLoopBackOff"}}),
	engine.Table("*Previous Container*", []string{"label", "value"}, [][]string{{"Status", "TERMINATED"}, {"Reason", "Error"},
		{"Started at", "2026-11-28T10:00:00Z"}, {"Finished at", "2026-11-28T10:05:00Z"}}),
}}

func logsOf(name, data string) engine.Enrichment {
	return engine.Enrichment{Title: "Logs", Blocks: []engine.Block{engine.File(name, []byte(data))}}
}

func noLogs(name, container string) engine.Enrichment {
	return engine.Enrichment{Title: "Logs", Blocks: []engine.Block{engine.EmptyFile(name, "Logs unavailable for container: "+container)}}
}

// The layout of logs_enricher as the runner's start_log_enrichment builds it: the crash
// tables first, then one "Logs" enrichment holding <pod>.log, or an empty file whose
// remarks name the container.
func TestLogsEnricherLayout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		crashed bool
		params  map[string]any
		logs    map[string]string
		prev    map[string]string
		want    []engine.Enrichment
		asked   string
	}{
		{"a log", false, nil, map[string]string{"app": "a\nb\n"}, nil,
			[]engine.Enrichment{logsOf("web-1.log", "a\nb\n")}, "app previous=false"},
		{"container_name", false, map[string]any{"container_name": "side"}, map[string]string{"side": "s\n"}, nil,
			[]engine.Enrichment{logsOf("web-1.log", "s\n")}, "side previous=false"},
		{"empty log", false, nil, map[string]string{"app": ""}, nil,
			[]engine.Enrichment{noLogs("web-1.log", "app")}, "app previous=false"},
		{"missing container", false, map[string]any{"container_name": "nope"}, map[string]string{"app": "a\n"}, nil,
			[]engine.Enrichment{noLogs("web-1.log", "nope")}, "nope previous=false"},
		{"previous", true, map[string]any{"previous": true}, map[string]string{"app": "now\n"}, map[string]string{"app": "before\n"},
			[]engine.Enrichment{crashTables, logsOf("web-1.log", "before\n")}, "app previous=true"},
		{"no previous run", false, map[string]any{"previous": true}, map[string]string{"app": "now\n"}, nil,
			[]engine.Enrichment{noLogs("web-1.log", "app")}, "app previous=true"},
		{"crashed pod", true, nil, map[string]string{"app": "now\n"}, nil,
			[]engine.Enrichment{crashTables, logsOf("web-1.log", "now\n")}, "app previous=false"},
		{"filter keeps nothing", false, map[string]any{"filter_regex": "ERROR.*"}, map[string]string{"app": "fine\n"}, nil,
			[]engine.Enrichment{noLogs("web-1.log", "app")}, "app previous=false"},
		{"redacted", false, map[string]any{"regex_replacer_patterns": []any{map[string]any{"name": "pw", "regex": "s3cr3t"}}},
			map[string]string{"app": "pw=s3cr3t\n"}, nil, []engine.Enrichment{logsOf("web-1.log", "pw=******\n")}, "app previous=false"},
		{"redacted by name", false, map[string]any{"regex_replacement_style": "NAMED", "regex_replacer_patterns": []any{map[string]any{"name": "pw", "regex": "s3cr3t"}}},
			map[string]string{"app": "pw=s3cr3t\n"}, nil, []engine.Enrichment{logsOf("web-1.log", "pw=[PW]\n")}, "app previous=false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &logAPI{logs: tc.logs, prev: tc.prev}
			r := logRun(t, api, podEvent(t, testPod(tc.crashed)))
			a, _ := engine.Lookup("logs_enricher")
			if err := a.Execute(context.Background(), r, tc.params); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Finding.Enrichments, tc.want) {
				t.Errorf("enrichments\n got %+v\nwant %+v", r.Finding.Enrichments, tc.want)
			}
			if len(api.asks) != 1 || api.asks[0] != tc.asked {
				t.Errorf("log requests %q, want one for %q", api.asks, tc.asked)
			}
		})
	}
}

// A log over the cap keeps its end in the one file block (no extra block, as the
// runner has none) and the run's notes say what was cut.
func TestLogsEnricherCap(t *testing.T) {
	line := strings.Repeat("x", 1023) + "\n"
	big := strings.Repeat(line, MaxLogBytes/len(line)+10)
	r := logRun(t, &logAPI{logs: map[string]string{"app": big}}, podEvent(t, testPod(false)))
	a, _ := engine.Lookup("logs_enricher")
	if err := a.Execute(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
	e := r.Finding.Enrichments
	if len(e) != 1 || len(e[0].Blocks) != 1 || e[0].Blocks[0].Name != "web-1.log" || len(e[0].Blocks[0].Data) > MaxLogBytes || e[0].Blocks[0].Truncated == 0 {
		t.Fatalf("want one capped file block, got %d enrichments", len(e))
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "cut to its last 1.0 MiB") {
		t.Errorf("notes %q", r.Notes)
	}
}

// report_crash_loop as the runner's send_crash_report: the crash tables, then for each
// crashed container (waiting after a restart) the previous run's log, redacted with
// asterisks by default, under "Logs" as <pod>.log.
func TestReportCrashLoopLayout(t *testing.T) {
	pat := []any{map[string]any{"name": "pw", "regex": "s3cr3t"}}
	for _, tc := range []struct {
		name    string
		crashed bool
		params  map[string]any
		prev    map[string]string
		want    []engine.Enrichment
		asks    []string
	}{
		{"crashed", true, map[string]any{"regex_replacer_patterns": pat}, map[string]string{"app": "pw=s3cr3t\npanic\n"},
			[]engine.Enrichment{crashTables, logsOf("web-1.log", "pw=******\npanic\n")}, []string{"app previous=true"}},
		{"named", true, map[string]any{"regex_replacer_patterns": pat, "regex_replacement_style": "NAMED"}, map[string]string{"app": "pw=s3cr3t\n"},
			[]engine.Enrichment{crashTables, logsOf("web-1.log", "pw=[PW]\n")}, []string{"app previous=true"}},
		{"no previous log", true, nil, nil,
			[]engine.Enrichment{crashTables, noLogs("web-1.log", "app")}, []string{"app previous=true"}},
		{"nothing crashed", false, nil, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &logAPI{prev: tc.prev}
			r := logRun(t, api, podEvent(t, testPod(tc.crashed)))
			a, _ := engine.Lookup("report_crash_loop")
			if err := a.Execute(context.Background(), r, tc.params); err != nil {
				t.Fatal(err)
			}
			f := r.Finding
			if f.Title != "Crashing pod web-1 in namespace prod" || f.AggregationKey != "CrashLoopBackoff" || f.Severity != engine.High {
				t.Errorf("finding %q %q %q", f.Title, f.AggregationKey, f.Severity)
			}
			if !reflect.DeepEqual(f.Enrichments, tc.want) {
				t.Errorf("enrichments\n got %+v\nwant %+v", f.Enrichments, tc.want)
			}
			if !reflect.DeepEqual(api.asks, tc.asks) {
				t.Errorf("log requests %q, want %q", api.asks, tc.asks)
			}
		})
	}
}

// foreign_logs_enricher gives each matching pod logs_enricher's layout; title_override
// retitles only the log enrichment, templated from the pod.
func TestForeignLogsLayout(t *testing.T) {
	pod := testPod(true)
	api := &logAPI{pods: map[string]*corev1.Pod{pod.Name: pod}, logs: map[string]string{"app": "hello\n"}}
	ev := &engine.Event{Class: "ExecutionBaseEvent"}
	r := logRun(t, api, ev)
	a, _ := engine.Lookup("foreign_logs_enricher")
	if err := a.Execute(context.Background(), r, map[string]any{"label_selectors": []any{"app=web"}, "title_override": "Logs of $name (${labels.app})"}); err != nil {
		t.Fatal(err)
	}
	want := []engine.Enrichment{crashTables, {Title: "Logs of web-1 (web)", Blocks: []engine.Block{engine.File("web-1.log", []byte("hello\n"))}}}
	if !reflect.DeepEqual(r.Finding.Enrichments, want) {
		t.Errorf("enrichments\n got %+v\nwant %+v", r.Finding.Enrichments, want)
	}
}
