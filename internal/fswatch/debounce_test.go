package fswatch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

func watchDir(t *testing.T) (string, *fsnotify.Watcher) {
	t.Helper()
	dir := t.TempDir()
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Skipf("no fsnotify here: %v", err)
	}
	if err := w.Add(dir); err != nil {
		t.Fatal(err)
	}
	return dir, w
}

// A burst of writes is one signal, and only events relevant accepts count.
func TestDebounce(t *testing.T) {
	dir, w := watchDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const d = 150 * time.Millisecond
	ch := Debounce(ctx, w, d, func(ev fsnotify.Event) bool { return !strings.HasSuffix(ev.Name, ".swp") }, nil)

	for i := 0; i < 5; i++ {
		if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(strings.Repeat("x", i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no signal after a burst of writes")
	}
	select {
	case <-ch:
		t.Fatal("a second signal for one burst")
	case <-time.After(4 * d):
	}

	if err := os.WriteFile(filepath.Join(dir, ".a.yaml.swp"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("a signal for an event relevant refused")
	case <-time.After(4 * d):
	}
}

// The loop ends with ctx and closes the watcher.
func TestDebounceStops(t *testing.T) {
	_, w := watchDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	Debounce(ctx, w, time.Millisecond, nil, nil)
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for w.Add(t.TempDir()) == nil {
		if time.Now().After(deadline) {
			t.Fatal("watcher still open after ctx ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
