package collect

import (
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/custos-ir/custos/internal/digest"
	"github.com/custos-ir/custos/internal/sha256x"
)

// frameWriter compresses the plaintext in chunks of a fixed size, each an
// independent zstd frame, on several goroutines, and writes the frames in
// order to dst from one more goroutine. A zstd stream may hold any number
// of frames: `zstd -d` and every decoder read them as one stream.
//
// One zstd stream uses about one core whatever its concurrency option (it
// overlaps work rather than splitting it); independent frames are what let
// one large artifact use every core --cpu allows. Memory is bounded:
// (workers+2) chunks of input and their frames, reused.
type frameWriter struct {
	dst   io.Writer
	enc   *zstd.Encoder
	cur   *frameJob
	work  chan *frameJob // to the compressors
	order chan *frameJob // to the writer, in submission order
	free  chan *frameJob
	done  chan struct{}
	sent  bool
	// plain hashes the plaintext as it is written (read it after Close).
	// While also is set (tee), what is written goes into it too, in the
	// same pass: a file's content into the file's own digest.
	plain, also *sha256x.Hash
	// scan, when set, looks at each chunk on its compressing goroutine.
	scan    *contentScan
	written int64 // plaintext accepted so far
	tail    []byte

	mu  sync.Mutex
	err error
}

type frameJob struct {
	in, out []byte
	ready   chan struct{}
	// For the scan: the chunk's offset in the plaintext, the end of the
	// chunk before it, what the scan found.
	at    int64
	prev  []byte
	found []found
	cards int
}

// frameSize is the plaintext in one frame: large enough that the ratio
// does not suffer (the window is 4 MiB), small enough that workers+2 of
// them stay a few MiB.
const frameSize = 2 << 20

func newFrameWriter(dst io.Writer, enc *zstd.Encoder, workers int, scan *contentScan) *frameWriter {
	if workers < 1 {
		workers = 1
	}
	f := &frameWriter{
		dst:   dst,
		enc:   enc,
		work:  make(chan *frameJob, workers+2),
		order: make(chan *frameJob, workers+2),
		free:  make(chan *frameJob, workers+2),
		done:  make(chan struct{}),
		plain: sha256x.New(),
		scan:  scan,
	}
	for range workers + 2 {
		// out holds a frame of incompressible input without growing.
		f.free <- &frameJob{in: make([]byte, 0, frameSize), out: make([]byte, 0, frameSize+frameSize>>7+512), ready: make(chan struct{}, 1)}
	}
	for range workers {
		go func() {
			for j := range f.work {
				if f.scan != nil {
					j.found, j.cards = f.scan.scanChunk(j.prev, j.in, j.at)
				}
				j.out = f.enc.EncodeAll(j.in, j.out[:0])
				j.ready <- struct{}{}
			}
		}()
	}
	go f.writeOut()
	f.next()
	return f
}

func (f *frameWriter) writeOut() {
	defer close(f.done)
	for j := range f.order {
		<-j.ready
		if f.scan != nil {
			f.scan.take(j.found, j.cards, j.at+int64(len(j.in)))
			j.found = j.found[:0]
		}
		if f.failed() == nil {
			if _, err := f.dst.Write(j.out); err != nil {
				f.mu.Lock()
				f.err = err
				f.mu.Unlock()
			}
		}
		j.in = j.in[:0]
		f.free <- j
	}
}

func (f *frameWriter) failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *frameWriter) submit() {
	f.sent = true
	if f.scan != nil && f.scan.keep > 0 {
		// The next chunk is scanned with the end of this one.
		in := f.cur.in
		f.tail = append(f.tail[:0], in[max(0, len(in)-f.scan.keep):]...)
	}
	f.order <- f.cur
	f.work <- f.cur
}

// next makes a free job the current one, at the present offset.
func (f *frameWriter) next() {
	f.cur = <-f.free
	f.cur.at = f.written
	f.cur.prev = append(f.cur.prev[:0], f.tail...)
}

// tee has what is written from now on hashed into h as well, in the same
// pass as the plaintext's digest (nil: no more). A file's content lies at
// a 512-byte offset of the tar, so the two digests take the same blocks
// and one kernel hashes both (sha256x.WriteBoth): the content is not
// hashed twice over.
func (f *frameWriter) tee(h *sha256x.Hash) { f.also = h }

// plainSum is the plaintext's SHA-256, after Close.
func (f *frameWriter) plainSum() (d digest.Digest) {
	f.plain.Sum(d[:0])
	return d
}

// Offset is the plaintext written so far.
func (f *frameWriter) Offset() int64 { return f.written }

func (f *frameWriter) Write(p []byte) (int, error) {
	if err := f.failed(); err != nil {
		return 0, err
	}
	if f.also != nil {
		sha256x.WriteBoth(f.plain, f.also, p)
	} else {
		f.plain.Write(p)
	}
	n := 0
	for len(p) > 0 {
		if err := f.failed(); err != nil {
			return n, err
		}
		in := f.cur.in
		k := copy(in[len(in):cap(in)], p)
		f.cur.in = in[:len(in)+k]
		p = p[k:]
		n += k
		f.written += int64(k)
		if len(f.cur.in) == cap(f.cur.in) {
			f.submit()
			f.next()
		}
	}
	return n, nil
}

// Close compresses what is buffered (an empty stream is one empty frame),
// waits for every frame to be written and returns the first write error.
func (f *frameWriter) Close() error {
	if f.cur != nil {
		if len(f.cur.in) > 0 || !f.sent {
			f.submit()
		}
		f.cur = nil
		close(f.work)
		close(f.order)
	}
	<-f.done
	return f.failed()
}
