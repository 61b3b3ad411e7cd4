// Package iox holds the small I/O helpers every package would otherwise
// write again: a reader and a writer that count what passes, and a writer
// that hashes it too.
package iox

import (
	"crypto/sha256"
	"hash"
	"io"

	"github.com/custos-ir/custos/internal/digest"
)

// CountingWriter counts the bytes written through it to W.
type CountingWriter struct {
	W io.Writer
	N int64
}

func (c *CountingWriter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}

// DigestWriter writes through to W, counting and SHA-256-hashing the
// bytes W took.
type DigestWriter struct {
	W io.Writer
	N int64
	h hash.Hash
}

// NewDigestWriter writes through to w.
func NewDigestWriter(w io.Writer) *DigestWriter { return &DigestWriter{W: w, h: sha256.New()} }

func (d *DigestWriter) Write(p []byte) (int, error) {
	n, err := d.W.Write(p)
	d.h.Write(p[:n])
	d.N += int64(n)
	return n, err
}

// Sum is the SHA-256 of what was written so far.
func (d *DigestWriter) Sum() (sum digest.Digest) {
	d.h.Sum(sum[:0])
	return sum
}

// CountingReader counts the bytes read through it from R.
type CountingReader struct {
	R io.Reader
	N int64
}

func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}
