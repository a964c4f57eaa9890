package fileio

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteAtomic writes data with mode 0600 (the files robusta writes hold secrets)
// to a temp file beside path and renames it into place, so no reader sees half a
// file and no other user can read it. path must not be a symlink: the rename
// would replace the link, not its target.
func WriteAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// The rename is durable once the folder is synced; a failure here changes nothing
	// the user can act on, the file is in place.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
