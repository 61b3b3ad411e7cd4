package collect

import (
	"bytes"
	crand "crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

func newTestEncoder(t *testing.T) *zstd.Encoder {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(2), zstd.WithZeroFrames(true))
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// Several frames decode as one stream, in order, with the plaintext's
// hash and count kept; an empty stream is still a valid one.
func TestFrameWriterRoundTrip(t *testing.T) {
	enc := newTestEncoder(t)
	for _, size := range []int{0, 1, frameSize - 1, frameSize, 3*frameSize + 12345} {
		src := make([]byte, size)
		rng := rand.New(rand.NewSource(int64(size)))
		for i := range src {
			src[i] = "abcdefgh \n"[rng.Intn(10)]
		}
		var out bytes.Buffer
		fw := newFrameWriter(&out, enc, 2, nil)
		for rest := src; len(rest) > 0; {
			k := min(len(rest), 1+rng.Intn(300000))
			if _, err := fw.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		if out.Len() == 0 {
			t.Fatalf("%d bytes: empty output", size)
		}
		dec, _ := zstd.NewReader(&out)
		got, err := io.ReadAll(dec)
		dec.Close()
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("%d bytes: round trip gave %d bytes, %v", size, len(got), err)
		}
		if fw.Offset() != int64(size) {
			t.Fatalf("%d bytes: counted %d", size, fw.Offset())
		}
		if want := sha256.Sum256(src); fw.plainSum() != want {
			t.Fatalf("%d bytes: plaintext sha256 %x, want %x", size, fw.plainSum(), want)
		}
	}
}

type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// A store that fails stops the writer with its error; nothing hangs.
func TestFrameWriterStoreFails(t *testing.T) {
	enc := newTestEncoder(t)
	fw := newFrameWriter(&failAfter{n: 100}, enc, 2, nil)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 1<<20)
		crand.Read(buf)
		var err error
		for i := 0; i < 64 && err == nil; i++ {
			_, err = fw.Write(buf)
		}
		cerr := fw.Close()
		if err == nil {
			err = cerr
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || err.Error() != "disk full" {
			t.Fatalf("got %v, want the store's error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("frame writer hung after a store error")
	}
}
