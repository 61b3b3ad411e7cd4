package collect

import (
	"io"
	"sync"
)

// asyncWriter hands fixed-size chunks to a goroutine that writes them to
// dst, so the stages on either side (hashing and reading here, zstd or age
// there) run on different cores. Memory is bounded: nbuf chunks of size
// bytes, reused.
type asyncWriter struct {
	dst   io.Writer
	cur   []byte
	full  chan []byte
	free  chan []byte
	done  chan struct{}
	mu    sync.Mutex
	err   error
	close sync.Once
}

func newAsyncWriter(dst io.Writer, nbuf, size int) *asyncWriter {
	a := &asyncWriter{
		dst:  dst,
		full: make(chan []byte, nbuf),
		free: make(chan []byte, nbuf),
		done: make(chan struct{}),
	}
	for range nbuf {
		a.free <- make([]byte, 0, size)
	}
	a.cur = <-a.free
	go a.run()
	return a
}

func (a *asyncWriter) run() {
	defer close(a.done)
	for b := range a.full {
		if a.failed() == nil {
			if _, err := a.dst.Write(b); err != nil {
				a.mu.Lock()
				a.err = err
				a.mu.Unlock()
			}
		}
		a.free <- b[:0]
	}
}

func (a *asyncWriter) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := a.failed(); err != nil {
			return n, err
		}
		k := copy(a.cur[len(a.cur):cap(a.cur)], p)
		a.cur = a.cur[:len(a.cur)+k]
		p = p[k:]
		n += k
		if len(a.cur) == cap(a.cur) {
			a.full <- a.cur
			a.cur = <-a.free
		}
	}
	return n, nil
}

// Close flushes what is buffered, waits for the writer goroutine and
// returns the first write error.
func (a *asyncWriter) Close() error {
	a.close.Do(func() {
		if len(a.cur) > 0 {
			a.full <- a.cur
			a.cur = nil
		}
		close(a.full)
	})
	<-a.done
	return a.failed()
}
