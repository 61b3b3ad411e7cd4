//go:build !amd64 || purego

package sha256x

import (
	"crypto/sha256"
	"hash"
)

// Hash is a SHA-256 digest; New makes one. Here it is crypto/sha256,
// which on arm64 already uses the SHA2 instructions.
type Hash struct{ d hash.Hash }

// New returns a new Hash.
func New() *Hash { return &Hash{sha256.New()} }

// Write adds p to the digest. It never fails.
func (h *Hash) Write(p []byte) (int, error) { return h.d.Write(p) }

// Sum appends the digest of what was written to b. It does not change
// the state.
func (h *Hash) Sum(b []byte) []byte { return h.d.Sum(b) }

// Reset forgets what was written.
func (h *Hash) Reset() { h.d.Reset() }

// WriteBoth writes p into a and b, as a.Write(p); b.Write(p) would. Here
// that is what it does.
func WriteBoth(a, b *Hash, p []byte) {
	a.d.Write(p)
	b.d.Write(p)
}
