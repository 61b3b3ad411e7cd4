package custody

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/custos-ir/custos/internal/digest"
)

// Objects is what custody needs of a place that holds collections: a
// directory, a bucket, a stream. custody never learns more of it; cmd
// adapts a storage.Store to it. Keys are slash-separated and relative to
// the place's root.
type Objects interface {
	// Create starts a new object; nothing is visible under key until the
	// writer's Commit. kind says what the object is ("manifest", "log",
	// an artifact's name) for places that label objects. A key that is
	// taken fails with an error wrapping ErrExist: nothing is replaced.
	Create(ctx context.Context, key, kind string) (ObjectWriter, error)
	// Open reads one version of an object: version "" is the only (or
	// current) one. A missing object wraps ErrNotExist.
	Open(ctx context.Context, key, version string) (io.ReadCloser, error)
	// Stat describes one version of an object, as the place reports it
	// (lock and all).
	Stat(ctx context.Context, key, version string) (Object, error)
	// List calls fn for every object under prefix in key order, and where
	// the place keeps versions, for every version of it (delete markers
	// included), so that a key written twice shows twice.
	List(ctx context.Context, prefix string, fn func(Object) error) error
	// String names the place for people.
	String() string
}

// ObjectWriter receives one object's bytes.
type ObjectWriter interface {
	io.Writer
	// Commit makes the object visible once the place has checked that what
	// it received has the SHA-256 sum.
	Commit(ctx context.Context, sum Digest) (Object, error)
	// Abort discards what was written; a no-op after Commit.
	Abort() error
}

// Noter is implemented by places that carry notes beside objects (the
// stream home over SSH): a collection sends its header and each artifact's
// record as notes, so that a stream cut short can still be described.
type Noter interface {
	Note(ctx context.Context, kind string, data []byte) error
}

// Retainer is implemented by places that lock objects (S3 Object Lock):
// verify then checks each artifact's lock against the manifest.
type Retainer interface {
	Retains() bool
}

// Errors an Objects implementation wraps.
var (
	ErrExist    = errors.New("object already exists")
	ErrNotExist = errors.New("object does not exist")
)

// Object is what a place reports of one stored object (one version of
// it). As an artifact's "stored" record it is what the store confirmed
// after writing, not what was asked.
type Object struct {
	Key       string            `json:"key"`
	Size      int64             `json:"size"`
	SHA256    Digest            `json:"sha256,omitempty"`
	VersionID string            `json:"version_id,omitempty"`
	ETag      string            `json:"etag,omitempty"`
	Retention *Retention        `json:"retention,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	// Confirmed is false when the place could not read the object back to
	// confirm it (write-only credentials): the fields are the write's own
	// answers.
	Confirmed bool `json:"confirmed"`

	// From List: the version a later one replaced, a delete marker.
	Modified     time.Time `json:"-"`
	DeleteMarker bool      `json:"-"`
}

// Retention is an Object Lock setting.
type Retention struct {
	Mode  string    `json:"mode"`         // COMPLIANCE or GOVERNANCE
	Until time.Time `json:"retain_until"` // UTC
}

// Digest is a SHA-256 sum. It marshals as lowercase hex.
type Digest = digest.Digest

// ParseDigest parses 64 hex digits.
func ParseDigest(s string) (Digest, error) { return digest.Parse(s) }

// put stores a small object from memory.
func put(ctx context.Context, objs Objects, key, kind string, data []byte) (Object, error) {
	w, err := objs.Create(ctx, key, kind)
	if err != nil {
		return Object{}, fmt.Errorf("store %s: %w", key, err)
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return Object{}, fmt.Errorf("store %s: %w", key, err)
	}
	o, err := w.Commit(ctx, sha256Sum(data))
	if err != nil {
		w.Abort()
		return Object{}, fmt.Errorf("store %s: %w", key, err)
	}
	return o, nil
}

// readSmall reads one version of a small object, refusing more than max
// bytes: the one bounded read of the package.
func readSmall(ctx context.Context, objs Objects, key, version string, max int64) ([]byte, error) {
	rc, err := objs.Open(ctx, key, version)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}
