// Command trigger measures `robusta playbooks trigger` end to end against what the
// Python CLI ran (kubectl get pods, kubectl exec ... curl, kubectl logs --since), on a
// sandbox cluster, in one run, and `robusta version`. It prints a Markdown report.
//
//	go run ./hack/bench/trigger -n 21
//
// kwok runs exec'd commands on this machine, so the stand-in runner listens on
// 127.0.0.1:5000, where the exec'd curl reaches it; the port-forward goes there too.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/robusta-dev/robusta-go/hack/bench/benchutil"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

func main() {
	n := flag.Int("n", 21, "runs of each pipeline")
	flag.Parse()
	benchutil.Main(func() error { return run(*n) })
}

func run(n int) error {
	ctx := context.Background()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return fmt.Errorf("kubectl is needed for the comparison: %w", err)
	}
	e, err := benchutil.Start(ctx, "robusta-bench-")
	if err != nil {
		return err
	}
	defer e.Close()
	tmp, bin, c := e.Tmp, e.Bin, e.Cluster

	logFile := filepath.Join(tmp, "runner.log")
	_ = sandbox.WriteCRILog(logFile, "runner started")
	s := &sandbox.StandIn{Actions: map[string]sandbox.StandInAction{"my_action": {}}, LogFile: logFile}
	if err := s.Start("127.0.0.1:5000"); err != nil {
		return fmt.Errorf("the stand-in needs port 5000 free: %w", err)
	}
	defer s.Close()
	r, err := c.CreateRunner(ctx, sandbox.RunnerSpec{Namespace: "robusta", ForwardTo: s.Addr(), ExecDir: tmp, LogFile: logFile})
	if err != nil {
		return err
	}
	env := append(os.Environ(), "KUBECONFIG="+c.KubeconfigPath)

	ours := func() error {
		return runQuiet(env, bin, "playbooks", "trigger", "my_action", "name=web-1", "namespace=default", "--show-logs")
	}
	body := `{"action_name": "my_action", "action_params": {"name": "web-1", "namespace": "default"}}`
	python := func() error {
		// What robusta-cli's trigger did, step by step.
		if err := runQuiet(env, kubectl, "get", "pods", "-A", "-l", "robustaComponent=runner",
			"-o", "jsonpath={.items[0].metadata.name}"); err != nil {
			return err
		}
		if err := runQuiet(env, kubectl, "exec", "-n", r.Namespace, r.Pod, "-c", "runner", "--", "sh", "-c",
			"curl -sS -X POST -H 'Content-Type: application/json' http://localhost:5000/api/trigger -d '"+body+"'"); err != nil {
			return err
		}
		return runQuiet(env, kubectl, "logs", "-n", r.Namespace, r.Pod, "-c", "runner", "--since", "10s")
	}
	version := func() error { return runQuiet(env, bin, "version") }

	// Warm up caches (kubectl's discovery cache, the page cache of both binaries).
	for _, f := range []func() error{ours, python, version} {
		if err := f(); err != nil {
			return err
		}
	}
	var tOurs, tPy, tVer []time.Duration
	for i := 0; i < n; i++ { // interleaved, so drift hits both alike
		d, err := timeIt(ours)
		if err != nil {
			return fmt.Errorf("robusta trigger: %w", err)
		}
		tOurs = append(tOurs, d)
		d, err = timeIt(python)
		if err != nil {
			return fmt.Errorf("kubectl pipeline: %w", err)
		}
		tPy = append(tPy, d)
	}
	for i := 0; i < 3*n; i++ {
		d, err := timeIt(version)
		if err != nil {
			return err
		}
		tVer = append(tVer, d)
	}
	mo, mp, mv := benchutil.Median(tOurs), benchutil.Median(tPy), benchutil.Median(tVer)
	fmt.Printf("Measured %s on %s/%s, %d CPUs, %d runs each (interleaved), %d of `version`:\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), n, 3*n)
	fmt.Printf("| what | median | min | max |\n|---|---|---|---|\n")
	row := func(name string, ds []time.Duration) {
		lo, hi := benchutil.Range(ds)
		fmt.Printf("| %s | %s | %s | %s |\n", name, benchutil.MS(benchutil.Median(ds)), benchutil.MS(lo), benchutil.MS(hi))
	}
	row("`robusta playbooks trigger ... --show-logs`", tOurs)
	row("kubectl get pods + kubectl exec curl + kubectl logs", tPy)
	row("`robusta version`", tVer)
	fmt.Printf("\nRatio trigger / kubectl pipeline: %.2f (target: at most 0.33). `robusta version` median %s (target: under 20 ms).\n",
		float64(mo)/float64(mp), benchutil.MS(mv))
	return nil
}

func runQuiet(env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %v\n%s", filepath.Base(name), args, err, out.String())
	}
	return nil
}

func timeIt(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}
