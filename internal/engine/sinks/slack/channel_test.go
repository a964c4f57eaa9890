package slack

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

func teamFinding(name, team string) *engine.Finding {
	f := crash("prod", name, "api")
	if team != "" {
		f.Subject.Labels["team"] = team
	}
	return f
}

// channel_override picks each finding's channel from its labels, the sink's channel
// when the label is missing; with grouping, each channel has its own groups, so its
// own summary message and thread.
func TestChannelOverride(t *testing.T) {
	for _, c := range []struct {
		name     string
		grouping string
		findings []*engine.Finding
		// want is each call as method channel [thread]
		want []string
	}{
		{
			name:     "ungrouped",
			findings: []*engine.Finding{teamFinding("a", "payments"), teamFinding("b", ""), teamFinding("c", "search")},
			want:     []string{"chat.postMessage payments", "chat.postMessage #alerts", "chat.postMessage search"},
		},
		{
			name:     "summary per channel",
			grouping: `{group_by: [cluster], notification_mode: {summary: {threaded: true}}}`,
			findings: []*engine.Finding{teamFinding("a", "payments"), teamFinding("b", ""), teamFinding("c", "payments")},
			want: []string{
				"chat.postMessage payments", "chat.postMessage payments 1700000000.000001",
				"chat.postMessage #alerts", "chat.postMessage #alerts 1700000000.000003",
				"chat.update C7 ts=1700000000.000001", "chat.postMessage payments 1700000000.000001",
			},
		},
		{
			name:     "regular per channel",
			grouping: `{group_by: [cluster], notification_mode: {regular: {ignore_first: 2}}}`,
			findings: []*engine.Finding{teamFinding("a", "payments"), teamFinding("b", ""), teamFinding("c", "payments")},
			// The #alerts finding is the first of its own group, not the second of one.
			want: []string{"chat.postMessage payments"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs := &chatServer{t: t, channels: map[string]string{"#alerts": "C42", "payments": "C7", "search": "C9"}}
			srv := httptest.NewServer(cs)
			defer srv.Close()
			s, _ := groupedSinkWith(t, srv.URL, c.grouping, map[string]any{"channel_override": "labels.team"})
			for _, f := range c.findings {
				if _, err := s.Send(context.Background(), f); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, call := range cs.take() {
				g := call.Method + " " + call.Channel
				if call.ThreadTS != "" {
					g += " " + call.ThreadTS
				}
				if call.Method == "chat.update" {
					g += " ts=" + call.TS
				}
				got = append(got, g)
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("calls:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// A channel_override that names nothing to take the channel from fails the sink's
// load with one line.
func TestChannelOverrideInvalid(t *testing.T) {
	_, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "team", "slack_channel": "#a", "api_key": token, "channel_override": "#other"}}, sinks.Options{})
	if err == nil || !strings.HasPrefix(err.Error(), `sink team: channel_override "#other" names no value`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v", err)
	}
}

// workload is the finding's owner workload (None without one); annotations are the
// subject's.
func TestGroupingWorkloadAndAnnotations(t *testing.T) {
	cs := &chatServer{t: t}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	s, _ := groupedSink(t, srv.URL, `{group_by: [workload], notification_mode: {summary: {threaded: false, by: [{annotations: [owner]}]}}}`)
	api1, api2, lone := crash("prod", "api-7d9f-1", "api"), crash("prod", "api-7d9f-2", "api"), crash("prod", "lone", "x")
	api1.Workload = &engine.Workload{Name: "api", Namespace: "prod", Kind: "Deployment"}
	api2.Workload = api1.Workload
	api1.Subject.Annotations = map[string]string{"owner": "sre"}
	for _, f := range []*engine.Finding{api1, api2, lone} {
		if _, err := s.Send(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	calls := cs.take()
	if len(calls) != 3 || calls[0].Method != "chat.postMessage" || calls[1].Method != "chat.update" || calls[2].Method != "chat.postMessage" {
		t.Fatalf("%+v", calls)
	}
	if calls[1].Text != "Summary for: workload: api" || calls[2].Text != "Summary for: workload: (undefined)" {
		t.Errorf("group headers %q, %q", calls[1].Text, calls[2].Text)
	}
	table := sectionTexts(calls[1])[4]
	want := "```\n annotation:owner   |   Fired |   Resolved\n--------------------+---------+------------\n None               |       1 |          0\n sre                |       1 |          0\n```"
	if table != want {
		t.Errorf("table:\n%s\nwant\n%s", table, want)
	}
}

// A summary table too long for its block: from the first update on, the whole table
// goes as a file into the summary's thread, linked from the message; the file is
// re-uploaded at most once a minute and the one it replaces deleted after the
// message links the new one.
func TestSummaryTableAttached(t *testing.T) {
	cs := &chatServer{t: t}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	s, now := groupedSink(t, srv.URL, `{notification_mode: {summary: {threaded: false, by: [name]}}}`)
	send := func(i int) []slackCall {
		t.Helper()
		f := crash("prod", fmt.Sprintf("a-rather-long-pod-name-for-the-table-%03d", i), "api")
		if _, err := s.Send(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		return cs.take()
	}
	methods := func(cs []slackCall) string {
		var m []string
		for _, c := range cs {
			m = append(m, c.Method)
		}
		return strings.Join(m, " ")
	}
	// Fill the table until a row no longer fits: up to then, plain updates.
	i := 0
	var calls []slackCall
	for ; i < 100; i++ {
		calls = send(i)
		if len(calls) > 1 {
			break
		}
		if i > 0 && calls[0].Method != "chat.update" || strings.Contains(calls[0].Text, "alerts-summary.txt") {
			t.Fatalf("finding %d: %+v", i, calls)
		}
	}
	if i == 100 {
		t.Fatal("the table never overflowed")
	}
	// The overflowing update uploaded the file into the summary's thread and links it.
	if methods(calls) != "files.getUploadURLExternal files.completeUploadExternal chat.update" ||
		!strings.HasSuffix(calls[2].Text, "\n<https://slack.example/files/F1|alerts-summary.txt>") {
		t.Errorf("overflowing update: %s, text %q", methods(calls), calls[len(calls)-1].Text)
	}
	if cs.shared["F1"] != "C42/1700000000.000001" {
		t.Errorf("file shared into %q", cs.shared["F1"])
	}
	for _, name := range []string{"a-rather-long-pod-name-for-the-table-000", fmt.Sprintf("a-rather-long-pod-name-for-the-table-%03d", i)} {
		if !strings.Contains(cs.files["F1"], name) {
			t.Errorf("attached table lacks %s", name)
		}
	}
	if lines := strings.Count(cs.files["F1"], "\n") + 1; lines != i+1+2 {
		t.Errorf("attached table has %d lines, want %d rows and the header", lines, i+1)
	}

	*now = now.Add(30 * time.Second)
	got := send(i + 1)
	if methods(got) != "chat.update" {
		t.Fatalf("within a minute: %s", methods(got))
	}
	texts := sectionTexts(got[0])
	if texts[len(texts)-1] != fmt.Sprintf("<https://slack.example/files/F1|See all %d groups> (attached)", i+2) ||
		!strings.HasSuffix(got[0].Text, "\n<https://slack.example/files/F1|alerts-summary.txt>") {
		t.Errorf("update without a fresh upload: %q / %q", texts[len(texts)-1], got[0].Text)
	}

	*now = now.Add(31 * time.Second)
	got = send(i + 2)
	if methods(got) != "files.getUploadURLExternal files.completeUploadExternal chat.update files.delete" {
		t.Fatalf("after a minute: %s", methods(got))
	}
	if !strings.Contains(got[2].Text, "files/F2|") || fmt.Sprint(cs.deleted) != "[F1]" {
		t.Errorf("new file not linked or old not deleted: %q, deleted %v", got[2].Text, cs.deleted)
	}

	// A new interval is a new message: the old one keeps its file, and the new one
	// has none until it overflows in turn.
	*now = now.Add(20 * time.Minute)
	got = send(i + 3)
	if methods(got) != "chat.postMessage" || strings.Contains(got[0].Text, "alerts-summary.txt") {
		t.Errorf("new interval: %s %q", methods(got), got[0].Text)
	}
	for j := i + 4; j < 2*i+5; j++ {
		send(j)
	}
	if fmt.Sprint(cs.deleted) != "[F1]" || cs.nfiles != 3 || !strings.HasPrefix(cs.shared["F3"], "C42/1700000000.000002") {
		t.Errorf("after the new interval overflowed: deleted %v, %d files, F3 in %q", cs.deleted, cs.nfiles, cs.shared["F3"])
	}
}
