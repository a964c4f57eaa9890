// Command startup measures how long `robusta version` takes from exec to exit against a
// hello-world Go binary, interleaved in one run, and where robusta's start-up goes:
// package initialisation per package (GODEBUG=inittrace=1), with the import chain that
// links each costly package, and the GC cycles started before exit (GODEBUG=gctrace=1).
// It prints a Markdown report for docs/PERFORMANCE.md.
//
//	go run ./hack/bench/startup -n 41
//	go run ./hack/bench/startup -n 41 -old /tmp/robusta-before   # an earlier build, same run
//
// Run it from the repository root. Besides robusta and hello it builds two floors from
// hack/bench/startup/floor: programs that only link (and so initialise) the libraries
// robusta's commands need, to show what any single binary holding them pays.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/hack/bench/benchutil"
)

const helloSource = `package main

import "fmt"

func main() { fmt.Println("hello") }
`

// module is the import path prefix of this repository's packages.
const module = "github.com/robusta-dev/robusta-go"

func main() {
	n := flag.Int("n", 41, "timed runs of each binary")
	traces := flag.Int("trace", 15, "runs under GODEBUG=inittrace=1 for the per-package table")
	top := flag.Int("top", 12, "packages listed in the init table")
	old := flag.String("old", "", "an earlier robusta binary to time in the same run (before/after)")
	flag.Parse()
	benchutil.Main(func() error { return run(*n, *traces, *top, *old) })
}

// subject is one binary timed.
type subject struct {
	name string
	path string
	args []string
	wall []time.Duration
	cpu  []time.Duration // user + system of the child
}

func run(n, traces, top int, old string) error {
	tmp, err := os.MkdirTemp("", "robusta-startup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "robusta")
	if err := build(".", bin, ""); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "hello.go"), []byte(helloSource), 0o644); err != nil {
		return err
	}
	hello := filepath.Join(tmp, "hello")
	if err := build("hello.go", hello, tmp); err != nil {
		return err
	}
	subjects := []*subject{{name: "hello world (fmt.Println)", path: hello}}
	for _, fl := range []struct{ tag, name string }{
		{"", "floor: client-go clientset, dynamic, discovery"},
		{"helm", "floor: client-go + Helm engine, chartutil, storage"},
	} {
		out := filepath.Join(tmp, "floor"+fl.tag)
		if err := buildTags("./hack/bench/startup/floor", out, fl.tag); err != nil {
			return err
		}
		subjects = append(subjects, &subject{name: fl.name, path: out})
	}
	if old != "" {
		subjects = append(subjects, &subject{name: "`robusta version` (-old build)", path: old, args: []string{"version"}})
	}
	subjects = append(subjects, &subject{name: "`robusta version`", path: bin, args: []string{"version"}})
	ours := subjects[len(subjects)-1]

	// A hermetic environment: no kubeconfig or config file of the user's is read.
	home := filepath.Join(tmp, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		return err
	}
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "KUBECONFIG=" + filepath.Join(home, "none")}

	loadStart := benchutil.LoadAvg()
	for _, s := range subjects { // warm the page cache
		for i := 0; i < 3; i++ {
			if _, _, err := timed(env, s.path, s.args...); err != nil {
				return err
			}
		}
	}
	for i := 0; i < n; i++ {
		// Interleaved, each round starting at another binary, so drift in the
		// machine's load and position in the round hit all alike.
		for j := range subjects {
			s := subjects[(i+j)%len(subjects)]
			w, c, err := timed(env, s.path, s.args...)
			if err != nil {
				return err
			}
			s.wall, s.cpu = append(s.wall, w), append(s.cpu, c)
		}
	}
	loadEnd := benchutil.LoadAvg()

	fmt.Printf("Measured %s on %s/%s, %d CPUs, %s; %d runs of each binary, interleaved. Load average at start %s, at end %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), n, loadStart, loadEnd)
	fmt.Printf("| binary | size | median wall | min | max | median CPU (user+sys) | wall / hello |\n|---|---|---|---|---|---|---|\n")
	base := benchutil.Median(subjects[0].wall)
	for _, s := range subjects {
		lo, hi := benchutil.Range(s.wall)
		med := benchutil.Median(s.wall)
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %.1fx |\n", s.name, size(s.path), benchutil.MS(med), benchutil.MS(lo), benchutil.MS(hi),
			benchutil.MS(benchutil.Median(s.cpu)), float64(med)/float64(base))
	}
	fmt.Printf("\nTarget: `robusta version` at most 4x hello world; here %.1fx.\n", float64(benchutil.Median(ours.wall))/float64(base))

	if old != "" {
		paired(subjects[len(subjects)-2], ours)
	}

	gcs, err := gcCycles(env, bin)
	if err != nil {
		return err
	}
	fmt.Printf("\nGC cycles started by `robusta version` (GODEBUG=gctrace=1): %d.\n", gcs)
	if old != "" {
		if gcs, err = gcCycles(env, old); err != nil {
			return err
		}
		fmt.Printf("The -old build: %d.\n", gcs)
	}
	return initTable(env, bin, traces, top)
}

// paired compares two binaries round by round: runs of one round are neighbours in
// time, so the machine's load, which drifts over a run, cancels out of their
// difference better than out of two medians.
func paired(before, after *subject) {
	var dWall, dCPU []time.Duration
	fewer := 0
	for i := range after.cpu {
		dWall = append(dWall, before.wall[i]-after.wall[i])
		dCPU = append(dCPU, before.cpu[i]-after.cpu[i])
		if after.cpu[i] < before.cpu[i] {
			fewer++
		}
	}
	fmt.Printf("\nRound by round against the -old build: this build used less CPU in %d of %d rounds; median saving per round %s of CPU, %s of wall.\n",
		fewer, len(after.cpu), benchutil.MS(benchutil.Median(dCPU)), benchutil.MS(benchutil.Median(dWall)))
}

// build compiles pkg as a release does (trimmed, stripped).
func build(pkg, out, dir string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func buildTags(pkg, out, tags string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-tags", tags, "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s (tags %q): %v\n%s", pkg, tags, err, b)
	}
	return nil
}

// timed runs a binary to its end: wall time from start to exit, and its CPU time.
func timed(env []string, path string, args ...string) (time.Duration, time.Duration, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%s %v: %v\n%s", filepath.Base(path), args, err, stderr.String())
	}
	ps := cmd.ProcessState
	return wall, ps.UserTime() + ps.SystemTime(), nil
}

func size(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6)
}

// gcCycles counts the "gc N" lines the runtime prints for one `version` run.
func gcCycles(env []string, bin string) (int, error) {
	out, err := stderrOf(append(env, "GODEBUG=gctrace=1"), bin, "version")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "gc ") {
			n++
		}
	}
	return n, nil
}

func stderrOf(env []string, bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "", fmt.Errorf("%s %v: %v\n%s", bin, args, err, stderr.String())
	}
	return stderr.String(), err
}

// initLine is one line of GODEBUG=inittrace=1:
// "init PKG @T ms, C ms clock, B bytes, A allocs".
type initLine struct {
	pkg    string
	clock  float64 // ms
	bytes  int64
	allocs int64
}

func parseInitTrace(s string) []initLine {
	var out []initLine
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// init PKG @T ms, C ms clock, B bytes, A allocs
		if len(f) < 11 || f[0] != "init" {
			continue
		}
		clock, err1 := strconv.ParseFloat(f[4], 64)
		b, err2 := strconv.ParseInt(f[7], 10, 64)
		a, err3 := strconv.ParseInt(f[9], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		// The runtime escapes dots in the last path element ("gopkg.in/yaml%2ev3").
		out = append(out, initLine{pkg: strings.ReplaceAll(f[1], "%2e", "."), clock: clock, bytes: b, allocs: a})
	}
	return out
}

// initTable prints the median total of package initialisation and the packages that
// cost most, each with the import chain from main that links it.
func initTable(env []string, bin string, traces, top int) error {
	clocks := map[string][]float64{}
	last := map[string]initLine{}
	var totals []float64
	var totalBytes []float64
	for i := 0; i < traces; i++ {
		out, err := stderrOf(append(env, "GODEBUG=inittrace=1"), bin, "version")
		if err != nil {
			return err
		}
		var sum, b float64
		for _, l := range parseInitTrace(out) {
			clocks[l.pkg] = append(clocks[l.pkg], l.clock)
			last[l.pkg] = l
			sum += l.clock
			b += float64(l.bytes)
		}
		totals, totalBytes = append(totals, sum), append(totalBytes, b)
	}
	type row struct {
		pkg string
		med float64
	}
	var rows []row
	var ownSum float64
	for p, c := range clocks {
		m := medianF(c)
		rows = append(rows, row{p, m})
		if strings.HasPrefix(p, module+"/") {
			ownSum += m
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].med > rows[j].med })
	chains, err := importChains()
	if err != nil {
		return err
	}
	fmt.Printf("\nPackage initialisation of `robusta version` (GODEBUG=inittrace=1, median of %d runs; the trace's own printing slows the run, so compare these with each other, not with the wall times above): %d packages run init work, %.1f ms in all, %.1f MB allocated; this repository's own packages %.2f ms.\n\n",
		traces, len(clocks), medianF(totals), medianF(totalBytes)/1e6, ownSum)
	fmt.Printf("| package | init clock | allocated | linked through |\n|---|---|---|---|\n")
	for i, r := range rows {
		if i == top {
			break
		}
		l := last[r.pkg]
		fmt.Printf("| %s | %.2f ms | %d kB in %d allocs | %s |\n", r.pkg, r.med, l.bytes/1000, l.allocs, chains(r.pkg))
	}
	return nil
}

func medianF(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// importChains returns a function naming, for a package linked into the binary, the
// first of this repository's packages on a shortest import path from main to it, and
// the external package it imports on the way ("internal/playbooks → helm.sh/.../chartutil").
func importChains() (func(string) string, error) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", ".").Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps: %w", err)
	}
	imports := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 {
			imports[f[0]] = f[1:]
		}
	}
	// Breadth-first from main: prev gives a shortest path back.
	prev := map[string]string{module: ""}
	queue := []string{module}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, q := range imports[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return func(pkg string) string {
		if _, ok := prev[pkg]; !ok {
			return "?"
		}
		if !strings.Contains(strings.SplitN(pkg, "/", 2)[0], ".") {
			return "(standard library)"
		}
		var path []string
		for p := pkg; p != ""; p = prev[p] {
			path = append(path, p)
		}
		// path runs from pkg back to main; keep the last own package and what it imports.
		for i := 0; i < len(path); i++ {
			if strings.HasPrefix(path[i], module) {
				if i == 0 {
					return "(own package)"
				}
				own := strings.TrimPrefix(strings.TrimPrefix(path[i], module), "/")
				if own == "" {
					own = "main"
				}
				return own + " → " + path[i-1]
			}
		}
		return "?"
	}, nil
}
