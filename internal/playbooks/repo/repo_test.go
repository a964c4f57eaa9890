package repo

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeTree creates files under a temp dir: path -> content ("->target" makes a symlink).
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			full = filepath.Join(full, "x") // so that Dir below is the folder itself
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(c, "->") {
			if err := os.Symlink(strings.TrimPrefix(c, "->"), full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if strings.HasSuffix(p, "/") {
			continue
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const poetry = "[tool.poetry]\nname = \"%s\"\nversion = \"0.1.0\"\n"

func pp(name string) string { return strings.Replace(poetry, "%s", name, 1) }

func TestLoadValid(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		module string
	}{
		{"poetry", map[string]string{"pyproject.toml": pp("my_playbooks"), "my_playbooks/a.py": "x"}, "my_playbooks"},
		{"pep621", map[string]string{"pyproject.toml": "[project]\nname = \"pep_repo\"\n", "pep_repo/__init__.py": ""}, "pep_repo"},
		{"hyphenated", map[string]string{"pyproject.toml": pp("my-repo"), "my_repo/a.py": "x"}, "my_repo"},
		{"dotted", map[string]string{"pyproject.toml": pp("my.repo"), "my_repo/a.py": "x"}, "my_repo"},
		{"capitalised folder lower", map[string]string{"pyproject.toml": pp("My-Repo"), "my_repo/a.py": "x"}, "my_repo"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Load(writeTree(t, tc.files))
			if err != nil {
				t.Fatal(err)
			}
			if r.ModuleDir != tc.module {
				t.Fatalf("module %q, want %q", r.ModuleDir, tc.module)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no pyproject", map[string]string{"x/a.py": ""}, "no pyproject.toml"},
		{"malformed toml", map[string]string{"pyproject.toml": "[tool.poetry\nname = 1", "x/a.py": ""}, "pyproject.toml:1:"},
		{"no name", map[string]string{"pyproject.toml": "[tool.poetry]\nversion = \"1\"\n"}, "has no package name"},
		{"name mismatch", map[string]string{"pyproject.toml": pp("my_repo"), "other/a.py": ""}, `no package folder "my_repo"`},
		{"empty package dir", map[string]string{"pyproject.toml": pp("my_repo"), "my_repo/README.md": "", "my_repo/sub/": ""}, "has no .py file"},
		{"builtin name", map[string]string{"pyproject.toml": pp("robusta-playbooks"), "robusta_playbooks/a.py": ""}, "clashes with Robusta's built-in"},
		{"escaping symlink", map[string]string{"pyproject.toml": pp("r"), "r/a.py": "", "r/secret": "->../../etc/passwd"}, "points outside the repository"},
		{"absolute symlink", map[string]string{"pyproject.toml": pp("r"), "r/a.py": "", "r/abs": "->/etc/passwd"}, "points to an absolute path"},
		// d/e/f/m/../../.. reads as d, but m is x, so it climbs two levels above the repo.
		{"link chain", map[string]string{"pyproject.toml": pp("r"), "r/a.py": "", "x/": "", "d/e/f/m": "->../../../x", "l": "->d/e/f/m/../../.."}, "symlink l -> d/e/f/m/../../.. points outside the repository"},
		{"link chain to a file", map[string]string{"pyproject.toml": pp("r"), "r/a.py": "", "x/y/": "", "d/e/f/m": "->../../../x/y", "r/l.py": "->../d/e/f/m/../../../r/a.py"}, "points outside the repository"},
		{"link to the repository itself", map[string]string{"pyproject.toml": pp("r"), "r/a.py": "", "r/up": "->.."}, "points at the repository itself"},
		{"chain to the repository itself", map[string]string{"pyproject.toml": pp("r"), "r/a.py": "", "r/b/": "", "r/b/up": "->..", "r/up2": "->b/up/.."}, "points at the repository itself"},
		{"up through an excluded folder", map[string]string{"pyproject.toml": pp("r"), "r/a.py": "", ".venv/lib/x": "", "r/v": "->../.venv/lib", "r/w.py": "->v/../../r/a.py"}, "goes through .venv, which is not there"},
		{"link loop", map[string]string{"pyproject.toml": pp("r"), "r/a.py": "", "r/p": "->q", "r/q": "->p", "r/l": "->p/x"}, "more than 40 links"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeTree(t, tc.files))
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a ValidationError containing %q", err, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "no such directory") {
		t.Fatalf("missing dir: %v", err)
	}

	// A link that leaves and comes back by the repository's own folder name: it lands
	// inside here, but not once pushed under another name.
	root := writeTree(t, map[string]string{"pyproject.toml": pp("r"), "r/a.py": ""})
	if err := os.Symlink("../../"+filepath.Base(root)+"/r/a.py", filepath.Join(root, "r", "b.py")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(root); err == nil || !strings.Contains(err.Error(), "symlink r/b.py") || !strings.Contains(err.Error(), "points outside the repository") {
		t.Fatalf("round trip out of the repo: %v", err)
	}
}

func TestLoadKeepsLinksThatStayInside(t *testing.T) {
	root := writeTree(t, map[string]string{
		"pyproject.toml": pp("r"),
		"r/a.py":         "x",
		"r/sub/b.py":     "x",
		"r/same.py":      "->a.py",
		"r/sub/up.py":    "->../a.py",
		"r/alias":        "->sub",
		"r/via.py":       "->alias/../a.py", // alias is r/sub, so .. is r
		"r/deep.py":      "->alias/b.py",
		"r/dangling":     "->gen/out.py", // made at run time; only goes down
	})
	r, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.FileCount(); got != 9 {
		t.Fatalf("%d files: %+v", got, r.Files)
	}
}

func TestLoadThroughSymlinkAndTrailingSlash(t *testing.T) {
	root := writeTree(t, map[string]string{"pyproject.toml": pp("r"), "r/a.py": "x"})
	ln := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(root, ln); err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(root)
	for _, dir := range []string{root + "/", ln, ln + "/", ln + "/r/.."} {
		r, err := Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if r.Root != real || r.FileCount() != 2 {
			t.Fatalf("%s: root %s, %d files", dir, r.Root, r.FileCount())
		}
	}
}

func TestLoadRefusesSpecialMetadataFiles(t *testing.T) {
	fifo := func(t *testing.T, p string) {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		make func(t *testing.T, root string)
		want string
	}{
		{"pyproject.toml links to /dev/zero", func(t *testing.T, root string) {
			_ = os.Remove(filepath.Join(root, "pyproject.toml"))
			_ = os.Symlink("/dev/zero", filepath.Join(root, "pyproject.toml"))
		}, "pyproject.toml is a character device, not a regular file"},
		{"pyproject.toml is a FIFO", func(t *testing.T, root string) {
			_ = os.Remove(filepath.Join(root, "pyproject.toml"))
			fifo(t, filepath.Join(root, "pyproject.toml"))
		}, "pyproject.toml is a FIFO"},
		{"pyproject.toml is a folder", func(t *testing.T, root string) {
			_ = os.Remove(filepath.Join(root, "pyproject.toml"))
			_ = os.Mkdir(filepath.Join(root, "pyproject.toml"), 0o755)
		}, "pyproject.toml is a directory"},
		{".robustaignore is a FIFO", func(t *testing.T, root string) { fifo(t, filepath.Join(root, IgnoreFile)) }, ".robustaignore is a FIFO"},
		{".robustaignore links to /dev/zero", func(t *testing.T, root string) {
			_ = os.Symlink("/dev/zero", filepath.Join(root, IgnoreFile))
		}, ".robustaignore is a character device"},
		{"pyproject.toml over 1 MiB", func(t *testing.T, root string) {
			_ = os.WriteFile(filepath.Join(root, "pyproject.toml"), make([]byte, 2<<20), 0o644)
		}, "over the 1.0 MiB cap"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := writeTree(t, map[string]string{"pyproject.toml": pp("r"), "r/a.py": "x"})
			tc.make(t, root)
			start := time.Now()
			_, err := Load(root)
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a ValidationError containing %q", err, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}
}

func TestLoadLeavesOutOwnArchives(t *testing.T) {
	root := writeTree(t, map[string]string{"pyproject.toml": pp("r"), "r/a.py": "x"})
	r, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	var first bytes.Buffer
	if _, err := r.WriteArchive(&first, ""); err != nil {
		t.Fatal(err)
	}
	// Archives written into the repository under any name, a user's own gzip file,
	// and a file named as the next output.
	for _, name := range []string{"r.tgz", "old.tar.gz", "r/.r.tgz.tmp-123"} {
		_ = os.WriteFile(filepath.Join(root, filepath.FromSlash(name)), first.Bytes(), 0o644)
	}
	var user bytes.Buffer
	zw := gzip.NewWriter(&user)
	_, _ = zw.Write([]byte("user data"))
	zw.Close()
	_ = os.WriteFile(filepath.Join(root, "data.tgz"), user.Bytes(), 0o644)
	_ = os.WriteFile(filepath.Join(root, "next.tgz"), []byte("not ours, about to be replaced"), 0o644)

	r, err = Load(root)
	if err != nil {
		t.Fatal(err)
	}
	r.Exclude(filepath.Join(root, "next.tgz"))
	var got []string
	for _, f := range r.Files {
		got = append(got, f.Path)
	}
	if strings.Join(got, " ") != "data.tgz pyproject.toml r r/a.py" {
		t.Fatalf("files: %v", got)
	}
	var second bytes.Buffer
	// Through a symlinked parent and a relative path too.
	ln := filepath.Join(t.TempDir(), "ln")
	_ = os.Symlink(root, ln)
	t.Chdir(ln)
	r, _ = Load(".")
	r.Exclude(filepath.Join(ln, "next.tgz"))
	r.Exclude("data.tgz")
	if _, err := r.WriteArchive(&second, ""); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatal("the archive changed after archives were written into the repository")
	}
}

func TestExcludesIgnoreAndWarnings(t *testing.T) {
	root := writeTree(t, map[string]string{
		"pyproject.toml":      pp("r"),
		"r/a.py":              "print(1)",
		"r/__pycache__/a.pyc": "x",
		"r/b.pyc":             "x",
		".git/HEAD":           "ref",
		".venv/bin/python":    "x",
		"r/.DS_Store":         "x",
		"r/link.py":           "->a.py",
		".robustaignore":      "# comment\n*.log\n/build/\ndocs/**/*.png\n!keep.log\n",
		"debug.log":           "x",
		"r/deep/trace.log":    "x",
		"keep.log":            "x",
		"build/out.txt":       "x",
		"r/build/kept.py":     "x",
		"docs/img/a.png":      "x",
		"docs/readme.md":      "x",
	})
	r, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Files {
		got = append(got, f.Path)
	}
	want := ".robustaignore docs docs/img docs/readme.md keep.log pyproject.toml r r/a.py r/build r/build/kept.py r/deep r/link.py"
	if strings.Join(got, " ") != want {
		t.Fatalf("files:\n%s\nwant:\n%s", strings.Join(got, " "), want)
	}
	warn := strings.Join(r.Warnings, "\n")
	if !strings.Contains(warn, ".git folder is not pushed") || !strings.Contains(warn, "symlink r/link.py -> a.py") {
		t.Fatalf("warnings: %s", warn)
	}
}

func TestBigFileWarning(t *testing.T) {
	root := writeTree(t, map[string]string{"pyproject.toml": pp("r"), "r/a.py": ""})
	if err := os.WriteFile(filepath.Join(root, "r", "big.bin"), make([]byte, MaxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Load(root)
	if err != nil || !strings.Contains(strings.Join(r.Warnings, "\n"), "r/big.bin is 10 MiB") {
		t.Fatalf("%v %v", err, r.Warnings)
	}
}

func TestArchiveReproducibleAndRoundTrips(t *testing.T) {
	files := map[string]string{"pyproject.toml": pp("r"), "r/a.py": "print('a')", "r/sub/b.py": "b", "r/l.py": "->a.py"}
	r1, _ := Load(writeTree(t, files))
	dir2 := writeTree(t, files)
	// Different mtimes and modes of directories must not change the bytes.
	_ = os.Chtimes(filepath.Join(dir2, "r", "a.py"), fixedTime.AddDate(5, 0, 0), fixedTime.AddDate(5, 0, 0))
	r2, _ := Load(dir2)
	var a, b bytes.Buffer
	ia, err := r1.WriteArchive(&a, "")
	if err != nil {
		t.Fatal(err)
	}
	ib, _ := r2.WriteArchive(&b, "")
	if !bytes.Equal(a.Bytes(), b.Bytes()) || ia.SHA256 != ib.SHA256 || ia.Size != int64(a.Len()) || ia.Files != 4 {
		t.Fatalf("not reproducible: %+v %+v", ia, ib)
	}
	var plain bytes.Buffer
	pi, err := r1.WriteTar(&plain, "")
	if err != nil {
		t.Fatal(err)
	}
	ti, err := r1.TarInfo()
	if err != nil || ti.Size != pi.Size || ti.Size != int64(plain.Len()) || ti.Files != pi.Files {
		t.Fatalf("TarInfo %+v, WriteTar %+v (%d bytes)", ti, pi, plain.Len())
	}
	out := t.TempDir()
	n, err := Extract(bytes.NewReader(a.Bytes()), out, ExtractOptions{})
	if err != nil || n != 4 {
		t.Fatalf("extract: %d %v", n, err)
	}
	got, _ := os.ReadFile(filepath.Join(out, "r", "a.py"))
	link, _ := os.Readlink(filepath.Join(out, "r", "l.py"))
	if string(got) != "print('a')" || link != "a.py" {
		t.Fatalf("round trip: %q %q", got, link)
	}
}

// tarBytes is an uncompressed tar of entries; regular files hold "data".
func tarBytes(t testing.TB, entries ...tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		h := h
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = "data"
			h.Size = 4
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	_, _ = gz.Write(b)
	gz.Close()
	return buf.Bytes()
}

func tarball(t testing.TB, entries ...tar.Header) []byte { return gzipped(tarBytes(t, entries...)) }

// link is a symlink header; dir a folder; file a 4-byte file.
func link(name, target string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target}
}
func dir(name string) tar.Header  { return tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755} }
func file(name string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644} }

func TestExtractRefusesEscapes(t *testing.T) {
	long := strings.Repeat("a/", 40) + "x" // 81 bytes
	cases := []struct {
		name    string
		entries []tar.Header
		opts    ExtractOptions
		want    string
	}{
		{"dotdot", []tar.Header{file("../evil")}, ExtractOptions{}, "contains .."},
		{"nested dotdot", []tar.Header{file("a/../../evil")}, ExtractOptions{}, "contains .."},
		{"absolute", []tar.Header{file("/etc/evil")}, ExtractOptions{}, "absolute path"},
		{"escaping link", []tar.Header{link("l", "../../etc")}, ExtractOptions{}, "points outside the destination"},
		{"absolute link", []tar.Header{link("l", "/etc")}, ExtractOptions{}, "points to an absolute path"},
		{"link to the destination itself", []tar.Header{link("sub/l", "..")}, ExtractOptions{}, "points at the destination itself"},
		{"write through link", []tar.Header{link("l", "sub"), file("l/x")}, ExtractOptions{}, "goes through the symlink"},
		{"write below a file", []tar.Header{file("f"), file("f/x")}, ExtractOptions{}, `"f" is a file`},
		// Each target reads as inside (d/e/f/../../../x is x; d/e/f/m/../../.. is d), but
		// m points at x, so l climbs from x: two levels above the destination.
		{"link chain", []tar.Header{dir("d/e/f/"), link("d/e/f/m", "../../../x"), link("l", "d/e/f/m/../../..")}, ExtractOptions{}, "goes through x, which is not there, and then up"},
		{"link chain, later link first", []tar.Header{link("l", "d/e/f/m/../../.."), dir("d/e/f/"), link("d/e/f/m", "../../../x")}, ExtractOptions{}, "which is not there, and then up"},
		{"through an extracted symlinked folder", []tar.Header{dir("x/"), dir("d/e/f/"), link("d/e/f/m", "../../../x"), link("l", "d/e/f/m/../..")}, ExtractOptions{}, "points outside the destination"},
		{"write through a symlinked folder", []tar.Header{dir("x/"), dir("d/e/f/"), link("d/e/f/m", "../../../x"), file("d/e/f/m/evil")}, ExtractOptions{}, "goes through the symlink"},
		{"chain of links to links", []tar.Header{dir("a/b/"), link("a/b/up", ".."), link("a/up2", "b/up/.."), link("l", "a/up2/../..")}, ExtractOptions{}, "points at the destination itself"},
		{"up after an entry not there yet", []tar.Header{link("a", "b/x/.."), dir("b/"), link("b/x", "../a")}, ExtractOptions{}, "goes through b, which is not there"},
		{"link loop", []tar.Header{link("a", "b"), link("b", "a"), link("c", "a/x")}, ExtractOptions{}, "more than 40 links"},
		{"replace a checked folder by a link", []tar.Header{dir("d/"), file("d/f"), link("d", "..")}, ExtractOptions{}, "in the archive twice"},
		{"hard link", []tar.Header{file("a"), {Name: "h", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}}, ExtractOptions{}, "unsupported archive entry"},
		{"device", []tar.Header{{Name: "dev", Typeflag: tar.TypeChar}}, ExtractOptions{}, "unsupported archive entry"},
		{"too many entries", []tar.Header{dir("a/"), file("a/1"), file("a/2"), file("a/3")}, ExtractOptions{MaxFiles: 3}, "more than 3 entries"},
		{"too many bytes", []tar.Header{file("1"), file("2"), file("3")}, ExtractOptions{MaxBytes: 10}, "larger than 10 B"},
		{"path-length bomb", []tar.Header{file(long)}, ExtractOptions{MaxPathLen: 80}, "longer than 80 bytes"},
		{"link target bomb", []tar.Header{link("l", long)}, ExtractOptions{MaxPathLen: 80}, "longer than 80 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "dest")
			_, err := Extract(bytes.NewReader(tarball(t, tc.entries...)), dest, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			assertConfined(t, parent, dest)
		})
	}
}

// assertConfined fails when anything but dest is in parent, or a link under dest
// resolves, step by step on disk, outside dest.
func assertConfined(t *testing.T, parent, dest string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "dest" {
			t.Fatalf("extract wrote %q outside the destination", e.Name())
		}
	}
	_ = filepath.Walk(dest, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode()&os.ModeSymlink != 0 {
			if where, out := escapesOnDisk(dest, p); out {
				t.Fatalf("link %s resolves outside %s: %s", p, dest, where)
			}
		}
		return nil
	})
}

// escapesOnDisk follows the link at p the way the kernel does, one name at a time with
// Lstat and Readlink, and reports whether any step leaves root. It is written apart from
// resolveLink on purpose: it checks the files on disk, not Extract's idea of them.
func escapesOnDisk(root, p string) (string, bool) {
	target, err := os.Readlink(p)
	if err != nil {
		return "", false
	}
	if filepath.IsAbs(target) {
		return target, true
	}
	cur := filepath.Dir(p)
	todo := strings.Split(target, "/")
	for hops := 0; len(todo) > 0 && hops < 100; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
		default:
			cur = filepath.Join(cur, c)
		}
		if cur != root && !strings.HasPrefix(cur, root+string(filepath.Separator)) {
			return cur, true
		}
		if c == ".." {
			continue
		}
		fi, err := os.Lstat(cur)
		if err != nil {
			return "", false // the kernel stops here too
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			next, err := os.Readlink(cur)
			if err != nil {
				return "", false
			}
			if filepath.IsAbs(next) {
				return next, true
			}
			hops++
			cur = filepath.Dir(cur)
			todo = append(strings.Split(next, "/"), todo...)
		}
	}
	return "", false
}

func TestEscapesOnDiskCatchesTheChain(t *testing.T) {
	// The checker the fuzzer relies on must see the chain the lexical check missed.
	root := writeTree(t, map[string]string{"x/": "", "d/e/f/m": "->../../../x", "l": "->d/e/f/m/../../.."})
	if _, out := escapesOnDisk(root, filepath.Join(root, "l")); !out {
		t.Fatal("escapesOnDisk missed l -> d/e/f/m/../../..")
	}
	if _, out := escapesOnDisk(root, filepath.Join(root, "d/e/f/m")); out {
		t.Fatal("escapesOnDisk flagged m, which stays inside")
	}
}

func TestExtractAcceptsLinksThatStayInside(t *testing.T) {
	entries := []tar.Header{
		dir("a/b/"), file("a/b/f.py"),
		link("a/b/same", "f.py"),
		link("a/up", "b/../b/f.py"),
		link("a/b/alias", "../b"),
		link("a/via", "b/alias/alias/f.py"),
		link("later", "c/d/not-yet"), // dangling, but only goes down
		dir("c/d/"),
		dir("a/b/"), // a folder given twice is fine
	}
	parent := t.TempDir()
	dest := filepath.Join(parent, "dest")
	n, err := Extract(bytes.NewReader(tarball(t, entries...)), dest, ExtractOptions{})
	if err != nil || n != 6 {
		t.Fatalf("extract: %d %v", n, err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "a", "via")); err != nil || string(b) != "data" {
		t.Fatalf("a/via: %q %v", b, err)
	}
	assertConfined(t, parent, dest)
}

func TestExtractBounds(t *testing.T) {
	t.Run("declared size over the cap is refused before reading", func(t *testing.T) {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		_ = tw.WriteHeader(&tar.Header{Name: "huge", Typeflag: tar.TypeReg, Size: 1 << 40, Mode: 0o644})
		_ = tw.Flush()
		gz.Close() // no body: Extract must not try to read a TiB
		dest := filepath.Join(t.TempDir(), "dest")
		_, err := Extract(&buf, dest, ExtractOptions{})
		if !errors.Is(err, ErrArchiveLimit) || !strings.Contains(err.Error(), "larger than 2.0 GiB") {
			t.Fatalf("got %v", err)
		}
		if _, err := os.Stat(filepath.Join(dest, "huge")); err == nil {
			t.Fatal("wrote the file")
		}
	})
	t.Run("a run of long-name headers hits the stream cap", func(t *testing.T) {
		// GNU long-name headers that never make an entry: tar reads them all in one
		// Next, so only a cap on the stream stops them.
		var raw bytes.Buffer
		name := bytes.Repeat([]byte("n"), 1000)
		for i := 0; i < 100; i++ {
			raw.Write(rawHeader("././@LongLink", 'L', int64(len(name))))
			raw.Write(name)
			raw.Write(make([]byte, 512-len(name)%512))
		}
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		_, _ = gz.Write(raw.Bytes())
		gz.Close()
		_, err := Extract(&buf, filepath.Join(t.TempDir(), "dest"), ExtractOptions{MaxFiles: 1, MaxBytes: 10, MaxPathLen: 10})
		if !errors.Is(err, ErrArchiveLimit) || !strings.Contains(err.Error(), "of data for 1 entries") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("destination must be empty", func(t *testing.T) {
		dest := t.TempDir()
		_ = os.WriteFile(filepath.Join(dest, "old"), nil, 0o644)
		_, err := Extract(bytes.NewReader(tarball(t, file("a"))), dest, ExtractOptions{})
		if err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("got %v", err)
		}
	})
}

// rawHeader is a ustar header block with a valid checksum.
func rawHeader(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b, name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typ
	copy(b[257:], "ustar  \x00")
	copy(b[148:], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func TestIgnorePatterns(t *testing.T) {
	l, err := parseIgnore("t", bufio.NewScanner(strings.NewReader("*.tmp\n/only_root.txt\nlogs/\na/**/z\n!a/keep/z\nq?.txt\n[ab].md\n")))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path  string
		dir   bool
		match bool
	}{
		{"x.tmp", false, true}, {"deep/x.tmp", false, true},
		{"only_root.txt", false, true}, {"sub/only_root.txt", false, false},
		{"logs", true, true}, {"logs", false, false}, {"x/logs", true, true},
		{"a/z", false, true}, {"a/b/c/z", false, true}, {"a/keep/z", false, false},
		{"q1.txt", false, true}, {"q12.txt", false, false},
		{"a.md", false, true}, {"c.md", false, false},
	}
	for _, tc := range cases {
		if got := l.match(tc.path, tc.dir); got != tc.match {
			t.Errorf("match(%q, dir=%v) = %v", tc.path, tc.dir, got)
		}
	}
}

// FuzzExtract mutates the tar stream (gzip is applied after: mutating compressed bytes
// would mostly break the deflate stream and test nothing past it).
func FuzzExtract(f *testing.F) {
	f.Add(tarBytes(f, file("a/b.py")))
	f.Add(tarBytes(f, link("l", "x"), file("l/y")))
	f.Add(tarBytes(f, file("../x")))
	f.Add(tarBytes(f, dir("d/e/f/"), link("d/e/f/m", "../../../x"), link("l", "d/e/f/m/../../..")))
	f.Add(tarBytes(f, dir("x/"), dir("d/e/f/"), link("d/e/f/m", "../../../x"), link("l", "d/e/f/m/../.."), file("l/y")))
	f.Add(tarBytes(f, dir("a/b/"), link("a/b/up", ".."), link("a/up2", "b/up/.."), link("l", "a/up2/../..")))
	f.Add(tarBytes(f, dir("a/"), link("a/s", "."), link("a/t", "s/s/s/.."), link("u", "a/t/../..")))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dest := filepath.Join(parent, "dest")
		_, _ = Extract(bytes.NewReader(gzipped(data)), dest, ExtractOptions{MaxFiles: 200, MaxBytes: 1 << 20, MaxPathLen: 256})
		assertConfined(t, parent, dest)
	})
}

// A file time at least two seconds old is written as it is (whole seconds); a more
// recent one a second early, so the next push cannot take a later change within that
// second for unchanged.
func TestPushModTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 10, 500, time.UTC)
	for _, tc := range []struct {
		mtime, want time.Time
	}{
		{now.Add(-time.Hour), now.Add(-time.Hour).Truncate(time.Second)},
		{now.Add(-3 * time.Second), now.Add(-3 * time.Second).Truncate(time.Second)},
		{now.Add(-time.Second), now.Add(-time.Second).Truncate(time.Second).Add(-time.Second)},
		{now, now.Truncate(time.Second).Add(-time.Second)},
	} {
		if got := PushModTime(File{ModTime: tc.mtime}, now); !got.Equal(tc.want) {
			t.Errorf("PushModTime(%v) = %v, want %v", tc.mtime, got, tc.want)
		}
	}
}
