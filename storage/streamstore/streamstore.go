// Package streamstore carries a collection as one byte stream: the sink
// behind `custos collect --to -`, whose stdout travels home over SSH, and
// the reader behind `custos ingest`, which stores what arrives.
//
// The stream is a sequence of frames, so that truncation and corruption are
// detected and named, and everything that arrived whole is kept:
//
//	stream  = magic frame* end
//	magic   = "CUSTOS-STREAM/2\n"
//	frame   = type(1 byte) id(uint32 BE) length(uint32 BE) payload(length bytes)
//	  'B' begin object   payload: the object's key (UTF-8), as the sender names it
//	  'D' data           payload: the next bytes of object id (at most 1 MiB)
//	  'E' end object     payload: size(uint64 BE) sha256(32): commit it
//	  'A' abort object   payload: empty: discard it
//	  'N' note           payload: kind(1 byte length + bytes) then data: metadata for the receiver
//	  'Z' end of stream  payload: count of frames before it (uint64 BE) and the
//	                     SHA-256 of the stream before this frame, but for the
//	                     payloads of 'D' frames, which their object's 'E'
//	                     frame covers (hashing them twice cost a fifth of a
//	                     remote collection's CPU)
//
// A stream that stops before 'Z', or whose 'Z' digest differs, is incomplete;
// objects that ended with a matching 'E' are still whole. It never holds
// plaintext: objects are the collection's ciphertext and metadata.
//
// The package knows nothing of what the keys mean: the receiver hands in
// the check that maps a key the sender names to where it is stored (or
// refuses it), and takes the notes.
package streamstore

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/custos-ir/custos/storage"
)

// Magic opens every stream. Version 1 carried keys with the sender's own
// prefix; version 2 lets the receiver place them.
const Magic = "CUSTOS-STREAM/2\n"

// Frame types.
const (
	FrameBegin = 'B'
	FrameData  = 'D'
	FrameEnd   = 'E'
	FrameAbort = 'A'
	FrameNote  = 'N'
	FrameTail  = 'Z'
)

// MaxPayload bounds a frame; data frames carry at most 1 MiB.
const MaxPayload = 1 << 20

// Writer is a write-only storage.Store that frames objects onto w. Stat,
// Open and List are not possible on a stream; they report so.
type Writer struct {
	mu     sync.Mutex
	w      *bufio.Writer
	h      hash.Hash
	frames uint64
	next   uint32
	err    error
	closed bool
}

// NewWriter starts a stream on w.
func NewWriter(w io.Writer) (*Writer, error) {
	s := &Writer{w: bufio.NewWriterSize(w, 256<<10), h: sha256.New()}
	if _, err := io.WriteString(s.w, Magic); err != nil {
		return nil, err
	}
	s.h.Write([]byte(Magic))
	return s, nil
}

func (s *Writer) String() string { return "stdout stream" }

// Supports implements storage.Features: a stream carries bytes only.
func (s *Writer) Supports() storage.FeatureSet { return storage.FeatureSet{} }

func (s *Writer) frame(typ byte, id uint32, payload ...[]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return errors.New("stream is closed")
	}
	n := 0
	for _, p := range payload {
		n += len(p)
	}
	var hdr [9]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:5], id)
	binary.BigEndian.PutUint32(hdr[5:9], uint32(n))
	s.h.Write(hdr[:])
	if _, s.err = s.w.Write(hdr[:]); s.err != nil {
		return s.err
	}
	for _, p := range payload {
		if typ != FrameData {
			s.h.Write(p)
		}
		if _, s.err = s.w.Write(p); s.err != nil {
			return s.err
		}
	}
	s.frames++
	if typ != FrameData {
		// Object boundaries reach the other side at once, so a cut
		// connection loses as little as possible.
		s.err = s.w.Flush()
	}
	return s.err
}

// Note sends metadata for the receiver (for instance each artifact's
// manifest record as it completes, so an interrupted stream can still be
// described). It implements storage.Noter.
func (s *Writer) Note(ctx context.Context, kind string, data []byte) error {
	if len(kind) > 255 || len(kind)+1+len(data) > MaxPayload {
		return fmt.Errorf("note %q too large", kind)
	}
	return s.frame(FrameNote, 0, []byte{byte(len(kind))}, []byte(kind), data)
}

// Create implements storage.Store.
func (s *Writer) Create(ctx context.Context, key string, opts storage.CreateOptions) (storage.ObjectWriter, error) {
	if opts.Retention != nil || len(opts.Tags) > 0 {
		return nil, fmt.Errorf("%s: a stream carries no tags or retention; the receiving side sets them", key)
	}
	if key == "" || len(key) > 1024 {
		return nil, fmt.Errorf("invalid object key %q", key)
	}
	s.mu.Lock()
	s.next++
	id := s.next
	s.mu.Unlock()
	if err := s.frame(FrameBegin, id, []byte(key)); err != nil {
		return nil, err
	}
	return &objWriter{s: s, id: id, key: key}, nil
}

// Close ends the stream with its tail frame.
func (s *Writer) Close() error {
	s.mu.Lock()
	var p [40]byte
	binary.BigEndian.PutUint64(p[:8], s.frames)
	copy(p[8:], s.h.Sum(nil))
	s.mu.Unlock()
	if err := s.frame(FrameTail, 0, p[:]); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.w.Flush()
}

var errStream = errors.New("a stream can only be written; ingest it to read it back")

// Stat implements storage.Store.
func (s *Writer) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, errStream
}

// Open implements storage.Store.
func (s *Writer) Open(ctx context.Context, key string) (io.ReadCloser, error) { return nil, errStream }

// List implements storage.Store.
func (s *Writer) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	return errStream
}

type objWriter struct {
	s    *Writer
	id   uint32
	key  string
	n    int64
	done bool
}

func (o *objWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		k := min(len(p), MaxPayload)
		if err := o.s.frame(FrameData, o.id, p[:k]); err != nil {
			return written, err
		}
		o.n += int64(k)
		written += k
		p = p[k:]
	}
	return written, nil
}

// Commit sends the object's end with the caller's SHA-256. The stream
// does not hash the object again: the receiving side does, as it stores
// it, and refuses it on a difference (the caller hashed every byte it
// wrote; a second hash here cost as much CPU as the check is worth).
func (o *objWriter) Commit(ctx context.Context, want storage.Digest) (storage.ObjectInfo, error) {
	if o.done {
		return storage.ObjectInfo{}, fmt.Errorf("%s: commit after close", o.key)
	}
	o.done = true
	got := want
	var p [40]byte
	binary.BigEndian.PutUint64(p[:8], uint64(o.n))
	copy(p[8:], got[:])
	if err := o.s.frame(FrameEnd, o.id, p[:]); err != nil {
		return storage.ObjectInfo{}, err
	}
	// Confirmed is false: only the receiving side can confirm storage.
	return storage.ObjectInfo{Key: o.key, Size: o.n, SHA256: got}, nil
}

func (o *objWriter) Abort() error {
	if o.done {
		return nil
	}
	o.done = true
	return o.s.frame(FrameAbort, o.id)
}
