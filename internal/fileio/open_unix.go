//go:build unix

package fileio

import (
	"os"
	"syscall"
)

// openNonBlocking opens path with O_NONBLOCK so that opening a FIFO with no writer
// returns at once (a blocking open would hang before we can look at what it is).
// Regular files ignore the flag.
func openNonBlocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
