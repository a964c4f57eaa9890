package repo

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree creates files under a temp dir: path -> content ("->target" makes a symlink).
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
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
		{"absolute symlink", map[string]string{"pyproject.toml": pp("r"), "r/a.py": "", "r/abs": "->/etc/passwd"}, "points outside the repository"},
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

func tarball(t testing.TB, entries ...tar.Header) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
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
	gz.Close()
	return buf.Bytes()
}

func TestExtractRefusesEscapes(t *testing.T) {
	cases := []struct {
		name    string
		entries []tar.Header
		want    string
	}{
		{"dotdot", []tar.Header{{Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o644}}, "contains .."},
		{"nested dotdot", []tar.Header{{Name: "a/../../evil", Typeflag: tar.TypeReg, Mode: 0o644}}, "contains .."},
		{"absolute", []tar.Header{{Name: "/etc/evil", Typeflag: tar.TypeReg, Mode: 0o644}}, "absolute path"},
		{"escaping link", []tar.Header{{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../etc"}}, "points outside"},
		{"write through link", []tar.Header{{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "sub"}, {Name: "l/x", Typeflag: tar.TypeReg, Mode: 0o644}}, "goes through the symlink"},
		{"device", []tar.Header{{Name: "dev", Typeflag: tar.TypeChar}}, "unsupported archive entry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "dest")
			_, err := Extract(bytes.NewReader(tarball(t, tc.entries...)), dest, ExtractOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(parent, "evil")); err == nil {
				t.Fatal("wrote outside the destination")
			}
		})
	}
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

func FuzzExtract(f *testing.F) {
	f.Add(tarball(f, tar.Header{Name: "a/b.py", Typeflag: tar.TypeReg, Mode: 0o644}))
	f.Add(tarball(f, tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "x"}, tar.Header{Name: "l/y", Typeflag: tar.TypeReg}))
	f.Add(tarball(f, tar.Header{Name: "../x", Typeflag: tar.TypeReg}))
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dest := filepath.Join(parent, "dest")
		_, _ = Extract(bytes.NewReader(data), dest, ExtractOptions{})
		// Nothing may appear beside dest.
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "dest" {
				t.Fatalf("extract wrote %q outside the destination", e.Name())
			}
		}
		// And nothing under dest may resolve outside it.
		_ = filepath.Walk(dest, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.Mode()&os.ModeSymlink != 0 {
				target, _ := filepath.EvalSymlinks(p)
				if target != "" && !strings.HasPrefix(target, dest) {
					t.Fatalf("link %s resolves outside: %s", p, target)
				}
			}
			return nil
		})
	})
}
