//go:build !purego

package sha256x

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"

	"golang.org/x/sys/cpu"
)

// useSHANI: the kernels (sha256x_amd64.s) run on this machine. x/sys/cpu
// reports SSSE3 and SSE4.1 but not SHA, which is CPUID leaf 7 EBX bit 29.
var useSHANI = cpu.X86.HasSSSE3 && cpu.X86.HasSSE41 && hasSHA()

func hasSHA() bool {
	if max, _, _, _ := cpuid(0, 0); max < 7 {
		return false
	}
	_, ebx, _, _ := cpuid(7, 0)
	return ebx&(1<<29) != 0
}

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// block hashes the 64-byte blocks of p into h.
//
//go:noescape
func block(h *[8]uint32, p []byte)

// block2 hashes the 64-byte blocks of p into ha and into hb, with one
// message schedule. ha and hb must not be the same state.
//
//go:noescape
func block2(ha, hb *[8]uint32, p []byte)

var iv = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// Hash is a SHA-256 digest; New makes one. Without SHA-NI it is
// crypto/sha256 (std), whose AVX2 code beats anything this package would
// do there.
type Hash struct {
	h   [8]uint32
	x   [BlockSize]byte // buffered bytes, x[:nx]
	nx  int
	len uint64
	std hash.Hash
}

// New returns a new Hash.
func New() *Hash {
	h := new(Hash)
	h.Reset()
	return h
}

// Reset forgets what was written.
func (h *Hash) Reset() {
	if !useSHANI {
		if h.std == nil {
			h.std = sha256.New()
		}
		h.std.Reset()
		return
	}
	*h = Hash{h: iv}
}

// Write adds p to the digest. It never fails.
func (h *Hash) Write(p []byte) (int, error) {
	if h.std != nil {
		return h.std.Write(p)
	}
	h.write(p)
	return len(p), nil
}

// write is Write for the kernels. Without the call through std, a
// slice it is given does not escape: Sum's padding stays on the stack.
func (h *Hash) write(p []byte) {
	n := len(p)
	h.len += uint64(n)
	if h.nx > 0 {
		c := copy(h.x[h.nx:], p)
		h.nx += c
		p = p[c:]
		if h.nx < BlockSize {
			return
		}
		block(&h.h, h.x[:])
		h.nx = 0
	}
	if m := len(p) &^ (BlockSize - 1); m > 0 {
		block(&h.h, p[:m])
		p = p[m:]
	}
	h.nx = copy(h.x[:], p)
}

// Sum appends the digest of what was written to b. It does not change
// the state.
func (h *Hash) Sum(b []byte) []byte {
	if h.std != nil {
		return h.std.Sum(b)
	}
	d := *h
	var pad [BlockSize + 8]byte
	pad[0] = 0x80
	t := (55-d.len)%BlockSize + 1 // 0x80, then zeros to 56 mod 64
	binary.BigEndian.PutUint64(pad[t:], d.len<<3)
	d.write(pad[:t+8])
	for _, s := range d.h {
		b = binary.BigEndian.AppendUint32(b, s)
	}
	return b
}

// WriteBoth writes p into a and b, as a.Write(p); b.Write(p) would. When
// a and b have the same number of bytes buffered (their lengths agree mod
// 64) it goes over p once: each full block is hashed into both states by
// one kernel. Otherwise, or for a and b the same Hash, it is two Writes.
func WriteBoth(a, b *Hash, p []byte) {
	if a.std != nil || b.std != nil || a.nx != b.nx || a == b {
		a.Write(p)
		b.Write(p)
		return
	}
	n := uint64(len(p))
	a.len += n
	b.len += n
	if a.nx > 0 {
		// The buffers' earlier bytes differ: two blocks, one each.
		c := copy(a.x[a.nx:], p)
		copy(b.x[b.nx:], p)
		a.nx += c
		b.nx += c
		p = p[c:]
		if a.nx < BlockSize {
			return
		}
		block(&a.h, a.x[:])
		block(&b.h, b.x[:])
		a.nx, b.nx = 0, 0
	}
	if m := len(p) &^ (BlockSize - 1); m > 0 {
		block2(&a.h, &b.h, p[:m])
		p = p[m:]
	}
	a.nx = copy(a.x[:], p)
	b.nx = copy(b.x[:], p)
}
