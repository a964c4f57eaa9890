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
)

// fixedTime is every entry's mtime, so the same tree gives the same bytes.
var fixedTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

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

// ExtractOptions bound what an untrusted archive may do.
type ExtractOptions struct {
	// StripPrefix removes this leading folder from every entry (it must be there).
	StripPrefix string
}

// Extract unpacks a gzip tarball read from r into dir, refusing entries that would
// land outside dir: absolute paths, "..", links pointing out, and writes through links.
// It returns the number of files and links written.
func Extract(r io.Reader, dir string, o ExtractOptions) (int, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return 0, fmt.Errorf("not a gzip stream: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	root, err := filepath.Abs(dir)
	if err != nil {
		return 0, err
	}
	links := map[string]bool{} // entries written as symlinks: never write through them
	files := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return files, fmt.Errorf("read archive: %w", err)
		}
		name, err := cleanEntryName(hdr.Name, o.StripPrefix)
		if err != nil {
			return files, err
		}
		if name == "" {
			continue // the prefix folder itself
		}
		for p := path.Dir(name); p != "."; p = path.Dir(p) {
			if links[p] {
				return files, fmt.Errorf("unsafe archive entry %q: it goes through the symlink %q", hdr.Name, p)
			}
		}
		target := filepath.Join(root, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return files, err
			}
		case tar.TypeReg, tar.TypeRegA:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return files, err
			}
			mode := fs.FileMode(0o644)
			if hdr.Mode&0o111 != 0 {
				mode = 0o755
			}
			if err := writeFile(target, tr, mode); err != nil {
				return files, err
			}
			files++
		case tar.TypeSymlink:
			if !linkStaysInside(name, hdr.Linkname) {
				return files, fmt.Errorf("unsafe archive entry %q: symlink to %q points outside the destination", hdr.Name, hdr.Linkname)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return files, err
			}
			_ = os.Remove(target)
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return files, err
			}
			links[name] = true
			files++
		default:
			return files, fmt.Errorf("unsupported archive entry %q (type %q): only files, folders and symlinks are allowed", hdr.Name, string(hdr.Typeflag))
		}
	}
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

func writeFile(target string, r io.Reader, mode fs.FileMode) error {
	// O_EXCL after removing: never follow a link planted at target.
	_ = os.Remove(target)
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
