package e2e

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// TestServeBehindARealPortForward: `robusta local serve` answers the runner API, and
// `robusta playbooks trigger` reaches it through a client-go port-forward to a runner
// pod, as it reaches an in-cluster runner. Findings come back from the engine's real
// work against the cluster; mistakes come back with the runner's error codes.
func TestServeBehindARealPortForward(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	env := kubeconfigEnv(c.KubeconfigPath)

	// The server, on a free loopback port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var serveLog syncBuffer
	srv := exec.Command(binary, "local", "serve", "--listen", addr)
	srv.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	srv.Stderr = &serveLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() })
	waitFor(t, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}, &serveLog)

	// A runner pod whose port 5000 forwards to it, with a log of its own to enrich.
	logFile := filepath.Join(t.TempDir(), "runner.log")
	if err := sandbox.WriteCRILog(logFile, "booting", "ready to serve"); err != nil {
		t.Fatal(err)
	}
	rn, err := c.CreateRunner(ctx, sandbox.RunnerSpec{Namespace: "served", ForwardTo: addr, LogFile: logFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.DeleteRunner(context.Background(), rn); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	trigger := func(args ...string) result {
		return run(t, env, append([]string{"playbooks", "trigger", "-n", "served", "--show-logs=false"}, args...)...)
	}

	r := trigger("logs_enricher", "--pod", "served/"+rn.Pod, "tail:=1", "--sync")
	for _, want := range []string{"Triggered logs_enricher on runner served/" + rn.Pod, "subject: pod served/" + rn.Pod,
		"── Logs of runner", "file " + rn.Pod + ".runner.log (15 B)"} {
		mustContain(t, r, "stdout", want)
	}
	r = trigger("create_finding", "title=Hello from $namespace", "--sync", "-o", "markdown")
	mustContain(t, r, "stdout", "### [HIGH] Hello from")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"no_such_action"}, "error 4603"},
		{[]string{"pod_bash_enricher", "--pod", "served/" + rn.Pod, "colour=red"}, "error 4602"},
		{[]string{"resource_babysitter", "--deployment", "served/robusta-runner"}, "error 4604"},
		{[]string{"logs_enricher", "name=" + rn.Pod}, "error 4605"},
		{[]string{"logs_enricher", "--pod", "served/gone"}, "error 4606"},
	} {
		r := trigger(tc.args...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %s", tc.args, r)
		}
	}
	// The server logged each request, as the runner does.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(serveLog.String(), "ERROR no_such_action: External action not found no_such_action (4603)") {
		if time.Now().After(deadline) {
			t.Fatalf("server log:\n%s", serveLog.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	mustContain(t, result{stdout: serveLog.String()}, "stdout", "ran logs_enricher with params {name="+rn.Pod+", namespace=served, tail=1}")
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
