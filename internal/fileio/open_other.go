//go:build !unix

package fileio

import "os"

func openNonBlocking(path string) (*os.File, error) { return os.Open(path) }
