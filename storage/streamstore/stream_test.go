package streamstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/dirstore"
	"github.com/custos-ir/custos/storage/memstore"
)

const prefix = "CASE/web01/20261124T120000Z-abcdef/"

// opts places every key under prefix, as a receiver would, refusing
// traversal; notes are counted.
func opts(notes *int) Options {
	return Options{
		Key: func(k string) (string, int64, error) {
			if strings.Contains(k, "..") || strings.HasPrefix(k, "/") || k == "" {
				return "", 0, fmt.Errorf("refusing object key %q", k)
			}
			return prefix + k, 0, nil
		},
		Note: func(kind string, data []byte) error {
			if notes != nil {
				*notes++
			}
			return nil
		},
	}
}

// sample writes three objects (one large enough for several data frames),
// a note and an aborted object.
func sample(t testing.TB) ([]byte, map[string][]byte) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 1))
	big := make([]byte, 2*MaxPayload+12345)
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	objs := map[string][]byte{
		"artifacts/01-processes.jsonl.zst.age": []byte("cipher one"),
		"artifacts/02-logs.tar.zst.age":        big,
		"manifest.json":                        []byte("{}\n"),
	}
	w.Note(ctx, "header", []byte(`{"case":"CASE"}`))
	for _, k := range []string{"artifacts/01-processes.jsonl.zst.age", "artifacts/02-logs.tar.zst.age"} {
		ow, err := w.Create(ctx, k, storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ow.Write(objs[k])
		if _, err := ow.Commit(ctx, sha256.Sum256(objs[k])); err != nil {
			t.Fatal(err)
		}
	}
	ow, _ := w.Create(ctx, "artifacts/03-failed.jsonl.zst.age", storage.CreateOptions{})
	ow.Write([]byte("half"))
	ow.Abort()
	ow, _ = w.Create(ctx, "manifest.json", storage.CreateOptions{})
	ow.Write(objs["manifest.json"])
	ow.Commit(ctx, sha256.Sum256(objs["manifest.json"]))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), objs
}

func TestRoundTrip(t *testing.T) {
	stream, objs := sample(t)
	dst := memstore.New()
	notes := 0
	res := Ingest(context.Background(), bytes.NewReader(stream), dst, opts(&notes))
	if !res.Complete || res.Err != nil {
		t.Fatalf("incomplete: %v", res.Err)
	}
	if len(res.Stored) != 3 || notes != 1 {
		t.Fatalf("result %+v, %d notes", res, notes)
	}
	for k, v := range objs {
		if !bytes.Equal(dst.Bytes(prefix+k), v) {
			t.Errorf("%s differs", k)
		}
	}
	if dst.Bytes(prefix+"artifacts/03-failed.jsonl.zst.age") != nil {
		t.Error("aborted object stored")
	}
}

// TestTruncatedAnywhere cuts the stream at many points: whatever ended
// before the cut is stored whole, nothing else is, and the result says the
// stream ended early.
func TestTruncatedAnywhere(t *testing.T) {
	stream, objs := sample(t)
	for _, cut := range []int{0, 5, len(Magic), len(Magic) + 3, 100, MaxPayload, len(stream) / 2, len(stream) - 41, len(stream) - 1} {
		dst := memstore.New()
		res := Ingest(context.Background(), bytes.NewReader(stream[:cut]), dst, opts(nil))
		if res.Complete || !errors.Is(res.Err, ErrTruncated) {
			t.Fatalf("cut at %d: complete=%v err=%v", cut, res.Complete, res.Err)
		}
		for _, info := range res.Stored {
			if !bytes.Equal(dst.Bytes(info.Key), objs[strings.TrimPrefix(info.Key, prefix)]) {
				t.Fatalf("cut at %d: %s stored damaged", cut, info.Key)
			}
		}
		if len(dst.Keys()) != len(res.Stored) {
			t.Fatalf("cut at %d: store holds %v, result lists %d", cut, dst.Keys(), len(res.Stored))
		}
	}
}

// TestFlippedByte flips one byte at many offsets: the stream is never
// taken as complete, and a flip inside an object's data names the object.
func TestFlippedByte(t *testing.T) {
	stream, objs := sample(t)
	named := 0
	for off := 0; off < len(stream); off += 9973 {
		b := append([]byte(nil), stream...)
		b[off] ^= 0x20
		dst := memstore.New()
		res := Ingest(context.Background(), bytes.NewReader(b), dst, opts(nil))
		if res.Complete || res.Err == nil {
			t.Fatalf("flip at %d: stream taken as whole", off)
		}
		if strings.Contains(res.Err.Error(), "artifacts/02-logs.tar.zst.age arrived with") {
			named++
		}
		for _, info := range res.Stored {
			if !bytes.Equal(dst.Bytes(info.Key), objs[strings.TrimPrefix(info.Key, prefix)]) {
				t.Fatalf("flip at %d: %s stored damaged", off, info.Key)
			}
		}
	}
	if named == 0 {
		t.Error("no flip inside the large object was named")
	}
}

// The key check is the receiver's: what it refuses is not stored, and
// stops the stream.
func TestHostileKeysRefused(t *testing.T) {
	for _, key := range []string{"../../etc/passwd", "/abs/x/y/manifest.json", "a/../../x"} {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf)
		ow, _ := w.Create(context.Background(), key, storage.CreateOptions{})
		ow.Write([]byte("x"))
		ow.Commit(context.Background(), sha256.Sum256([]byte("x")))
		w.Close()
		dst := memstore.New()
		res := Ingest(context.Background(), &buf, dst, opts(nil))
		if res.Complete || len(dst.Keys()) != 0 || !errors.Is(res.Err, ErrRefused) || !strings.Contains(fmt.Sprint(res.Err), "refusing object key") {
			t.Errorf("key %q: stored %v, err %v", key, dst.Keys(), res.Err)
		}
	}
}

// Bounds: a whole stream, an object's own size, objects open at once.
func TestLimits(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		ow, _ := w.Create(ctx, fmt.Sprintf("artifacts/%02d-x", i), storage.CreateOptions{})
		ow.Write(bytes.Repeat([]byte("y"), 1000))
	}
	w.Close()
	o := opts(nil)
	o.MaxOpen = 3
	if res := Ingest(ctx, bytes.NewReader(buf.Bytes()), memstore.New(), o); !errors.Is(res.Err, ErrRefused) || !strings.Contains(res.Err.Error(), "open at once") {
		t.Errorf("open objects: %v", res.Err)
	}
	o = opts(nil)
	o.Key = func(k string) (string, int64, error) { return prefix + k, 10, nil }
	if res := Ingest(ctx, bytes.NewReader(buf.Bytes()), memstore.New(), o); !errors.Is(res.Err, ErrRefused) || !strings.Contains(res.Err.Error(), "larger than the 10 bytes") {
		t.Errorf("object bound: %v", res.Err)
	}
	o = opts(nil)
	o.MaxBytes = 2000
	if res := Ingest(ctx, bytes.NewReader(buf.Bytes()), memstore.New(), o); !errors.Is(res.Err, ErrRefused) || !strings.Contains(res.Err.Error(), "--max-bytes") {
		t.Errorf("stream bound: %v", res.Err)
	}
	// A version 1 stream is named as such.
	if res := Ingest(ctx, strings.NewReader("CUSTOS-STREAM/1\n"), memstore.New(), opts(nil)); !strings.Contains(fmt.Sprint(res.Err), "older custos") {
		t.Errorf("v1: %v", res.Err)
	}
}

func FuzzIngest(f *testing.F) {
	stream, _ := sample(f)
	f.Add(stream[:4096])
	f.Add([]byte(Magic))
	f.Add([]byte(Magic + "Z\x00\x00\x00\x00\x00\x00\x00\x28"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res := Ingest(context.Background(), bytes.NewReader(b), memstore.New(), opts(nil))
		if res.Complete && res.Err != nil {
			t.Fatal("complete with an error")
		}
	})
}

// A store that hashes what it is given (a directory, S3) hashes for the
// ingest too: the check against the sender's digest is the same, made on
// the store's sum.
func TestSummingStore(t *testing.T) {
	stream, objs := sample(t)
	dir := t.TempDir()
	dst, err := dirstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if w, err := dst.Create(ctx, "probe", storage.CreateOptions{}); err != nil {
		t.Fatal(err)
	} else if _, ok := w.(storage.Summer); !ok {
		t.Fatal("a directory's writer does not hash what it is given: this test tests nothing")
	} else {
		w.Abort()
	}
	res := Ingest(ctx, bytes.NewReader(stream), dst, opts(nil))
	if !res.Complete || res.Err != nil || len(res.Stored) != 3 {
		t.Fatalf("complete=%v err=%v stored %d", res.Complete, res.Err, len(res.Stored))
	}
	for _, info := range res.Stored {
		if info.SHA256 != sha256.Sum256(objs[strings.TrimPrefix(info.Key, prefix)]) {
			t.Errorf("%s: sha256 %s reported", info.Key, info.SHA256)
		}
	}
	// A flipped byte inside the large object's data: refused, named, not
	// stored.
	at := bytes.Index(stream, objs["artifacts/02-logs.tar.zst.age"][:64]) + 1000
	b := append([]byte(nil), stream...)
	b[at] ^= 0x20
	dst2, _ := dirstore.New(t.TempDir())
	res = Ingest(ctx, bytes.NewReader(b), dst2, opts(nil))
	if res.Complete || res.Err == nil || !strings.Contains(res.Err.Error(), "artifacts/02-logs.tar.zst.age arrived with") {
		t.Fatalf("flipped byte: complete=%v err=%v", res.Complete, res.Err)
	}
	if _, err := dst2.Stat(ctx, prefix+"artifacts/02-logs.tar.zst.age"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("the damaged object was stored: %v", err)
	}
}
