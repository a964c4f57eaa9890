package fileio

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(small, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, 2048), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "zero-link")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		path    string
		limit   int64
		wantErr error
		want    string
	}{
		{"regular file", small, 1024, nil, ""},
		{"over the cap", big, 1024, ErrTooLarge, "2.0 KiB, over the 1.0 KiB cap"},
		{"character device", "/dev/zero", 1024, ErrNotRegular, "a character device"},
		{"link to a device", link, 1024, ErrNotRegular, "a character device"},
		{"FIFO does not hang", fifo, 1024, ErrNotRegular, "a FIFO"},
		{"directory", dir, 1024, ErrNotRegular, "a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ReadFile(tc.path, tc.limit)
			if tc.wantErr == nil {
				if err != nil || string(b) != "a: 1\n" {
					t.Fatalf("got %q, %v", b, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %v containing %q", err, tc.wantErr, tc.want)
			}
		})
	}

	_, err := ReadFile(filepath.Join(dir, "missing"), 1024)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestSetMax(t *testing.T) {
	t.Cleanup(func() { SetMax(0) })
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, make([]byte, 100), 0o600); err != nil {
		t.Fatal(err)
	}
	SetMax(50)
	if _, err := ReadFile(p, MaxConfig); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("lowered cap not applied: %v", err)
	}
	SetMax(0)
	if _, err := ReadFile(p, 10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("default cap not restored: %v", err)
	}
	if _, err := ReadAll(strings.NewReader("abcdef"), 3, "standard input"); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "standard input") {
		t.Fatalf("ReadAll: %v", err)
	}
}
