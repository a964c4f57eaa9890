package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// hookStandIn records JSON posts, answering with status and body, as an incoming
// webhook service does.
type hookStandIn struct {
	*httptest.Server
	mu    sync.Mutex
	posts []map[string]any
	ctype []string
}

func newHookStandIn(t *testing.T, status int, answer string) *hookStandIn {
	h := &hookStandIn{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if r.Method != http.MethodPost || json.Unmarshal(b, &m) != nil {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.posts = append(h.posts, m)
		h.ctype = append(h.ctype, r.Header.Get("Content-Type")+" "+r.URL.Path)
		h.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookStandIn) snapshot() ([]map[string]any, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.posts...), append([]string(nil), h.ctype...)
}

// TestLocalWatchSinks runs the "Track Kubernetes Changes" tutorial's image-change
// playbook with no sinks of its own, so the default sinks get the diff, each through
// its routing: Slack (chat.postMessage with Block Kit), Teams (an Adaptive Card) with
// a scope that excludes one namespace, PagerDuty (Events API v2) matching only that
// namespace, and a second Slack sink whose channel Slack refuses. The bot token never
// shows in the watch's output.
func TestLocalWatchSinks(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)
	const loud, quiet = "w-sinks", "w-sinks-quiet"
	for _, ns := range []string{loud, quiet} {
		if err := c.EnsureNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
		createShop(t, c, ns)
	}
	slack := newSlackStandIn(t, map[string]string{"k8s-changes": "", "archived": "is_archived"})
	teams := newHookStandIn(t, 200, "1")
	pd := newHookStandIn(t, 202, `{"status":"success","message":"Event processed"}`)
	const token = "xoxb-e2e-S3CR3T-4242"
	dir := t.TempDir()
	values := filepath.Join(dir, "values.yaml")
	writeText(t, values, `globalConfig: {cluster_name: laptop}
sinksConfig:
- slack_sink: {name: main_slack_sink, slack_channel: k8s-changes, api_key: `+token+`}
- slack_sink: {name: old_slack_sink, slack_channel: archived, api_key: `+token+`}
- ms_teams_sink:
    name: teams
    webhook_url: https://example.invalid/webhookb2/x
    scope: {exclude: [{namespace: `+quiet+`}]}
- pagerduty_sink:
    name: pd
    api_key: R0UTING-KEY
    match: {namespace: `+quiet+`}
customPlaybooks:
- triggers:
    - on_deployment_update:
        change_filters:
          include: ["image"]
  actions:
    - resource_babysitter: {}
`)
	w := startWatch(t, env, "-f", values, "--workers", "1",
		"--sink-url", "main_slack_sink="+slack.URL, "--sink-url", "old_slack_sink="+slack.URL,
		"--sink-url", "teams="+teams.URL, "--sink-url", "pd="+pd.URL)

	// The quiet namespace first: with one worker its finding is routed before the
	// other, and each sink delivers in order.
	for _, ns := range []string{quiet, loud} {
		setShopImage(t, c, ns, "nginx:1.25")
	}
	waitFor(t, func() bool { p, _ := teams.snapshot(); return len(p) >= 1 }, "a Teams card")
	waitFor(t, func() bool { p, _ := slack.snapshot(); return len(p) >= 4 }, "4 Slack posts")
	waitFor(t, func() bool { p, _ := pd.snapshot(); return len(p) >= 1 }, "a PagerDuty event")
	time.Sleep(time.Second) // anything misrouted would arrive now

	// Slack: both namespaces, to each channel, as chat.postMessage documents it.
	posts, auth := slack.snapshot()
	if len(posts) != 4 {
		t.Fatalf("%d Slack posts, want 2 per channel: %v", len(posts), posts)
	}
	perChannel := map[string]int{}
	diffIn := map[string]bool{}
	for i, p := range posts {
		if auth[i] != "Bearer "+token {
			t.Errorf("post %d: Authorization %q, want the bot token as a Bearer token", i, auth[i])
		}
		ch, _ := p["channel"].(string)
		perChannel[ch]++
		if text, _ := p["text"].(string); text == "" {
			t.Errorf("post %d: no top-level text (Slack's notification fallback)", i)
		}
		blocks, ok := p["blocks"].([]any)
		if !ok || len(blocks) == 0 || len(blocks) > 50 {
			t.Fatalf("post %d: blocks must be 1 to 50 Block Kit blocks: %v", i, p["blocks"])
		}
		all := ""
		for _, b := range blocks {
			all += checkSlackBlock(t, b)
		}
		if strings.Contains(all, "nginx:1.24") && strings.Contains(all, "nginx:1.25") && strings.Contains(all, "image") {
			for _, ns := range []string{loud, quiet} {
				if strings.Contains(all, ns+"/shop") {
					diffIn[ns+" "+ch] = true
				}
			}
		}
	}
	if perChannel["k8s-changes"] != 2 || perChannel["archived"] != 2 {
		t.Errorf("posts per channel %v", perChannel)
	}
	for _, k := range []string{loud + " k8s-changes", quiet + " k8s-changes"} {
		if !diffIn[k] {
			t.Errorf("no Slack post carries the image diff of %s: %v", k, posts)
		}
	}

	// Teams: only the namespace its scope does not exclude, as an Adaptive Card.
	cards, ctypes := teams.snapshot()
	if len(cards) != 1 {
		t.Fatalf("Teams got %d cards, want 1 (its scope excludes %s): %v", len(cards), quiet, cards)
	}
	if !strings.HasPrefix(ctypes[0], "application/json") {
		t.Errorf("Teams content type %q", ctypes[0])
	}
	card := checkTeamsMessage(t, cards[0])
	if !strings.Contains(card, loud) || strings.Contains(card, quiet) || !strings.Contains(card, "nginx:1.25") {
		t.Errorf("Teams card is not the %s image change: %s", loud, card)
	}

	// PagerDuty: only the namespace its match names, as an Events API v2 event.
	events, paths := pd.snapshot()
	if len(events) != 1 || !strings.HasSuffix(paths[0], " /v2/enqueue") {
		t.Fatalf("PagerDuty got %d events (%v), want 1 at /v2/enqueue: %v", len(events), paths, events)
	}
	ev := events[0]
	payload, _ := ev["payload"].(map[string]any)
	summary, _ := payload["summary"].(string)
	if ev["routing_key"] != "R0UTING-KEY" || ev["event_action"] != "trigger" || ev["dedup_key"] == "" || payload == nil ||
		summary == "" || utf8.RuneCountInString(summary) > 1024 || payload["source"] != "laptop" ||
		!strings.Contains(payload["component"].(string), quiet+"/shop") {
		t.Errorf("PagerDuty event: %v", ev)
	}
	switch payload["severity"] {
	case "critical", "error", "warning", "info":
	default:
		t.Errorf("PagerDuty severity %v is not one of the Events API's four", payload["severity"])
	}

	// The refused channel is logged, without the token.
	_, e := w.output()
	if !strings.Contains(e, "sink old_slack_sink") || !strings.Contains(e, "is_archived") {
		t.Errorf("the refused Slack channel is not logged:\n%s", e)
	}
	if code := w.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	o, e := w.output()
	if strings.Contains(o+e, "S3CR3T") || strings.Contains(o+e, "R0UTING") {
		t.Errorf("a sink secret reached the watch's output:\n%s\n%s", o, e)
	}
}

// checkSlackBlock checks one block against Block Kit's documented limits and returns
// its text.
func checkSlackBlock(t *testing.T, b any) string {
	t.Helper()
	m, _ := b.(map[string]any)
	textOf := func(v any) (string, string) {
		o, _ := v.(map[string]any)
		s, _ := o["text"].(string)
		typ, _ := o["type"].(string)
		return s, typ
	}
	switch m["type"] {
	case "header":
		s, typ := textOf(m["text"])
		if typ != "plain_text" || s == "" || utf8.RuneCountInString(s) > 150 {
			t.Errorf("header block: plain_text of 1 to 150 characters wanted: %v", m)
		}
		return s + "\n"
	case "section":
		s, typ := textOf(m["text"])
		if (typ != "mrkdwn" && typ != "plain_text") || s == "" || utf8.RuneCountInString(s) > 3000 {
			t.Errorf("section block: text of 1 to 3000 characters wanted: %v", m)
		}
		return s + "\n"
	case "context":
		els, _ := m["elements"].([]any)
		if len(els) == 0 || len(els) > 10 {
			t.Errorf("context block: 1 to 10 elements wanted: %v", m)
		}
		out := ""
		for _, el := range els {
			s, _ := textOf(el)
			out += s + "\n"
		}
		return out
	case "divider":
		return ""
	}
	t.Errorf("block of an unexpected type: %v", m)
	return ""
}

// checkTeamsMessage checks a Teams webhook message: one Adaptive Card attachment, as
// Teams documents for incoming webhooks; it returns the card's text.
func checkTeamsMessage(t *testing.T, m map[string]any) string {
	t.Helper()
	atts, _ := m["attachments"].([]any)
	if m["type"] != "message" || len(atts) != 1 {
		t.Fatalf("Teams message: want type message with one attachment: %v", m)
	}
	att, _ := atts[0].(map[string]any)
	card, _ := att["content"].(map[string]any)
	if att["contentType"] != "application/vnd.microsoft.card.adaptive" || card["type"] != "AdaptiveCard" || card["version"] == nil {
		t.Fatalf("Teams attachment is not an Adaptive Card: %v", att)
	}
	b, _ := json.Marshal(card["body"])
	if len(b) > 28000 {
		t.Errorf("card body %d bytes, over Teams' limit", len(b))
	}
	return string(b)
}

// TestLocalWatchSinkBadInput: a --sink-url for no sink (a typo would reach the real
// service), a sink's malformed routing and a sink missing a required field each stop
// the watch with one line naming the sink.
func TestLocalWatchSinkBadInput(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	dir := t.TempDir()
	values := filepath.Join(dir, "values.yaml")
	playbook := "customPlaybooks:\n- triggers: [{on_pod_update: {}}]\n  actions: [{create_finding: {title: x}}]\n"
	for _, tc := range []struct {
		sinks string
		args  []string
		want  string
	}{
		{"- slack_sink: {name: chat, slack_channel: c, api_key: xoxb-S3CR3T}\n", []string{"--sink-url", "chta=http://127.0.0.1:1"},
			"--sink-url chta: sinksConfig has no sink of that name; its sinks are chat"},
		{"- slack_sink: {name: chat, slack_channel: c, api_key: xoxb-S3CR3T, scope: {include: [{name: '('}]}}\n", nil,
			"sink chat: scope: include[0].name: bad regex"},
		{"- slack_sink: {name: chat, slack_channel: c, api_key: xoxb-S3CR3T, match: {colour: red}}\n", nil,
			`sink chat: match names unknown attribute "colour"`},
		{"- pagerduty_sink: {name: pd}\n", nil, "sink pagerduty_sink needs parameter api_key"},
		{"- mail_sink: {name: m, mailto: 'smtp.example.com'}\n", nil, "sink m: mailto must look like mailto://"},
		{"- webhook_sink: {name: h, url: 'http://x', format: xml}\n", nil, `webhook_sink h: format "xml" is not text or json`},
	} {
		writeText(t, values, "sinksConfig:\n"+tc.sinks+playbook)
		r := run(t, env, append([]string{"local", "watch", "-f", values}, tc.args...)...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		last := lines[len(lines)-1]
		if r.code == 0 || !strings.Contains(last, tc.want) || strings.Contains(r.stderr, "S3CR3T") || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("%s%v: want a non-zero exit with %q on the last line\n%s", tc.sinks, tc.args, tc.want, r)
		}
	}
}
