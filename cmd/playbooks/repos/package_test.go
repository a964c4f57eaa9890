package repos

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

func sampleRepo(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "pkg_repo")
	for p, c := range map[string]string{
		"pyproject.toml":          "[tool.poetry]\nname = \"pkg_repo\"\n",
		"pkg_repo/__init__.py":    "",
		"pkg_repo/actions.py":     "X = 1\n",
		"pkg_repo/sub/helpers.py": "Y = 2\n",
	} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func packageOpts(dir, file string) (*PackageOptions, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := cli.Test()
	return &PackageOptions{IO: ios, Output: func() cli.OutputFormat { return cli.OutputText }, Dir: dir, File: file}, out, errOut
}

// entries lists the names in a .tgz.
func entries(t *testing.T, b []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

const wantEntries = "pkg_repo/ pkg_repo/__init__.py pkg_repo/actions.py pkg_repo/sub/ pkg_repo/sub/helpers.py pyproject.toml"

func TestPackageInsideTheRepoTwiceIsIdentical(t *testing.T) {
	root := sampleRepo(t)
	t.Chdir(root)
	var archives [][]byte
	for i := 0; i < 3; i++ {
		o, out, _ := packageOpts(".", "")
		if err := runPackage(o); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "Wrote pkg_repo.tgz (4 files") {
			t.Fatalf("run %d: %s", i, out)
		}
		b, err := os.ReadFile(filepath.Join(root, "pkg_repo.tgz"))
		if err != nil {
			t.Fatal(err)
		}
		archives = append(archives, b)
	}
	// And an archive written under another name is left out too.
	o, _, _ := packageOpts(".", "other.tgz")
	if err := runPackage(o); err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadFile(filepath.Join(root, "other.tgz"))
	if !bytes.Equal(archives[0], archives[1]) || !bytes.Equal(archives[1], archives[2]) || !bytes.Equal(archives[0], other) {
		t.Fatal("packaging again in the repository changed the archive")
	}
	if got := strings.Join(entries(t, archives[2]), " "); got != wantEntries {
		t.Fatalf("entries: %s", got)
	}
}

func TestPackageThroughSymlinkAndTrailingSlash(t *testing.T) {
	root := sampleRepo(t)
	ln := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(root, ln); err != nil {
		t.Fatal(err)
	}
	var first []byte
	for _, dir := range []string{root, root + "/", ln, ln + "/"} {
		file := filepath.Join(t.TempDir(), "out.tgz")
		o, _, _ := packageOpts(dir, file)
		if err := runPackage(o); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		b, _ := os.ReadFile(file)
		if first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Fatalf("%s gives another archive", dir)
		}
	}
	if got := strings.Join(entries(t, first), " "); got != wantEntries {
		t.Fatalf("entries: %s", got)
	}
}

func TestPackageToStdout(t *testing.T) {
	root := sampleRepo(t)
	file := filepath.Join(t.TempDir(), "a.tgz")
	o, _, _ := packageOpts(root, file)
	if err := runPackage(o); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(file)

	t.Chdir(t.TempDir())
	o, out, errOut := packageOpts(root, "-")
	if err := runPackage(o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatal("-f - wrote other bytes than -f FILE")
	}
	if !strings.Contains(errOut.String(), "Wrote standard output (4 files") {
		t.Fatalf("summary: %q", errOut)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Fatal("-f - wrote a file named -")
	}

	// A terminal gets no binary: refused before anything is read or written.
	o, out, _ = packageOpts(root, "-")
	o.IO.SetTTY(false, true, false)
	err := runPackage(o)
	var ue *cli.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "standard output, which is a terminal") || out.Len() != 0 {
		t.Fatalf("got %v, %d bytes", err, out.Len())
	}
}

func TestPackageRefusesAFolderAsOutput(t *testing.T) {
	root := sampleRepo(t)
	dir := t.TempDir()
	for _, file := range []string{dir, dir + "/"} {
		o, _, _ := packageOpts(root, file)
		err := runPackage(o)
		var ue *cli.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "is a folder") {
			t.Fatalf("%s: %v", file, err)
		}
	}
	if e, _ := os.ReadDir(dir); len(e) != 0 {
		t.Fatalf("left %v", e)
	}
}
