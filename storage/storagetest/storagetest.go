// Package storagetest is the conformance suite every storage.Store passes:
// the directory store, the memory store, S3 on versitygw. It checks the
// promises the rest of custos relies on: nothing visible before commit, no
// overwrite even by a racing writer, checksums enforced, aborts leave
// nothing, large objects streamed whole, and options a store cannot honour
// refused rather than ignored.
//
// It only ever creates objects under keys it invents; it must never be
// pointed at a store holding evidence.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/custos-ir/custos/storage"
)

// Options tune the suite to a store.
type Options struct {
	// LargeSize is the size of an object that must span several parts or
	// buffers of the store (default 20 MiB).
	LargeSize int64
}

// Tagger is implemented by stores that can report an object's tags.
type Tagger interface {
	Tags(ctx context.Context, key string) (map[string]string, error)
}

// Run runs the suite. newStore returns an empty store for each subtest.
// Which options are checked follows the store's storage.Features: a
// supported option must be honoured, an unsupported one refused by Create.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store, o Options) {
	if o.LargeSize == 0 {
		o.LargeSize = 20 << 20
	}
	ctx := context.Background()
	t.Run("RoundTrip", func(t *testing.T) {
		st := newStore(t)
		const key = "C/h/id/artifacts/01-x.jsonl.zst.age"
		data := []byte("ciphertext of an artifact\n")
		w, err := st.Create(ctx, key, storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		write(t, w, data[:5])
		if _, err := st.Stat(ctx, key); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("visible before commit: %v", err)
		}
		write(t, w, data[5:])
		info, err := w.Commit(ctx, sha256.Sum256(data))
		if err != nil {
			t.Fatal(err)
		}
		if info.Key != key || info.Size != int64(len(data)) || info.SHA256 != sha256.Sum256(data) {
			t.Fatalf("commit info %+v", info)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("abort after commit: %v", err)
		}
		if got := read(t, st, key); !bytes.Equal(got, data) {
			t.Fatalf("read back %q", got)
		}
		si, err := st.Stat(ctx, key)
		if err != nil || si.Size != int64(len(data)) || si.Key != key {
			t.Fatalf("stat %+v %v", si, err)
		}
		if !si.SHA256.IsZero() && si.SHA256 != sha256.Sum256(data) {
			t.Fatalf("stat reports sha256 %s", si.SHA256)
		}
		if keys := list(t, st, "C/h/"); !slices.Equal(keys, []string{key}) {
			t.Fatalf("list %v", keys)
		}
		if _, err := st.Open(ctx, "C/h/id/nope"); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("open missing: %v", err)
		}
		if _, err := st.Stat(ctx, "C/h/id/nope"); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("stat missing: %v", err)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		st := newStore(t)
		put(t, st, "k/empty", nil)
		if got := read(t, st, "k/empty"); len(got) != 0 {
			t.Fatalf("read back %q", got)
		}
	})
	t.Run("ListOrder", func(t *testing.T) {
		st := newStore(t)
		for _, k := range []string{"b/2", "a/2", "a/10", "a/1", "c", "ab"} {
			put(t, st, k, []byte(k))
		}
		if got, want := list(t, st, ""), []string{"a/1", "a/10", "a/2", "ab", "b/2", "c"}; !slices.Equal(got, want) {
			t.Fatalf("list: %v, want %v", got, want)
		}
		if got, want := list(t, st, "a/"), []string{"a/1", "a/10", "a/2"}; !slices.Equal(got, want) {
			t.Fatalf("list a/: %v, want %v", got, want)
		}
	})
	t.Run("NoOverwrite", func(t *testing.T) {
		st := newStore(t)
		put(t, st, "k/x", []byte("first"))
		w, err := st.Create(ctx, "k/x", storage.CreateOptions{})
		if err == nil {
			write(t, w, []byte("second"))
			_, err = w.Commit(ctx, sha256.Sum256([]byte("second")))
		}
		if !errors.Is(err, storage.ErrExist) {
			t.Fatalf("overwrite: %v", err)
		}
		if got := read(t, st, "k/x"); string(got) != "first" {
			t.Fatalf("object now %q", got)
		}
	})
	t.Run("RacingWriters", func(t *testing.T) {
		// Both writers start before either commits: exactly one wins.
		st := newStore(t)
		var ws []storage.ObjectWriter
		for i := range 2 {
			w, err := st.Create(ctx, "k/race", storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			write(t, w, []byte{byte('a' + i)})
			ws = append(ws, w)
		}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, w := range ws {
			wg.Go(func() { _, errs[i] = w.Commit(ctx, sha256.Sum256([]byte{byte('a' + i)})) })
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won < 0:
				won = i
			case err == nil:
				t.Fatal("both racing writers committed")
			case !errors.Is(err, storage.ErrExist):
				t.Fatalf("loser: %v, want ErrExist", err)
			}
		}
		if won < 0 {
			t.Fatalf("neither racing writer committed: %v", errs)
		}
		if got := read(t, st, "k/race"); string(got) != string(rune('a'+won)) {
			t.Fatalf("object %q, the winner wrote %q", got, string(rune('a'+won)))
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		st := newStore(t)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				data := bytes.Repeat([]byte{byte(i)}, i*1000+1)
				_, errs[i] = storage.PutBytes(ctx, st, fmt.Sprintf("k/%d", i), data, storage.CreateOptions{})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("object %d: %v", i, err)
			}
			if got := read(t, st, fmt.Sprintf("k/%d", i)); !bytes.Equal(got, bytes.Repeat([]byte{byte(i)}, i*1000+1)) {
				t.Fatalf("object %d read back differs", i)
			}
		}
	})
	for _, size := range []int64{13, o.LargeSize} {
		t.Run(fmt.Sprintf("ChecksumMismatch/%d", size), func(t *testing.T) {
			st := newStore(t)
			w, err := st.Create(ctx, "k/bad", storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sum := fill(t, w, size, 1)
			sum[0] ^= 1
			if _, err := w.Commit(ctx, sum); !errors.Is(err, storage.ErrChecksum) {
				t.Fatalf("mismatch accepted: %v", err)
			}
			w.Abort()
			if _, err := st.Stat(ctx, "k/bad"); !errors.Is(err, storage.ErrNotExist) {
				t.Fatalf("damaged object visible: %v", err)
			}
			if keys := list(t, st, ""); len(keys) != 0 {
				t.Fatalf("listed after a refused commit: %v", keys)
			}
		})
		t.Run(fmt.Sprintf("AbortLeavesNothing/%d", size), func(t *testing.T) {
			st := newStore(t)
			w, err := st.Create(ctx, "k/aborted", storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sum := fill(t, w, size, 2)
			if err := w.Abort(); err != nil {
				t.Fatalf("abort: %v", err)
			}
			if _, err := w.Commit(ctx, sum); err == nil {
				t.Fatal("commit after abort succeeded")
			}
			if keys := list(t, st, ""); len(keys) != 0 {
				t.Fatalf("listed after abort: %v", keys)
			}
			// The key is still free.
			put(t, st, "k/aborted", []byte("later"))
		})
	}
	t.Run("Large", func(t *testing.T) {
		st := newStore(t)
		w, err := st.Create(ctx, "k/large", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := fill(t, w, o.LargeSize, 7)
		// A writer that says it hashes what it is given (Summer) must
		// have hashed every byte: ingest holds the sender to that sum.
		if sw, ok := w.(storage.Summer); ok && sw.Sum() != want {
			t.Fatalf("Sum %s after the object's bytes, want %s", sw.Sum(), want)
		}
		info, err := w.Commit(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != o.LargeSize || info.SHA256 != want {
			t.Fatalf("commit info %+v", info)
		}
		rc, err := st.Open(ctx, "k/large")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		h := sha256.New()
		if n, err := io.Copy(h, rc); err != nil || n != o.LargeSize {
			t.Fatalf("read back %d bytes: %v", n, err)
		}
		if !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatal("large object read back differs")
		}
	})
	f, ok := newStore(t).(storage.Features)
	if !ok {
		return // the store does not say what it honours
	}
	fs := f.Supports()
	t.Run("Tags", func(t *testing.T) {
		st := newStore(t)
		opts := storage.CreateOptions{Tags: map[string]string{"artifact": "processes"}}
		if !fs.Tags {
			if _, err := st.Create(ctx, "k/tagged", opts); err == nil {
				t.Fatal("a store without tags accepted them")
			}
			return
		}
		if _, err := storage.PutBytes(ctx, st, "k/tagged", []byte("x"), opts); err != nil {
			t.Fatal(err)
		}
		if tg, ok := st.(Tagger); ok {
			tags, err := tg.Tags(ctx, "k/tagged")
			if err != nil || tags["artifact"] != "processes" {
				t.Fatalf("tags %v %v", tags, err)
			}
		}
	})
	t.Run("Retention", func(t *testing.T) {
		st := newStore(t)
		until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		opts := storage.CreateOptions{Retention: &storage.Retention{Mode: "COMPLIANCE", Until: until}}
		if !fs.Retention {
			if _, err := st.Create(ctx, "k/locked", opts); err == nil {
				t.Fatal("a store without retention accepted it")
			}
			return
		}
		info, err := storage.PutBytes(ctx, st, "k/locked", []byte("x"), opts)
		if err != nil {
			t.Fatal(err)
		}
		if info.Retention == nil || info.Retention.Mode != "COMPLIANCE" || info.Retention.Until.Before(until) {
			t.Fatalf("commit reports retention %+v, asked COMPLIANCE until %s", info.Retention, until)
		}
		si, err := st.Stat(ctx, "k/locked")
		if err != nil || si.Retention == nil || si.Retention.Mode != "COMPLIANCE" || si.Retention.Until.Before(until) {
			t.Fatalf("stat reports retention %+v (%v), asked COMPLIANCE until %s", si.Retention, err, until)
		}
		if fs.Versions && info.Confirmed && info.VersionID == "" {
			t.Fatal("a versioned store reported no version")
		}
	})
}

// fill writes size pseudo-random bytes in odd-sized writes (so they never
// align with a store's parts) and returns their SHA-256.
func fill(t *testing.T, w io.Writer, size int64, seed uint64) storage.Digest {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	h := sha256.New()
	buf := make([]byte, 100_003)
	for left := size; left > 0; {
		n := min(int64(len(buf)), left)
		for i := range buf[:n] {
			buf[i] = byte(r.Uint32())
		}
		write(t, w, buf[:n])
		h.Write(buf[:n])
		left -= n
	}
	var d storage.Digest
	h.Sum(d[:0])
	return d
}

func write(t *testing.T, w io.Writer, b []byte) {
	t.Helper()
	if n, err := w.Write(b); err != nil || n != len(b) {
		t.Fatalf("write: %d of %d bytes: %v", n, len(b), err)
	}
}

func put(t *testing.T, st storage.Store, key string, data []byte) {
	t.Helper()
	if _, err := storage.PutBytes(context.Background(), st, key, data, storage.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func list(t *testing.T, st storage.Store, prefix string) []string {
	t.Helper()
	var keys []string
	if err := st.List(context.Background(), prefix, func(o storage.ObjectInfo) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatalf("list %q: %v", prefix, err)
	}
	return keys
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
