// Package fileio reads user-given files safely: regular files only (a device, FIFO or
// socket would block or never end), never more than a cap that fits the kind of file,
// so `robusta playbooks validate /dev/zero` is an error, not an out-of-memory kill.
package fileio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
)

// Caps for the kinds of file robusta reads. Each is far above any real file of its
// kind; --max-file-size raises (or lowers) all of them at once.
const (
	// Values files, active_playbooks.yaml, playbooks and params files.
	MaxConfig int64 = 16 << 20
	// Kubeconfig files (kubectl has no cap; real ones are kilobytes).
	MaxKubeconfig int64 = 16 << 20
	// Alertmanager webhook bodies and old-object files for local runs.
	MaxInput int64 = 16 << 20
	// Small metadata files: pyproject.toml, .robustaignore, robusta's own config.
	MaxSmall int64 = 1 << 20
)

var override atomic.Int64

// SetMax replaces every cap by n bytes (n <= 0 restores the defaults). The root command
// calls it once from --max-file-size.
func SetMax(n int64) { override.Store(n) }

// Cap is the cap in force for a file whose default cap is def.
func Cap(def int64) int64 {
	if n := override.Load(); n > 0 {
		return n
	}
	return def
}

// ErrTooLarge is wrapped by errors for files over their cap.
var ErrTooLarge = errors.New("file too large")

// ErrNotRegular is wrapped by errors for paths that are not regular files.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path for reading if it is a regular file (after following symlinks) of at
// most Cap(limit) bytes. The check is made on the opened descriptor, so a path swapped
// between check and read cannot slip through.
func Open(path string, limit int64) (*os.File, int64, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s is %s, %w: give a regular file", path, describe(st.Mode()), ErrNotRegular)
	}
	max := Cap(limit)
	if st.Size() > max {
		f.Close()
		return nil, 0, fmt.Errorf("%s is %s, over the %s cap for this kind of file (%w): raise it with --max-file-size", path, Size(st.Size()), Size(max), ErrTooLarge)
	}
	return f, max, nil
}

// ReadFile reads the whole of a regular file of at most Cap(limit) bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, max, err := Open(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The file may grow after Stat: read one byte past the cap to notice.
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s grew past the %s cap while being read (%w): raise it with --max-file-size", path, Size(max), ErrTooLarge)
	}
	return b, nil
}

// ReadAll reads at most Cap(limit) bytes from r (standard input, a request body),
// naming what in the error when there is more.
func ReadAll(r io.Reader, limit int64, what string) ([]byte, error) {
	max := Cap(limit)
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is over the %s cap (%w): raise it with --max-file-size", what, Size(max), ErrTooLarge)
	}
	return b, nil
}

func describe(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}

// Size prints n bytes the way people read sizes.
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
