// Package sha256x is SHA-256 that can hash the same bytes into two digests
// for little more than the cost of one.
//
// The collector hashes each file's content for its record and, again, as
// part of the tar stream that holds it. Tar puts file data at 512-byte
// offsets, so where a file's data starts both digests have the same number
// of bytes buffered and take the same 64-byte blocks from then on.
// WriteBoth hashes those blocks into both states at once: on x86-64 with
// SHA-NI the message schedule is computed once and the two states' rounds,
// each a chain of dependent SHA256RNDS2 whose latency bounds one stream,
// run interleaved. Elsewhere Hash is crypto/sha256 and WriteBoth is two
// writes.
package sha256x

import "hash"

const (
	// Size is the length of a SHA-256 digest in bytes.
	Size = 32
	// BlockSize is SHA-256's block length in bytes.
	BlockSize = 64
)

var _ hash.Hash = (*Hash)(nil)

// Size returns Size.
func (*Hash) Size() int { return Size }

// BlockSize returns BlockSize.
func (*Hash) BlockSize() int { return BlockSize }
