package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// Reading the scanners' JSON as the runner reads it (krr.py's KRRResponse and
// popeye.py's PopeyeReport models), and showing it as the runner's scan blocks show
// it (KRRScanReportBlock and PopeyeScanReportBlock in Robusta's reporting/blocks.py):
// one table per kind, the runner's columns, the score and its grade.

// errNoJSON is a log without a JSON document in it.
var errNoJSON = errors.New("no JSON result in the scan's log")

// scanFormatError is JSON that is not the shape the runner expects.
type scanFormatError struct{ msg string }

func (e *scanFormatError) Error() string { return "result format: " + e.msg }

func formatErr(format string, a ...any) error {
	return &scanFormatError{msg: fmt.Sprintf(format, a...)}
}

// krrValue is KRR's Union[float, "?", None]: a number, unknown, or unset.
type krrValue struct {
	set     bool // false: None (unset)
	unknown bool // "?"
	v       float64
}

func (k *krrValue) UnmarshalJSON(b []byte) error {
	*k = krrValue{}
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if s == "?" {
			k.set, k.unknown = true, true
			return nil
		}
		// Pydantic turns a numeric string into the float.
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("want a number, \"?\" or null, got %q", s)
		}
		k.set, k.v = true, f
		return nil
	}
	if err := json.Unmarshal(b, &k.v); err != nil {
		return fmt.Errorf("want a number, \"?\" or null, got %s", b)
	}
	k.set = true
	return nil
}

type krrRecommendedInfo struct {
	Value    krrValue `json:"value"`
	Severity string   `json:"severity"`
}

type krrScanJSON struct {
	Object *struct {
		Cluster   *string                        `json:"cluster"`
		Name      *string                        `json:"name"`
		Container *string                        `json:"container"`
		Namespace *string                        `json:"namespace"`
		Kind      *string                        `json:"kind"`
		Alloc     map[string]map[string]krrValue `json:"allocations"`
		Warnings  []string                       `json:"warnings"`
	} `json:"object"`
	Recommended *struct {
		Requests map[string]krrRecommendedInfo `json:"requests"`
		Limits   map[string]krrRecommendedInfo `json:"limits"`
		Info     map[string]*string            `json:"info"`
	} `json:"recommended"`
	Severity string `json:"severity"`
}

// krrReport is KRR's JSON result (its -f json output).
type krrReport struct {
	Scans       []krrScanJSON `json:"scans"`
	Score       *json.Number  `json:"score"`
	Resources   []string      `json:"resources"`
	Description *string       `json:"description"`
	Strategy    *struct {
		Name     string         `json:"name"`
		Settings map[string]any `json:"settings"`
	} `json:"strategy"`
	Errors []map[string]any `json:"errors"`
	raw    []byte
}

// parseKRRLogs takes KRR's result out of its pod's log as the runner does: after the
// "Result collected, displaying..." line when there is one, from the first "{" on.
func parseKRRLogs(logs string) (*krrReport, error) {
	const marker = "Result collected, displaying..."
	if i := strings.Index(logs, marker); i >= 0 {
		logs = logs[i+len(marker):]
	}
	i := strings.Index(logs, "{")
	if i < 0 {
		return nil, errNoJSON
	}
	raw := []byte(strings.TrimSpace(logs[i:]))
	var rep krrReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, formatErr("%v", err)
		}
		if _, ok := err.(*json.SyntaxError); ok {
			return nil, fmt.Errorf("%w: %v", errNoJSON, err)
		}
		return nil, formatErr("%v", err)
	}
	if err := rep.validate(); err != nil {
		return nil, err
	}
	rep.raw = raw
	if rep.Resources == nil {
		rep.Resources = []string{"cpu", "memory"}
	}
	return &rep, nil
}

// validate checks the fields KRRResponse requires.
func (r *krrReport) validate() error {
	if r.Scans == nil {
		return formatErr("scans is missing")
	}
	if r.Score == nil {
		return formatErr("score is missing")
	}
	if _, err := r.Score.Float64(); err != nil {
		return formatErr("score %q is not a number", r.Score.String())
	}
	for i, s := range r.Scans {
		o := s.Object
		if o == nil {
			return formatErr("scans[%d].object is missing", i)
		}
		for _, f := range []struct {
			name string
			v    *string
		}{{"name", o.Name}, {"container", o.Container}, {"namespace", o.Namespace}, {"kind", o.Kind}} {
			if f.v == nil {
				return formatErr("scans[%d].object.%s is missing", i, f.name)
			}
		}
		if o.Alloc == nil {
			return formatErr("scans[%d].object.allocations is missing", i)
		}
		rec := s.Recommended
		if rec == nil || rec.Requests == nil || rec.Limits == nil || rec.Info == nil {
			return formatErr("scans[%d].recommended needs requests, limits and info", i)
		}
	}
	return nil
}

// score is the report's score as the runner's int.
func (r *krrReport) score() int {
	f, _ := r.Score.Float64()
	return int(f)
}

// krrSeverityWord is the runner's priority column: its severity names, by rank.
func krrSeverityWord(sev string) string {
	switch sev {
	case "CRITICAL", "WARNING", "OK", "GOOD":
		return sev
	}
	return "UNKNOWN"
}

// formatUnit is the runner's format_unit: millicores below 1, the number itself below
// 500 (taken as CPUs), else bytes in binary units.
func formatUnit(x float64) string {
	if x < 1 {
		return fmt.Sprintf("%dm", int64(x*1000))
	}
	if x < 500 {
		return pyFloat(x)
	}
	units := []string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	n := math.Trunc(x)
	for i, u := range units {
		next := math.Pow(1024, float64(i+1))
		if n < next || i == len(units)-1 || n/next < 10 {
			return strconv.FormatFloat(n/math.Pow(1024, float64(i)), 'f', 0, 64) + u
		}
	}
	return ""
}

func krrValueString(v krrValue) string {
	switch {
	case !v.set:
		return "unset"
	case v.unknown:
		return "?"
	}
	return formatUnit(v.v)
}

// krrCell is one resource cell: "allocated -> recommended", the strategy's note for
// the resource below it; "unset" when neither is set.
func krrCell(alloc, rec krrValue, info *string) string {
	if !alloc.set && !rec.set {
		return "unset"
	}
	s := krrValueString(alloc) + " -> " + krrValueString(rec)
	if info != nil {
		s += "\n(" + *info + ")"
	}
	return s
}

var krrHeaders = []string{"Priority", "Namespace", "Name", "Container", "CPU Request", "CPU Limit", "Memory Request", "Memory Limit"}

// krrTables are the runner's KRR tables: one per kind, kinds in reverse order, rows
// in KRR's order.
func krrTables(r *krrReport) []engine.Block {
	byKind := map[string][][]string{}
	for _, s := range r.Scans {
		o, rec := s.Object, s.Recommended
		wanted := map[string]bool{}
		for _, res := range r.Resources {
			wanted[res] = true
		}
		row := []string{krrSeverityWord(s.Severity), *o.Namespace, *o.Name, *o.Container}
		for _, res := range []string{"cpu", "memory"} {
			for _, field := range []string{"request", "limit"} {
				if !wanted[res] {
					row = append(row, "?")
					continue
				}
				var alloc, recd krrValue
				if field == "request" {
					alloc, recd = o.Alloc["requests"][res], rec.Requests[res].Value
				} else {
					alloc, recd = o.Alloc["limits"][res], rec.Limits[res].Value
				}
				row = append(row, krrCell(alloc, recd, rec.Info[res]))
			}
		}
		byKind[*o.Kind] = append(byKind[*o.Kind], row)
	}
	return kindTables(byKind, krrHeaders)
}

func kindTables(byKind map[string][][]string, headers []string) []engine.Block {
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(kinds)))
	// The table's name is not shown by every renderer, so a header names the kind.
	var out []engine.Block
	for _, k := range kinds {
		out = append(out, engine.Header(k), engine.Table(k, headers, byKind[k]))
	}
	return out
}

// scanGrade is the runner's ScanReportBlock.grade.
func scanGrade(score int) string {
	switch {
	case score >= 90:
		return "A"
	case score >= 80:
		return "B"
	case score >= 70:
		return "C"
	case score >= 60:
		return "D"
	case score >= 50:
		return "E"
	}
	return "F"
}

const scanNotSent = "The Robusta platform's scan report (its scan_updated events and scan block) is not sent locally; this finding shows the same result."

func addKRRReport(f *engine.Finding, r *krrReport, command string, start, end time.Time) {
	score := r.score()
	var sb strings.Builder
	fmt.Fprintf(&sb, "*KRR scan*: score %d (grade %s), %d containers", score, scanGrade(score), len(r.Scans))
	if r.Strategy != nil {
		fmt.Fprintf(&sb, ", strategy %s", r.Strategy.Name)
		if len(r.Strategy.Settings) > 0 {
			b, _ := json.Marshal(r.Strategy.Settings)
			fmt.Fprintf(&sb, " %s", b)
		}
	}
	fmt.Fprintf(&sb, ", %s.", end.Sub(start).Round(time.Second))
	if r.Description != nil && *r.Description != "" {
		sb.WriteString("\n" + *r.Description)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(&sb, "\nKRR reported errors: %d (see krr.json).", len(r.Errors))
	}
	sb.WriteString("\n" + scanNotSent)
	blocks := []engine.Block{engine.Markdown(sb.String()), engine.Markdown("Command: `" + command + "`")}
	blocks = append(blocks, krrTables(r)...)
	blocks = append(blocks, engine.File("krr.json", prettyRaw(r.raw)))
	f.AddEnrichment("KRR scan", blocks...)
}

func prettyRaw(raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return raw
	}
	return b.Bytes()
}

// Popeye's report (popeye.py's PopeyeReport, after Popeye's own JSON writer).
type popeyeIssue struct {
	Group   *string `json:"group"`
	GVR     *string `json:"gvr"`
	Level   *int    `json:"level"`
	Message *string `json:"message"`
}

type popeyeSection struct {
	Sanitizer *string `json:"sanitizer"`
	GVR       *string `json:"gvr"`
	Tally     *struct {
		OK, Info, Warning, Error, Score *int
	} `json:"tally"`
	Issues map[string][]popeyeIssue `json:"issues"`
}

type popeyeReport struct {
	Score      *int            `json:"score"`
	Grade      *string         `json:"grade"`
	Sanitizers []popeyeSection `json:"sanitizers"`
	Errors     []string        `json:"errors"`
	raw        []byte
}

// parsePopeyeLogs takes Popeye's result out of its pod's log as the runner does: lines
// before the first one starting with "{" are dropped, the rest is the JSON document
// whose "popeye" member is the report.
func parsePopeyeLogs(logs string) (*popeyeReport, error) {
	for logs != "" && !strings.HasPrefix(logs, "{") {
		i := strings.Index(logs, "\n")
		if i < 0 {
			logs = ""
			break
		}
		logs = logs[i+1:]
	}
	if logs == "" {
		return nil, errNoJSON
	}
	raw := []byte(strings.TrimSpace(logs))
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		if _, ok := err.(*json.SyntaxError); ok {
			return nil, fmt.Errorf("%w: %v", errNoJSON, err)
		}
		return nil, formatErr("%v", err)
	}
	body, ok := doc["popeye"]
	if !ok {
		return nil, fmt.Errorf("the JSON has no \"popeye\" member")
	}
	var rep popeyeReport
	if err := json.Unmarshal(body, &rep); err != nil {
		return nil, formatErr("%v", err)
	}
	if err := rep.validate(); err != nil {
		return nil, err
	}
	rep.raw = raw
	return &rep, nil
}

// validate checks the fields PopeyeReport requires.
func (r *popeyeReport) validate() error {
	if r.Score == nil || r.Grade == nil {
		return formatErr("popeye needs score and grade")
	}
	for i, s := range r.Sanitizers {
		if s.Sanitizer == nil || s.GVR == nil || s.Tally == nil {
			return formatErr("sanitizers[%d] needs sanitizer, gvr and tally", i)
		}
		t := s.Tally
		if t.OK == nil || t.Info == nil || t.Warning == nil || t.Error == nil || t.Score == nil {
			return formatErr("sanitizers[%d].tally needs ok, info, warning, error and score", i)
		}
		for res, list := range s.Issues {
			for j, is := range list {
				if is.Group == nil || is.GVR == nil || is.Level == nil || is.Message == nil {
					return formatErr("sanitizers[%d].issues[%q][%d] needs group, gvr, level and message", i, res, j)
				}
			}
		}
	}
	return nil
}

// popeyeLevel is the runner's level_to_string.
func popeyeLevel(level int) string {
	switch level {
	case 1:
		return "Info"
	case 2:
		return "Warning"
	case 3:
		return "Error"
	}
	return "OK"
}

var popeyeHeaders = []string{"Priority", "Namespace", "Name", "Container", "Issues"}

// popeyeTables are the runner's Popeye tables: per kind (the sanitizer), a row per
// resource and issue group (a container, or the resource itself), at the group's
// worst level, its issues one per line. Resources come sorted by namespace/name
// (the runner keeps Popeye's order).
func popeyeTables(r *popeyeReport) []engine.Block {
	byKind := map[string][][]string{}
	for _, s := range r.Sanitizers {
		kind := *s.Sanitizer
		resources := make([]string, 0, len(s.Issues))
		for k := range s.Issues {
			resources = append(resources, k)
		}
		sort.Strings(resources)
		for _, res := range resources {
			ns, name := "", res
			if i := strings.LastIndex(res, "/"); i >= 0 {
				ns, name = res[:i], res[i+1:]
			}
			var groups []string
			level := map[string]int{}
			lines := map[string][]string{}
			for _, is := range s.Issues[res] {
				g := *is.Group
				if _, seen := lines[g]; !seen {
					groups = append(groups, g)
				}
				level[g] = max(level[g], *is.Level)
				lines[g] = append(lines[g], popeyeLevel(*is.Level)+" "+*is.Message)
			}
			for _, g := range groups {
				container := g
				if g == "__root__" {
					container = ""
				}
				byKind[kind] = append(byKind[kind], []string{popeyeLevel(level[g]), ns, name, container, strings.Join(lines[g], "\n")})
			}
		}
	}
	return kindTables(byKind, popeyeHeaders)
}

func addPopeyeReport(f *engine.Finding, r *popeyeReport, start, end time.Time) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "*Popeye scan*: score %d (grade %s; Popeye's own grade %s), %d sanitizers, %s.",
		*r.Score, scanGrade(*r.Score), *r.Grade, len(r.Sanitizers), end.Sub(start).Round(time.Second))
	var tallies []string
	for _, s := range r.Sanitizers {
		t := s.Tally
		tallies = append(tallies, fmt.Sprintf("%s: score %d, %d ok, %d info, %d warning, %d error", *s.Sanitizer, *t.Score, *t.OK, *t.Info, *t.Warning, *t.Error))
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(&sb, "\nPopeye reported errors: %s", strings.Join(r.Errors, "; "))
	}
	sb.WriteString("\n" + scanNotSent)
	blocks := []engine.Block{engine.Markdown(sb.String())}
	if len(tallies) > 0 {
		blocks = append(blocks, engine.List(tallies...))
	}
	blocks = append(blocks, popeyeTables(r)...)
	blocks = append(blocks, engine.File("popeye.json", prettyRaw(r.raw)))
	f.AddEnrichment("Popeye scan", blocks...)
}

// isOpenShift stands in for the runner's IS_OPENSHIFT (the chart's openshift.enabled):
// the cluster serves OpenShift's config API group. An unanswered question counts as
// no.
func isOpenShift(r *engine.Run) (bool, error) {
	if r.KF == nil {
		return false, nil
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		if errors.Is(err, kube.ErrNoKubeconfig) {
			return false, err
		}
		return false, nil
	}
	groups, err := cs.Discovery().ServerGroups()
	if err != nil {
		return false, nil
	}
	for _, g := range groups.Groups {
		if g.Name == "config.openshift.io" {
			return true, nil
		}
	}
	return false, nil
}
