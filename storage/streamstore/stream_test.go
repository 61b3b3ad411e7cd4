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
	"github.com/custos-ir/custos/storage/memstore"
)

const prefix = "CASE/web01/20261124T120000Z-abcdef/"

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
		prefix + "artifacts/01-processes.jsonl.zst.age": []byte("cipher one"),
		prefix + "artifacts/02-logs.tar.zst.age":        big,
		prefix + "manifest.json":                        []byte("{}\n"),
	}
	w.Note(ctx, "header", []byte(`{"case":"CASE"}`))
	for _, k := range []string{prefix + "artifacts/01-processes.jsonl.zst.age", prefix + "artifacts/02-logs.tar.zst.age"} {
		ow, err := w.Create(ctx, k, storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ow.Write(objs[k])
		if _, err := ow.Commit(ctx, sha256.Sum256(objs[k])); err != nil {
			t.Fatal(err)
		}
	}
	ow, _ := w.Create(ctx, prefix+"artifacts/03-failed.jsonl.zst.age", storage.CreateOptions{})
	ow.Write([]byte("half"))
	ow.Abort()
	ow, _ = w.Create(ctx, prefix+"manifest.json", storage.CreateOptions{})
	ow.Write(objs[prefix+"manifest.json"])
	ow.Commit(ctx, sha256.Sum256(objs[prefix+"manifest.json"]))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), objs
}

func TestRoundTrip(t *testing.T) {
	stream, objs := sample(t)
	dst := memstore.New()
	res := Ingest(context.Background(), bytes.NewReader(stream), dst, nil)
	if !res.Complete || res.Err != nil {
		t.Fatalf("incomplete: %v", res.Err)
	}
	if res.Prefix != prefix || len(res.Stored) != 3 || len(res.Notes) != 1 || res.Notes[0].Kind != "header" {
		t.Fatalf("result %+v", res)
	}
	for k, v := range objs {
		if !bytes.Equal(dst.Bytes(k), v) {
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
		res := Ingest(context.Background(), bytes.NewReader(stream[:cut]), dst, nil)
		if res.Complete || !errors.Is(res.Err, ErrTruncated) {
			t.Fatalf("cut at %d: complete=%v err=%v", cut, res.Complete, res.Err)
		}
		for _, info := range res.Stored {
			if !bytes.Equal(dst.Bytes(info.Key), objs[info.Key]) {
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
		res := Ingest(context.Background(), bytes.NewReader(b), dst, nil)
		if res.Complete || res.Err == nil {
			t.Fatalf("flip at %d: stream taken as whole", off)
		}
		if strings.Contains(res.Err.Error(), "artifacts/02-logs.tar.zst.age arrived with") {
			named++
		}
		for _, info := range res.Stored {
			if !bytes.Equal(dst.Bytes(info.Key), objs[info.Key]) {
				t.Fatalf("flip at %d: %s stored damaged", off, info.Key)
			}
		}
	}
	if named == 0 {
		t.Error("no flip inside the large object was named")
	}
}

func TestHostileKeysRefused(t *testing.T) {
	for _, key := range []string{"../../etc/passwd", "/abs/x/y/manifest.json", "a/b/c/../../../x", "a/b/c/artifacts/../../x", "a/b/c/other.txt", "a/b/c/d/e"} {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf)
		ow, _ := w.Create(context.Background(), key, storage.CreateOptions{})
		ow.Write([]byte("x"))
		ow.Commit(context.Background(), sha256.Sum256([]byte("x")))
		w.Close()
		dst := memstore.New()
		res := Ingest(context.Background(), &buf, dst, nil)
		if res.Complete || len(dst.Keys()) != 0 || !strings.Contains(fmt.Sprint(res.Err), "refusing object key") {
			t.Errorf("key %q: stored %v, err %v", key, dst.Keys(), res.Err)
		}
	}
	// Two collections in one stream: the second is refused.
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	for _, k := range []string{prefix + "manifest.json", "OTHER/web01/x/manifest.json"} {
		ow, _ := w.Create(context.Background(), k, storage.CreateOptions{})
		ow.Commit(context.Background(), sha256.Sum256(nil))
	}
	w.Close()
	res := Ingest(context.Background(), &buf, memstore.New(), nil)
	if res.Complete || !strings.Contains(fmt.Sprint(res.Err), "outside the collection") {
		t.Errorf("second collection: %v", res.Err)
	}
}

func FuzzIngest(f *testing.F) {
	stream, _ := sample(f)
	f.Add(stream[:4096])
	f.Add([]byte(Magic))
	f.Add([]byte(Magic + "Z\x00\x00\x00\x00\x00\x00\x00\x28"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res := Ingest(context.Background(), bytes.NewReader(b), memstore.New(), nil)
		if res.Complete && res.Err != nil {
			t.Fatal("complete with an error")
		}
	})
}
