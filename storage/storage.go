// Package storage defines where evidence objects go and how they are read
// back: the Store contract and the sinks that implement it (a local
// directory here; S3 and a stream in sub-packages).
//
// A Store never rewrites an object: Create fails with ErrExist when the key is
// taken, and an object becomes visible only when its writer commits, after
// its SHA-256 has been checked. The package knows nothing of collections,
// manifests or profiles; it moves opaque, already encrypted bytes.
package storage

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"time"

	"github.com/custos-ir/custos/internal/digest"
)

// Errors that callers test with errors.Is.
var (
	ErrExist    = errors.New("object already exists")
	ErrNotExist = errors.New("object does not exist")
	ErrChecksum = errors.New("checksum mismatch")
)

// Store is a place that holds collections: a local directory, a bucket
// prefix. Keys are slash-separated paths relative to the store's root, such
// as "CASE-1/web01/20261124T120000Z-ab12cd/manifest.json".
type Store interface {
	// Create starts a new object. Nothing is visible under key until the
	// returned writer's Commit succeeds. It fails with ErrExist when the key is
	// already taken (where the store can tell without read rights).
	Create(ctx context.Context, key string, opts CreateOptions) (ObjectWriter, error)
	// Stat returns what the store knows of an object, or ErrNotExist.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Open returns the object's bytes, or ErrNotExist.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// List calls fn for every object whose key starts with prefix, in
	// lexical key order.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// String names the store for people: a path or an s3:// URL.
	String() string
}

// ObjectWriter receives one object's bytes.
type ObjectWriter interface {
	io.Writer
	// Commit makes the object durable and visible. want is the SHA-256 the
	// caller computed over the bytes it wrote; the store checks it against
	// what it received (and, where the store can, what the server confirmed)
	// and fails with ErrChecksum on a difference, leaving nothing visible.
	Commit(ctx context.Context, want Digest) (ObjectInfo, error)
	// Abort discards everything written. It is safe after Commit (no-op).
	Abort() error
}

// CreateOptions carries the optional features a store may honour. A store
// that cannot honour an option it was given fails Create rather than
// ignoring it silently; see Features.
type CreateOptions struct {
	// Tags are key/value labels on the object (S3 object tags).
	Tags map[string]string
	// Retention, when set, asks for the object to be locked until a date.
	Retention *Retention
	// ContentType is a hint for stores that keep one.
	ContentType string
}

// Retention is an Object Lock setting.
type Retention struct {
	Mode  string    `json:"mode"`         // "COMPLIANCE" or "GOVERNANCE"
	Until time.Time `json:"retain_until"` // UTC
}

// ObjectInfo is what a store reports about a stored object, as confirmed by
// the store after writing it, not as requested.
type ObjectInfo struct {
	Key       string     `json:"key"`
	Size      int64      `json:"size"`
	SHA256    Digest     `json:"sha256,omitempty"`
	VersionID string     `json:"version_id,omitempty"`
	ETag      string     `json:"etag,omitempty"`
	Retention *Retention `json:"retention,omitempty"`
	// Tags, where the store reports them.
	Tags map[string]string `json:"tags,omitempty"`
	// Confirmed is false when the store could not read the object back to
	// confirm its attributes (for example write-only credentials), so the
	// fields come from the write's own response.
	Confirmed bool      `json:"confirmed"`
	Modified  time.Time `json:"-"`
	// DeleteMarker is set by ListVersions for a delete marker: no bytes,
	// a version that hides the ones before it.
	DeleteMarker bool `json:"-"`
}

// Versioned is an optional interface of stores that keep every version
// of a key (S3 with versioning, which Object Lock turns on): a key written
// a second time keeps its first bytes as an older version. The listing
// shows every version, so a caller can tell a key written twice.
type Versioned interface {
	// ListVersions calls fn for every version of every object whose key
	// starts with prefix (delete markers included), in key order.
	ListVersions(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// OpenVersion and StatVersion are Open and Stat of one version.
	OpenVersion(ctx context.Context, key, version string) (io.ReadCloser, error)
	StatVersion(ctx context.Context, key, version string) (ObjectInfo, error)
}

// Features is an optional interface: a store that implements it says which
// CreateOptions it honours.
type Features interface {
	Supports() FeatureSet
}

// FeatureSet lists optional store capabilities.
type FeatureSet struct {
	Tags      bool
	Retention bool
	Versions  bool
}

// Digest is a SHA-256 sum. It marshals as lowercase hex.
type Digest = digest.Digest

// ParseDigest parses 64 hex digits.
func ParseDigest(s string) (Digest, error) { return digest.Parse(s) }

// PutBytes stores a small object from memory, checking its SHA-256.
func PutBytes(ctx context.Context, st Store, key string, data []byte, o CreateOptions) (ObjectInfo, error) {
	w, err := st.Create(ctx, key, o)
	if err != nil {
		return ObjectInfo{}, err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return ObjectInfo{}, err
	}
	info, err := w.Commit(ctx, sha256.Sum256(data))
	if err != nil {
		w.Abort()
		return ObjectInfo{}, err
	}
	return info, nil
}

// Noter is an optional interface of stores that carry metadata besides
// objects (the SSH stream): Note passes an opaque, small document of a kind
// to whoever receives the store's objects.
type Noter interface {
	Note(ctx context.Context, kind string, data []byte) error
}

// Summer is an optional interface of ObjectWriters that hash every byte
// they are given (a directory's, S3's, to check the caller's digest at
// Commit): Sum is the SHA-256 of what was written so far. A caller that
// needs that digest itself (ingest, to hold it to what the sender
// claims) reads it here instead of hashing each byte a second time.
type Summer interface {
	Sum() Digest
}
