// Package repo validates, packages and unpacks playbook repositories: Python packages
// with a pyproject.toml whose package name matches an inner package folder.
package repo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/robusta-dev/robusta-go/internal/fileio"
)

// MaxFileSize is the size above which a file draws a warning.
const MaxFileSize = 10 << 20

// BuiltinRepoName is Robusta's own playbook repository; a pushed repo must not shadow it.
const BuiltinRepoName = "robusta_playbooks"

// File is one entry to package, relative to the repo root with forward slashes.
type File struct {
	Path    string
	Mode    fs.FileMode // permission bits and type (dir, symlink, regular)
	Size    int64
	Link    string // symlink target, as written in the link
	AbsPath string
	ModTime time.Time // as the walk saw it
}

// Repo is a validated playbook repository.
type Repo struct {
	Root        string
	PackageName string // as written in pyproject.toml
	ModuleDir   string // the inner package folder, relative to Root
	Files       []File // sorted by Path; directories included
	Warnings    []string
}

// ValidationError is a repository that cannot be pushed, with what to change.
type ValidationError struct {
	Dir string
	Msg string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Dir, e.Msg) }

func invalid(dir, format string, a ...any) error {
	return &ValidationError{Dir: dir, Msg: fmt.Sprintf(format, a...)}
}

type pyproject struct {
	Tool struct {
		Poetry struct {
			Name string `toml:"name"`
		} `toml:"poetry"`
	} `toml:"tool"`
	Project struct {
		Name string `toml:"name"`
	} `toml:"project"`
}

var separators = regexp.MustCompile(`[-.]+`)

// ModuleName maps a distribution name to the folder Python imports: my-repo and
// my.repo both become my_repo.
func ModuleName(name string) string { return separators.ReplaceAllString(name, "_") }

// Load validates the repository at dir and lists its files (honouring the default
// excludes and .robustaignore).
func Load(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	// Resolve the root once: a repository given through a symlink (or "link/") is walked
	// as the folder it names, not as a link, and every path below it is a real one.
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, invalid(dir, "no such directory")
		}
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, invalid(dir, "not a directory: give the repository's root folder (the one holding pyproject.toml)")
	}
	data, err := fileio.ReadFile(filepath.Join(real, "pyproject.toml"), fileio.MaxSmall)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, invalid(dir, "no pyproject.toml: a playbook repository is a Python package with pyproject.toml at its root (see robusta playbooks validate-repo --help)")
		}
		if errors.Is(err, fileio.ErrNotRegular) || errors.Is(err, fileio.ErrTooLarge) {
			return nil, invalid(dir, "%v", err)
		}
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var pp pyproject
	if err := toml.Unmarshal(data, &pp); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, invalid(dir, "pyproject.toml:%d:%d: malformed TOML: %s", row, col, de.Error())
		}
		return nil, invalid(dir, "pyproject.toml: malformed TOML: %v", err)
	}
	name := strings.TrimSpace(pp.Tool.Poetry.Name)
	if name == "" {
		name = strings.TrimSpace(pp.Project.Name)
	}
	if name == "" {
		return nil, invalid(dir, `pyproject.toml has no package name: set [tool.poetry] name = "my_playbooks" (or [project] name)`)
	}
	module := ModuleName(name)
	if module == BuiltinRepoName {
		return nil, invalid(dir, "package name %q clashes with Robusta's built-in repository %s: rename the package and its folder", name, BuiltinRepoName)
	}
	r := &Repo{Root: real, PackageName: name}
	ign, err := loadIgnore(real)
	if err != nil {
		if errors.Is(err, fileio.ErrNotRegular) || errors.Is(err, fileio.ErrTooLarge) {
			return nil, invalid(dir, "%v", err)
		}
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	if err := r.walk(dir, ign); err != nil {
		return nil, err
	}
	if err := r.checkLinks(dir); err != nil {
		return nil, err
	}

	// The inner package folder: exact, or lower-cased as Poetry normalises it.
	for _, cand := range []string{module, strings.ToLower(module)} {
		if fi, err := os.Stat(filepath.Join(real, cand)); err == nil && fi.IsDir() {
			r.ModuleDir = cand
			break
		}
	}
	if r.ModuleDir == "" {
		return nil, invalid(dir, "no package folder %q: the folder holding the .py files must be named after the package %q in pyproject.toml (- and . become _)", module, name)
	}
	hasPy := false
	for _, f := range r.Files {
		if strings.HasPrefix(f.Path, r.ModuleDir+"/") && strings.HasSuffix(f.Path, ".py") && f.Mode.IsRegular() {
			hasPy = true
			break
		}
	}
	if !hasPy {
		return nil, invalid(dir, "package folder %q has no .py file: put your actions there", r.ModuleDir)
	}
	return r, nil
}

// defaultExcludes are never pushed: VCS data, caches and virtualenvs.
var defaultExcludes = map[string]bool{
	".git": true, "__pycache__": true, ".venv": true, "venv": true,
	".mypy_cache": true, ".pytest_cache": true, ".DS_Store": true,
}

func (r *Repo) walk(given string, ign *ignoreList) error {
	err := filepath.WalkDir(r.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == r.Root {
			return nil
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, r.Root+string(filepath.Separator)))
		base := d.Name()
		if defaultExcludes[base] || strings.HasSuffix(base, ".pyc") {
			if base == ".git" {
				r.Warnings = append(r.Warnings, "the .git folder is not pushed")
			}
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if ign.match(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := File{Path: rel, Mode: info.Mode(), AbsPath: p, ModTime: info.ModTime()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			f.Link = target
			r.Warnings = append(r.Warnings, fmt.Sprintf("symlink %s -> %s is pushed as a link", rel, target))
		case info.IsDir():
		case info.Mode().IsRegular():
			// An archive `package` wrote (into the repository, by default) is not part
			// of it: packing it would grow every next archive.
			if mayBeArchive(base) && isOwnArchive(p) {
				return nil
			}
			f.Size = info.Size()
			if f.Size > MaxFileSize {
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s is %d MiB: large files slow every push (list it in .robustaignore if the runner does not need it)", rel, f.Size>>20))
			}
		default:
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s is not a regular file, folder or link: skipped", rel))
			return nil
		}
		r.Files = append(r.Files, f)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", given, err)
	}
	sort.Slice(r.Files, func(i, j int) bool { return r.Files[i].Path < r.Files[j].Path })
	return nil
}

// checkLinks resolves every symlink through the files being packaged, as the runner
// will see them once unpacked: each must land inside the repository at every step
// (a chain of links can point out even when each target reads as harmless, and a link
// into an excluded folder dangles there).
func (r *Repo) checkLinks(given string) error {
	t := make(tree, len(r.Files))
	for _, f := range r.Files {
		switch {
		case f.Mode.IsDir():
			t[f.Path] = treeNode{kind: kindDir}
		case f.Mode&fs.ModeSymlink != 0:
			t[f.Path] = treeNode{kind: kindLink, target: f.Link}
		default:
			t[f.Path] = treeNode{kind: kindFile}
		}
	}
	for _, f := range r.Files {
		if f.Mode&fs.ModeSymlink == 0 {
			continue
		}
		if _, err := resolveLink(t, f.Path, f.Link, "the repository"); err != nil {
			return invalid(given, "symlink %s -> %s %v: replace it with the file itself", f.Path, f.Link, err)
		}
	}
	return nil
}

// Exclude leaves the file at p out of the package, if it is one of the repository's
// files: the archive about to be written into the repository, say, which the package
// would otherwise hold in its previous version.
func (r *Repo) Exclude(p string) {
	rp, err := realPath(p)
	if err != nil {
		return
	}
	files := r.Files[:0]
	for _, f := range r.Files {
		if f.AbsPath != rp || f.Mode.IsDir() {
			files = append(files, f)
		}
	}
	r.Files = files
}

// realPath is p, absolute, with the links in its folder resolved (p itself need not
// exist yet).
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// FileCount is the number of regular files and links (what a push checks on arrival).
func (r *Repo) FileCount() int {
	n := 0
	for _, f := range r.Files {
		if !f.Mode.IsDir() {
			n++
		}
	}
	return n
}

// TotalSize is the sum of the regular files' sizes.
func (r *Repo) TotalSize() int64 {
	var n int64
	for _, f := range r.Files {
		n += f.Size
	}
	return n
}
