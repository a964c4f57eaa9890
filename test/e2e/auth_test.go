package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	expect "github.com/Netflix/go-expect"
	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

const authSecret = "robusta-auth-config-secret"

// tokenStandIn is the platform's token store: 201 for a body shaped as the Python CLI
// sends it (six string fields, JSON), 401 for the session token "expired".
func tokenStandIn(t *testing.T, path string) *platformStandIn {
	return newPlatformStandIn(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if r.Method != http.MethodPost || r.URL.Path != path || r.Header.Get("Content-Type") != "application/json" {
			http.NotFound(w, r)
			return
		}
		for _, k := range []string{"pub", "account_id", "user_id", "session_token", "enc_key", "key_id"} {
			if s, ok := body[k].(string); !ok || s == "" {
				http.Error(w, "missing "+k, http.StatusBadRequest)
				return
			}
		}
		if len(body) != 6 {
			http.Error(w, "unexpected fields", http.StatusBadRequest)
			return
		}
		if body["session_token"] == "expired" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"msg": "invalid session"}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
}

func setPlaybooksConfig(t *testing.T, c *sandbox.Cluster, ns, active string) {
	t.Helper()
	ctx := context.Background()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "robusta-playbooks-config-secret", Namespace: ns},
		Data: map[string][]byte{"active_playbooks.yaml": []byte(active)}}
	_ = c.Client.CoreV1().Secrets(ns).Delete(ctx, s.Name, metav1.DeleteOptions{})
	if _, err := c.Client.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func xorUUID(a, b string) string {
	x, y := uuid.MustParse(a), uuid.MustParse(b)
	var z uuid.UUID
	for i := range z {
		z[i] = x[i] ^ y[i]
	}
	return z.String()
}

func oneLine(t *testing.T, r result) {
	t.Helper()
	if strings.Contains(r.stderr, "goroutine") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
		t.Fatalf("not a one-line error:\n%s", r)
	}
}

func TestAuthGenToken(t *testing.T) {
	ns := "auth-e2e"
	e := startRunner(t, ns, nil, sandbox.RunnerSpec{ExecDir: t.TempDir()})
	c := e.c
	ctx := context.Background()
	t.Cleanup(func() {
		_ = c.Client.CoreV1().Secrets(ns).Delete(ctx, authSecret, metav1.DeleteOptions{})
		_ = c.Client.CoreV1().Secrets(ns).Delete(ctx, "robusta-playbooks-config-secret", metav1.DeleteOptions{})
	})
	signing := uuid.NewString()
	setPlaybooksConfig(t, c, ns, "active_playbooks: []\nglobal_config:\n  cluster_name: c\n  signing_key: "+signing+"\n")
	platform := tokenStandIn(t, "/auth/server/tokens")
	env := append(e.env, "DISPLAY=", "WAYLAND_DISPLAY=")
	args := []string{"auth", "gen-token", "--backend-url", platform.URL, "--account-id", "acc-1", "--user-id", "user-1", "--session-token", "sess-secret-123456"}

	// No key pair yet and no terminal: refused without --yes, nothing created or sent.
	r := run(t, env, args...)
	if r.code != 2 || !strings.Contains(r.stderr, "Secret auth-e2e/"+authSecret) || !strings.Contains(r.stderr, "--yes") {
		t.Fatal(r)
	}
	oneLine(t, r)
	if _, err := c.Client.CoreV1().Secrets(ns).Get(ctx, authSecret, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("created without --yes: %v", err)
	}
	if n := len(platform.requests()); n != 0 {
		t.Fatalf("%d platform requests before the key pair existed", n)
	}

	// --yes: the pair is created (PEM text as the Python CLI's pair), the token stored.
	r = run(t, env, append(args, "--yes")...)
	if r.code != 0 {
		t.Fatal(r)
	}
	sec, err := c.Client.CoreV1().Secrets(ns).Get(ctx, authSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	prv, pub := string(sec.Data["prv"]), string(sec.Data["pub"])
	if len(sec.Data) != 2 || !strings.HasPrefix(prv, "-----BEGIN RSA PRIVATE KEY-----\n") || !strings.HasPrefix(pub, "-----BEGIN PUBLIC KEY-----\n") {
		t.Fatalf("Secret data: %d keys, prv %.40q, pub %.40q", len(sec.Data), prv, pub)
	}
	reqs := platform.requests()
	if len(reqs) != 1 {
		t.Fatalf("requests: %+v", reqs)
	}
	body := reqs[0].Body
	if body["pub"] != pub || body["account_id"] != "acc-1" || body["user_id"] != "user-1" || body["session_token"] != "sess-secret-123456" {
		t.Fatalf("stored: %v", body)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatalf("stdout is not the base64 token: %v\n%s", err, r)
	}
	var tok map[string]string
	if err := json.Unmarshal(raw, &tok); err != nil || len(tok) != 5 || tok["pub"] != pub || tok["key_id"] != body["key_id"] || tok["account_id"] != "acc-1" {
		t.Fatalf("token %s: %v", raw, err)
	}
	if xorUUID(tok["enc_key"], body["enc_key"].(string)) != signing {
		t.Fatal("the client and server keys do not combine to the signing key")
	}
	for _, secret := range []string{"sess-secret-123456", "PRIVATE KEY", tok["enc_key"]} {
		if strings.Contains(r.stderr, secret) {
			t.Fatalf("stderr shows %q:\n%s", secret, r.stderr)
		}
	}
	if strings.Contains(r.stdout, "sess-secret") || strings.Contains(string(raw), "session_token") {
		t.Fatal("the session token is in the token")
	}

	// Again, into a file: the same pair is reused; the file is 0600, stdout empty.
	file := filepath.Join(t.TempDir(), "ui.token")
	r = run(t, env, append(args, "--token-file", file)...)
	if r.code != 0 || r.stdout != "" {
		t.Fatal(r)
	}
	again, _ := c.Client.CoreV1().Secrets(ns).Get(ctx, authSecret, metav1.GetOptions{})
	if again.ResourceVersion != sec.ResourceVersion {
		t.Fatal("the key pair was replaced")
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(file); strings.Contains(r.stderr, strings.TrimSpace(string(b))) {
		t.Fatal("the token was printed in full")
	}

	// web-connect: the same, and the UI address (from the profile) is printed; no
	// browser without a desktop session.
	profile := filepath.Join(t.TempDir(), "robusta_cli_config.json")
	_ = os.WriteFile(profile, []byte(`{"robusta_cloud_api_host": "`+platform.URL+`", "robusta_ui_domain": "https://ui.example.test",
 "robusta_relay_ws_address": "wss://relay.example.test", "robusta_relay_external_actions_url": "https://api.example.test/integrations/generic/actions",
 "robusta_telemetry_endpoint": "https://api.example.test/telemetry", "robusta_store_token_url": "`+platform.URL+`/auth/server/tokens"}`), 0o600)
	r = run(t, append(env, "ROBUSTA_BACKEND_PROFILE="+profile), "auth", "web-connect", "--account-id", "acc-1", "--user-id", "user-1", "--session-token", "sess-secret-123456")
	if r.code != 0 || !strings.Contains(r.stderr, "Robusta UI: https://ui.example.test") || strings.TrimSpace(r.stdout) == "" {
		t.Fatal(r)
	}
	if n := len(platform.requests()); n != 3 {
		t.Fatalf("%d platform requests, want 3", n)
	}

	// Bad input, one line each.
	badProfile := filepath.Join(t.TempDir(), "partial.json")
	_ = os.WriteFile(badProfile, []byte(`{"robusta_cloud_api_host": "https://a"}`), 0o600)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"expired session", nil, []string{"--backend-url", platform.URL, "--account-id", "a", "--user-id", "u", "--session-token", "expired"}, 1, "refused the session token (401"},
		{"no profile file", []string{"ROBUSTA_BACKEND_PROFILE=/nonexistent/robusta_cli_config.json"}, args[2:], 2, "no such file: point it at robusta_cli_config.json"},
		{"partial profile", []string{"ROBUSTA_BACKEND_PROFILE=" + badProfile}, args[4:], 2, "robusta_ui_domain"},
		{"missing flags", nil, []string{"--backend-url", platform.URL, "--account-id", "a"}, 2, "missing --user-id, --session-token"},
	} {
		r := run(t, append(env, tc.env...), append([]string{"auth", "gen-token"}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: want exit %d and %q\n%s", tc.name, tc.code, tc.want, r)
			continue
		}
		oneLine(t, r)
	}
	if n := len(platform.requests()); n != 4 {
		t.Fatalf("%d platform requests, want 4 (the refused one)", n)
	}

	// A Secret of the wrong shape (base64 of the PEM stored again as data) is named.
	sec.Data["prv"] = []byte(base64.StdEncoding.EncodeToString([]byte(prv)))
	if _, err := c.Client.CoreV1().Secrets(ns).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r = run(t, env, append(args, "--yes")...)
	if r.code != 1 || !strings.Contains(r.stderr, "Secret auth-e2e/"+authSecret+": key prv: not a PEM block") {
		t.Fatal(r)
	}
	oneLine(t, r)

	// A signing key read from the runner's environment, which lacks it.
	_ = c.Client.CoreV1().Secrets(ns).Delete(ctx, authSecret, metav1.DeleteOptions{})
	setPlaybooksConfig(t, c, ns, "global_config:\n  signing_key: '{{ env.ROBUSTA_E2E_NO_SUCH_VAR }}'\n")
	r = run(t, env, append(args, "--yes")...)
	if r.code != 1 || !strings.Contains(r.stderr, "has no variable ROBUSTA_E2E_NO_SUCH_VAR") {
		t.Fatal(r)
	}
	// And no signing key at all.
	setPlaybooksConfig(t, c, ns, "global_config: {cluster_name: c}\n")
	r = run(t, env, append(args, "--yes")...)
	if r.code != 1 || !strings.Contains(r.stderr, "no global_config.signing_key") {
		t.Fatal(r)
	}
}

// TestAuthGenTokenAsksBeforeCreatingKeys: on a terminal, a missing key pair is created
// only after "yes".
func TestAuthGenTokenAsksBeforeCreatingKeys(t *testing.T) {
	ns := "auth-pty"
	e := startRunner(t, ns, nil, sandbox.RunnerSpec{})
	c := e.c
	ctx := context.Background()
	t.Cleanup(func() {
		_ = c.Client.CoreV1().Secrets(ns).Delete(ctx, authSecret, metav1.DeleteOptions{})
		_ = c.Client.CoreV1().Secrets(ns).Delete(ctx, "robusta-playbooks-config-secret", metav1.DeleteOptions{})
	})
	setPlaybooksConfig(t, c, ns, "global_config:\n  signing_key: "+uuid.NewString()+"\n")
	platform := tokenStandIn(t, "/auth/server/tokens")
	env := append(e.env, "DISPLAY=", "WAYLAND_DISPLAY=", "ROBUSTA_NAMESPACE="+ns, "ROBUSTA_SESSION_TOKEN=sess-from-env")
	args := []string{"auth", "gen-token", "--backend-url", platform.URL, "--account-id", "a", "--user-id", "u"}
	question := "Secret " + ns + "/" + authSecret + " (the runner's RSA key pair) does not exist. Create it?"

	code, screen := onPTY(t, env, args, func(cx *expect.Console) { answerConfirm(t, cx, question, "n") })
	if code == 0 || !strings.Contains(screen, "aborted") {
		t.Fatalf("exit %d\n%s", code, screen)
	}
	if _, err := c.Client.CoreV1().Secrets(ns).Get(ctx, authSecret, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("created after no: %v", err)
	}
	code, screen = onPTY(t, env, args, func(cx *expect.Console) { answerConfirm(t, cx, question, "y") })
	if code != 0 || !strings.Contains(screen, "Created Secret "+ns+"/"+authSecret) || !strings.Contains(screen, "Token created") {
		t.Fatalf("exit %d\n%s", code, screen)
	}
	if _, err := c.Client.CoreV1().Secrets(ns).Get(ctx, authSecret, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	reqs := platform.requests()
	if len(reqs) != 1 || reqs[0].Body["session_token"] != "sess-from-env" {
		t.Fatalf("requests: %+v", reqs)
	}
}
