// Package storagetest is the conformance suite every storage.Store passes:
// the directory store, the stream, S3 on versitygw. It checks the promises
// the rest of custos relies on: nothing visible before commit, no
// overwrite, checksums enforced, large objects streamed whole.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/custos-ir/custos/storage"
)

// Options tune the suite to a store.
type Options struct {
	// LargeSize is the size of the object that must span several parts or
	// buffers (default 20 MiB).
	LargeSize int64
}

// Run runs the suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store, o Options) {
	if o.LargeSize == 0 {
		o.LargeSize = 20 << 20
	}
	ctx := context.Background()
	t.Run("RoundTrip", func(t *testing.T) {
		st := newStore(t)
		data := []byte("ciphertext of an artifact\n")
		w, err := st.Create(ctx, "C/h/id/artifacts/01-x.jsonl.zst.age", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data[:5])
		if _, err := st.Stat(ctx, "C/h/id/artifacts/01-x.jsonl.zst.age"); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("visible before commit: %v", err)
		}
		w.Write(data[5:])
		info, err := w.Commit(ctx, sha256.Sum256(data))
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != int64(len(data)) || info.SHA256 != sha256.Sum256(data) {
			t.Fatalf("commit info %+v", info)
		}
		got := read(t, st, "C/h/id/artifacts/01-x.jsonl.zst.age")
		if !bytes.Equal(got, data) {
			t.Fatalf("read back %q", got)
		}
		si, err := st.Stat(ctx, "C/h/id/artifacts/01-x.jsonl.zst.age")
		if err != nil || si.Size != int64(len(data)) {
			t.Fatalf("stat %+v %v", si, err)
		}
		var keys []string
		st.List(ctx, "C/h/", func(o storage.ObjectInfo) error { keys = append(keys, o.Key); return nil })
		if len(keys) != 1 || keys[0] != "C/h/id/artifacts/01-x.jsonl.zst.age" {
			t.Fatalf("list %v", keys)
		}
		if _, err := st.Open(ctx, "C/h/id/nope"); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("open missing: %v", err)
		}
	})
	t.Run("NoOverwrite", func(t *testing.T) {
		st := newStore(t)
		put(t, st, "k/x", []byte("first"))
		w, err := st.Create(ctx, "k/x", storage.CreateOptions{})
		if err == nil {
			w.Write([]byte("second"))
			_, err = w.Commit(ctx, sha256.Sum256([]byte("second")))
		}
		if !errors.Is(err, storage.ErrExist) {
			t.Fatalf("overwrite: %v", err)
		}
		if got := read(t, st, "k/x"); string(got) != "first" {
			t.Fatalf("object now %q", got)
		}
	})
	t.Run("ChecksumMismatch", func(t *testing.T) {
		st := newStore(t)
		w, err := st.Create(ctx, "k/bad", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("what was sent"))
		if _, err := w.Commit(ctx, sha256.Sum256([]byte("what was meant"))); !errors.Is(err, storage.ErrChecksum) {
			t.Fatalf("mismatch accepted: %v", err)
		}
		if _, err := st.Stat(ctx, "k/bad"); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("damaged object visible: %v", err)
		}
	})
	t.Run("AbortLeavesNothing", func(t *testing.T) {
		st := newStore(t)
		w, _ := st.Create(ctx, "k/aborted", storage.CreateOptions{})
		w.Write(bytes.Repeat([]byte("x"), 1<<20))
		w.Abort()
		n := 0
		st.List(ctx, "k/", func(o storage.ObjectInfo) error { n++; return nil })
		if n != 0 {
			t.Fatalf("%d objects after abort", n)
		}
	})
	t.Run("Large", func(t *testing.T) {
		st := newStore(t)
		r := rand.New(rand.NewPCG(7, 7))
		w, err := st.Create(ctx, "k/large", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		buf := make([]byte, 100_003) // odd size: parts never align with writes
		for left := o.LargeSize; left > 0; {
			n := min(int64(len(buf)), left)
			for i := range buf[:n] {
				buf[i] = byte(r.Uint32())
			}
			w.Write(buf[:n])
			h.Write(buf[:n])
			left -= n
		}
		var want storage.Digest
		h.Sum(want[:0])
		info, err := w.Commit(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != o.LargeSize {
			t.Fatalf("size %d", info.Size)
		}
		rc, err := st.Open(ctx, "k/large")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		h2 := sha256.New()
		io.Copy(h2, rc)
		if !bytes.Equal(h2.Sum(nil), want[:]) {
			t.Fatal("large object read back differs")
		}
	})
}

func put(t *testing.T, st storage.Store, key string, data []byte) {
	t.Helper()
	if _, err := storage.PutBytes(context.Background(), st, key, data, storage.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, st storage.Store, key string) []byte {
	t.Helper()
	rc, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
