package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// slackCall is one chat.postMessage or chat.update as the stand-in got it.
type slackCall struct {
	Method   string
	Channel  string           `json:"channel"`
	TS       string           `json:"ts"`
	ThreadTS string           `json:"thread_ts"`
	Text     string           `json:"text"`
	Blocks   []map[string]any `json:"blocks"`
}

// chatServer stands in for Slack's chat.postMessage and chat.update: it checks the
// documented required arguments (channel and text or blocks; ts and a channel id
// for updates, ts naming a message it posted) and answers as Slack does. It also
// takes files through the external upload flow and files.delete.
type chatServer struct {
	t     *testing.T
	mu    sync.Mutex
	calls []slackCall
	posts int
	// channels are the channel names it knows and their ids; #alerts is C42.
	channels map[string]string
	files    map[string]string // uploaded file id -> contents
	shared   map[string]string // file id -> "channel/thread" it was shared into
	deleted  []string
	nfiles   int
}

func (cs *chatServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if cs.channels == nil {
		cs.channels = map[string]string{"#alerts": "C42"}
	}
	if cs.files == nil {
		cs.files, cs.shared = map[string]string{}, map[string]string{}
	}
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	switch {
	case method == "files.getUploadURLExternal":
		form, _ := url.ParseQuery(string(body))
		if form.Get("filename") == "" || form.Get("length") == "" {
			cs.t.Errorf("getUploadURLExternal without filename or length: %s", body)
		}
		cs.nfiles++
		id := fmt.Sprintf("F%d", cs.nfiles)
		fmt.Fprintf(w, `{"ok":true,"upload_url":"http://%s/upload/%s","file_id":%q}`, r.Host, id, id)
		cs.calls = append(cs.calls, slackCall{Method: method})
		return
	case strings.HasPrefix(r.URL.Path, "/upload/"):
		cs.files[strings.TrimPrefix(r.URL.Path, "/upload/")] = string(body)
		return
	case method == "files.completeUploadExternal":
		var c struct {
			Files []struct {
				ID string `json:"id"`
			} `json:"files"`
			ChannelID string `json:"channel_id"`
			ThreadTS  string `json:"thread_ts"`
		}
		_ = json.Unmarshal(body, &c)
		if len(c.Files) != 1 {
			cs.t.Errorf("completeUploadExternal: %s", body)
			return
		}
		id := c.Files[0].ID
		if _, ok := cs.files[id]; !ok {
			io.WriteString(w, `{"ok":false,"error":"file_not_found"}`)
			return
		}
		cs.shared[id] = c.ChannelID + "/" + c.ThreadTS
		fmt.Fprintf(w, `{"ok":true,"files":[{"id":%q,"permalink":"https://slack.example/files/%s"}]}`, id, id)
		cs.calls = append(cs.calls, slackCall{Method: method, Channel: c.ChannelID, ThreadTS: c.ThreadTS})
		return
	case method == "files.delete":
		form, _ := url.ParseQuery(string(body))
		cs.deleted = append(cs.deleted, form.Get("file"))
		io.WriteString(w, `{"ok":true}`)
		cs.calls = append(cs.calls, slackCall{Method: method})
		return
	}
	var c slackCall
	if err := json.Unmarshal(body, &c); err != nil {
		cs.t.Errorf("%s: body is not JSON: %s", r.URL.Path, body)
	}
	c.Method = method
	if c.Text == "" && len(c.Blocks) == 0 {
		cs.t.Errorf("%s without text or blocks", c.Method)
	}
	for _, b := range c.Blocks {
		if b["type"] == "section" {
			if txt, _ := b["text"].(map[string]any)["text"].(string); len([]rune(txt)) > maxSectionLen {
				cs.t.Errorf("section of %d characters", len([]rune(txt)))
			}
		}
	}
	switch c.Method {
	case "chat.postMessage":
		id, ok := cs.channels[c.Channel]
		if !ok {
			cs.t.Errorf("postMessage to %q", c.Channel)
		}
		cs.posts++
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.%06d"}`, id, cs.posts)
	case "chat.update":
		known := false
		for _, id := range cs.channels {
			known = known || id == c.Channel
		}
		if !known {
			// chat.update takes the channel's id, not its name.
			io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
			return
		}
		if c.TS == "" || c.TS > fmt.Sprintf("1700000000.%06d", cs.posts) {
			io.WriteString(w, `{"ok":false,"error":"message_not_found"}`)
			return
		}
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q}`, c.Channel, c.TS)
	default:
		cs.t.Errorf("unexpected call %s", c.Method)
		w.WriteHeader(404)
	}
	cs.calls = append(cs.calls, c)
}

func (cs *chatServer) take() []slackCall {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := cs.calls
	cs.calls = nil
	return out
}

func groupedSink(t *testing.T, url, grouping string) (*Sink, *time.Time) {
	t.Helper()
	return groupedSinkWith(t, url, grouping, nil)
}

// groupedSinkWith is groupedSink with more sink params (grouping may be empty).
func groupedSinkWith(t *testing.T, url, grouping string, extra map[string]any) (*Sink, *time.Time) {
	t.Helper()
	params := map[string]any{"name": "team", "slack_channel": "#alerts", "api_key": token}
	if grouping != "" {
		var g map[string]any
		if err := yaml.Unmarshal([]byte(grouping), &g); err != nil {
			t.Fatal(err)
		}
		params["grouping"] = g
	}
	for k, v := range extra {
		params[k] = v
	}
	s, err := New(sinks.Config{Type: Type, Params: params},
		sinks.Options{BaseURLs: map[string]string{"team": url + "/api"}, ClusterName: "kind-1"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 9, 30, 0, 0, time.UTC)
	sk := s.(*Sink)
	if sk.group != nil {
		sk.group.now = func() time.Time { return now }
	}
	return sk, &now
}

func crash(ns, name, app string) *engine.Finding {
	return &engine.Finding{Title: "Crashing pod " + name, AggregationKey: "CrashLoopBackoff", Severity: engine.High,
		Subject: engine.Subject{Kind: "pod", Name: name, Namespace: ns, Labels: map[string]string{"app": app}}}
}

func sectionTexts(c slackCall) []string {
	var out []string
	for _, b := range c.Blocks {
		if t, ok := b["text"].(map[string]any); ok {
			out = append(out, t["text"].(string))
		}
	}
	return out
}

// Summary mode, threaded: the first finding of a group posts the summary and then
// the finding in its thread; the next ones update the summary in place (chat.update
// with the channel id and the message's ts) with the counts per summary key, most
// fired first, and reply in the same thread; another group has its own message; once
// the interval is over the group starts a new message.
func TestGroupingSummaryThreaded(t *testing.T) {
	cs := &chatServer{t: t}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	s, now := groupedSink(t, srv.URL, `
group_by: [cluster, namespace]
interval: 600
notification_mode: {summary: {threaded: true, by: [identifier, {labels: [app]}]}}`)
	ctx := context.Background()
	send := func(f *engine.Finding) {
		t.Helper()
		if _, err := s.Send(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	send(crash("prod", "api-1", "api"))
	calls := cs.take()
	if len(calls) != 2 || calls[0].Method != "chat.postMessage" || calls[1].Method != "chat.postMessage" {
		t.Fatalf("first finding: %+v", calls)
	}
	sum, reply := calls[0], calls[1]
	want := []string{
		"*Alerts Summary - 1 Notifications*",
		"*Cluster:* `kind-1`",
		"*Matching criteria*: `cluster: kind-1`, `namespace: prod`",
		"*Time interval:* `10 minutes` starting at `<!date^1767259800^{date_num} {time}|2026-01-01 09:30 UTC>`",
		"```\n notification     | label:app   |   Fired |   Resolved\n------------------+-------------+---------+------------\n CrashLoopBackoff | api         |       1 |          0\n```",
		"See thread for individual alerts",
	}
	if got := sectionTexts(sum); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("summary blocks:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sum.Text != "Summary for: cluster: kind-1, namespace: prod" || sum.ThreadTS != "" {
		t.Errorf("summary text %q thread %q", sum.Text, sum.ThreadTS)
	}
	if reply.ThreadTS != "1700000000.000001" || reply.Text != "Crashing pod api-1" {
		t.Errorf("finding not in the summary's thread: %+v", reply)
	}

	*now = now.Add(time.Minute)
	send(crash("prod", "api-2", "api"))
	send(crash("prod", "web-1", "web"))
	send(&engine.Finding{Title: "[RESOLVED] Crashing pod web-1", AggregationKey: "CrashLoopBackoff",
		Subject: engine.Subject{Kind: "pod", Name: "web-1", Namespace: "prod", Labels: map[string]string{"app": "web"}}})
	calls = cs.take()
	if len(calls) != 6 {
		t.Fatalf("three more findings: %d calls %+v", len(calls), calls)
	}
	for i, c := range calls {
		if i%2 == 0 && (c.Method != "chat.update" || c.TS != "1700000000.000001" || c.Channel != "C42") {
			t.Errorf("call %d is not an update of the summary: %+v", i, c)
		}
		if i%2 == 1 && (c.Method != "chat.postMessage" || c.ThreadTS != "1700000000.000001") {
			t.Errorf("call %d is not a reply in the thread: %+v", i, c)
		}
	}
	last := sectionTexts(calls[4])
	if last[0] != "*Alerts Summary - 4 Notifications*" ||
		last[4] != "```\n notification     | label:app   |   Fired |   Resolved\n------------------+-------------+---------+------------\n CrashLoopBackoff | api         |       2 |          0\n CrashLoopBackoff | web         |       1 |          1\n```" {
		t.Errorf("updated summary:\n%s", strings.Join(last, "\n"))
	}

	// Another namespace is another group: its own summary message.
	send(crash("dev", "api-1", "api"))
	calls = cs.take()
	if len(calls) != 2 || calls[0].Method != "chat.postMessage" || calls[1].ThreadTS != "1700000000.000006" ||
		!strings.Contains(calls[0].Text, "namespace: dev") {
		t.Errorf("second group: %+v", calls)
	}

	// Past the interval: a new message for prod, counts from one.
	*now = now.Add(10 * time.Minute)
	send(crash("prod", "api-3", "api"))
	calls = cs.take()
	if len(calls) != 2 || calls[0].Method != "chat.postMessage" || sectionTexts(calls[0])[0] != "*Alerts Summary - 1 Notifications*" ||
		calls[1].ThreadTS != "1700000000.000008" {
		t.Errorf("after the interval: %+v", calls)
	}
}

// Summary mode without threads: only the summary, no findings; a retried Send of the
// same finding is not counted twice.
func TestGroupingSummaryUnthreaded(t *testing.T) {
	cs := &chatServer{t: t}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	s, _ := groupedSink(t, srv.URL, `notification_mode: {summary: {threaded: false}}`)
	f := crash("prod", "api-1", "api")
	for _, x := range []*engine.Finding{f, f, crash("prod", "api-2", "api")} {
		if _, err := s.Send(context.Background(), x); err != nil {
			t.Fatal(err)
		}
	}
	calls := cs.take()
	if len(calls) != 3 || calls[0].Method != "chat.postMessage" || calls[1].Method != "chat.update" || calls[2].Method != "chat.update" {
		t.Fatalf("%+v", calls)
	}
	got := sectionTexts(calls[2])
	if got[0] != "*Alerts Summary - 2 Notifications*" || got[2] != "*Matching criteria*: `cluster: kind-1`" ||
		got[4] != "```\n notification     |   Fired |   Resolved\n------------------+---------+------------\n CrashLoopBackoff |       2 |          0\n```" ||
		len(got) != 5 {
		t.Errorf("summary:\n%s", strings.Join(got, "\n"))
	}
}

// Regular mode: a group's findings go out once ignore_first of them came within the
// interval.
func TestGroupingRegular(t *testing.T) {
	cs := &chatServer{t: t}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	s, now := groupedSink(t, srv.URL, `{group_by: [namespace], interval: 60, notification_mode: {regular: {ignore_first: 3}}}`)
	var sent []int
	for i := 1; i <= 5; i++ {
		if i == 5 {
			*now = now.Add(2 * time.Minute) // the earlier ones are out of the interval
		}
		if _, err := s.Send(context.Background(), crash("prod", fmt.Sprint("p", i), "a")); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, len(cs.take()))
	}
	if fmt.Sprint(sent) != "[0 0 1 1 0]" {
		t.Errorf("messages per finding: %v", sent)
	}
}

func TestGroupingParamErrors(t *testing.T) {
	for _, c := range []struct{ grouping, want string }{
		{`{group_by: [cluster]}`, "grouping.notification_mode: set summary"},
		{`{notification_mode: {summary: {}, regular: {ignore_first: 2}}}`, "summary or regular, not both"},
		{`{notification_mode: {regular: {ignore_first: 0}}}`, "ignore_first must be a whole number of at least 1"},
		{`{interval: soon, notification_mode: {summary: {}}}`, "grouping.interval must be a whole number of seconds"},
		{`{notification_mode: {summary: {by: [{namespace: [x]}]}}}`, "only labels and annotations take a list of keys"},
		{`{notification_mode: {summary: {by: [{labels: [a], annotations: [b]}]}}}`, "one key per entry"},
		{`{group_by: cluster, notification_mode: {summary: {}}}`, "grouping.group_by must be a list"},
	} {
		var g map[string]any
		if err := yaml.Unmarshal([]byte(c.grouping), &g); err != nil {
			t.Fatal(err)
		}
		_, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "team", "slack_channel": "#a", "api_key": token, "grouping": g}}, sinks.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "sink team: ") {
			t.Errorf("%s: err = %v, want %q", c.grouping, err, c.want)
		}
	}
}

// The runner's tabulate "presto" tables and humanize intervals.
func TestPrestoAndDuration(t *testing.T) {
	got := presto([]string{"namespace", "Fired", "Resolved"}, [][]string{{"default", "3", "0"}, {"kube-system", "12", "1"}})
	want := " namespace   |   Fired |   Resolved\n-------------+---------+------------\n default     |       3 |          0\n kube-system |      12 |          1"
	if got != want {
		t.Errorf("presto:\n%q\nwant\n%q", got, want)
	}
	for sec, want := range map[int]string{900: "15 minutes", 60: "1 minute", 90: "1 minute and 30 seconds", 3661: "1 hour, 1 minute and 1 second", 86400: "1 day", 0: "0 seconds"} {
		if got := humanDuration(sec); got != want {
			t.Errorf("humanDuration(%d) = %q, want %q", sec, got, want)
		}
	}
	// Too many groups for one block: the least counted rows go, and the note says
	// what they held.
	var rows [][]string
	for i := 0; i < 200; i++ {
		rows = append(rows, []string{fmt.Sprintf("group-%03d", i), "1", "0"})
	}
	table, omitted := summaryTable([]string{"namespace", "Fired", "Resolved"}, rows)
	if omitted == 0 || !strings.Contains(table, fmt.Sprintf("... %d more groups (%d fired", omitted, omitted)) {
		t.Errorf("omitted %d, table ends %q", omitted, table[len(table)-60:])
	}
	if len(table) > blockBudget || !strings.HasSuffix(table, " fired, 0 resolved) not shown\n```") {
		t.Errorf("long table: %d characters, ends %q", len(table), table[len(table)-60:])
	}
}
