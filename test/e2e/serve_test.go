package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// TestServeBehindARealPortForward: `robusta local serve` answers the runner API, and
// `robusta playbooks trigger` reaches it through a client-go port-forward to a runner
// pod, as it reaches an in-cluster runner (with the server's token from
// ROBUSTA_LOCAL_TOKEN), and directly with --local (the token from its file). Findings
// come back from the engine's real work against the cluster; mistakes come back with
// the runner's error codes; requests a web page or another user could send are
// refused before anything runs.
func TestServeBehindARealPortForward(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)

	// The server, on a free loopback port, with its own config dir for the token.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := t.TempDir()
	var serveLog syncBuffer
	srv := exec.Command(binary, "local", "serve", "--listen", addr)
	srv.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "XDG_CONFIG_HOME=" + cfg}, env...)
	srv.Stderr = &serveLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() }) }
	t.Cleanup(stop)
	waitFor(t, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}, &serveLog)

	// The token: printed once, and in a 0600 file that --local reads.
	tokenFile := filepath.Join(cfg, "robusta", "local-serve.token")
	fi, err := os.Stat(tokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(tokenFile)
	token := strings.TrimSpace(string(b))
	if len(token) < 40 || strings.Count(serveLog.String(), token) != 1 {
		t.Fatalf("token %q; server log:\n%s", token, serveLog.String())
	}

	// A runner pod whose port 5000 forwards to it, with a log of its own to enrich and
	// an exec dir a canary command would write into.
	logFile := filepath.Join(t.TempDir(), "runner.log")
	if err := sandbox.WriteCRILog(logFile, "booting", "ready to serve"); err != nil {
		t.Fatal(err)
	}
	execDir := t.TempDir()
	rn, err := c.CreateRunner(ctx, sandbox.RunnerSpec{Namespace: "served", ForwardTo: addr, LogFile: logFile, ExecDir: execDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.DeleteRunner(context.Background(), rn); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	withToken := append([]string{"ROBUSTA_LOCAL_TOKEN=" + token}, env...)
	trigger := func(args ...string) result {
		return run(t, withToken, append([]string{"playbooks", "trigger", "--no-check", "-n", "served", "--show-logs=false"}, args...)...)
	}

	r := trigger("logs_enricher", "--pod", "served/"+rn.Pod, "tail:=1", "--sync")
	for _, want := range []string{"Triggered logs_enricher on runner served/" + rn.Pod, "subject: pod served/" + rn.Pod,
		"── Logs\n", "file " + rn.Pod + ".log (15 B)"} {
		mustContain(t, r, "stdout", want)
	}
	r = trigger("create_finding", "title=Hello from $namespace", "--sync", "-o", "markdown")
	mustContain(t, r, "stdout", "### [HIGH] Hello from")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"no_such_action"}, "error 4603"},
		{[]string{"logs_enricher", "--pod", "served/" + rn.Pod, "colour=red"}, "error 4602"},
		{[]string{"resource_babysitter", "--deployment", "served/robusta-runner"}, "error 4604"},
		{[]string{"logs_enricher", "name=" + rn.Pod}, "error 4605"},
		{[]string{"logs_enricher", "--pod", "served/gone"}, "error 4606"},
	} {
		r := trigger(tc.args...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %s", tc.args, r)
		}
	}

	// Directly with --local: the token comes from the file the server wrote.
	local := func(extraEnv []string, args ...string) result {
		return run(t, append(append([]string{"XDG_CONFIG_HOME=" + cfg}, env...), extraEnv...),
			append([]string{"playbooks", "trigger", "--no-check", "--local", "--local-url", "http://" + addr}, args...)...)
	}
	r = local(nil, "logs_enricher", "--pod", "served/"+rn.Pod, "tail:=1", "--sync")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "Triggered logs_enricher on the local server http://"+addr)
	mustContain(t, r, "stdout", "file "+rn.Pod+".log (15 B)")
	r = local([]string{"ROBUSTA_LOCAL_TOKEN=wrong"}, "create_finding", "title=x")
	if r.code != 1 || !strings.Contains(r.stderr, "HTTP 401") || !strings.Contains(r.stderr, "nothing ran") {
		t.Fatal(r)
	}
	r = run(t, append([]string{"XDG_CONFIG_HOME=" + t.TempDir()}, env...), "playbooks", "trigger", "--no-check", "--local", "--local-url", "http://"+addr, "create_finding")
	if r.code != 1 || !strings.Contains(r.stderr, "no token file") || !strings.Contains(r.stderr, "is robusta local serve running?") {
		t.Fatal(r)
	}
	// Through the port-forward without a token: refused.
	r = run(t, env, "playbooks", "trigger", "--no-check", "-n", "served", "--show-logs=false", "create_finding")
	if r.code != 1 || !strings.Contains(r.stderr, "HTTP 401") {
		t.Fatal(r)
	}
	// reload through the port-forward: with the token it reaches the server, without it
	// it is refused like trigger.
	if r = run(t, withToken, "playbooks", "reload", "-n", "served"); r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "Playbooks reloaded on runner served/"+rn.Pod)
	if r = run(t, env, "playbooks", "reload", "-n", "served"); r.code != 1 || !strings.Contains(r.stderr, "401") {
		t.Fatal(r)
	}

	// What a web page, a rebinding attack or another local user could send: refused
	// before anything runs. Each would run a command creating the canary file.
	canary := "robusta-serve-canary-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	body := `{"action_name":"pod_bash_enricher","action_params":{"name":"` + rn.Pod + `","namespace":"served","bash_command":"touch ` + canary + `"}}`
	for _, tc := range []struct {
		name   string
		host   string
		header map[string]string
		status int
	}{
		{"cross-origin text/plain", "", map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"}, 403},
		{"cross-origin with the token", "", map[string]string{"Origin": "http://evil.example", "Content-Type": "application/json", "Authorization": "Bearer " + token}, 403},
		{"text/plain with the token", "", map[string]string{"Content-Type": "text/plain", "Authorization": "Bearer " + token}, 415},
		{"rebinding Host", "evil.example:5000", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + token}, 403},
		{"no token", "", map[string]string{"Content-Type": "application/json"}, 401},
		{"wrong token", "", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + token[:len(token)-1]}, 401},
		{"exec without --allow-exec", "", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + token}, 403},
	} {
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/trigger", strings.NewReader(body))
		if tc.host != "" {
			req.Host = tc.host
		}
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(reply), `"success":false`) {
			t.Errorf("%s: HTTP %d %s", tc.name, resp.StatusCode, reply)
		}
	}
	// A token holder's broken JSON is told what is wrong with it.
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/trigger", strings.NewReader(`{"action_name": "logs_enricher",}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(reply), "the body is not valid JSON: invalid character '}'") {
			t.Errorf("bad JSON: HTTP %d %s", resp.StatusCode, reply)
		}
	}
	if _, err := os.Stat(filepath.Join(execDir, canary)); !os.IsNotExist(err) {
		t.Fatalf("a refused request ran its command: %v", err)
	}
	// The same command does create the canary when it runs (so its absence above
	// means something): local run execs it in the pod.
	r = run(t, env, "local", "run", "pod_bash_enricher", "--pod", "served/"+rn.Pod, "bash_command=touch "+canary)
	if _, err := os.Stat(filepath.Join(execDir, canary)); r.code != 0 || err != nil {
		t.Fatalf("the canary command did not run: %v\n%s", err, r)
	}

	// The server logged each request, as the runner does: action and param names,
	// never their values.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(serveLog.String(), "ERROR no_such_action: error 4603 (action not found)") {
		if time.Now().After(deadline) {
			t.Fatalf("server log:\n%s", serveLog.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	log := serveLog.String()
	for _, want := range []string{"ran logs_enricher with params {name, namespace, tail}",
		"REFUSED pod_bash_enricher: it runs commands in pods and the server was started without --allow-exec",
		"REFUSED POST /api/trigger", "(401)", "(403)", "(415)"} {
		if !strings.Contains(log, want) {
			t.Errorf("server log lacks %q:\n%s", want, log)
		}
	}
	for _, secret := range []string{canary, "Hello from", "colour=red", "tail=1"} {
		if strings.Contains(log, secret) {
			t.Errorf("server log shows the param value %q:\n%s", secret, log)
		}
	}

	// The token file goes with the server.
	stop()
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Fatalf("token file left after exit: %v", err)
	}
}

// TestServeRefusesOpenListeners: an address other machines reach needs --listen-any,
// and never without the token.
func TestServeRefusesOpenListeners(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:0"}, "add --listen-any"},
		{[]string{"--listen", ":0"}, "add --listen-any"},
		{[]string{"--listen", "0.0.0.0:0", "--listen-any", "--no-auth"}, "drop --no-auth"},
		{[]string{"--listen", "nonsense"}, "is not HOST:PORT"},
	} {
		r := run(t, []string{"KUBECONFIG=/nonexistent"}, append([]string{"local", "serve"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("%v: %s", tc.args, r)
		}
	}
	// --no-auth on loopback serves, with a loud warning and no token file.
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: x}}]\ncurrent-context: c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	srv := exec.Command(binary, "local", "serve", "--no-auth", "--listen", "127.0.0.1:0")
	srv.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "cfg"), "KUBECONFIG=" + kubeconfig}
	srv.Stderr = &log
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(log.String(), "Ctrl-C stops") {
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "WARNING: --no-auth: any process or user on this machine can use this server") || strings.Contains(log.String(), "Token") {
		t.Fatalf("server log:\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "cfg", "robusta", "local-serve.token")); !os.IsNotExist(err) {
		t.Fatalf("token file with --no-auth: %v", err)
	}
}

// syncBuffer is a bytes.Buffer a child process's output may be copied into while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
