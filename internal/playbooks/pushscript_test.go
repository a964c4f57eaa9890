package playbooks

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"k8s.io/apimachinery/pkg/util/wait"
)

// The push script run by a local sh, as the runner's shell runs it: first push, then
// a swap by exchange through perl, through python3 when perl cannot, and by two
// renames when neither can.
func TestPushScriptSwaps(t *testing.T) {
	needTools(t, "perl", "python3")
	storage := t.TempDir()
	push := func(content string, env ...string) string {
		t.Helper()
		out, err := runPushScript(storage, content, env...)
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		b, _ := os.ReadFile(filepath.Join(storage, "repo", "a.py"))
		if string(b) != content {
			t.Fatalf("live a.py = %q, want %q", b, content)
		}
		return strings.TrimSpace(string(out))
	}
	if got := push("v1"); got != "pushed 1 rename 0" {
		t.Fatal(got)
	}
	failing := func(tools ...string) string { return failingPath(t, tools...) }
	if got := push("v2", failing("python3")); got != "pushed 1 exchange 0" {
		t.Fatal("perl:", got)
	}
	if got := push("v3", failing("perl")); got != "pushed 1 exchange 0" {
		t.Fatal("python3:", got)
	}
	if got := push("v4", failing("perl", "python3")); got != "pushed 1 renames 0" {
		t.Fatal("neither:", got)
	}
	prev, _ := os.ReadFile(filepath.Join(storage, ".repo.prev", "a.py"))
	if string(prev) != "v3" {
		t.Fatalf("prev %q", prev)
	}
	// The .prev before that is removed in the background after the reply.
	var entries []os.DirEntry
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		entries, _ = os.ReadDir(storage)
		return len(entries) == 2, nil
	})
	if err != nil {
		t.Fatalf("storage %v", entries)
	}
}

// needTools fails in CI when a tool the test needs is missing (hack/test.sh installs
// them), and skips elsewhere.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed: CI must run every swap path (hack/test.sh installs it)", tool)
			}
			t.Skipf("%s is not installed; an exchange path cannot run here", tool)
		}
	}
}

// failingPath returns a PATH with stand-ins that always fail first.
func failingPath(t *testing.T, tools ...string) string {
	dir := t.TempDir()
	for _, tool := range tools {
		_ = os.WriteFile(filepath.Join(dir, tool), []byte("#!/bin/sh\nexit 1\n"), 0o755)
	}
	return "PATH=" + dir + ":" + os.Getenv("PATH")
}

// runPushScript pushes one file a.py with content as repository "repo" into storage,
// reusing nothing, and returns the script's output after "ready".
func runPushScript(storage, content string, env ...string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "a.py", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte(content))
	_ = tw.Close()
	out, err := scriptRun(storage, []string{"tar", "", "1", strconv.Itoa(len(content)), "t1", "60", ""}, sections("", buf.Bytes()), env...)
	_, after, _ := bytes.Cut(out, []byte("ready\n"))
	if after == nil {
		after = out
	}
	return after, err
}

// scriptRun runs pushScript for repository "repo" in storage with the arguments after
// the name, and stdin.
func scriptRun(storage string, args []string, stdin []byte, env ...string) ([]byte, error) {
	cmd := exec.Command("sh", append([]string{"-c", pushScript, "sh", storage, "repo"}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

// sections frames pushScript's stdin: each argument one section, as Push sends them.
func sections(parts ...any) []byte {
	var out bytes.Buffer
	fw := newFrameWriter(&out)
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			_, _ = fw.Write([]byte(p))
		case []byte:
			_, _ = fw.Write(p)
		}
		_ = fw.Close()
	}
	return out.Bytes()
}

// When the second of the two renames fails, the previous version goes back; when that
// fails too, the push says where it is. An mv stand-in fails the chosen moves.
func TestPushScriptRollsBackFailedRenames(t *testing.T) {
	realMv, err := exec.LookPath("mv")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, failMoves, want, live string
		code                        int
	}{
		{"rolled back", "*.tmp-*", "the previous version is live again", "v1", 9},
		{"rollback failed", "*.tmp-* | *.prev", "nor the previous version back: repo is missing, its previous version is in", "", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storage := t.TempDir()
			if out, err := runPushScript(storage, "v1"); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			path := failingPath(t, "perl", "python3")
			dir := strings.TrimPrefix(strings.SplitN(path, ":", 2)[0], "PATH=")
			mv := "#!/bin/sh\ncase \"$1\" in " + tc.failMoves + ") exit 1 ;; esac\nexec " + realMv + " \"$@\"\n"
			_ = os.WriteFile(filepath.Join(dir, "mv"), []byte(mv), 0o755)
			out, err := runPushScript(storage, "v2", path)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code || !strings.Contains(string(out), tc.want) {
				t.Fatalf("exit %v, want %d and %q: %s", err, tc.code, tc.want, out)
			}
			b, _ := os.ReadFile(filepath.Join(storage, "repo", "a.py"))
			if string(b) != tc.live {
				t.Fatalf("live a.py = %q, want %q", b, tc.live)
			}
			if tc.live == "" {
				if b, _ := os.ReadFile(filepath.Join(storage, ".repo.prev", "a.py")); string(b) != "v1" {
					t.Fatalf(".repo.prev/a.py = %q", b)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(storage, ".repo.tmp-*")); len(m) != 0 {
				t.Fatalf("left behind: %v", m)
			}
		})
	}
}

// The tgz mode: gzip cut into frames by frameWriter, unpacked by the script, with and
// without the sha256 of every file; a stream that stops early fails the checks.
func TestPushScriptFramedGzip(t *testing.T) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	var total int
	var sums strings.Builder
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < 40; i++ {
		// 40 files of 256 KiB, incompressible: several frames once gzip'd.
		content := make([]byte, 256<<10)
		rnd.Read(content)
		copy(content, fmt.Sprintf("line %d of file %d\n", i*7, i))
		name := fmt.Sprintf("pkg/f%02d.py", i)
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(content)
		total += len(content)
		sum := sha256.Sum256(content)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	_ = tw.Close()
	var gzBuf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&gzBuf, gzip.BestSpeed)
	_, _ = gz.Write(tarBuf.Bytes())
	_ = gz.Close()
	stream := func(check string, cut int) []byte {
		parts := []any{"", gzBuf.Bytes()}
		if check != "" {
			parts = append(parts, sums.String())
		}
		b := sections(parts...)
		if len(b) < 2*frameSize {
			t.Fatalf("the stream is %d bytes: too short to test frames", len(b))
		}
		if cut > 0 {
			b = b[:cut]
		}
		return b
	}
	run := func(storage, check string, stdin []byte) ([]byte, error) {
		return scriptRun(storage, []string{"tgz", check, "40", strconv.Itoa(total), "t2", "60", ""}, stdin)
	}
	for _, check := range []string{"", "1"} {
		storage := t.TempDir()
		if out, err := run(storage, check, stream(check, 0)); err != nil || !strings.HasPrefix(string(out), "ready\npushed 40 rename 0") {
			t.Fatalf("check %q: %v %s", check, err, out)
		}
		b, _ := os.ReadFile(filepath.Join(storage, "repo", "pkg", "f39.py"))
		if !bytes.HasPrefix(b, []byte("line 273 of file 39\n")) {
			t.Fatalf("f39.py = %.40q", b)
		}
		// Cut in the second frame: the live version stays, nothing is left behind.
		out, err := run(storage, check, stream(check, frameSize+frameSize/2))
		if err == nil {
			t.Fatalf("a cut stream was accepted: %s", out)
		}
		if b2, _ := os.ReadFile(filepath.Join(storage, "repo", "pkg", "f39.py")); !bytes.Equal(b, b2) {
			t.Fatal("the live version changed")
		}
		if m, _ := filepath.Glob(filepath.Join(storage, ".repo.*")); len(m) != 0 {
			t.Fatalf("left behind: %v", m)
		}
	}
}

// Reuse: the script lists the live files' sha256, links the kept ones (the same inode
// as the live file), unpacks the rest; it refuses to keep a path it did not list, and
// with sums checks every file, kept or sent.
func TestPushScriptReusesLiveFiles(t *testing.T) {
	storage := t.TempDir()
	tarOf := func(files map[string]string) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, name := range []string{"a.py", "b.py", "c.py"} {
			if c, ok := files[name]; ok {
				_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg})
				_, _ = tw.Write([]byte(c))
			}
		}
		_ = tw.Close()
		return buf.Bytes()
	}
	sum := func(c string) string { s := sha256.Sum256([]byte(c)); return hex.EncodeToString(s[:]) }
	args := func(files, bytes int, check string) []string {
		return []string{"tar", check, strconv.Itoa(files), strconv.Itoa(bytes), "t3", "60", "sum"}
	}
	out, err := scriptRun(storage, args(2, 4, ""), sections("", tarOf(map[string]string{"a.py": "A1", "b.py": "B1"})))
	if err != nil || string(out) != "ready\npushed 2 rename 0\n" {
		t.Fatalf("first push: %v %q", err, out)
	}
	// Keep a.py, replace b.py, add c.py.
	out, err = scriptRun(storage, args(3, 6, "1"), sections("a.py\n", tarOf(map[string]string{"b.py": "B2", "c.py": "C2"}),
		sum("A1")+"  a.py\n"+sum("B2")+"  b.py\n"+sum("C2")+"  c.py\n"))
	want := sum("A1") + "  ./a.py\n"
	if err != nil || !strings.Contains(string(out), want) || !strings.HasSuffix(string(out), "ready\npushed 3 exchange 1\n") && !strings.HasSuffix(string(out), "ready\npushed 3 renames 1\n") {
		t.Fatalf("second push: %v %q", err, out)
	}
	for name, want := range map[string]string{"a.py": "A1", "b.py": "B2", "c.py": "C2"} {
		if b, _ := os.ReadFile(filepath.Join(storage, "repo", name)); string(b) != want {
			t.Fatalf("%s = %q, want %q", name, b, want)
		}
	}
	live, _ := os.Stat(filepath.Join(storage, "repo", "a.py"))
	prev, _ := os.Stat(filepath.Join(storage, ".repo.prev", "a.py"))
	if !os.SameFile(live, prev) {
		t.Fatal("a.py was not linked from the live version")
	}

	for _, tc := range []struct {
		name, keep, sums string
		code             int
		msg              string
	}{
		{"unlisted path", "../repo/a.py\n", "", 12, "the client asked to keep a file the live version does not hold"},
		{"missing file", "zz.py\n", "", 12, "the client asked to keep a file the live version does not hold"},
		{"wrong sum", "a.py\nb.py\nc.py\n", sum("A1") + "  a.py\n" + sum("B9") + "  b.py\n" + sum("C2") + "  c.py\n", 4, "b.py: FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := ""
			parts := []any{tc.keep, tarOf(nil)}
			if tc.sums != "" {
				check = "1"
				parts = append(parts, tc.sums)
			}
			out, err := scriptRun(storage, args(3, 6, check), sections(parts...))
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code || !strings.Contains(string(out), tc.msg) {
				t.Fatalf("exit %v, want %d and %q: %s", err, tc.code, tc.msg, out)
			}
			if b, _ := os.ReadFile(filepath.Join(storage, "repo", "b.py")); string(b) != "B2" {
				t.Fatalf("the live version changed: b.py = %q", b)
			}
			if m, _ := filepath.Glob(filepath.Join(storage, ".repo.[tl]*")); len(m) != 0 {
				t.Fatalf("left behind: %v", m)
			}
		})
	}
}

func TestFrameWriter(t *testing.T) {
	var out bytes.Buffer
	fw := newFrameWriter(&out)
	data := bytes.Repeat([]byte("x"), frameSize+10)
	_, _ = fw.Write(data[:5])
	_, _ = fw.Write(data[5:])
	_ = fw.Close()
	want := fmt.Sprintf("%d\n%s10\n%s0\n", frameSize, data[:frameSize], data[:10])
	if out.String() != want {
		t.Fatalf("frames: %d bytes, want %d (head %.20q)", out.Len(), len(want), out.String())
	}
}

// A storage path that a symbolic link leads elsewhere is refused, with nothing written
// where it leads.
func TestPushScriptRefusesLinkedStorage(t *testing.T) {
	root := t.TempDir()
	target := filepath.Join(root, "elsewhere")
	_ = os.MkdirAll(target, 0o755)
	link := filepath.Join(root, "link")
	_ = os.Symlink(target, link)
	out, err := runPushScript(link, "v1")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 11 || !strings.Contains(string(out), "leads to "+target+" (through a symbolic link)") {
		t.Fatalf("%v %s", err, out)
	}
	if entries, _ := os.ReadDir(target); len(entries) != 0 {
		t.Fatalf("written through the link: %v", entries)
	}
}
