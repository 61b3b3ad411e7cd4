// Package memstore is a storage.Store in memory, for tests and fuzzing. It
// keeps the same promises as the real stores: no overwrite, checksum
// checked, nothing visible before commit.
package memstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/custos-ir/custos/storage"
)

// Store holds objects in a map.
type Store struct {
	mu   sync.Mutex
	objs map[string][]byte
}

// New returns an empty store.
func New() *Store { return &Store{objs: map[string][]byte{}} }

func (s *Store) String() string { return "mem:" }

// Keys lists the stored keys in order.
func (s *Store) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.objs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Bytes returns an object's content (nil if absent). Tests may modify
// the returned slice to simulate damage.
func (s *Store) Bytes(key string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.objs[key]
}

// Create implements storage.Store.
func (s *Store) Create(ctx context.Context, key string, opts storage.CreateOptions) (storage.ObjectWriter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objs[key]; ok {
		return nil, fmt.Errorf("%s: %w", key, storage.ErrExist)
	}
	return &writer{s: s, key: key}, nil
}

type writer struct {
	s    *Store
	key  string
	buf  bytes.Buffer
	done bool
}

func (w *writer) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *writer) Commit(ctx context.Context, want storage.Digest) (storage.ObjectInfo, error) {
	if w.done {
		return storage.ObjectInfo{}, fmt.Errorf("%s: commit after close", w.key)
	}
	w.done = true
	if storage.Digest(sha256.Sum256(w.buf.Bytes())) != want {
		return storage.ObjectInfo{}, fmt.Errorf("%s: %w", w.key, storage.ErrChecksum)
	}
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if _, ok := w.s.objs[w.key]; ok {
		return storage.ObjectInfo{}, fmt.Errorf("%s: %w", w.key, storage.ErrExist)
	}
	w.s.objs[w.key] = w.buf.Bytes()
	return storage.ObjectInfo{Key: w.key, Size: int64(w.buf.Len()), SHA256: want, Confirmed: true}, nil
}

func (w *writer) Abort() error { w.done = true; return nil }

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objs[key]
	if !ok {
		return storage.ObjectInfo{}, fmt.Errorf("%s: %w", key, storage.ErrNotExist)
	}
	return storage.ObjectInfo{Key: key, Size: int64(len(b)), Confirmed: true}, nil
}

// Open implements storage.Store.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objs[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, storage.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// List implements storage.Store.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	for _, k := range s.Keys() {
		if strings.HasPrefix(k, prefix) {
			if err := fn(storage.ObjectInfo{Key: k, Size: int64(len(s.Bytes(k))), Confirmed: true}); err != nil {
				return err
			}
		}
	}
	return nil
}
