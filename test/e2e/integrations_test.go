package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestIntegrationsUI(t *testing.T) {
	platform := newPlatformStandIn(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if r.Method != http.MethodPost || r.URL.Path != "/accounts/create" || r.Header.Get("Content-Type") != "application/json" {
			http.NotFound(w, r)
			return
		}
		if body["account_name"] == "acme" || body["account_name"] == "acme-1" {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"msg": "Account acme already exists. Please choose a different account name"})
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"token": "tok-" + body["account_name"].(string)})
	})
	env := []string{"KUBECONFIG=" + filepath.Join(t.TempDir(), "none")}
	r := run(t, env, "integrations", "ui", "--backend-url", platform.URL, "--email", "me@example.com", "--account-name", "other")
	if r.code != 0 || r.stdout != "sinksConfig:\n- robusta_sink:\n    name: robusta_ui_sink\n    token: tok-other\n" {
		t.Fatal(r)
	}
	reqs := platform.requests()
	if len(reqs) != 1 || len(reqs[0].Body) != 2 || reqs[0].Body["account_name"] != "other" || reqs[0].Body["email"] != "me@example.com" {
		t.Fatalf("requests: %+v", reqs)
	}
	// A taken name without a terminal: the next free suggestion in the hint.
	r = run(t, env, "integrations", "ui", "--backend-url", platform.URL, "--email", "me@example.com", "--account-name", "acme-1")
	if r.code != 1 || !strings.Contains(r.stderr, `the account name "acme-1" is already in use`) || !strings.Contains(r.stderr, "such as acme-2") {
		t.Fatal(r)
	}
	r = run(t, env, "integrations", "ui", "--backend-url", platform.URL)
	if r.code != 2 || !strings.Contains(r.stderr, "pass --email and --account-name") {
		t.Fatal(r)
	}
	// The backend profile's API host is used without --backend-url.
	profile := filepath.Join(t.TempDir(), "p.json")
	_ = os.WriteFile(profile, []byte(`{"robusta_cloud_api_host": "`+platform.URL+`", "robusta_ui_domain": "u", "robusta_relay_ws_address": "w",
 "robusta_relay_external_actions_url": "x", "robusta_telemetry_endpoint": "t", "robusta_store_token_url": "s"}`), 0o600)
	r = run(t, append(env, "ROBUSTA_BACKEND_PROFILE="+profile), "integrations", "ui", "--email", "me@example.com", "--account-name", "p")
	if r.code != 0 || !strings.Contains(r.stdout, "token: tok-p") {
		t.Fatal(r)
	}
}

func TestIntegrationsSlack(t *testing.T) {
	var polls atomic.Int32
	var id atomic.Value
	platform := newPlatformStandIn(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		if r.Method != http.MethodGet || r.URL.Path != "/integrations/slack/get-token" {
			http.NotFound(w, r)
			return
		}
		id.Store(r.URL.Query().Get("id"))
		// The token arrives at the third poll, as once the user finished in Slack.
		if polls.Add(1) < 3 {
			_, _ = w.Write([]byte(`{"token": null}`))
			return
		}
		_, _ = w.Write([]byte(`{"token": "xoxb-installed", "team-name": "Acme"}`))
	})
	env := []string{"KUBECONFIG=" + filepath.Join(t.TempDir(), "none"), "DISPLAY="}
	r := run(t, env, "integrations", "slack", "--backend-url", platform.URL, "--timeout", "30s")
	if r.code != 0 || r.stdout != "xoxb-installed\n" || !strings.Contains(r.stderr, "Acme") {
		t.Fatal(r)
	}
	flow, _ := id.Load().(string)
	if flow == "" || !strings.Contains(r.stderr, platform.URL+"/integrations/slack?id="+flow) || polls.Load() != 3 {
		t.Fatalf("id %q, polls %d\n%s", flow, polls.Load(), r)
	}
	// Never installed: a timeout naming what to do.
	polls.Store(-1000)
	r = run(t, env, "integrations", "slack", "--backend-url", platform.URL, "--timeout", "2s")
	if r.code != 1 || !strings.Contains(r.stderr, "no Slack key after 2s") || !strings.Contains(r.stderr, "--timeout") {
		t.Fatal(r)
	}
}
