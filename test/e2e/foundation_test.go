package e2e

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

func TestVersion(t *testing.T) {
	r := run(t, nil, "version")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, r, "stdout", "robusta v0.0.0-e2e (commit e2ecommit")

	r = run(t, nil, "version", "-o", "json")
	var info map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, r)
	}
	if info["version"] != "v0.0.0-e2e" || info["commit"] != "e2ecommit" || !strings.HasPrefix(info["goVersion"], "go") {
		t.Fatalf("unexpected version info: %v", info)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"version", "--bogus"}, "unknown flag: --bogus"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"bad output format", []string{"version", "-o", "xml"}, `invalid output format "xml"`},
		{"extra argument", []string{"version", "extra"}, "takes no arguments"},
		{"bad timeout", []string{"cluster-info", "--request-timeout", "soon"}, "request-timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, nil, tc.args...)
			if r.code != 2 {
				t.Fatalf("want exit 2\n%s", r)
			}
			mustContain(t, r, "stderr", tc.want)
			if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
				t.Fatalf("stack trace printed\n%s", r)
			}
			if !strings.HasPrefix(r.stderr, "Error: ") {
				t.Fatalf("error line does not start with 'Error: '\n%s", r)
			}
		})
	}
}

func TestClusterInfoReachesAPIServer(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	rn, err := c.CreateRunner(ctx, sandbox.RunnerSpec{Namespace: "robusta"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteRunner(context.Background(), rn) })

	r := run(t, kubeconfigEnv(c.KubeconfigPath), "cluster-info", "-o", "json")
	if r.code != 0 {
		t.Fatal(r)
	}
	var info struct {
		Server        string   `json:"server"`
		ServerVersion string   `json:"serverVersion"`
		Runners       []string `json:"runners"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if info.Server != c.Config.Host || info.ServerVersion != sandbox.K8sVersion {
		t.Fatalf("server %q version %q, want %q %q", info.Server, info.ServerVersion, c.Config.Host, sandbox.K8sVersion)
	}
	if len(info.Runners) != 1 || info.Runners[0] != "robusta/"+rn.Pod {
		t.Fatalf("runners = %v, want [robusta/%s]", info.Runners, rn.Pod)
	}
}

func TestNoKubeconfig(t *testing.T) {
	r := run(t, kubeconfigEnv(filepath.Join(t.TempDir(), "missing")), "cluster-info")
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", "Error: no kubeconfig found")
	mustContain(t, r, "stderr", "Hint: set KUBECONFIG")
}

func TestUnreachableAPIServer(t *testing.T) {
	c := sandbox.Get(t)
	// A closed loopback port: connection refused straight away.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()
	// A port that accepts and never answers: only the timeout ends the wait.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			conn, err := silent.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()

	for _, tc := range []struct {
		name, addr, want string
	}{
		{"refused", closedAddr, "connection refused"},
		{"silent", silent.Addr().String(), "timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc := filepath.Join(t.TempDir(), "kubeconfig")
			sc := *c
			cfg := *c.Config
			cfg.Host = "https://" + tc.addr
			sc.Config = &cfg
			if err := sc.WriteTokenKubeconfig(kc, "unreachable-ctx", "t0ken"); err != nil {
				t.Fatal(err)
			}
			r := run(t, kubeconfigEnv(kc), "cluster-info", "--request-timeout", "2s")
			if r.code != 1 {
				t.Fatal(r)
			}
			mustContain(t, r, "stderr", "cannot reach the Kubernetes API server at https://"+tc.addr)
			mustContain(t, r, "stderr", `(context "unreachable-ctx")`)
			mustContain(t, r, "stderr", tc.want)
			// Not a speed target: a guard that the timeout ends the wait instead of a hang.
			if r.elapsed > 30*time.Second {
				t.Fatalf("took %s with --request-timeout 2s", r.elapsed)
			}
		})
	}
}

func TestForbidden(t *testing.T) {
	c := sandbox.Get(t)
	token, err := c.ServiceAccountToken(context.Background(), "e2e-forbidden", "nobody")
	if err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := c.WriteTokenKubeconfig(kc, "limited-ctx", token); err != nil {
		t.Fatal(err)
	}
	r := run(t, kubeconfigEnv(kc), "cluster-info")
	if r.code != 1 {
		t.Fatal(r)
	}
	mustContain(t, r, "stderr", `forbidden: user "system:serviceaccount:e2e-forbidden:nobody" cannot list pods in all namespaces (context "limited-ctx")`)

	r = run(t, kubeconfigEnv(kc), "cluster-info", "-n", "robusta")
	mustContain(t, r, "stderr", `cannot list pods in namespace "robusta"`)
}

func TestNamespaceFromEnvironment(t *testing.T) {
	c := sandbox.Get(t)
	ctx := context.Background()
	rn, err := c.CreateRunner(ctx, sandbox.RunnerSpec{Namespace: "env-ns"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteRunner(context.Background(), rn) })
	r := run(t, append(kubeconfigEnv(c.KubeconfigPath), "ROBUSTA_NAMESPACE=env-ns"), "cluster-info", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"namespace": "env-ns"`) || !strings.Contains(r.stdout, "env-ns/"+rn.Pod) {
		t.Fatal(r)
	}
	// The flag beats the environment.
	r = run(t, append(kubeconfigEnv(c.KubeconfigPath), "ROBUSTA_NAMESPACE=env-ns"), "cluster-info", "-o", "json", "-n", "other")
	if r.code != 0 || strings.Contains(r.stdout, rn.Pod) {
		t.Fatal(r)
	}
}
