// Package file is file_sink: each finding as one JSON line appended to a file.
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

// Type is the sinksConfig key.
const Type = "file_sink"

type params struct {
	FileName string `param:"file_name" doc:"file the findings are appended to; stdout when empty"`
}

// Sink appends findings as JSON lines. The runner writes indented JSON; one object
// per line is what tools reading the file (jq, tail -f) want, and what issue 15 asks.
type Sink struct {
	name string
	path string
	mu   sync.Mutex
}

// New builds a file sink from its sinksConfig entry.
func New(c sinks.Config, r sinks.Route, opts sinks.Options) (sinks.Sink, error) {
	var p params
	if _, err := sinks.DecodeParams(c, &p); err != nil {
		return nil, fmt.Errorf("sink %s: %w", r.Name, err)
	}
	return &Sink{name: r.Name, path: p.FileName}, nil
}

func (s *Sink) Name() string { return s.name }
func (s *Sink) Type() string { return Type }

// Send appends one line and syncs it to disk, so a finding written is a finding kept.
func (s *Sink) Send(_ context.Context, f *engine.Finding) (bool, error) {
	line, err := json.Marshal(f)
	if err != nil {
		return false, fmt.Errorf("encoding finding: %w", err)
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path == "" {
		_, err := os.Stdout.Write(line)
		return false, err
	}
	// 0600: findings carry logs and object contents.
	fh, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return false, fmt.Errorf("file sink %s: %w", s.name, err)
	}
	if _, err := fh.Write(line); err != nil {
		fh.Close()
		return true, fmt.Errorf("file sink %s: writing %s: %w", s.name, s.path, err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return true, fmt.Errorf("file sink %s: syncing %s: %w", s.name, s.path, err)
	}
	return false, fh.Close()
}
