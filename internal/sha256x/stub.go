// Package sha256x: TEMPORARY STUB (replaced by the helper's kernel).
package sha256x

import (
	"crypto/sha256"
	"hash"
)

type Hash struct{ h hash.Hash }

func New() *Hash                             { return &Hash{h: sha256.New()} }
func (h *Hash) Write(p []byte) (int, error) { return h.h.Write(p) }
func (h *Hash) Sum(b []byte) []byte         { return h.h.Sum(b) }
func (h *Hash) Reset()                      { h.h.Reset() }
func (h *Hash) Size() int                   { return 32 }
func (h *Hash) BlockSize() int              { return 64 }
func WriteBoth(a, b *Hash, p []byte)        { a.Write(p); b.Write(p) }
