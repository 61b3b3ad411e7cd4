// Package dirstore is a storage.Store on a local directory.
//
// Objects are written under a temporary name (a large one written out to
// disk as it grows), fsynced, then linked to their final name, which fails
// if the name is taken: an existing object is never overwritten, even by a
// racing writer. It must never hold plaintext: callers give it ciphertext
// and manifests only.
package dirstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/custos-ir/custos/storage"
)

// Store is a directory holding collections.
type Store struct {
	root string
}

// New returns a store rooted at dir, creating it (mode 0700) if missing.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create output directory %s: %w", abs, err)
	}
	return &Store{root: abs}, nil
}

// Open returns a store on an existing directory, for reading.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", abs)
	}
	return &Store{root: abs}, nil
}

func (s *Store) String() string { return s.root }

// Root is the store's absolute directory.
func (s *Store) Root() string { return s.root }

// Supports implements storage.Features: a directory has no tags or locks.
func (s *Store) Supports() storage.FeatureSet { return storage.FeatureSet{} }

func (s *Store) path(key string) (string, error) {
	if key == "" || path.IsAbs(key) || strings.Contains(key, "\\") || path.Clean(key) != key || strings.HasPrefix(key, "../") || key == ".." {
		return "", fmt.Errorf("invalid object key %q", key)
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Create implements storage.Store.
func (s *Store) Create(ctx context.Context, key string, opts storage.CreateOptions) (storage.ObjectWriter, error) {
	if opts.Retention != nil || len(opts.Tags) > 0 {
		return nil, fmt.Errorf("%s: a directory cannot hold tags or retention", key)
	}
	final, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("%s: %w", key, storage.ErrExist)
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(final)+"-*")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return &writer{s: s, key: key, final: final, f: f, h: sha256.New()}, nil
}

type writer struct {
	s     *Store
	key   string
	final string
	f     *os.File
	h     hash.Hash
	n     int64
	done  bool
	// flushed is how far the kernel was asked to write the file out.
	flushed int64
}

// writebackEvery is how much an object grows between requests to write
// it out (startWriteback).
const writebackEvery = 8 << 20

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	if w.n-w.flushed >= writebackEvery {
		startWriteback(w.f, w.flushed, w.n-w.flushed)
		w.flushed = w.n
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", w.key, err)
	}
	return n, err
}

// Sum implements storage.Summer.
func (w *writer) Sum() (d storage.Digest) {
	w.h.Sum(d[:0])
	return d
}

func (w *writer) Commit(ctx context.Context, want storage.Digest) (storage.ObjectInfo, error) {
	if w.done {
		return storage.ObjectInfo{}, fmt.Errorf("%s: commit after close", w.key)
	}
	w.done = true
	tmp := w.f.Name()
	defer os.Remove(tmp)
	var got storage.Digest
	w.h.Sum(got[:0])
	if got != want {
		w.f.Close()
		return storage.ObjectInfo{}, fmt.Errorf("%s: %w: wrote %s, expected %s", w.key, storage.ErrChecksum, got, want)
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return storage.ObjectInfo{}, fmt.Errorf("%s: sync: %w", w.key, err)
	}
	if err := w.f.Close(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("%s: %w", w.key, err)
	}
	// Link, not rename: link fails when the final name exists, so no
	// object is ever replaced.
	if err := os.Link(tmp, w.final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return storage.ObjectInfo{}, fmt.Errorf("%s: %w", w.key, storage.ErrExist)
		}
		return storage.ObjectInfo{}, fmt.Errorf("%s: %w", w.key, err)
	}
	syncDir(filepath.Dir(w.final))
	return storage.ObjectInfo{Key: w.key, Size: w.n, SHA256: got, Confirmed: true}, nil
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

// Stat implements storage.Store. The SHA-256 is not computed (it would read
// the whole object); ObjectInfo.SHA256 is zero.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return storage.ObjectInfo{}, fmt.Errorf("%s: %w", key, storage.ErrNotExist)
	}
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if !fi.Mode().IsRegular() {
		return storage.ObjectInfo{}, fmt.Errorf("%s: not a regular file", key)
	}
	return storage.ObjectInfo{Key: key, Size: fi.Size(), Modified: fi.ModTime(), Confirmed: true}, nil
}

// Open implements storage.Store.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", key, storage.ErrNotExist)
	}
	return f, err
}

// List implements storage.Store. Every file under the prefix is listed,
// temporary files of unfinished writes (".tmp-" names, left by a killed
// writer) too: whatever sits in a collection's directory is for verify to
// see, whoever put it there. RemoveUnfinished clears a killed run's.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	var keys []storage.ObjectInfo
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		keys = append(keys, storage.ObjectInfo{Key: key, Size: fi.Size(), Modified: fi.ModTime(), Confirmed: true})
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Key < keys[j].Key })
	for _, k := range keys {
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

// RemoveUnfinished removes the temporary files of writes that never
// committed under prefix (a collection killed mid-write, about to be
// resumed), and returns their keys. Committed objects are never touched.
func (s *Store) RemoveUnfinished(ctx context.Context, prefix string) ([]string, error) {
	var gone []string
	err := s.List(ctx, prefix, func(o storage.ObjectInfo) error {
		if !strings.HasPrefix(path.Base(o.Key), ".tmp-") {
			return nil
		}
		p, err := s.path(o.Key)
		if err != nil {
			return err
		}
		if err := os.Remove(p); err != nil {
			return err
		}
		gone = append(gone, o.Key)
		return nil
	})
	return gone, err
}
