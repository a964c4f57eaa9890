// Command validate times `robusta playbooks validate` as whole processes on the issue 13
// inputs: the chart's full values.yaml, a generated 10,000-playbook file and a generated
// 50 MB file, with `robusta version` and a hello-world Go binary for scale. It prints
// wall time (median, min, max), CPU time (user+system) and peak RSS as a Markdown
// report. No cluster is needed.
//
//	go run ./hack/bench/validate -n 5 -values /work/robusta-src/helm/robusta/values.yaml
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/robusta-dev/robusta-go/hack/bench/benchutil"
)

func main() {
	n := flag.Int("n", 5, "runs of each command (interleaved)")
	values := flag.String("values", "", "the chart's values.yaml (robusta-dev/robusta helm/robusta/values.yaml)")
	mb := flag.Int("mb", 50, "size of the large generated file, in MB")
	flag.Parse()
	benchutil.Main(func() error { return run(*n, *values, *mb) })
}

// playbooks writes a values file of small playbooks (about 74 bytes each, the density
// of the 50 MB / 650k file) until it has n playbooks or size bytes.
func playbooks(path string, n, size int) (int, int64, error) {
	trig := []string{"on_pod_update: {}", "on_deployment_update: {}", "on_job_failure: {}", "on_pod_crash_loop: {}", "on_prometheus_alert: {}"}
	act := []string{"pod_events_enricher: {}", "status_enricher: {}", "job_info_enricher: {}", "report_crash_loop: {}", "default_enricher: {}"}
	var b strings.Builder
	b.WriteString("customPlaybooks:\n")
	i := 0
	for ; (n > 0 && i < n) || (size > 0 && b.Len() < size); i++ {
		fmt.Fprintf(&b, "- triggers: [{%s}]\n  actions: [{%s}]\n", trig[i%5], act[i%5])
	}
	return i, int64(b.Len()), os.WriteFile(path, []byte(b.String()), 0o644)
}

type measured struct {
	wall, cpu []time.Duration
	rss       int64
}

func run(n int, values string, mb int) error {
	if values == "" {
		return fmt.Errorf("pass -values PATH (the chart's values.yaml)")
	}
	tmp, err := os.MkdirTemp("", "robusta-bench-validate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "robusta")
	if err := benchutil.Build(bin); err != nil {
		return err
	}
	hello := filepath.Join(tmp, "hello")
	if err := os.WriteFile(filepath.Join(tmp, "hello.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n"), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", hello, filepath.Join(tmp, "hello.go")).CombinedOutput(); err != nil {
		return fmt.Errorf("build hello: %v\n%s", err, out)
	}
	small := filepath.Join(tmp, "10k.yaml")
	nSmall, sizeSmall, err := playbooks(small, 10000, 0)
	if err != nil {
		return err
	}
	large := filepath.Join(tmp, "large.yaml")
	nLarge, sizeLarge, err := playbooks(large, 0, mb*1000*1000)
	if err != nil {
		return err
	}
	cmds := []struct {
		label string
		args  []string
	}{
		{"hello-world Go binary", []string{hello}},
		{"`robusta version`", []string{bin, "version"}},
		{"validate the chart's values.yaml", []string{bin, "playbooks", "validate", values}},
		{fmt.Sprintf("validate %d playbooks (%.1f MB)", nSmall, float64(sizeSmall)/1e6), []string{bin, "playbooks", "validate", small}},
		{fmt.Sprintf("validate %d playbooks (%.1f MB)", nLarge, float64(sizeLarge)/1e6), []string{bin, "--max-file-size", "128Mi", "playbooks", "validate", large}},
	}
	res := make([]measured, len(cmds))
	env := []string{"HOME=" + tmp, "PATH=" + os.Getenv("PATH")}
	for i := 0; i < n; i++ {
		for c, cmd := range cmds {
			before := childCPU()
			d, rss, out, err := benchutil.Timed(env, cmd.args[0], cmd.args[1:]...)
			if err != nil {
				return fmt.Errorf("%s: %v\n%s", cmd.label, err, out)
			}
			res[c].wall = append(res[c].wall, d)
			res[c].cpu = append(res[c].cpu, childCPU()-before)
			res[c].rss = max(res[c].rss, rss)
		}
	}
	var load [3]float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &load[0], &load[1], &load[2])
	}
	fmt.Printf("Measured %s on %s/%s, %d CPUs, %d runs each (interleaved), load average at the end %.2f %.2f %.2f.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), n, load[0], load[1], load[2])
	fmt.Println("| command | median wall | min | max | median CPU (user+sys) | peak RSS |")
	fmt.Println("|---|---|---|---|---|---|")
	for c, cmd := range cmds {
		lo, hi := benchutil.Range(res[c].wall)
		fmt.Printf("| %s | %s | %s | %s | %s | %.1f MiB |\n", cmd.label, benchutil.MS(benchutil.Median(res[c].wall)), benchutil.MS(lo), benchutil.MS(hi),
			benchutil.MS(benchutil.Median(res[c].cpu)), float64(res[c].rss)/1024)
	}
	return nil
}

// childCPU is the user+system time of this process's waited-for children (rsswrap and
// what it ran).
func childCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
