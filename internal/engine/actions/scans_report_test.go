package actions

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/helperpod"
)

// The fixtures in testdata/scans are written by hand after KRR's and Popeye's JSON
// formats as the runner's models (krr.py, popeye.py) read them, each behind the log
// lines the scanners print before their result.

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/scans/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFormatUnit(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0m"}, {0.012, "12m"}, {0.1, "100m"}, {0.9999, "999m"},
		{1, "1.0"}, {2.5, "2.5"}, {499, "499.0"},
		{500, "500"}, {1023, "1023"}, {10240, "10Ki"}, {104857600, "100Mi"}, {268435456, "256Mi"},
		// Below ten of the next unit the smaller one is kept.
		{5368709120, "5120Mi"}, {6442450944, "6144Mi"}, {16 * 1024 * 1024 * 1024, "16Gi"},
	} {
		if got := formatUnit(tc.in); got != tc.want {
			t.Errorf("formatUnit(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestKRRReport(t *testing.T) {
	rep, err := parseKRRLogs(readFixture(t, "krr.log"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.score() != 62 || len(rep.Scans) != 3 || rep.Strategy.Name != "simple" {
		t.Fatalf("report %+v", rep)
	}
	tables := krrTables(rep)
	want := []engine.Block{
		engine.Header("StatefulSet"), engine.Table("StatefulSet", krrHeaders, [][]string{
			{"OK", "shop", "db", "postgres", "2.0 -> ?", "4.0 -> unset", "5120Mi -> 5120Mi", "unset -> 6144Mi"},
		}),
		engine.Header("Deployment"), engine.Table("Deployment", krrHeaders, [][]string{
			{"CRITICAL", "shop", "web", "nginx", "500m -> 12m", "unset", "256Mi -> 100Mi\n(Not enough data)", "512Mi -> 100Mi\n(Not enough data)"},
			{"GOOD", "jobs", "worker", "queue", "unset", "unset", "unset", "unset"},
		}),
	}
	if !reflect.DeepEqual(tables, want) {
		t.Fatalf("tables\n got %+v\nwant %+v", tables, want)
	}

	f := &engine.Finding{}
	start := time.Now()
	addKRRReport(f, rep, "python krr.py simple", start, start.Add(3*time.Second))
	blocks := f.Enrichments[0].Blocks
	head := blocks[0].Text
	for _, w := range []string{"score 62 (grade D)", "3 containers", "strategy simple", `"cpu_percentile":95`, "3s", "95th percentile",
		"KRR reported errors: 1", "not sent locally"} {
		if !strings.Contains(head, w) {
			t.Errorf("summary lacks %q: %s", w, head)
		}
	}
	if blocks[1].Text != "Command: `python krr.py simple`" {
		t.Errorf("command block %q", blocks[1].Text)
	}
	last := blocks[len(blocks)-1]
	if last.Type != engine.BlockFile || last.Name != "krr.json" || !strings.HasPrefix(string(last.Data), "{\n  \"scans\"") {
		t.Errorf("raw json block %s %q", last.Name, last.Data)
	}
}

// A resource KRR did not scan shows "?", as the runner's table fills the gap.
func TestKRRReportOneResource(t *testing.T) {
	log := `{"scans": [{"object": {"name": "a", "container": "c", "namespace": "n", "kind": "Job", "allocations": {"requests": {"cpu": 0.25}, "limits": {}}},
	  "recommended": {"requests": {"cpu": {"value": 0.1}}, "limits": {"cpu": {"value": null}}, "info": {}}, "severity": "WARNING"}],
	  "score": 90.0, "resources": ["cpu"]}`
	rep, err := parseKRRLogs(log)
	if err != nil {
		t.Fatal(err)
	}
	got := krrTables(rep)[1].Rows[0]
	want := []string{"WARNING", "n", "a", "c", "250m -> 100m", "unset", "?", "?"}
	if !reflect.DeepEqual(got, want) || rep.score() != 90 || scanGrade(rep.score()) != "A" {
		t.Fatalf("row %q score %d", got, rep.score())
	}
}

func TestKRRReportErrors(t *testing.T) {
	for _, tc := range []struct {
		name, log string
		noJSON    bool
		want      string
	}{
		{"empty log", "", true, "no JSON"},
		{"log without json", "Error: could not connect to Prometheus\n", true, "no JSON"},
		{"broken json", "Result collected, displaying...\n{\"scans\": [", true, "unexpected end"},
		{"trailing output", `{"scans": [], "score": 1} done`, true, "invalid character"},
		{"no score", `{"scans": []}`, false, "score is missing"},
		{"no scans", `{"score": 3}`, false, "scans is missing"},
		{"no kind", `{"score": 3, "scans": [{"object": {"name": "a", "container": "c", "namespace": "n", "allocations": {}}, "recommended": {"requests": {}, "limits": {}, "info": {}}}]}`, false, "scans[0].object.kind is missing"},
		{"bad value", `{"score": 3, "scans": [{"object": {"name": "a", "container": "c", "namespace": "n", "kind": "Pod", "allocations": {}}, "recommended": {"requests": {"cpu": {"value": "lots"}}, "limits": {}, "info": {}}}]}`, false, `"lots"`},
		{"score not a number", `{"score": "high", "scans": []}`, false, "result format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseKRRLogs(tc.log)
			var fe *scanFormatError
			switch {
			case err == nil:
				t.Fatal("no error")
			case tc.noJSON != errors.Is(err, errNoJSON):
				t.Fatalf("no-JSON %v: %v", errors.Is(err, errNoJSON), err)
			case !tc.noJSON && !errors.As(err, &fe):
				t.Fatalf("not a format error: %v", err)
			case !strings.Contains(err.Error(), tc.want):
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPopeyeReport(t *testing.T) {
	rep, err := parsePopeyeLogs(readFixture(t, "popeye.log"))
	if err != nil {
		t.Fatal(err)
	}
	tables := popeyeTables(rep)
	want := []engine.Block{
		engine.Header("services"), engine.Table("services", popeyeHeaders, [][]string{
			{"OK", "default", "kubernetes", "", "OK [POP-1102] Use of target port #6443 for service port 443"},
		}),
		engine.Header("pods"), engine.Table("pods", popeyeHeaders, [][]string{
			{"Error", "shop", "web-7d9f-abcde", "nginx", "Warning [POP-106] No resources requests/limits defined\nError [POP-100] Untagged docker image in use"},
			{"Info", "shop", "web-7d9f-abcde", "", "Info [POP-206] No PodDisruptionBudget defined"},
		}),
		// A cluster-scoped resource has no namespace.
		engine.Header("clusterroles"), engine.Table("clusterroles", popeyeHeaders, [][]string{
			{"Info", "", "admin", "", "Info [POP-400] Used? Unable to locate resource reference"},
		}),
	}
	if !reflect.DeepEqual(tables, want) {
		t.Fatalf("tables\n got %+v\nwant %+v", tables, want)
	}
	f := &engine.Finding{}
	start := time.Now()
	addPopeyeReport(f, rep, start, start)
	blocks := f.Enrichments[0].Blocks
	for _, w := range []string{"score 83 (grade B; Popeye's own grade B)", "4 sanitizers", "not sent locally"} {
		if !strings.Contains(blocks[0].Text, w) {
			t.Errorf("summary lacks %q: %s", w, blocks[0].Text)
		}
	}
	if blocks[1].Type != engine.BlockList || blocks[1].Items[0] != "pods: score 71, 3 ok, 1 info, 1 warning, 1 error" {
		t.Errorf("tallies %+v", blocks[1])
	}
	if last := blocks[len(blocks)-1]; last.Name != "popeye.json" || !strings.HasPrefix(string(last.Data), "{\n  \"popeye\": {") {
		t.Errorf("raw json %s %q", last.Name, last.Data)
	}
}

func TestPopeyeReportErrors(t *testing.T) {
	for _, tc := range []struct {
		name, log string
		noJSON    bool
		want      string
	}{
		{"empty", "", true, "no JSON"},
		{"only log lines", "E1128 failed to list pods\nboom\n", true, "no JSON"},
		{"json not at a line start", "note {\"popeye\": {}}", true, "no JSON"},
		{"broken", "{\"popeye\": {\"score\": 1,", true, "unexpected end"},
		{"no popeye member", `{"report": {}}`, false, `no "popeye" member`},
		{"no grade", `{"popeye": {"score": 50}}`, false, "needs score and grade"},
		{"tally incomplete", `{"popeye": {"score": 50, "grade": "E", "sanitizers": [{"sanitizer": "pods", "gvr": "v1/pods", "tally": {"ok": 1}}]}}`, false, "tally needs"},
		{"issue without level", `{"popeye": {"score": 50, "grade": "E", "sanitizers": [{"sanitizer": "pods", "gvr": "v1/pods", "tally": {"ok": 1, "info": 0, "warning": 0, "error": 0, "score": 1}, "issues": {"a/b": [{"group": "__root__", "gvr": "v1/pods", "message": "m"}]}}]}}`, false, "needs group, gvr, level and message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parsePopeyeLogs(tc.log)
			switch {
			case err == nil:
				t.Fatal("no error")
			case tc.noJSON != errors.Is(err, errNoJSON):
				t.Fatalf("no-JSON %v: %v", errors.Is(err, errNoJSON), err)
			case !strings.Contains(err.Error(), tc.want):
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestScanFailed(t *testing.T) {
	for _, tc := range []struct {
		err  error
		logs string
		want string
	}{
		{fmt.Errorf("%w: job robusta/krr-job-1 did not finish", helperpod.ErrTimeout), "", "*KRR scan job failed. The job wait condition timed out (30s)*"},
		{errNoJSON, "Error: no Prometheus", "*KRR scan job failed. Expecting json result.*"},
		{formatErr("score is missing"), "{}", "*KRR scan job failed. Result format issue.*"},
		{errors.New("create helper job: forbidden"), "", "*KRR scan job unexpected error.*"},
	} {
		r := &engine.Run{Finding: &engine.Finding{}}
		if err := scanFailed(r, "KRR", "krr", tc.err, tc.logs, 30); err != nil {
			t.Fatal(err)
		}
		text := r.Finding.Enrichments[0].Blocks[0].Text
		if r.Finding.Title != "KRR scan failed" || !strings.HasPrefix(text, tc.want) || !strings.Contains(text, tc.err.Error()) || len(r.Notes) != 1 {
			t.Errorf("%v: %q %q %v", tc.err, r.Finding.Title, text, r.Notes)
		}
		if _, ok := fileOf(r.Finding, "krr-job.log"); ok != (tc.logs != "") {
			t.Errorf("%v: log attached %v", tc.err, ok)
		}
	}
	// Ctrl-C is not a finding: the run stops.
	r := &engine.Run{Finding: &engine.Finding{}}
	if err := scanFailed(r, "KRR", "krr", fmt.Errorf("interrupted; helper job deleted: %w", context.Canceled), "", 30); !errors.Is(err, context.Canceled) || len(r.Finding.Enrichments) != 0 {
		t.Fatalf("interrupt: %v %+v", err, r.Finding)
	}
}

func fileOf(f *engine.Finding, name string) ([]byte, bool) {
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			if b.Type == engine.BlockFile && b.Name == name {
				return b.Data, true
			}
		}
	}
	return nil, false
}
