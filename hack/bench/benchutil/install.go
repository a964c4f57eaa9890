package benchutil

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Install copies the binary at src to dst with plain reads and writes, as a download or
// `install` writes a file, and evicts dst from the page cache, so the first exec reads
// it back through readahead as it does after a reboot or an upgrade.
//
// Why: a binary's resident file pages depend on how its pages sit in the page cache.
// The Go linker writes its output through a shared mapping, and on this kernel those
// pages stay cached in large folios that a process maps whole, so a binary run straight
// from `go build` shows most of its size as RSS whether it touches it or not. Running
// both processes of a comparison from installed copies measures what they touch.
func Install(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("install %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return fmt.Errorf("install %s: %w", src, err)
	}
	// Plain writes: io.Copy would use copy_file_range, which can share the source's
	// cached pages on some filesystems.
	buf := make([]byte, 1<<20)
	for {
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				out.Close()
				return fmt.Errorf("install %s: %w", dst, err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			out.Close()
			return fmt.Errorf("install %s: %w", src, rerr)
		}
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("install %s: %w", dst, err)
	}
	// Clean pages only can be dropped, hence the Sync first.
	if err := unix.Fadvise(int(out.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		out.Close()
		return fmt.Errorf("install %s: drop from the page cache: %w", dst, err)
	}
	return out.Close()
}
