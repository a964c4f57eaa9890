package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"
)

// slackStandIn answers chat.postMessage as Slack does: channels maps a channel name to
// the error Slack gives for it ("" for ok); unknown channels are channel_not_found.
type slackStandIn struct {
	*httptest.Server
	mu    sync.Mutex
	posts []map[string]any
	auth  []string
}

func newSlackStandIn(t *testing.T, channels map[string]string) *slackStandIn {
	s := &slackStandIn{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/chat.postMessage" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || json.Unmarshal(b, &body) != nil {
			http.Error(w, "unexpected request "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.posts = append(s.posts, body)
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		ch, _ := body["channel"].(string)
		code, ok := channels[ch]
		if !ok {
			code = "channel_not_found"
		}
		w.Header().Set("Content-Type", "application/json")
		if code == "" {
			_, _ = io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1.2"}`)
			return
		}
		_, _ = io.WriteString(w, `{"ok":false,"error":"`+code+`"}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// snapshot copies what was posted, under the lock the handler writes under.
func (s *slackStandIn) snapshot() ([]map[string]any, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.posts...), append([]string(nil), s.auth...)
}

func (s *slackStandIn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.posts)
}

func TestGenConfigSlackVerification(t *testing.T) {
	slack := newSlackStandIn(t, map[string]string{"ops": "", "private": "not_in_channel"})
	dir := t.TempDir()
	env := append(kubeconfigEnv(filepath.Join(dir, "none")), "ROBUSTA_SLACK_API_URL="+slack.URL)
	base := []string{"gen-config", "--no-input", "--cluster-name", "c", "--slack-api-key", "xoxb-k1"}

	out := filepath.Join(dir, "ok.yaml")
	r := run(t, env, append(base, "--slack-channel", "#ops", "--output-path", out)...)
	if r.code != 0 || slack.count() != 1 {
		t.Fatalf("posts %d\n%s", slack.count(), r)
	}
	posts, auth := slack.snapshot()
	p := posts[0]
	// What the Python CLI's chat_postMessage sends, blocks aside (their text is ours).
	if p["channel"] != "ops" || p["text"] != "Welcome to Robusta" || p["display_as_bot"] != true || p["unfurl_links"] != true || p["unfurl_media"] != true || len(p["blocks"].([]any)) == 0 || auth[0] != "Bearer xoxb-k1" {
		t.Fatalf("posted %v with %q", p, auth[0])
	}

	for _, tc := range []struct{ channel, want string }{
		{"nope", "channel_not_found: #nope does not exist"},
		{"private", "not_in_channel: the Robusta app is not a member of #private: invite it"},
	} {
		bad := filepath.Join(dir, tc.channel+".yaml")
		r := run(t, env, append(base, "--slack-channel", tc.channel, "--output-path", bad)...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "--skip-verify") || strings.Contains(r.stderr, "goroutine") {
			t.Fatalf("%s: %s", tc.channel, r)
		}
		if _, err := os.Stat(bad); err == nil {
			t.Fatalf("%s: a file was written after a refused channel", tc.channel)
		}
	}

	n := slack.count()
	r = run(t, env, append(base, "--slack-channel", "nope", "--skip-verify", "--output-path", filepath.Join(dir, "skip.yaml"))...)
	if r.code != 0 || slack.count() != n {
		t.Fatalf("--skip-verify posted (%d -> %d)\n%s", n, slack.count(), r)
	}
}

func TestGenConfigNoFormsAndSecretSources(t *testing.T) {
	slack := newSlackStandIn(t, map[string]string{"ops": ""})
	dir := t.TempDir()
	env := append(kubeconfigEnv(filepath.Join(dir, "none")), "ROBUSTA_SLACK_API_URL="+slack.URL)

	// --no-X forms set false; with --X they are a usage error.
	out := filepath.Join(dir, "no.yaml")
	r := run(t, env, "gen-config", "--no-input", "--cluster-name", "c", "--output-path", out, "--enable-prometheus-stack", "--no-playbooks-persistent-volume", "--no-is-small-cluster")
	if r.code != 0 {
		t.Fatal(r)
	}
	v := readValues(t, out)
	if v["enablePrometheusStack"] != true || v["playbooksPersistentVolume"] != nil || v["isSmallCluster"] != nil {
		t.Fatalf("values: %v", v)
	}
	r = run(t, env, "gen-config", "--no-input", "--cluster-name", "c", "--output-path", filepath.Join(dir, "x.yaml"), "--enable-prometheus-stack", "--no-enable-prometheus-stack")
	if r.code != 2 || !strings.Contains(r.stderr, "--enable-prometheus-stack and --no-enable-prometheus-stack both given") {
		t.Fatal(r)
	}

	// The key from the environment, from a file and from stdin; never in argv.
	keyFile := filepath.Join(dir, "key")
	_ = os.WriteFile(keyFile, []byte("xoxb-from-file\n"), 0o600)
	for _, tc := range []struct {
		name  string
		env   []string
		args  []string
		stdin string
		want  string
	}{
		{"env", []string{"ROBUSTA_SLACK_API_KEY=xoxb-from-env"}, nil, "", "xoxb-from-env"},
		{"file", nil, []string{"--slack-api-key-file", keyFile}, "", "xoxb-from-file"},
		{"stdin", nil, []string{"--slack-api-key-file", "-"}, "xoxb-from-stdin\n", "xoxb-from-stdin"},
	} {
		out := filepath.Join(dir, tc.name+".yaml")
		args := append([]string{"gen-config", "--no-input", "--cluster-name", "c", "--slack-channel", "ops", "--output-path", out}, tc.args...)
		r := runStdin(t, append(env, tc.env...), tc.stdin, args...)
		if r.code != 0 {
			t.Fatalf("%s: %s", tc.name, r)
		}
		sink := readValues(t, out)["sinksConfig"].([]any)[0].(map[string]any)["slack_sink"].(map[string]any)
		_, auth := slack.snapshot()
		if len(auth) == 0 || sink["api_key"] != tc.want || auth[len(auth)-1] != "Bearer "+tc.want {
			t.Fatalf("%s: sink %v, auth %q", tc.name, sink, auth)
		}
	}
	r = run(t, env, "gen-config", "--no-input", "--cluster-name", "c", "--slack-channel", "ops", "--slack-api-key", "a", "--slack-api-key-file", keyFile, "--output-path", filepath.Join(dir, "y.yaml"))
	if r.code != 2 || !strings.Contains(r.stderr, "--slack-api-key and --slack-api-key-file both given") {
		t.Fatal(r)
	}
	r = run(t, env, "gen-config", "--no-input", "--cluster-name", "c", "--slack-channel", "ops", "--slack-api-key-file", filepath.Join(dir, "missing"), "--output-path", filepath.Join(dir, "y.yaml"))
	if r.code != 2 || !strings.Contains(r.stderr, "--slack-api-key-file") {
		t.Fatal(r)
	}
}

// platformStandIn records the requests the CLI sends to the Robusta platform.
type platformStandIn struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []platformReq
	// handle answers a request; nil answers 404.
	handle func(w http.ResponseWriter, r *http.Request, body map[string]any)
}

type platformReq struct {
	Method, Path, Query string
	Body                map[string]any
}

func newPlatformStandIn(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body map[string]any)) *platformStandIn {
	p := &platformStandIn{handle: handle}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			_ = json.Unmarshal(b, &body)
		}
		p.mu.Lock()
		p.reqs = append(p.reqs, platformReq{r.Method, r.URL.Path, r.URL.RawQuery, body})
		p.mu.Unlock()
		if p.handle == nil {
			http.NotFound(w, r)
			return
		}
		p.handle(w, r, body)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *platformStandIn) requests() []platformReq {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]platformReq(nil), p.reqs...)
}

func TestGenConfigUIKeysProfileAndEULA(t *testing.T) {
	platform := newPlatformStandIn(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		if r.URL.Path == "/eula.html" {
			_, _ = io.WriteString(w, "ok")
			return
		}
		http.NotFound(w, r)
	})
	dir := t.TempDir()
	profile := filepath.Join(dir, "robusta_cli_config.json")
	_ = os.WriteFile(profile, []byte(`{"robusta_cloud_api_host": "`+platform.URL+`", "robusta_ui_domain": "https://platform.example.com",
 "robusta_relay_ws_address": "wss://relay.example.com", "robusta_relay_external_actions_url": "https://api.example.com/integrations/generic/actions",
 "robusta_telemetry_endpoint": "https://api.example.com/telemetry", "robusta_store_token_url": "https://api.example.com/auth/server/tokens"}`), 0o600)
	env := append(kubeconfigEnv(filepath.Join(dir, "none")), "ROBUSTA_BACKEND_PROFILE="+profile, "ROBUSTA_ROBUSTA_API_KEY="+uiToken)
	out := filepath.Join(dir, "v.yaml")
	r := run(t, env, "gen-config", "--no-input", "--cluster-name", "c", "--accept-eula", "--output-path", out)
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", platform.URL+"/eula.html")
	reqs := platform.requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/eula.html" || reqs[0].Query != "account_id=acc-e2e" {
		t.Fatalf("platform requests: %+v", reqs)
	}
	v := readValues(t, out)
	if v["enableHolmesGPT"] != true || v["enablePlatformPlaybooks"] != true || v["enabledManagedConfiguration"] != true {
		t.Fatalf("values: %v", v)
	}
	holmes := v["holmes"].(map[string]any)["additional_env_vars"].([]any)
	if len(holmes) != 1 || holmes[0].(map[string]any)["name"] != "ROBUSTA_AI" || holmes[0].(map[string]any)["value"] != "true" {
		t.Fatalf("holmes: %v", holmes)
	}
	envs := v["runner"].(map[string]any)["additional_env_vars"].([]any)
	want := map[string]string{"RELAY_EXTERNAL_ACTIONS_URL": "https://api.example.com/integrations/generic/actions", "WEBSOCKET_RELAY_ADDRESS": "wss://relay.example.com",
		"ROBUSTA_UI_DOMAIN": "https://platform.example.com", "ROBUSTA_TELEMETRY_ENDPOINT": "https://api.example.com/telemetry"}
	if len(envs) != len(want) {
		t.Fatalf("runner env: %v", envs)
	}
	for _, e := range envs {
		m := e.(map[string]any)
		if want[m["name"].(string)] != m["value"] {
			t.Fatalf("runner env: %v", envs)
		}
	}

	// Without --accept-eula and no terminal: the link, a note, nothing sent.
	r = run(t, env, "gen-config", "--no-input", "--cluster-name", "c", "--output-path", filepath.Join(dir, "w.yaml"))
	if r.code != 0 || !strings.Contains(r.stderr, "pass --accept-eula") || len(platform.requests()) != 1 {
		t.Fatal(r)
	}
	// A profile missing a key is refused, naming it.
	_ = os.WriteFile(profile, []byte(`{"robusta_cloud_api_host": "https://api.example.com"}`), 0o600)
	r = run(t, env, "gen-config", "--no-input", "--cluster-name", "c", "--output-path", filepath.Join(dir, "z.yaml"))
	if r.code != 2 || !strings.Contains(r.stderr, "robusta_ui_domain") || !strings.Contains(r.stderr, "self-host gen-config") {
		t.Fatal(r)
	}
}

// On a terminal, a refused channel is reported and asked again.
func TestGenConfigWizardAsksChannelAgain(t *testing.T) {
	slack := newSlackStandIn(t, map[string]string{"good": ""})
	dir := t.TempDir()
	var failures []string
	code, screen := wizardEnv(t, dir, []string{"ROBUSTA_SLACK_API_URL=" + slack.URL},
		[]string{"--cluster-name", "c", "--no-is-small-cluster", "--slack-api-key", "xoxb-w", "--slack-channel", "wrong",
			"--msteams-webhook", "", "--discord-webhook", "", "--webhook-url", "", "--robusta-api-key", "",
			"--no-enable-prometheus-stack", "--playbooks-persistent-volume", "--no-enable-crash-report"},
		func(c *expect.Console) {
			if _, err := c.ExpectString("channel_not_found"); err != nil {
				failures = append(failures, "error: "+err.Error())
			}
			if _, err := c.ExpectString("Slack channel"); err != nil {
				failures = append(failures, "prompt: "+err.Error())
			}
			_, _ = c.ExpectString("\x1b[?25h\x1b[6n")
			time.Sleep(100 * time.Millisecond)
			c.SendLine("#good")
			if _, err := c.ExpectString("Wrote Helm values"); err != nil {
				failures = append(failures, "done: "+err.Error())
			}
			_, _ = c.ExpectEOF()
		})
	if code != 0 || len(failures) > 0 {
		t.Fatalf("exit %d %v\n%s", code, failures, screen)
	}
	sink := readValues(t, filepath.Join(dir, "generated_values.yaml"))["sinksConfig"].([]any)[0].(map[string]any)["slack_sink"].(map[string]any)
	if sink["slack_channel"] != "good" || slack.count() != 2 {
		t.Fatalf("sink %v, posts %d", sink, slack.count())
	}
}

// runStdin is run with stdin fed from in.
func runStdin(t *testing.T, env []string, in string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}, env...)
	cmd.Stdin = strings.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return r
}
