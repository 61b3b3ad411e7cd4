// Package digest is the SHA-256 sum custody records and stores confirm:
// one type, so that what a store reports and what the record says are
// compared as they are.
package digest

import (
	"encoding/hex"
	"errors"
)

// Digest is a SHA-256 sum. It marshals as lowercase hex.
type Digest [32]byte

// IsZero reports whether d is unset.
func (d Digest) IsZero() bool { return d == Digest{} }

func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Digest) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// Parse parses 64 hex digits.
func Parse(s string) (Digest, error) {
	var d Digest
	if len(s) != 64 {
		return d, errors.New("sha256 digest must be 64 hex digits")
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, errors.New("sha256 digest must be 64 hex digits")
	}
	return d, nil
}
