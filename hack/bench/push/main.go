// Command push measures `robusta playbooks push` against what the Python CLI ran
// (`kubectl cp`), reproduced by hand as SANDBOX.md describes because `kubectl cp` itself
// hangs on kwok: `tar -cf - -C DIR . | kubectl exec -i POD -c runner -- tar -xf - -C DEST`
// (GNU tar pads its stream, so the remote tar ends without stdin EOF). Two cases, each
// its own table: a first push (a name the runner does not have, the tar pipe into a new
// folder) and pushing again after editing a few files (the same name, the tar pipe over
// its previous copy). It also reports the peak RSS of robusta (getrusage of the child)
// and the load average. Prints a Markdown report.
//
//	go run ./hack/bench/push -n 5
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/robusta-dev/robusta-go/hack/bench/benchutil"
	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

type repoShape struct {
	key   string
	name  string
	files int
	bytes int64
	// source: Python-like text (source.go) instead of incompressible bytes.
	source bool
}

var shapes = []repoShape{
	{"small", "100 files / 1 MB", 100, 1 << 20, false},
	{"random", "5,000 files / 50 MB, incompressible", 5000, 50 << 20, false},
	{"source", "5,000 files / 59 MB, Python-like source", 5000, 59 << 20, true},
	{"many", "20,000 small files", 20000, 20000 * 200, false},
}

func main() {
	n := flag.Int("n", 5, "runs of each tool per repo")
	only := flag.String("shapes", "small,random,source,many", "which repos, comma-separated")
	link := flag.String("link", "0", "limit the bandwidth to kube-apiserver, as a laptop's link to its cluster: e.g. 100Mbit, 20MB (per second); 0 for none")
	hold := flag.Bool("hold", false, "set up the cluster, runner and repos, print how to reach them and wait for a signal (to profile by hand)")
	flag.Parse()
	benchutil.Main(func() error {
		bps, err := parseRate(*link)
		if err != nil {
			return err
		}
		return run(*n, *only, *hold, *link, bps)
	})
}

func run(n int, only string, hold bool, link string, bps int) error {
	ctx := context.Background()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return err
	}
	e, err := benchutil.Start(ctx, "robusta-bench-push-")
	if err != nil {
		return err
	}
	defer e.Close()
	tmp, bin, c := e.Tmp, e.Bin, e.Cluster
	execDir := filepath.Join(tmp, "pod")
	_ = os.MkdirAll(execDir, 0o755)
	r, err := c.CreateRunner(ctx, sandbox.RunnerSpec{Namespace: "robusta", ExecDir: execDir})
	if err != nil {
		return err
	}
	kubeconfig := c.KubeconfigPath
	if bps > 0 {
		// Only the measured commands go through the link; setting up does not.
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if kubeconfig, err = throttledKubeconfig(lctx, kubeconfig, tmp, bps); err != nil {
			return err
		}
	}
	env := append(os.Environ(), "KUBECONFIG="+kubeconfig)
	storage := filepath.Join(execDir, "storage")

	fmt.Printf("Measured %s on %s/%s, %d CPUs, load average %s at the start; median of %d runs each.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), benchutil.LoadAvg(), n)
	if bps > 0 {
		fmt.Printf("Both tools reach kube-apiserver through a %s link (%.1f MB/s each way, a loopback proxy).\n\n", link, float64(bps)/1e6)
	}
	var runs []string
	var firstRows, repeatRows []string
	for _, sh := range shapes {
		if !strings.Contains(","+only+",", ","+sh.key+",") {
			continue
		}
		name := "bench_" + sh.key
		src := filepath.Join(tmp, name)
		if err := makeRepo(src, name, sh); err != nil {
			return err
		}
		if hold {
			fmt.Printf("repo %s: %s\n", sh.key, src)
			continue
		}
		pipe := func(dest string) (time.Duration, error) {
			script := fmt.Sprintf("tar -cf - -C %q . | %q exec -i -n %s %s -c runner -- tar -xf - -C %q", src, kubectl, r.Namespace, r.Pod, dest)
			d, _, err := timed(env, "bash", "-o", "pipefail", "-c", script)
			return d, err
		}
		push := func(extra ...string) (time.Duration, int64, error) {
			return timed(env, bin, append([]string{"playbooks", "push", src, "--storage-path", storage}, extra...)...)
		}
		var rss int64

		// First push: every run to a name the runner does not have yet, and the tar
		// pipe into a new folder; nothing is removed during this phase (removing
		// thousands of files slows the creation of the next ones on ext4, which
		// skips inodes freed in the last minute).
		first := [][]string{nil, {"--checksum"}, {"--compress", "never"}}
		times := make([][]time.Duration, len(first)+1)
		for i := 0; i < n; i++ {
			line := fmt.Sprintf("%s, first push, run %d:", sh.key, i+1)
			for v, extra := range first {
				d, maxrss, err := push(append([]string{"--name", fmt.Sprintf("first_%s_%d_%d", sh.key, i, v)}, extra...)...)
				if err != nil {
					return err
				}
				times[v] = append(times[v], d)
				rss = max(rss, maxrss)
				line += " " + benchutil.Secs(d)
			}
			dest := filepath.Join(storage, fmt.Sprintf("kcp-first-%s-%d", sh.key, i))
			_ = os.MkdirAll(dest, 0o755)
			d, err := pipe(dest)
			if err != nil {
				return err
			}
			times[len(first)] = append(times[len(first)], d)
			runs = append(runs, line+" | tar pipe "+benchutil.Secs(d))
		}
		firstRows = append(firstRows, row(sh.name, times, rss))

		// Pushing again after editing a few files: the same name each run (what a user
		// does), against the tar pipe into the folder it filled before (kubectl cp
		// over the previous copy).
		again := [][]string{nil, {"--checksum"}, {"--full"}}
		dest := filepath.Join(storage, "kcp-again-"+sh.key)
		_ = os.MkdirAll(dest, 0o755)
		if _, _, err := push("--name", "again_"+sh.key); err != nil {
			return err
		}
		if _, err := pipe(dest); err != nil {
			return err
		}
		rnd := rand.New(rand.NewSource(7))
		times = make([][]time.Duration, len(again)+1)
		for i := 0; i < n; i++ {
			line := fmt.Sprintf("%s, again, run %d:", sh.key, i+1)
			for v, extra := range again {
				if err := editFiles(rnd, src, name, sh, 5); err != nil {
					return err
				}
				d, maxrss, err := push(append([]string{"--name", "again_" + sh.key}, extra...)...)
				if err != nil {
					return err
				}
				times[v] = append(times[v], d)
				rss = max(rss, maxrss)
				line += " " + benchutil.Secs(d)
			}
			if err := editFiles(rnd, src, name, sh, 5); err != nil {
				return err
			}
			d, err := pipe(dest)
			if err != nil {
				return err
			}
			times[len(again)] = append(times[len(again)], d)
			runs = append(runs, line+" | tar pipe "+benchutil.Secs(d))
		}
		repeatRows = append(repeatRows, row(sh.name, times, rss))
	}
	if hold {
		fmt.Printf("export KUBECONFIG=%s ROBUSTA=%s POD=%s/%s STORAGE=%s\nwaiting for a signal\n", c.KubeconfigPath, bin, r.Namespace, r.Pod, storage)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		return nil
	}
	fmt.Println("First push (the runner does not have the repository; push, push --checksum, push --compress never")
	fmt.Println("and the tar pipe into a new folder, in turn):")
	fmt.Println()
	fmt.Println("| repo | robusta push | robusta push --checksum | robusta push --compress never | tar + kubectl exec tar (kubectl cp by hand) | speed-up (default / --checksum / never) | robusta peak RSS |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, l := range firstRows {
		fmt.Println(l)
	}
	fmt.Println()
	fmt.Println("Pushing again after editing 5 files (push, push --checksum, push --full, each after its own edit,")
	fmt.Println("and the tar pipe over the folder it filled before, in turn):")
	fmt.Println()
	fmt.Println("| repo | robusta push | robusta push --checksum | robusta push --full | tar + kubectl exec tar over the previous copy | speed-up (default / --checksum / full) | robusta peak RSS |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, l := range repeatRows {
		fmt.Println(l)
	}
	fmt.Printf("\nLoad average at the end: %s. Every run:\n\n", benchutil.LoadAvg())
	for _, l := range runs {
		fmt.Println("    " + l)
	}
	return nil
}

// row is a table row: the medians of three robusta columns and the peer's, and the
// peer's median over each.
func row(name string, times [][]time.Duration, rss int64) string {
	m := make([]time.Duration, len(times))
	for i := range times {
		m[i] = benchutil.Median(times[i])
	}
	peer := float64(m[3])
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %.1fx / %.1fx / %.1fx | %.1f MiB |", name, benchutil.Secs(m[0]), benchutil.Secs(m[1]), benchutil.Secs(m[2]), benchutil.Secs(m[3]),
		peer/float64(m[0]), peer/float64(m[1]), peer/float64(m[2]), float64(rss)/1024)
}

// editFiles rewrites k files of the repo, picked at random, with new content of the
// same size and kind.
func editFiles(rnd *rand.Rand, root, name string, sh repoShape, k int) error {
	per := sh.bytes / int64(sh.files)
	for j := 0; j < k; j++ {
		i := rnd.Intn(sh.files)
		p := filepath.Join(root, name, fmt.Sprintf("d%03d", i/100), fmt.Sprintf("m%05d.py", i))
		buf := make([]byte, per)
		if sh.source {
			buf = pythonSource(rnd, int(per))[:per]
		} else {
			rnd.Read(buf)
		}
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// makeRepo writes a valid playbook repo of the given shape, with incompressible content
// or Python-like source text.
func makeRepo(root, name string, sh repoShape) error {
	rnd := rand.New(rand.NewSource(42))
	pkg := filepath.Join(root, name)
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "pyproject.toml"), []byte(fmt.Sprintf("[tool.poetry]\nname = %q\n", name)), 0o644); err != nil {
		return err
	}
	per := sh.bytes / int64(sh.files)
	buf := make([]byte, per)
	for i := 0; i < sh.files; i++ {
		dir := filepath.Join(pkg, fmt.Sprintf("d%03d", i/100))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if sh.source {
			buf = pythonSource(rnd, int(per))[:per] // cut mid-line: still text, and the size is exact
		} else {
			rnd.Read(buf)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%05d.py", i)), buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func timed(env []string, name string, args ...string) (time.Duration, int64, error) {
	d, rss, _, err := benchutil.Timed(env, name, args...)
	return d, rss, err
}
