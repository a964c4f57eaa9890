package actions

import "bytes"

// capWriter keeps the tail of a stream in bounded memory: the last max bytes, cut at a
// line start, and counts what it dropped. A 50 MB log costs at most 2×max, and each
// byte is copied O(1) times on average (it compacts only when the buffer doubles).
type capWriter struct {
	max          int
	buf          []byte
	droppedBytes int64
	droppedLines int64
}

func (c *capWriter) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	if len(c.buf) > 2*c.max {
		c.compact()
	}
	return len(p), nil
}

// compact drops all but the last max bytes, and then the partial line they start
// with, unless that line is all there is (a line longer than max keeps its tail).
func (c *capWriter) compact() {
	over := len(c.buf) - c.max
	if over <= 0 {
		return
	}
	if c.buf[over-1] != '\n' {
		if i := bytes.IndexByte(c.buf[over:], '\n'); i >= 0 && over+i+1 < len(c.buf) {
			over += i + 1
		}
	}
	c.droppedBytes += int64(over)
	c.droppedLines += int64(bytes.Count(c.buf[:over], []byte{'\n'}))
	n := copy(c.buf, c.buf[over:])
	c.buf = c.buf[:n]
}

// Bytes is what was kept.
func (c *capWriter) Bytes() []byte {
	c.compact()
	return c.buf
}

// DroppedBytes and DroppedLines say what Bytes left out.
func (c *capWriter) DroppedBytes() int64 { c.compact(); return c.droppedBytes }

// DroppedLines counts whole lines left out.
func (c *capWriter) DroppedLines() int64 { c.compact(); return c.droppedLines }
