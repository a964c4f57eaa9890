package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// TestLocalRendererRunnerFlags: with two runners in two namespaces, each forwarding
// its port 8281 to its own renderer stand-in, report_rendering_task reaches the one
// that -n or --runner-pod names; without them it refuses to pick, and a -n with no
// runner gives discovery's one-line error and hint.
func TestLocalRendererRunnerFlags(t *testing.T) {
	c := sandbox.Get(t)

	// standIn starts a renderer that answers "<tag>:<panel>", behind the port 8281 of a
	// runner pod in ns; it returns the pod's name.
	standIn := func(ns, tag string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/render" || r.ParseForm() != nil {
				http.Error(w, "want a form POST to /render", http.StatusBadRequest)
				return
			}
			_, _ = w.Write([]byte(tag + ":" + r.PostForm.Get("panelUrl")))
		}))
		t.Cleanup(srv.Close)
		return runnerWithRenderer(t, c, ns, srv.URL).Pod
	}
	const nsA, nsB = "h40-runner-a", "h40-runner-b"
	podA := standIn(nsA, "A")
	standIn(nsB, "B")

	const panel = "http://grafana/d-solo/x?panelId=1"
	args := []string{"local", "run", "report_rendering_task", "grafana_api_key=k", "delays:=[60]",
		`reports_panel_urls:=["` + panel + `"]`, "-o", "json"}
	env := kubeconfigEnv(c.KubeconfigPath)
	rendered := func(t *testing.T, r result) string {
		t.Helper()
		if r.code != 0 {
			t.Fatal(r)
		}
		var f struct {
			Enrichments []struct {
				Blocks []struct {
					Name string `json:"name"`
					Data []byte `json:"data"`
				} `json:"blocks"`
			} `json:"enrichments"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &f); err != nil || len(f.Enrichments) != 1 || len(f.Enrichments[0].Blocks) != 1 {
			t.Fatalf("want one panel block (%v): %s", err, r)
		}
		return string(f.Enrichments[0].Blocks[0].Data)
	}

	t.Run("-n picks the runner", func(t *testing.T) {
		if got := rendered(t, run(t, env, append(args, "-n", nsB)...)); got != "B:"+panel {
			t.Fatalf("rendered by %q, want the renderer of %s", got, nsB)
		}
	})
	t.Run("--runner-pod picks the runner", func(t *testing.T) {
		if got := rendered(t, run(t, env, append(args, "--runner-pod", nsA+"/"+podA)...)); got != "A:"+panel {
			t.Fatalf("rendered by %q, want the renderer of %s", got, nsA)
		}
	})
	t.Run("two installs and no flag", func(t *testing.T) {
		r := run(t, env, args...)
		if r.code == 0 || !strings.Contains(r.stderr, "found Robusta runners in several namespaces") ||
			!strings.Contains(r.stderr, "Hint: pick one install with -n NS") || strings.Contains(r.stderr, "goroutine") {
			t.Fatalf("want the several-runners error and hint: %s", r)
		}
	})
	t.Run("-n without a runner", func(t *testing.T) {
		r := run(t, env, append(args, "-n", "h40-no-runner")...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code == 0 || len(lines) != 2 || !strings.Contains(lines[0], `no Robusta runner found in namespace "h40-no-runner"`) ||
			!strings.HasPrefix(lines[1], "Hint: pass -n NS (the runner's namespace) or --runner-pod NS/POD") {
			t.Fatalf("want a one-line error naming the namespace and the -n hint: %s", r)
		}
	})
	t.Run("--runner-pod that does not exist", func(t *testing.T) {
		r := run(t, env, append(args, "--runner-pod", nsA+"/no-such-pod")...)
		if r.code == 0 || !strings.Contains(r.stderr, "runner pod "+nsA+"/no-such-pod not found") || strings.Contains(r.stderr, "goroutine") {
			t.Fatalf("want the not-found error: %s", r)
		}
	})
}
