// Command logs measures `robusta local run logs_enricher` on a 50 MB container log
// served by kwok: wall time and peak RSS (getrusage of the child) with tail unset,
// with a tail and with a filter, next to `kubectl logs` for scale. Prints a Markdown
// report.
//
//	go run ./hack/bench/logs -n 5
package main

import (
	"bufio"
	"context"
	"encoding/json"
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
	n := flag.Int("n", 5, "runs of each command")
	size := flag.Int("mb", 50, "log size in MB")
	flag.Parse()
	benchutil.Main(func() error { return run(*n, *size) })
}

func run(n, mb int) error {
	ctx := context.Background()
	e, err := benchutil.Start(ctx, "robusta-bench-logs-")
	if err != nil {
		return err
	}
	defer e.Close()
	bin, c := e.Bin, e.Cluster
	logFile := filepath.Join(e.Tmp, "big.log")
	lines, err := writeLog(logFile, int64(mb)<<20)
	if err != nil {
		return err
	}
	r, err := c.CreateRunner(ctx, sandbox.RunnerSpec{Namespace: "bench", LogFile: logFile})
	if err != nil {
		return err
	}
	env := append(os.Environ(), "KUBECONFIG="+c.KubeconfigPath)
	pod := "bench/" + r.Pod

	type cmd struct {
		name string
		argv []string
	}
	cmds := []cmd{
		{"`robusta local run logs_enricher` (tail unset)", []string{bin, "local", "run", "logs_enricher", "--pod", pod, "-o", "json"}},
		{"`robusta local run logs_enricher tail:=1000`", []string{bin, "local", "run", "logs_enricher", "--pod", pod, "tail:=1000", "-o", "json"}},
		{"`robusta local run logs_enricher filter_regex=ERROR`", []string{bin, "local", "run", "logs_enricher", "--pod", pod, "filter_regex=ERROR", "-o", "json"}},
	}
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		cmds = append(cmds, cmd{"`kubectl logs` (for scale; output discarded)", []string{kubectl, "logs", "-n", "bench", r.Pod}})
	}
	times := make([][]time.Duration, len(cmds))
	rss := make([]int64, len(cmds))
	sizes := make([]string, len(cmds))
	for i := 0; i < n; i++ {
		for j, c := range cmds {
			d, kib, out, err := benchutil.Timed(env, c.argv[0], c.argv[1:]...)
			if err != nil {
				return err
			}
			times[j] = append(times[j], d)
			rss[j] = max(rss[j], kib)
			sizes[j] = describe(out)
		}
	}
	fmt.Printf("Measured %s on %s/%s, %d CPUs: a %d MB log (%d lines) served by kwok, median of %d runs, interleaved.\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), mb, lines, n)
	fmt.Printf("Peak RSS is getrusage of each command; the lowest it can read here is %.1f MiB (`true`).\n\n", float64(benchutil.Floor())/1024)
	fmt.Println("| command | median | min | max | peak RSS | what the finding holds |")
	fmt.Println("|---|---|---|---|---|---|")
	for j, c := range cmds {
		lo, hi := benchutil.Range(times[j])
		fmt.Printf("| %s | %s | %s | %s | %.1f MiB | %s |\n", c.name, benchutil.Secs(benchutil.Median(times[j])), benchutil.Secs(lo), benchutil.Secs(hi), float64(rss[j])/1024, sizes[j])
	}
	return nil
}

// writeLog writes a CRI log of about size bytes; one line in 100 says ERROR.
func writeLog(path string, size int64) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	var written int64
	lines := 0
	for written < size {
		level := "INFO"
		if lines%100 == 0 {
			level = "ERROR"
		}
		n, err := fmt.Fprintf(w, "%s stdout F %s request %08d served in 12ms by worker 7 for /api/v1/orders?page=3\n", ts, level, lines)
		if err != nil {
			return 0, err
		}
		written += int64(n)
		lines++
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return lines, f.Close()
}

// describe says what a finding's file block holds, and whether it was cut.
func describe(out []byte) string {
	var f struct {
		Enrichments []struct {
			Blocks []struct {
				Type, Text string
				Data       []byte
			}
		}
	}
	if json.Unmarshal(out, &f) != nil || len(f.Enrichments) == 0 {
		return fmt.Sprintf("%d bytes of output", len(out))
	}
	s := ""
	for _, b := range f.Enrichments[0].Blocks {
		if b.Type == "file" {
			s = fmt.Sprintf("file of %.2f MiB", float64(len(b.Data))/(1<<20))
		}
		if b.Type == "markdown" {
			s += "; says it was cut"
		}
	}
	return s
}
