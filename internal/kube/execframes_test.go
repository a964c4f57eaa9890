package kube

import (
	"bytes"
	"net/http"
	"testing"

	"k8s.io/apimachinery/pkg/util/httpstream"
)

// recStream records each Write as one frame.
type recStream struct {
	httpstream.Stream
	frames [][]byte
	closed bool
}

func (r *recStream) Write(p []byte) (int, error) {
	r.frames = append(r.frames, append([]byte(nil), p...))
	return len(p), nil
}
func (r *recStream) Close() error             { r.closed = true; return nil }
func (r *recStream) Headers() http.Header     { return nil }
func (r *recStream) Identifier() uint32       { return 1 }
func (r *recStream) Read([]byte) (int, error) { return 0, nil }

// 32 KiB writes (client-go's) leave as full frames, the rest at Close, in order.
func TestFramedStreamGathersWrites(t *testing.T) {
	rec := &recStream{}
	s := &framedStream{Stream: rec, buf: make([]byte, 0, 100<<10)}
	var sent bytes.Buffer
	for i := 0; i < 10; i++ {
		chunk := bytes.Repeat([]byte{byte('a' + i)}, 32<<10)
		sent.Write(chunk)
		if n, err := s.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("write %d: %d %v", i, n, err)
		}
	}
	if len(rec.frames) != 3 {
		t.Fatalf("%d frames before Close, want 3 full ones", len(rec.frames))
	}
	if err := s.Close(); err != nil || !rec.closed {
		t.Fatalf("close: %v, closed %v", err, rec.closed)
	}
	var got []byte
	for i, f := range rec.frames {
		if i < 3 && len(f) != 100<<10 {
			t.Fatalf("frame %d is %d bytes", i, len(f))
		}
		got = append(got, f...)
	}
	if len(rec.frames) != 4 || !bytes.Equal(got, sent.Bytes()) {
		t.Fatalf("%d frames, %d bytes: not what was written", len(rec.frames), len(got))
	}
}
