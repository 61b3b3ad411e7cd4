package collect

// bufPool keeps up to n buffers for good. A sync.Pool is emptied by every
// garbage collection, which runs often under custos's memory limit, and
// each fresh buffer costs page faults again.
type bufPool struct {
	free chan *[]byte
	size int
}

func newBufPool(n, size int) *bufPool { return &bufPool{free: make(chan *[]byte, n), size: size} }

func (b *bufPool) Get() *[]byte {
	select {
	case p := <-b.free:
		return p
	default:
		buf := make([]byte, 0, b.size)
		return &buf
	}
}

func (b *bufPool) Put(p *[]byte) {
	*p = (*p)[:0]
	select {
	case b.free <- p:
	default:
	}
}

// smallMax is the largest file prepare reads whole; larger files stream.
const smallMax = 128 << 10

var smallBufs = newBufPool(2*prefetch, smallMax+1)

// copyBufs are reused across files: a fresh 256 KiB buffer per file made
// small-file trees slow and heavy.
var copyBufs = newBufPool(8, 256<<10)
