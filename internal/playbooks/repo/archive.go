package repo

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/fileio"
)

// fixedTime is every entry's mtime, so the same tree gives the same bytes.
var fixedTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// archiveComment marks, in the gzip header, the archives WriteArchive writes, so that
// Load can leave them out of the next one wherever they were written.
const archiveComment = "robusta playbooks package"

// mayBeArchive reports whether a file of that name is worth opening to look for
// archiveComment: .tgz and .gz files, and the temporary files they are written as.
func mayBeArchive(base string) bool {
	return strings.Contains(base, ".tgz") || strings.Contains(base, ".gz")
}

// isOwnArchive reports whether the file at p is a gzip stream WriteArchive wrote.
func isOwnArchive(p string) bool {
	// The walk saw a regular file here a moment ago; copyFile opens it the same way.
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	// The header alone: a name and comment of at most 512 bytes each.
	zr, err := gzip.NewReader(io.LimitReader(f, 4<<10))
	if err != nil {
		return false
	}
	return zr.Comment == archiveComment
}

// ArchiveInfo describes a written archive.
type ArchiveInfo struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Files  int    `json:"files"`
}

// WriteArchive writes the repo as a reproducible gzip tarball to w (see WriteTar).
// Size and SHA256 describe the compressed bytes.
func (r *Repo) WriteArchive(w io.Writer, prefix string) (ArchiveInfo, error) {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	gz, err := gzip.NewWriterLevel(cw, gzip.BestSpeed)
	if err != nil {
		return ArchiveInfo{}, err
	}
	gz.ModTime = time.Time{} // no timestamp in the gzip header either
	gz.Comment = archiveComment
	info, err := r.WriteTar(gz, prefix)
	if err != nil {
		return info, err
	}
	if err := gz.Close(); err != nil {
		return info, err
	}
	info.Size = cw.n
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	return info, nil
}

// WriteTar writes the repo as a reproducible tar stream to w: sorted entries, fixed
// times, owner 0:0 with no names, files 0644 or 0755. prefix, when set, puts every entry
// under that folder. Size and SHA256 describe the bytes written.
func (r *Repo) WriteTar(w io.Writer, prefix string) (ArchiveInfo, error) {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	tw := tar.NewWriter(cw)
	info := ArchiveInfo{}
	buf := make([]byte, 256<<10)
	for _, f := range r.Files {
		hdr := tarHeader(f, prefix)
		if hdr.Typeflag != tar.TypeDir {
			info.Files++
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return info, fmt.Errorf("archive %s: %w", f.Path, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if err := copyFile(tw, f, buf); err != nil {
				return info, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return info, err
	}
	info.Size = cw.n
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	return info, nil
}

// TarOptions shape WriteTarSelect.
type TarOptions struct {
	// Skip leaves a regular file out of the stream (directories and symbolic links
	// always go), may be nil.
	Skip func(File) bool
	// FileSum, when set, receives the sha256 of each regular file written, computed as
	// it is copied (the file is read once).
	FileSum func(File, [sha256.Size]byte)
	// ModTimes gives regular files their own modification time (whole seconds) instead
	// of the fixed one, so the receiver can tell unchanged files by size and time. A
	// time not at least two seconds before Now is written one second early: the file
	// may still change within that second, and must not look unchanged to the next
	// push (as git treats "racy" files).
	ModTimes bool
	Now      time.Time
}

// WriteTarSelect writes the entries of WriteTar (same headers, same order) without
// hashing the stream: the files o.Skip leaves out are not in it. Size is the bytes
// written, Files the entries other than folders; SHA256 is left empty.
func (r *Repo) WriteTarSelect(w io.Writer, o TarOptions) (ArchiveInfo, error) {
	cw := &countWriter{w: w}
	tw := tar.NewWriter(cw)
	info := ArchiveInfo{}
	buf := make([]byte, 256<<10)
	h := sha256.New()
	for _, f := range r.Files {
		if f.Mode.IsRegular() && o.Skip != nil && o.Skip(f) {
			continue
		}
		hdr := tarHeader(f, "")
		if hdr.Typeflag != tar.TypeDir {
			info.Files++
		}
		if o.ModTimes && hdr.Typeflag == tar.TypeReg {
			hdr.ModTime = PushModTime(f, o.Now)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return info, fmt.Errorf("archive %s: %w", f.Path, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		var dst io.Writer = tw
		if o.FileSum != nil {
			h.Reset()
			dst = io.MultiWriter(tw, h)
		}
		if err := copyFile(dst, f, buf); err != nil {
			return info, err
		}
		if o.FileSum != nil {
			var sum [sha256.Size]byte
			h.Sum(sum[:0])
			o.FileSum(f, sum)
		}
	}
	if err := tw.Close(); err != nil {
		return info, err
	}
	info.Size = cw.n
	return info, nil
}

// PushModTime is the modification time WriteTarSelect writes for f with ModTimes.
func PushModTime(f File, now time.Time) time.Time {
	t := f.ModTime.Truncate(time.Second)
	if Recent(f, now) {
		t = t.Add(-time.Second)
	}
	return t
}

// Recent reports whether f was modified in the last two seconds: it may still change
// within its whole second, so its size and time cannot tell that it is unchanged.
func Recent(f File, now time.Time) bool {
	return !f.ModTime.Truncate(time.Second).Before(now.Add(-2 * time.Second))
}

// HashFile returns the sha256 of a regular file of the repository, checking that it
// still has the size the walk saw.
func HashFile(f File) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	src, err := os.Open(f.AbsPath)
	if err != nil {
		return sum, fmt.Errorf("read %s: %w", f.Path, err)
	}
	defer src.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(src, f.Size+1))
	if err != nil {
		return sum, fmt.Errorf("read %s: %w", f.Path, err)
	}
	if n != f.Size {
		return sum, fmt.Errorf("read %s: file changed while packaging (%d of %d bytes)", f.Path, n, f.Size)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// TarInfo returns the size and file count WriteTar would produce, without reading
// any file content (entries are sized from the walk). SHA256 is left empty.
func (r *Repo) TarInfo() (ArchiveInfo, error) {
	cw := &countWriter{w: io.Discard}
	tw := tar.NewWriter(cw)
	info := ArchiveInfo{}
	for _, f := range r.Files {
		hdr := tarHeader(f, "")
		if hdr.Typeflag != tar.TypeDir {
			info.Files++
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return info, err
		}
		if hdr.Size > 0 {
			if _, err := io.CopyN(tw, zeroReader{}, hdr.Size); err != nil {
				return info, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return info, err
	}
	info.Size = cw.n
	return info, nil
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// tarHeader is the header WriteTar writes for f.
func tarHeader(f File, prefix string) *tar.Header {
	name := f.Path
	if prefix != "" {
		name = prefix + "/" + name
	}
	hdr := &tar.Header{Name: name, ModTime: fixedTime, Format: tar.FormatUSTAR}
	switch {
	case f.Mode.IsDir():
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
	case f.Mode&fs.ModeSymlink != 0:
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, f.Link, 0o777
	default:
		hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, f.Size, 0o644
		if f.Mode.Perm()&0o111 != 0 {
			hdr.Mode = 0o755
		}
	}
	// USTAR keeps headers minimal; PAX only where a name does not fit.
	if len(hdr.Name) > 100 || len(hdr.Linkname) > 100 {
		hdr.Format = tar.FormatPAX
	}
	return hdr
}

func copyFile(w io.Writer, f File, buf []byte) error {
	src, err := os.Open(f.AbsPath)
	if err != nil {
		return fmt.Errorf("archive %s: %w", f.Path, err)
	}
	defer src.Close()
	// Copy exactly the size in the header: a file that grew or shrank since the walk
	// would corrupt the archive, so say so instead.
	n, err := io.CopyBuffer(w, io.LimitReader(src, f.Size), buf)
	if err != nil {
		return fmt.Errorf("archive %s: %w", f.Path, err)
	}
	if n != f.Size {
		return fmt.Errorf("archive %s: file changed while packaging (%d of %d bytes)", f.Path, n, f.Size)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Defaults for ExtractOptions: far above any playbook repository, low enough that a
// hostile or broken archive cannot fill the disk or run for hours.
const (
	DefaultMaxFiles   = 100_000
	DefaultMaxBytes   = 2 << 30
	DefaultMaxPathLen = 1024
)

// ExtractOptions bound what an untrusted archive may do. Zero values mean the defaults.
type ExtractOptions struct {
	// StripPrefix removes this leading folder from every entry (it must be there).
	StripPrefix string
	// MaxFiles caps the entries: files, links and folders.
	MaxFiles int
	// MaxBytes caps the total size of the files.
	MaxBytes int64
	// MaxPathLen caps the length of each entry's name and link target, in bytes.
	MaxPathLen int
}

func (o ExtractOptions) withDefaults() ExtractOptions {
	if o.MaxFiles <= 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxPathLen <= 0 {
		o.MaxPathLen = DefaultMaxPathLen
	}
	return o
}

// ErrArchiveLimit is wrapped by errors for archives over an ExtractOptions bound.
var ErrArchiveLimit = errors.New("archive over a limit")

// Extract unpacks a gzip tarball read from r into dir, which must be empty or absent.
// It refuses, before writing them, entries that would land or point outside dir:
// absolute paths, "..", writes through links, and links that resolve outside dir,
// followed through the links already extracted. Every write goes through an os.Root on
// dir as well, so the kernel confines them too. It returns the number of files and links
// written. On error, what was written stays in dir: extract into a fresh folder and
// remove it on failure.
func Extract(r io.Reader, dir string, o ExtractOptions) (int, error) {
	o = o.withDefaults()
	gz, err := gzip.NewReader(r)
	if err != nil {
		return 0, fmt.Errorf("not a gzip stream: %w", err)
	}
	defer gz.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	if entries, err := os.ReadDir(dir); err != nil {
		return 0, err
	} else if len(entries) > 0 {
		// Links are checked against what this archive wrote; files already there are unknown.
		return 0, fmt.Errorf("extract into %s: the folder is not empty", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()

	// Headers cost at most a few blocks each plus their names (a PAX record or a GNU
	// long name), so the stream is bounded too: a run of long-name headers never makes
	// an entry, and would otherwise be read without end.
	streamMax := o.MaxBytes + int64(o.MaxFiles+1)*(4<<10+4*int64(o.MaxPathLen))
	tr := tar.NewReader(&CappedReader{R: gz, N: streamMax, Err: ErrArchiveLimit})
	x := extractor{root: root, o: o, tree: tree{}}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return x.written, nil
		}
		if err != nil {
			if errors.Is(err, ErrArchiveLimit) {
				return x.written, fmt.Errorf("archive is over %s of data for %d entries (%w)", fileio.Size(streamMax), o.MaxFiles, ErrArchiveLimit)
			}
			return x.written, fmt.Errorf("read archive: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return x.written, err
		}
	}
}

type extractor struct {
	root    *os.Root
	o       ExtractOptions
	tree    tree // what was extracted, for checking links and duplicates
	entries int
	bytes   int64
	written int
}

func (x *extractor) entry(hdr *tar.Header, body io.Reader) error {
	x.entries++
	if x.entries > x.o.MaxFiles {
		return fmt.Errorf("archive has more than %d entries, the most robusta extracts (%w)", x.o.MaxFiles, ErrArchiveLimit)
	}
	if len(hdr.Name) > x.o.MaxPathLen || len(hdr.Linkname) > x.o.MaxPathLen {
		return fmt.Errorf("unsafe archive entry %.60q...: name or link target longer than %d bytes (%w)", hdr.Name, x.o.MaxPathLen, ErrArchiveLimit)
	}
	name, err := cleanEntryName(hdr.Name, x.o.StripPrefix)
	if err != nil {
		return err
	}
	if name == "" {
		return nil // the prefix folder itself
	}
	if prev, ok := x.tree[name]; ok && !(prev.kind == kindDir && hdr.Typeflag == tar.TypeDir) {
		// Replacing an entry would change where links checked through it point.
		return fmt.Errorf("unsafe archive entry %q: it is in the archive twice", hdr.Name)
	}
	if err := x.checkParents(hdr.Name, name); err != nil {
		return err
	}
	target := filepath.FromSlash(name)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := x.mkdirAll(target); err != nil {
			return err
		}
		x.tree[name] = treeNode{kind: kindDir}
	case tar.TypeReg, tar.TypeRegA:
		if hdr.Size < 0 || hdr.Size > x.o.MaxBytes-x.bytes {
			return fmt.Errorf("archive entry %q makes the files larger than %s, the most robusta extracts (%w)", hdr.Name, fileio.Size(x.o.MaxBytes), ErrArchiveLimit)
		}
		x.bytes += hdr.Size
		if err := x.mkdirAll(filepath.Dir(target)); err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if hdr.Mode&0o111 != 0 {
			mode = 0o755
		}
		if err := x.writeFile(target, body, mode); err != nil {
			return err
		}
		x.tree[name] = treeNode{kind: kindFile}
		x.written++
	case tar.TypeSymlink:
		if _, err := resolveLink(x.tree, name, hdr.Linkname, "the destination"); err != nil {
			return fmt.Errorf("unsafe archive entry %q: symlink to %q %v", hdr.Name, hdr.Linkname, err)
		}
		if err := x.mkdirAll(filepath.Dir(target)); err != nil {
			return err
		}
		if err := x.root.Symlink(hdr.Linkname, target); err != nil {
			return fmt.Errorf("extract %s: %w", name, err)
		}
		x.tree[name] = treeNode{kind: kindLink, target: hdr.Linkname}
		x.written++
	default:
		return fmt.Errorf("unsupported archive entry %q (type %q): only files, folders and symlinks are allowed", hdr.Name, string(hdr.Typeflag))
	}
	return nil
}

// checkParents refuses entries below a link or a file, and records the folders an
// entry creates implicitly.
func (x *extractor) checkParents(raw, name string) error {
	var dirs []string
	for p := path.Dir(name); p != "."; p = path.Dir(p) {
		switch n, ok := x.tree[p]; {
		case !ok:
			dirs = append(dirs, p)
		case n.kind == kindLink:
			return fmt.Errorf("unsafe archive entry %q: it goes through the symlink %q", raw, p)
		case n.kind == kindFile:
			return fmt.Errorf("unsafe archive entry %q: %q is a file, not a folder", raw, p)
		}
	}
	for _, d := range dirs {
		x.tree[d] = treeNode{kind: kindDir}
	}
	return nil
}

func (x *extractor) mkdirAll(p string) error {
	if p == "." {
		return nil
	}
	if err := x.root.MkdirAll(p, 0o755); err != nil {
		return fmt.Errorf("extract %s: %w", filepath.ToSlash(p), err)
	}
	return nil
}

func (x *extractor) writeFile(target string, r io.Reader, mode fs.FileMode) error {
	// O_EXCL: never write into something already there (the tree says nothing is).
	f, err := x.root.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("extract %s: %w", filepath.ToSlash(target), err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		if errors.Is(err, ErrArchiveLimit) {
			return fmt.Errorf("extract %s: archive stream over its size limit (%w)", filepath.ToSlash(target), ErrArchiveLimit)
		}
		return fmt.Errorf("extract %s: %w", filepath.ToSlash(target), err)
	}
	return f.Close()
}

// CappedReader reads from R and fails with Err once N bytes have been read: it bounds
// an untrusted stream here, and cuts a push mid-way in the push tests.
type CappedReader struct {
	R   io.Reader
	N   int64
	Err error
}

func (c *CappedReader) Read(p []byte) (int, error) {
	if c.N <= 0 {
		return 0, c.Err
	}
	if int64(len(p)) > c.N {
		p = p[:c.N]
	}
	n, err := c.R.Read(p)
	c.N -= int64(n)
	return n, err
}

func cleanEntryName(raw, strip string) (string, error) {
	name := strings.TrimPrefix(raw, "./")
	if name == "" || name == "." || name == "./" {
		return "", nil
	}
	if strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || filepath.IsAbs(name) {
		return "", fmt.Errorf("unsafe archive entry %q: absolute path", raw)
	}
	for _, part := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if part == ".." {
			return "", fmt.Errorf("unsafe archive entry %q: contains ..", raw)
		}
	}
	name = path.Clean(name)
	if strip != "" {
		if name == strip {
			return "", nil
		}
		if !strings.HasPrefix(name, strip+"/") {
			return "", fmt.Errorf("unexpected archive entry %q: not under %s/", raw, strip)
		}
		name = strings.TrimPrefix(name, strip+"/")
	}
	return name, nil
}
