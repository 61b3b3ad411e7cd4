package sha256x

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash"
	"math/rand/v2"
	"testing"
)

// eachMode runs f once per implementation this build can run: on x86-64
// with SHA-NI both the kernels and crypto/sha256 (as on a machine
// without it).
func eachMode(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			defer m.set()()
			f(t)
		})
	}
}

func random(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func checkSum(t *testing.T, what string, got *Hash, want hash.Hash) {
	t.Helper()
	g, w := got.Sum(nil), want.Sum(nil)
	if !bytes.Equal(g, w) {
		t.Fatalf("%s: got %x, want %x", what, g, w)
	}
	if g2 := got.Sum([]byte("x")); !bytes.Equal(g2[1:], w) || g2[0] != 'x' {
		t.Fatalf("%s: second Sum %x, want x then %x", what, g2, w)
	}
}

func TestSumEveryLength(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 1))
		data := random(r, 1000)
		for n := 0; n <= len(data); n++ {
			h := New()
			h.Write(data[:n])
			want := sha256.Sum256(data[:n])
			if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
				t.Fatalf("len %d: got %x want %x", n, got, want)
			}
			// Sum does not change the state: more bytes after it.
			h.Write(data[n:])
			checkSum(t, "after Sum", h, sumOf(data))
			h.Reset()
			h.Write(data[:n])
			if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
				t.Fatalf("len %d after Reset: got %x want %x", n, got, want)
			}
		}
		if h := New(); h.Size() != 32 || h.BlockSize() != 64 {
			t.Fatalf("Size %d BlockSize %d", h.Size(), h.BlockSize())
		}
	})
}

func sumOf(b []byte) hash.Hash {
	h := sha256.New()
	h.Write(b)
	return h
}

// split: the next write's length, mostly 0..300 and sometimes large.
func split(r *rand.Rand) int {
	if r.IntN(8) == 0 {
		return r.IntN(5000)
	}
	return r.IntN(301)
}

func TestWriteSplits(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(2, 2))
		for range 200 {
			data := random(r, r.IntN(20000))
			h := New()
			for p := data; len(p) > 0; {
				n := min(split(r), len(p))
				if c, err := h.Write(p[:n]); c != n || err != nil {
					t.Fatalf("Write: %d, %v", c, err)
				}
				p = p[n:]
			}
			checkSum(t, "split writes", h, sumOf(data))
		}
	})
}

// pair is a Hash beside the crypto/sha256 digests it must match.
type pair struct {
	h   *Hash
	ref hash.Hash
}

func newPair() pair { return pair{New(), sha256.New()} }

func (p pair) write(b []byte) { p.h.Write(b); p.ref.Write(b) }

// written: the bytes written to a crypto/sha256 digest, the last 8 of its
// marshalled state.
func written(h hash.Hash) uint64 {
	s, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(err)
	}
	return binary.BigEndian.Uint64(s[len(s)-8:])
}

// TestWriteBoth: WriteBoth among single Writes to either, Sums and Resets,
// with lengths equal mod 64 (one pass) and not (two Writes).
func TestWriteBoth(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 3))
		for trial := range 500 {
			a, b := newPair(), newPair()
			pa := r.IntN(300)
			pb := pa + 64*r.IntN(3) // equal mod 64
			if trial%3 == 0 {
				pb = r.IntN(300)
			}
			a.write(random(r, pa))
			b.write(random(r, pb))
			for range 30 {
				p := random(r, split(r))
				switch k := r.IntN(10); {
				case k < 6:
					WriteBoth(a.h, b.h, p)
					a.ref.Write(p)
					b.ref.Write(p)
				case k == 6:
					a.write(p)
				case k == 7:
					b.write(p)
				case k == 8:
					checkSum(t, "a", a.h, a.ref)
					checkSum(t, "b", b.h, b.ref)
				default:
					if r.IntN(4) == 0 {
						a.h.Reset()
						a.ref.Reset()
					} else {
						// Realign a with b, as at the start of a file's data.
						a.write(random(r, int((64-(written(a.ref)-written(b.ref))%64)%64)))
					}
				}
			}
			checkSum(t, "a", a.h, a.ref)
			checkSum(t, "b", b.h, b.ref)
		}
	})
}

// TestWriteBothSame: WriteBoth(a, a, p) is p written twice.
func TestWriteBothSame(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(4, 4))
		for _, n := range []int{0, 1, 63, 64, 65, 200, 4096, 5000} {
			a := newPair()
			a.write(random(r, r.IntN(100)))
			p := random(r, n)
			WriteBoth(a.h, a.h, p)
			a.ref.Write(p)
			a.ref.Write(p)
			checkSum(t, "same", a.h, a.ref)
		}
	})
}

// FuzzWriteBoth: a and b, after prefixes of any lengths, take data in
// pieces cut at the given points, each by WriteBoth or by a single Write
// to one of them; their digests are crypto/sha256's.
func FuzzWriteBoth(f *testing.F) {
	f.Add(uint16(0), uint16(0), bytes.Repeat([]byte{7}, 700), []byte{0, 64, 1, 200})
	f.Add(uint16(3), uint16(67), bytes.Repeat([]byte{1, 2, 3}, 300), []byte{63, 1, 128, 5})
	f.Add(uint16(10), uint16(20), []byte("abc"), []byte{})
	f.Fuzz(func(t *testing.T, la, lb uint16, data, cuts []byte) {
		prefix := bytes.Repeat([]byte{0x5a, 0xa5, 0x3c}, 400)
		a, b := newPair(), newPair()
		a.write(prefix[:int(la)%len(prefix)])
		b.write(prefix[len(prefix)-int(lb)%len(prefix):])
		for i := 0; len(data) > 0; i++ {
			n := len(data)
			op := 0
			if 2*i+1 < len(cuts) {
				c := binary.LittleEndian.Uint16(cuts[2*i:])
				n = min(int(c>>2), len(data))
				op = int(c & 3)
			}
			p := data[:n]
			data = data[n:]
			switch op {
			case 1:
				a.write(p)
			case 2:
				b.write(p)
			default:
				WriteBoth(a.h, b.h, p)
				a.ref.Write(p)
				b.ref.Write(p)
			}
		}
		checkSum(t, "a", a.h, a.ref)
		checkSum(t, "b", b.h, b.ref)
	})
}

func benchData() []byte { return random(rand.New(rand.NewPCG(5, 5)), 1<<20) }

// The benchmarks count the bytes of p: for the two-digest ones, the
// content hashed twice counts once.
func BenchmarkWrite(b *testing.B) {
	p := benchData()
	b.Run("crypto", func(b *testing.B) {
		h := sha256.New()
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			h.Write(p)
		}
	})
	b.Run("sha256x", func(b *testing.B) {
		h := New()
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			h.Write(p)
		}
	})
}

func BenchmarkWriteTwo(b *testing.B) {
	p := benchData()
	b.Run("crypto-twice", func(b *testing.B) {
		h1, h2 := sha256.New(), sha256.New()
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			h1.Write(p)
			h2.Write(p)
		}
	})
	b.Run("WriteBoth", func(b *testing.B) {
		h1, h2 := New(), New()
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			WriteBoth(h1, h2, p)
		}
	})
}

// TestNoAllocs: Write, WriteBoth and Sum into room allocate nothing.
func TestNoAllocs(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		a, b := New(), New()
		p := make([]byte, 1000)
		out := make([]byte, 0, Size)
		if n := testing.AllocsPerRun(100, func() {
			a.Write(p)
			WriteBoth(a, b, p[:300])
			WriteBoth(a, b, p)
			out = a.Sum(out[:0])
		}); n != 0 {
			t.Fatalf("%v allocations", n)
		}
	})
}
