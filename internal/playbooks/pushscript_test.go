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
	if got := push("v1"); got != "pushed 1 rename" {
		t.Fatal(got)
	}
	failing := func(tools ...string) string { return failingPath(t, tools...) }
	if got := push("v2", failing("python3")); got != "pushed 1 exchange" {
		t.Fatal("perl:", got)
	}
	if got := push("v3", failing("perl")); got != "pushed 1 exchange" {
		t.Fatal("python3:", got)
	}
	if got := push("v4", failing("perl", "python3")); got != "pushed 1 renames" {
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

// runPushScript pushes one file a.py with content as repository "repo" into storage.
func runPushScript(storage, content string, env ...string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "a.py", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte(content))
	_ = tw.Close()
	cmd := exec.Command("sh", "-c", pushScript, "sh", storage, "repo", "tar", strconv.Itoa(buf.Len()), "", "1",
		strconv.Itoa(len(content)), "t1", "60")
	cmd.Stdin = &buf
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
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
// without the sha256 of the tar stream; a stream that stops early fails the checks.
func TestPushScriptFramedGzip(t *testing.T) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	var total int
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < 40; i++ {
		// 40 files of 100 KiB of text: several frames once compressed.
		var text bytes.Buffer
		fmt.Fprintf(&text, "line %d of file %d\n", i*7, i)
		for text.Len() < 100<<10 {
			fmt.Fprintf(&text, "%x ", rnd.Int63())
		}
		content := text.Bytes()
		_ = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("pkg/f%02d.py", i), Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(content)
		total += len(content)
	}
	_ = tw.Close()
	sum := sha256.Sum256(tarBuf.Bytes())
	framed := func(cut int) []byte {
		var out bytes.Buffer
		fw := newFrameWriter(&out)
		gz, _ := gzip.NewWriterLevel(fw, gzip.BestSpeed)
		_, _ = gz.Write(tarBuf.Bytes())
		_ = gz.Close()
		_ = fw.Close()
		b := out.Bytes()
		if len(b) < 2*frameSize {
			t.Fatalf("the stream is %d bytes: too short to test frames", len(b))
		}
		if cut > 0 {
			b = b[:cut]
		}
		return b
	}
	run := func(storage, sha string, stream []byte) ([]byte, error) {
		cmd := exec.Command("sh", "-c", pushScript, "sh", storage, "repo", "tgz", "0", sha, "40",
			strconv.Itoa(total), "t2", "60")
		cmd.Stdin = bytes.NewReader(stream)
		return cmd.CombinedOutput()
	}
	for _, sha := range []string{"", hex.EncodeToString(sum[:])} {
		storage := t.TempDir()
		if out, err := run(storage, sha, framed(0)); err != nil || !strings.HasPrefix(string(out), "pushed 40 rename") {
			t.Fatalf("sha %q: %v %s", sha, err, out)
		}
		b, _ := os.ReadFile(filepath.Join(storage, "repo", "pkg", "f39.py"))
		if !bytes.HasPrefix(b, []byte("line 273 of file 39\n")) {
			t.Fatalf("f39.py = %.40q", b)
		}
		// Cut in the second frame: the live version stays, nothing is left behind.
		out, err := run(storage, sha, framed(frameSize+frameSize/2))
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
