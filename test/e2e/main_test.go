// Package e2e runs the built robusta binary as a user would, against the sandbox cluster.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "robusta-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "robusta")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	// robusta_testhooks: ROBUSTA_TEST_PUSH_CUT_AFTER (cmd/playbooks/repos/testhooks.go).
	build := exec.Command("go", "build", "-tags", "robusta_testhooks", "-o", binary,
		"-ldflags", "-X github.com/robusta-dev/robusta-go/internal/build.Version=v0.0.0-e2e -X github.com/robusta-dev/robusta-go/internal/build.Commit=e2ecommit",
		".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build robusta: %v\n%s", err, out)
		os.Exit(1)
	}
	code := sandbox.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// run executes the binary with args and a clean environment plus env.
func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runInDir(t, "", env, args...)
}

// runIn is run with the working directory set to dir.
func runIn(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return runInDir(t, dir, nil, args...)
}

func runInDir(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return r
}

func kubeconfigEnv(path string) []string { return []string{"KUBECONFIG=" + path} }

func mustContain(t *testing.T, r result, where, want string) {
	t.Helper()
	got := r.stdout
	if where == "stderr" {
		got = r.stderr
	}
	if !strings.Contains(got, want) {
		t.Fatalf("%s does not contain %q\n%s", where, want, r)
	}
}

func sandboxCluster(t *testing.T) *sandbox.Cluster { return sandbox.Get(t) }

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
