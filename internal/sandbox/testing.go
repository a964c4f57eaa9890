package sandbox

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// EnvKubeconfig names a kubeconfig of a sandbox that is already running (make sandbox,
// or one shared by a whole test run). When set, Main attaches instead of starting one.
const EnvKubeconfig = "ROBUSTA_SANDBOX_KUBECONFIG"

var (
	shared   *Cluster
	startErr error
)

// Main is a TestMain for packages whose tests need the sandbox: it starts one cluster
// for the package (or attaches to $ROBUSTA_SANDBOX_KUBECONFIG), runs the tests and
// always tears the cluster down, also on SIGINT/SIGTERM.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main without the exit, for a TestMain with more to clean up.
func Run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		startErr = fmt.Errorf("sandbox not started in -short mode")
		return m.Run()
	}
	if kc := os.Getenv(EnvKubeconfig); kc != "" {
		shared, startErr = Attach(kc)
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	var log bytes.Buffer
	begin := time.Now()
	shared, startErr = Start(ctx, Options{Log: &log})
	cancel()
	if startErr != nil {
		fmt.Fprintf(os.Stderr, "sandbox: %v\n", startErr)
		return m.Run()
	}
	fmt.Fprintf(os.Stderr, "sandbox: cluster %s ready in %s\n", shared.Name, time.Since(begin).Round(time.Millisecond))

	// A Ctrl-C during the tests must not leave etcd and the API server running.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sig; ok {
			_ = shared.Stop()
			os.Exit(130)
		}
	}()
	code := m.Run()
	signal.Stop(sig)
	close(sig)
	if err := shared.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: stop: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Get returns the package's sandbox cluster. When it could not start, the test fails
// under CI=true and is skipped (with the reason and the fix) otherwise.
func Get(t testing.TB) *Cluster {
	t.Helper()
	if shared != nil {
		return shared
	}
	// -short asks for the tests that need no cluster: skip, in CI too.
	if testing.Short() {
		t.Skip("needs the sandbox cluster, not started in -short mode")
	}
	reason := startErr
	if reason == nil {
		reason = fmt.Errorf("sandbox.Main is not this package's TestMain")
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("sandbox cluster unavailable: %v", reason)
	}
	t.Skipf("sandbox cluster unavailable: %v (run hack/sandbox/install.sh, or make test)", reason)
	return nil
}
