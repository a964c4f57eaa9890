// Package file is file_sink: each finding as one JSON line appended to a file, synced
// before Send returns, so a crash loses no finding that was reported sent.
package file

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
)

// Sink appends findings to a file.
type Sink struct {
	name, path string
	mu         sync.Mutex
}

// New builds a file_sink from its sinksConfig params (name, file_name).
func New(cfg sinks.Config) (*Sink, error) {
	name, _ := cfg.Params["name"].(string)
	path, _ := cfg.Params["file_name"].(string)
	if path == "" {
		return nil, fmt.Errorf("file_sink %s: file_name is required", name)
	}
	return &Sink{name: name, path: path}, nil
}

func (s *Sink) Name() string { return s.name }
func (s *Sink) Type() string { return "file_sink" }

// Send appends one line. A write error is not retried: the disk will not get better
// by itself within a retry's time.
func (s *Sink) Send(_ context.Context, f *engine.Finding) (bool, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// 0600: findings carry cluster details (logs, env, names).
	fh, err := os.OpenFile(s.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return false, fmt.Errorf("file_sink %s: %w", s.name, err)
	}
	if _, err = fh.Write(append(b, '\n')); err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("file_sink %s: %w", s.name, err)
	}
	return false, nil
}
