package slack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

const token = "xoxb-test-s3cret"

// fakeSlack checks each call against the Web API's documented shape and records it.
type fakeSlack struct {
	t       *testing.T
	mu      sync.Mutex
	calls   []string
	message map[string]any
	upload  []byte
	done    map[string]any
	answer  string // chat.postMessage answer override
}

func (fs *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.calls = append(fs.calls, r.URL.Path)
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path != "/upload/F1" && r.Header.Get("Authorization") != "Bearer "+token {
		fs.t.Errorf("%s: Authorization %q", r.URL.Path, r.Header.Get("Authorization"))
	}
	switch r.URL.Path {
	case "/api/chat.postMessage":
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			fs.t.Errorf("postMessage content type %q", r.Header.Get("Content-Type"))
		}
		if fs.answer != "" {
			io.WriteString(w, fs.answer)
			return
		}
		json.Unmarshal(body, &fs.message)
		io.WriteString(w, `{"ok":true,"channel":"C123","ts":"1700000000.000100"}`)
	case "/api/files.getUploadURLExternal":
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			fs.t.Errorf("getUploadURLExternal content type %q", r.Header.Get("Content-Type"))
		}
		v, _ := url.ParseQuery(string(body))
		if v.Get("filename") != "app.log" || v.Get("length") != "8" {
			fs.t.Errorf("getUploadURLExternal form %v", v)
		}
		io.WriteString(w, `{"ok":true,"upload_url":"http://`+r.Host+`/upload/F1","file_id":"F1"}`)
	case "/upload/F1":
		fs.upload = body
	case "/api/files.completeUploadExternal":
		json.Unmarshal(body, &fs.done)
		io.WriteString(w, `{"ok":true}`)
	default:
		fs.t.Errorf("unexpected call %s", r.URL.Path)
		w.WriteHeader(404)
	}
}

func newSink(t *testing.T, fs *fakeSlack) (sinks.Sink, *httptest.Server) {
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	s, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "sl", "slack_channel": "alerts", "api_key": token}}, sinks.Options{BaseURLs: map[string]string{"sl": srv.URL + "/api"}, ClusterName: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	return s, srv
}

func TestSlackPostsBlocksAndUploadsFiles(t *testing.T) {
	fs := &fakeSlack{t: t}
	s, _ := newSink(t, fs)
	f := &engine.Finding{Title: "Deployment changed", Severity: engine.Info, Subject: engine.Subject{Kind: "Deployment", Name: "web", Namespace: "prod"}}
	f.AddEnrichment("Changes", engine.Diffs([][]string{{"spec.template.spec.containers[0].image", "nginx:1.25", "nginx:1.26"}}))
	f.AddEnrichment("", engine.Markdown(strings.Repeat("é", 4000)), engine.File("app.log", []byte("line one")))
	if _, err := s.Send(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	want := []string{"/api/chat.postMessage", "/api/files.getUploadURLExternal", "/upload/F1", "/api/files.completeUploadExternal"}
	if strings.Join(fs.calls, ",") != strings.Join(want, ",") {
		t.Errorf("calls = %v, want %v", fs.calls, want)
	}
	if fs.message["channel"] != "alerts" || fs.message["text"] != "Deployment changed" {
		t.Errorf("message = %v", fs.message)
	}
	blocks, _ := fs.message["blocks"].([]any)
	if len(blocks) == 0 || len(blocks) > maxBlocks {
		t.Fatalf("%d blocks", len(blocks))
	}
	raw, _ := json.Marshal(blocks)
	if !strings.Contains(string(raw), "nginx:1.25") || !strings.Contains(string(raw), "nginx:1.26") {
		t.Errorf("diff not in blocks: %s", raw)
	}
	if first := blocks[0].(map[string]any); first["type"] != "header" {
		t.Errorf("first block %v, want the header", first)
	}
	for _, b := range blocks {
		bm := b.(map[string]any)
		if bm["type"] == "section" {
			txt := bm["text"].(map[string]any)["text"].(string)
			if utf8.RuneCountInString(txt) > maxSectionLen {
				t.Errorf("section of %d characters, over Slack's %d", utf8.RuneCountInString(txt), maxSectionLen)
			}
		}
	}
	if string(fs.upload) != "line one" {
		t.Errorf("uploaded %q", fs.upload)
	}
	if fs.done["channel_id"] != "C123" || fs.done["thread_ts"] != "1700000000.000100" {
		t.Errorf("completeUploadExternal = %v, want the posted message's channel and thread", fs.done)
	}
}

func TestSlackErrors(t *testing.T) {
	for _, c := range []struct {
		answer string
		retry  bool
	}{{`{"ok":false,"error":"invalid_auth"}`, false}, {`{"ok":false,"error":"ratelimited"}`, true}} {
		fs := &fakeSlack{t: t, answer: c.answer}
		s, srv := newSink(t, fs)
		retry, err := s.Send(context.Background(), &engine.Finding{Title: "x"})
		if err == nil || retry != c.retry {
			t.Errorf("%s: retry=%v err=%v", c.answer, retry, err)
		}
		if err != nil && (strings.Contains(err.Error(), token) || strings.Contains(err.Error(), srv.URL)) {
			t.Errorf("error leaks the token or URL: %v", err)
		}
	}
	_, err := New(sinks.Config{Type: Type, Params: map[string]any{"name": "sl", "api_key": token}}, sinks.Options{})
	if err == nil || !strings.Contains(err.Error(), `"slack_channel"`) || strings.Contains(err.Error(), token) {
		t.Errorf("missing channel: err = %v", err)
	}
}

// An empty file (an unavailable log) is not uploaded, as the runner's Slack sink skips
// an EmptyFileBlock.
func TestSlackSkipsEmptyFiles(t *testing.T) {
	fs := &fakeSlack{t: t}
	s, _ := newSink(t, fs)
	f := &engine.Finding{Title: "Logs", Severity: engine.Info}
	f.AddEnrichment("Logs", engine.EmptyFile("web-1.log", "Logs unavailable for container: app"))
	if _, err := s.Send(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if strings.Join(fs.calls, ",") != "/api/chat.postMessage" {
		t.Errorf("calls = %v, want only the message", fs.calls)
	}
}
