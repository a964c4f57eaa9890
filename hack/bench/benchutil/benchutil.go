// Package benchutil holds what the benchmark commands under hack/bench share: building
// the binary, timing a child process with its peak RSS, medians.
package benchutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// wrapper is the rsswrap binary Timed starts commands through.
var wrapper string

// Build builds the robusta binary as a release does (trimmed, stripped) into bin, and
// rsswrap beside it.
func Build(bin string) error {
	wrap := filepath.Join(filepath.Dir(bin), "rsswrap")
	for _, b := range []struct{ out, pkg string }{{bin, "."}, {wrap, "./hack/bench/rsswrap"}} {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", b.out, b.pkg)
		cmd.Env = ReleaseEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	wrapper = wrap
	return nil
}

// ReleaseEnv is the environment of a release build: without cgo, as the Makefile and
// goreleaser build. It matters for size and memory: with cgo on, a binary that links
// the plugin package (kustomize, through kubectl's describe) is linked for dynamic
// loading and keeps every exported method, 95 MB instead of 74 MB stripped.
func ReleaseEnv() []string { return append(os.Environ(), "CGO_ENABLED=0") }

// Timed runs a command to its end and returns its wall time, its peak RSS in KiB and
// its output.
//
// The RSS comes from getrusage of the child, but not of a child of this process: on
// Linux a child's ru_maxrss starts at its parent's high-water mark (exec records the
// old address space's peak, and Go forks with a shared one), so a benchmark holding
// 300 MB would see 300 MB everywhere. The command is started by a small
// parent, rsswrap, whose own small peak (see Floor) is the lowest number it can
// report. Build must have run.
func Timed(env []string, name string, args ...string) (time.Duration, int64, []byte, error) {
	if wrapper == "" {
		return 0, 0, nil, fmt.Errorf("benchutil: Build first (it builds rsswrap)")
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, 0, nil, err
	}
	defer pr.Close()
	cmd := exec.Command(wrapper, append([]string{name}, args...)...)
	cmd.Env = env
	cmd.ExtraFiles = []*os.File{pw}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	d := time.Since(start)
	pw.Close()
	if err != nil {
		return d, 0, out, fmt.Errorf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	b, _ := io.ReadAll(pr)
	rss, _ := strconv.ParseInt(string(b), 10, 64)
	return d, rss, out, nil
}

// Floor is the peak RSS (KiB) Timed reports for a command that uses almost nothing:
// the measuring parent's own share.
func Floor() int64 {
	_, rss, _, _ := Timed(os.Environ(), "true")
	return rss
}

// Median of durations (the upper one of an even count).
func Median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// Secs formats seconds with two decimals.
func Secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// MS formats milliseconds with one decimal.
func MS(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// Range is the smallest and the largest duration.
func Range(ds []time.Duration) (lo, hi time.Duration) {
	for i, d := range ds {
		if i == 0 || d < lo {
			lo = d
		}
		if d > hi {
			hi = d
		}
	}
	return lo, hi
}

// Env is what every benchmark starts from: a scratch folder, the built binary (and
// rsswrap) in it, and a sandbox cluster.
type Env struct {
	Tmp     string
	Bin     string
	Cluster *sandbox.Cluster
}

// Start builds the binary into a new scratch folder and starts a sandbox.
func Start(ctx context.Context, prefix string) (*Env, error) {
	tmp, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	e := &Env{Tmp: tmp, Bin: filepath.Join(tmp, "robusta")}
	if err := Build(e.Bin); err != nil {
		e.Close()
		return nil, err
	}
	if e.Cluster, err = sandbox.Start(ctx, sandbox.Options{}); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close stops the sandbox and removes the scratch folder.
func (e *Env) Close() {
	if e.Cluster != nil {
		_ = e.Cluster.Stop()
	}
	_ = os.RemoveAll(e.Tmp)
}

// Main runs a benchmark's run function and exits 1 with its error.
func Main(run func() error) {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// LoadAvg is the 1-, 5- and 15-minute load average, recorded beside each run: these
// benchmarks share the machine, and the load says how far to trust a figure.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
